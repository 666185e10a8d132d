"""Sandbox kinds by name. Each module exposes ``build(options: SandboxOptions) -> Sandbox``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

KINDS: dict[str, str] = {
    "practicehub": "ferry.sandbox.practicehub",
    "pulse": "ferry.sandbox.pulse",
    "fhir": "ferry.sandbox.fhir",
    "pipedrive": "ferry.sandbox.pipedrive",
    "salesforce": "ferry.sandbox.salesforce",
    "odoo": "ferry.sandbox.odoo",
}


@dataclass
class SandboxOptions:
    seed: int = 1
    patients: int = 100
    time_scale: float = 1.0
    faults: str = ""
    #: destination sandboxes: the account's users (emails); sources ignore it
    users: list[str] = field(default_factory=list)
    #: "documented": only what the service's documents (or, for PracticeHub, public client
    #: code) show; "extended": also the endpoints and behaviours we assumed (each sandbox
    #: package's docstring has the table of which is which)
    surface: str = "documented"
    extra: dict[str, Any] = field(default_factory=dict)


class Sandbox(Protocol):
    app: Any  # the ASGI app (FastAPI), admin routes under /_sandbox included
    #: uvicorn cert/key files when the sandbox must speak HTTPS (Salesforce), else None
    certfile: str | None
    keyfile: str | None

    def credentials(self, base_url: str) -> dict[str, Any]:
        """What a client needs besides the base URL (keys, tokens, account names)."""


SURFACES = ("documented", "extended")


def build(kind: str, options: SandboxOptions) -> Sandbox:
    if options.surface not in SURFACES:
        raise ValueError(f"unknown surface {options.surface!r}; known: {', '.join(SURFACES)}")
    if kind not in KINDS:
        raise KeyError(f"unknown sandbox {kind!r}; known: {', '.join(sorted(KINDS))}")
    module = importlib.import_module(KINDS[kind])
    sandbox: Sandbox = module.build(options)
    return sandbox


def serve(kind: str, options: SandboxOptions, port: int = 0) -> tuple[Any, dict[str, Any]]:
    """Start a sandbox in a thread; returns (running server, {"base_url", "credentials"})."""
    from ferry.sandbox.server import serve_in_thread

    sb = build(kind, options)
    running = serve_in_thread(sb.app, port=port, certfile=sb.certfile, keyfile=sb.keyfile)
    running.sandbox = sb  # its state, for changes made as the system would (sandbox.cutover)
    close = getattr(sb, "close", None)
    if callable(close):  # a sandbox with files of its own removes them when it stops
        running.on_stop.append(close)
    return running, {"kind": kind, "base_url": running.base_url,
                     "credentials": sb.credentials(running.base_url)}
