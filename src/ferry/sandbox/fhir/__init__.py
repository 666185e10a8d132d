"""``ferry sandbox serve fhir``: a FHIR R4 Bulk Data server over a generated practice.

Options (``SandboxOptions.extra``): ``file_lines`` (resources per NDJSON file, 10,000),
``export_seconds`` (emulated seconds an export takes at least, 2), ``dirt`` (a ``DirtRates``).
The admin surface adds ``POST /_sandbox/touch`` and ``/_sandbox/delete`` (``{"object", "id"}``)
to make changes a ``_since`` export must pick up.

Provenance (``--surface`` changes nothing here). [doc] HL7 FHIR R4 and the Bulk Data Access IG
v3.0.0; NOTES = ``shared/specs/sources/NOTES.md`` §4; [code] fhir.resources validates every
NDJSON line in the tests.

| endpoint / behaviour | source |
|---|---|
| ``GET /metadata`` (CapabilityStatement, no token) | [doc] FHIR R4 RESTful API |
| ``GET /$export``, ``/Patient/$export``, ``/Group/{id}/$export`` (``Prefer: respond-async``, ``_outputFormat``, ``_type``, ``_since``; 202 + ``Content-Location``) | [doc] Bulk Data IG kick-off; NOTES 4 |
| status URL (here ``/_jobs/{id}``, the server's choice): 202 + ``X-Progress`` + ``Retry-After``, 429 when polled too often, 200 + ``Expires`` + manifest (``transactionTime``, ``output``, ``deleted``, ``requiresAccessToken``), ``DELETE`` cancels | [doc] Bulk Data IG status request; NOTES 4 |
| output files (here ``/_output/{job}/{name}``) as NDJSON, token required, gzip on request | [doc] Bulk Data IG file request; NOTES 4 |
| ``GET /Binary/{id}`` (DocumentReference attachment content) | [doc] FHIR R4 Binary |
| bearer token, 401 + OperationOutcome | [doc] IG (SMART Backend Services recommended); NOTES 4 |
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

    def close(self) -> None:
        """Remove the export files (called when the server stops: ``registry.serve``)."""
        self.state.close()

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "token": self.token}


def build(options: SandboxOptions) -> FhirSandbox:
    return FhirSandbox(options)
