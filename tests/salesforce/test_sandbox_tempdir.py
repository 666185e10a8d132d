"""The Salesforce sandbox keeps its certificate and keys in a temp folder of its own, and
removes it when it stops (each run used to leave one behind)."""

from __future__ import annotations

from pathlib import Path

import httpx

from ferry.sandbox.registry import SandboxOptions, serve


def test_stopping_the_sandbox_removes_its_temp_folder() -> None:
    running, info = serve("salesforce", SandboxOptions())
    folder = Path(info["credentials"]["ca_bundle"]).parent
    try:
        assert folder.name.startswith("ferry-sf-sandbox-")
        assert (folder / "ca.pem").is_file() and (folder / "jwt.key").is_file()
        # the sandbox answers over TLS with that folder's certificate while it runs
        r = httpx.get(f"{info['base_url']}/services/data", verify=info["credentials"]["ca_bundle"])
        assert r.status_code < 500
    finally:
        running.stop()
    assert not folder.exists()
    running.stop()  # a second stop is harmless
