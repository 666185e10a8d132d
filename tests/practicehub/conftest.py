"""Fixtures: a PracticeHub sandbox on 127.0.0.1 (real HTTP) and connectors pointed at it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ferry.sandbox.harness import sandbox_extra
from ferry.sandbox.practicehub import PracticeHubSandbox
from ferry.sandbox.registry import SandboxOptions
from ferry.sandbox.server import Running, serve_in_thread
from ferry.sources.practicehub import create
from ferry.sources.practicehub.reader import PracticeHubSource

FAST = 1000.0  # time scale: 1 request/second becomes 1 request/millisecond


@dataclass
class Box:
    sandbox: PracticeHubSandbox
    running: Running
    creds: dict[str, Any]
    time_scale: float

    def settings(self, **over: Any) -> dict[str, Any]:
        os.environ["PH_TEST_KEY"] = self.creds["api_key"]
        s: dict[str, Any] = {"base_url": self.creds["base_url"],
                             "connect_to": self.creds["connect_to"], "api_key_env": "PH_TEST_KEY",
                             "app_details": self.creds["app_details"],
                             "time_scale": self.time_scale, "describe_counts": False,
                             "timezone": self.creds["timezone"]}
        s.update(over)
        return s

    def source(self, **over: Any) -> PracticeHubSource:
        src = create(self.settings(**over), None)  # type: ignore[arg-type]
        assert isinstance(src, PracticeHubSource)
        return src

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.running.base_url}/_sandbox/{path}", timeout=60, **kw)
        r.raise_for_status()
        return r.json()

    def pages(self) -> list[dict[str, Any]]:
        return list(self.sandbox.api.page_log)


@pytest.fixture
def make_box() -> Iterator[Callable[..., Box]]:
    started: list[Running] = []

    def make(patients: int = 40, seed: int = 7, time_scale: float = FAST, faults: str = "",
             surface: str = "documented", **extra: Any) -> Box:
        opts = SandboxOptions(seed=seed, patients=patients, time_scale=time_scale,
                              faults=faults, surface=surface,
                              extra=sandbox_extra("practicehub", time_scale, extra))
        sb = PracticeHubSandbox(opts)
        running = serve_in_thread(sb.app)
        started.append(running)
        return Box(sb, running, sb.credentials(running.base_url), time_scale)

    yield make
    for r in started:
        r.stop()


def read_all(src: PracticeHubSource, obj: str, **kw: Any) -> tuple[list[Any], list[Any]]:
    """Every page of one object (records and pages), reading the way the engine does."""

    async def go() -> list[Any]:
        pages = [p async for p in src.read(obj, **kw)]
        return pages

    pages = asyncio.run(go())
    return [r for p in pages for r in p.records], pages
