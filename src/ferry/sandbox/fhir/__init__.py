"""``ferry sandbox serve fhir``: a FHIR R4 Bulk Data server over a generated practice.

Options (``SandboxOptions.extra``): ``file_lines`` (resources per NDJSON file, 10,000),
``export_seconds`` (emulated seconds an export takes at least, 2), ``dirt`` (a ``DirtRates``).
The admin surface adds ``POST /_sandbox/touch`` and ``/_sandbox/delete`` (``{"object", "id"}``)
to make changes a ``_since`` export must pick up.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import Faults, FaultSpec
from ferry.sandbox.registry import SandboxOptions


class FhirSandbox:
    certfile: str | None = None
    keyfile: str | None = None

    def __init__(self, options: SandboxOptions) -> None:
        from ferry.sandbox.fhir.app import make_app
        from ferry.sandbox.fhir.state import FhirState

        extra = options.extra
        self.token = "fhir_" + hashlib.sha256(f"fhir:{options.seed}".encode()).hexdigest()[:32]
        self.state = FhirState(options.seed, options.patients, extra.get("dirt"),
                               int(extra.get("file_lines", 10_000)))
        self.faults = Faults(FaultSpec.parse(options.faults, seed=options.seed))
        self.app = make_app(self.state, token=self.token, clock=Clock(options.time_scale),
                            faults=self.faults,
                            export_seconds=float(extra.get("export_seconds", 2.0)))

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "token": self.token}


def build(options: SandboxOptions) -> FhirSandbox:
    return FhirSandbox(options)
