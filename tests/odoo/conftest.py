"""Odoo sandboxes on ephemeral ports, one per (version, accounting) and test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ferry.sandbox.odoo import OdooSandbox, build
from ferry.sandbox.registry import SandboxOptions
from ferry.sandbox.server import Running, serve_in_thread

USERS = ["dr.grey@clinic.test", "dr.house@clinic.test"]


@dataclass
class Odoo:
    sandbox: OdooSandbox
    running: Running

    @property
    def url(self) -> str:
        return self.running.base_url

    @property
    def creds(self) -> dict[str, Any]:
        return self.sandbox.credentials(self.url)

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset", timeout=60).raise_for_status()
        self.faults("")

    def faults(self, spec: str, seed: int = 0) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json={"spec": spec, "seed": seed},
                   timeout=60).raise_for_status()

    def state(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sandbox/state", timeout=30).json()


@pytest.fixture(scope="module")
def odoo_factory() -> Iterator[Callable[..., Odoo]]:
    started: dict[tuple[Any, ...], Odoo] = {}

    def start(version: int = 17, accounting: bool = False, **extra: Any) -> Odoo:
        key = (version, accounting, tuple(sorted(extra.items())))
        if key not in started:
            sb = build(SandboxOptions(seed=7, users=list(USERS), time_scale=100.0,
                                      extra={"version": version, "accounting": accounting,
                                             **extra}))
            started[key] = Odoo(sb, serve_in_thread(sb.app))
        odoo = started[key]
        odoo.reset()
        return odoo

    yield start
    for odoo in started.values():
        odoo.running.stop()
