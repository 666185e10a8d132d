"""``ferry sandbox serve pulse`` (REST mode, an assumed API) and ``ferry sandbox export pulse``
(the CSV export folder). Options (``SandboxOptions.extra``): ``dirt`` (a ``DirtRates``).
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
                            faults=Faults(FaultSpec.parse(options.faults, seed=options.seed)))

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url + "/api/v1", "api_key": self.key}


def build(options: SandboxOptions) -> PulseSandbox:
    return PulseSandbox(options)


def write_folder(folder: Path, seed: int = 1, patients: int = 100, dirty: bool = True) -> Any:
    """Write a Pulse export folder for a generated practice; returns the ExportReport."""
    from ferry.sandbox.pulse.export import write_export
    from ferry.sandbox.synth import DirtRates, Practice

    practice = Practice(seed, patients, DirtRates() if dirty else DirtRates.none())
    return write_export(folder, practice, dirty=dirty)
