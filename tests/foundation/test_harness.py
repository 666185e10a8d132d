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
