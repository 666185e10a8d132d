"""``ferry sandbox serve pulse`` (REST mode, an assumed API) and ``ferry sandbox export pulse``
(the CSV export folder). Options (``SandboxOptions.extra``): ``dirt`` (a ``DirtRates``).

Provenance. Pulse Digital Clinic publishes no API, client code or export specification
(``shared/specs/sources/NOTES.md`` §3); seed 003 says "CSV export (Starter tier) or REST API
(higher tiers)" and the brief the same. So:

| surface | what | source |
|---|---|---|
| documented | the CSV export folder (``write_folder``; the harness and ``ferry demo`` use it) | seed 003, the brief; the file and column names are ASSUMED (no public export specification) |
| extended | ``GET /api/v1/{resource}`` (bearer key, ``page``/``per_page`` ≤ 100, ``updated_since``, 5 requests/s, 429 + ``Retry-After``) | ASSUMED (``app``): no public source; answers 404 on the documented surface |
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import Faults, FaultSpec
from ferry.sandbox.registry import SandboxOptions


class PulseSandbox:
    certfile: str | None = None
    keyfile: str | None = None

    def __init__(self, options: SandboxOptions) -> None:
        from ferry.sandbox.pulse.app import PulseState, make_app
        from ferry.sandbox.synth import Practice

        self.key = "pls_" + hashlib.sha256(f"pulse:{options.seed}".encode()).hexdigest()[:32]
        self.state = PulseState(Practice(options.seed, options.patients,
                                         options.extra.get("dirt")))
        self.app = make_app(self.state, keys=[self.key], clock=Clock(options.time_scale),
                            faults=Faults(FaultSpec.parse(options.faults, seed=options.seed)),
                            surface=options.surface)

    def credentials(self, base_url: str) -> dict[str, Any]:
        # the practice's zone: the rows' times are its wall time (``source.timezone``)
        return {"base_url": base_url + "/api/v1", "api_key": self.key,
                "timezone": self.state.practice.timezone}


def build(options: SandboxOptions) -> PulseSandbox:
    return PulseSandbox(options)


def write_folder(folder: Path, seed: int = 1, patients: int = 100, dirty: bool = True) -> Any:
    """Write a Pulse export folder for a generated practice; returns the ExportReport."""
    from ferry.sandbox.pulse.export import write_export
    from ferry.sandbox.synth import DirtRates, Practice

    practice = Practice(seed, patients, DirtRates() if dirty else DirtRates.none())
    return write_export(folder, practice, dirty=dirty)
