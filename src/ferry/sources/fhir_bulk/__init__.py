"""HL7 FHIR R4 Bulk Data source (the standard export of certified clinic systems, seed 000).

Settings keys:
  mode        "folder" (read NDJSON files in ``path``) or "server" (run a Bulk Data export)
  path        folder of ``{Type}*.ndjson`` files (folder mode; ``deleted*.ndjson`` and
              ``error*.ndjson`` beside them are read as the manifest's lists)
  base_url    FHIR base URL (server mode; in folder mode, where attachments that name a
              Binary on the server are fetched from)
  token_env   environment variable holding a bearer token (server mode, or those fetches)
  types       resource types for ``_type`` (default: every type the server exports)
  group_id    export ``Group/{id}/$export`` instead of the whole system
  page_size   records (and errors) per page (default 1000)
  time_scale  divide every server-requested wait by this (sandbox runs only)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ferry.connectors.walltime import zone_name


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["folder", "server"] = "folder"
    path: str | None = None
    base_url: str | None = None
    token_env: str | None = None
    types: list[str] = Field(default_factory=list)
    group_id: str | None = None
    page_size: int = Field(default=1000, ge=1)
    time_scale: float = Field(default=1.0, gt=0)
    #: the practice's zone, for a date-time with a clock time and no UTC offset (R4 forbids
    #: one; some exporters write them): without it such a value is left out and listed
    timezone: str | None = None

    _zone = field_validator("timezone")(zone_name)

    @model_validator(mode="after")
    def _where(self) -> Settings:
        if self.mode == "folder" and not self.path:
            raise ValueError("folder mode needs path")
        if self.mode == "server" and not self.base_url:
            raise ValueError("server mode needs base_url")
        return self


def create(settings: dict[str, Any], workdir: Path, transport: Any = None) -> Any:
    from ferry.sources.fhir_bulk.reader import FhirBulkSource

    return FhirBulkSource(Settings.model_validate(settings), workdir, transport)
