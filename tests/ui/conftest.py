"""UI fixtures: sandboxes (PracticeHub → Pipedrive) wired to a project, and `ferry ui`'s app
served on an ephemeral 127.0.0.1 port in this process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


@dataclass
class Served:
    url: str
    first_token: str  # the one the server printed at start
    app: Any
    pair: Any
    server: Any

    @property
    def project(self) -> Any:
        return self.pair.project

    @property
    def token(self) -> str:
        """A fresh single-use login token for the next login (the server's own ``issue``)."""
        return str(self.app.state.ui.guard.issue())

    def client(self, login: bool = True) -> httpx.Client:
        c = httpx.Client(base_url=self.url, follow_redirects=False, timeout=60)
        if login:
            r = c.get(f"/login?token={self.token}")
            assert r.status_code == 303, r.text
        return c

    def csrf(self, c: httpx.Client) -> str:
        m = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
        assert m
        return m.group(1)


def serve(tmp: Path, *, patients: int, prefix: str) -> Served:
    from ferry.sandbox.harness import start_pair
    from ferry.ui.app import Served as Server
    from ferry.ui.app import create_app

    # extended: the walkthrough shows every object of the canonical model (clinical notes,
    # locations... come only from PracticeHub's assumed endpoints)
    pair = start_pair(tmp / "clinic-migration", patients=patients, seed=3, time_scale=200.0,
                      env_prefix=prefix, surface="extended")
    app = create_app(pair.project.root)
    server = Server(app).start()
    return Served(server.url, app.state.ui.guard.token, app, pair, server)


@pytest.fixture
def ui_app(tmp_path: Path) -> Iterator[Served]:
    """A small project (sandboxes up, nothing extracted) behind a running UI."""
    s = serve(tmp_path, patients=6, prefix="FERRY_UI_S_")
    try:
        yield s
    finally:
        s.server.stop()
        s.pair.close()
