"""Real HTTP against the Pipedrive sandbox on 127.0.0.1 (ephemeral port), contract mode on.

``pd`` starts a sandbox (time scale 50 unless a test needs real windows) with the given options and returns a handle with a connector made by the
package's own ``create``; every handle's sandbox must end with zero OpenAPI contract violations
(each request the connector sent and each response the sandbox gave validated against the
official documents). The documents are parsed and the validators built once per process.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.destinations.pipedrive import create
from ferry.sandbox.pipedrive import spec
from ferry.sandbox.registry import SandboxOptions, build
from ferry.sandbox.server import Running, serve_in_thread

USERS = ["dr.ada@clinic.example", "frontdesk@clinic.example"]
_env = itertools.count()


@dataclass
class Handle:
    sb: Any
    running: Running
    token: str
    workdir: Path
    env: str
    monkeypatch: pytest.MonkeyPatch
    allow_violations: bool = False
    opened: list[Any] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def dest(self, **settings: Any) -> Any:
        d = create({"base_url": self.base_url, "api_token_env": self.env,
                    "time_scale": self.sb.options.time_scale, **settings}, self.workdir)
        self.opened.append(d)
        return d

    def raw(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"x-api-token": self.token}, timeout=60)

    def state(self) -> dict[str, Any]:
        return httpx.get(self.base_url + "/_sandbox/state", timeout=60).json()


@pytest.fixture(scope="session", autouse=True)
def _validators() -> None:
    spec.openapi("v1"), spec.openapi("v2")  # parse the 1-3 MB documents once per session


@pytest.fixture
def pd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    handles: list[Handle] = []

    def start(time_scale: float = 50.0, faults: str = "", **extra: Any) -> Handle:
        sb = build("pipedrive", SandboxOptions(seed=7, users=USERS, time_scale=time_scale,
                                               faults=faults,
                                               # accounts with contact sync: the tests write
                                               # birthday and postal_address
                                               extra={"validate": True, "contact_sync": True,
                                                      **extra}))
        running = serve_in_thread(sb.app)
        env = f"FERRY_TEST_PIPEDRIVE_TOKEN_{next(_env)}"
        token = sb.credentials(running.base_url)["api_token"]
        monkeypatch.setenv(env, token)
        workdir = tmp_path / f"project{len(handles)}"
        workdir.mkdir()
        h = Handle(sb, running, token, workdir, env, monkeypatch)
        handles.append(h)
        return h

    yield start
    try:
        for h in handles:
            if not h.allow_violations:
                assert h.sb.violations == [], h.sb.violations
    finally:
        for h in handles:
            for d in h.opened:
                d.close()
            h.running.stop()
