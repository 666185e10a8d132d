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
             "api_key_env": var, "app_details": c["app_details"], "time_scale": time_scale,
             **({"timezone": c["timezone"]} if c.get("timezone") else {})},
            {var: c["api_key"]})


def _pipedrive(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    var = f"{env_prefix}PIPEDRIVE_API_TOKEN"
    c = info["credentials"]
    return ({"kind": "pipedrive", "base_url": info["base_url"], "api_token_env": var,
             "plan": c.get("plan", "growth"), "seats": c.get("seats", 1),
             "time_scale": time_scale}, {var: c["api_token"]})


def _salesforce(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    c = info["credentials"]
    cid, secret = f"{env_prefix}SALESFORCE_CLIENT_ID", f"{env_prefix}SALESFORCE_CLIENT_SECRET"
    return ({"kind": "salesforce", "login_url": c["login_url"], "instance_url": c["instance_url"],
             "auth": "client_credentials", "client_id_env": cid, "client_secret_env": secret,
             "api_version": c["api_version"], "ca_bundle": c["ca_bundle"],
             "time_scale": time_scale},
            {cid: c["client_id"], secret: c["client_secret"]})


def _odoo(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    c = info["credentials"]
    var = f"{env_prefix}ODOO_API_KEY"
    return ({"kind": "odoo", "url": c["url"], "db": c["db"], "login": c["login"],
             "api_key_env": var, "time_scale": time_scale}, {var: c["api_key"]})


def _pulse(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    if info.get("mode") == "export":  # a generated CSV export folder (the documented surface)
        return {"kind": "pulse", "mode": "export", "path": info["base_url"],
                "timezone": _zone(info)}, {}  # the practice's wall time, as a clinic writes it
    c = info["credentials"]
    var = f"{env_prefix}PULSE_API_KEY"
    return ({"kind": "pulse", "mode": "rest", "base_url": c["base_url"], "api_key_env": var,
             "time_scale": time_scale, "timezone": c.get("timezone") or "UTC"},
            {var: c["api_key"]})


def _fhir(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    c = info["credentials"]
    var = f"{env_prefix}FHIR_TOKEN"
    return ({"kind": "fhir_bulk", "mode": "server", "base_url": c["base_url"], "token_env": var,
             "time_scale": time_scale}, {var: c["token"]})


def _clinic_csv(info: dict[str, Any], time_scale: float, env_prefix: str) -> Profile:
    return {"kind": "clinic_csv", "path": info["base_url"],
            "timezone": _zone(info)}, {}  # the practice's wall time, as a front desk writes it


def _zone(info: dict[str, Any]) -> str:
    """The zone of a generated export's times: its practice's (``Practice.timezone``)."""
    return str(info.get("timezone") or "UTC")


PROFILES: dict[str, Callable[[dict[str, Any], float, str], Profile]] = {
    "practicehub": _practicehub,
    "pipedrive": _pipedrive,
    "salesforce": _salesforce,
    "odoo": _odoo,
    "pulse": _pulse,
    "fhir": _fhir,
    "clinic_csv": _clinic_csv,
}


def profile(kind: str, info: dict[str, Any], *, time_scale: float = 1.0,
            env_prefix: str = "FERRY_DEMO_") -> Profile:
    if kind not in PROFILES:
        raise KeyError(f"no connector profile for sandbox {kind!r}")
    return PROFILES[kind](info, time_scale, env_prefix)
