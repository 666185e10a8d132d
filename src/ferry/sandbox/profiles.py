"""Connector settings for a running sandbox: what ``ferry demo`` and tests put in ferry.yaml.

``profile(kind, info, time_scale)`` turns the sandbox's first-line info (base URL and
credentials) into ``(settings, env)``: the connector's ``ferry.yaml`` section, and the
environment variables holding its secrets (the project folder never holds a secret).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Profile = tuple[dict[str, Any], dict[str, str]]


def _practicehub(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    c = info["credentials"]
    var = f"{env_prefix}PRACTICEHUB_API_KEY"
    return ({"kind": "practicehub", "base_url": c["base_url"], "connect_to": c["connect_to"],
             "api_key_env": var, "app_details": c["app_details"], "time_scale": time_scale},
            {var: c["api_key"]})


PROFILES: dict[str, Callable[[dict[str, Any], float, str], Profile]] = {
    "practicehub": _practicehub,
}


def profile(kind: str, info: dict[str, Any], *, time_scale: float = 1.0,
            env_prefix: str = "FERRY_DEMO_") -> Profile:
    if kind not in PROFILES:
        raise KeyError(f"no connector profile for sandbox {kind!r}")
    return PROFILES[kind](info, time_scale, env_prefix)
