"""``start_pair`` as a context manager: sandboxes stop, exported variables are put back."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ferry.sandbox.harness import start_pair


def test_pair_context_stops_sandboxes_and_restores_environment(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    prefix = "FERRY_HARNESS_"
    monkeypatch.setenv(f"{prefix}ENCRYPTION_KEY", "was-here-before")
    with start_pair(tmp_path / "proj", patients=2, seed=1, time_scale=2000.0,
                    env_prefix=prefix) as pair:
        assert pair.env and all(os.environ[k] == v for k, v in pair.env.items())
        assert os.environ[f"{prefix}ENCRYPTION_KEY"] != "was-here-before"
        base = pair.dest_info["base_url"]
        assert httpx.get(f"{base}/_sandbox/state", timeout=10).status_code == 200
    assert os.environ[f"{prefix}ENCRYPTION_KEY"] == "was-here-before"
    assert not [k for k in pair.env if k != f"{prefix}ENCRYPTION_KEY" and k in os.environ]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/_sandbox/state", timeout=2)


def test_practicehub_file_links_live_real_minutes_at_any_time_scale(tmp_path: Path) -> None:
    """At 2000x the documented 600-second link lived 0.3 real seconds: a loaded machine let
    links expire before their download and the run skipped those files. Started by the
    harness, a link outlives 0.4 real seconds (800 emulated ones) and its file downloads."""
    import time

    with start_pair(tmp_path / "proj", patients=3, seed=2, time_scale=2000.0,
                    env_prefix="FERRY_HARNESS_TTL_") as pair:
        creds = pair.source_info["credentials"]
        host = {"host": creds["base_url"].split("/")[2]}
        listed = httpx.get(f"{creds['connect_to']}/api/files", timeout=10, headers={
            **host, "x-practicehub-key": creds["api_key"],
            "x-app-details": creds["app_details"]}).json()["data"]
        assert listed
        time.sleep(0.4)
        link = httpx.URL(listed[0]["url"])
        got = httpx.get(f"{creds['connect_to']}{link.raw_path.decode()}", headers=host,
                        timeout=10)
        assert got.status_code == 200 and got.content
