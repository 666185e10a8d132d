"""Pulse Digital Clinic (seed 003): no public API; a CSV export folder (every tier) or a REST
API on higher tiers (ASSUMED shape, see ``ferry.sandbox.pulse.app``).

Settings keys: every ``clinic_csv`` key (``path``, ``files``, ``columns``, ``encoding``,
``delimiter``, ``header_row``, ``dayfirst``, ``timezone``, ``page_size``,
``encoding_fallback``, ``max_record_lines``), plus
  mode         "export" (default; read ``path``) or "rest"
  base_url     REST base URL, e.g. https://clinic.example/api/v1 (rest mode)
  api_key_env  environment variable holding the REST API key (rest mode)
  time_scale   divide pacing waits by this (sandbox runs only)
Ambiguous dates default to day-first (Pulse is an Indian product).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ferry.sources.clinic_csv import Settings as ExportSettings


class Settings(ExportSettings):
    path: str = ""  # type: ignore[assignment]
    mode: Literal["export", "rest"] = "export"
    base_url: str | None = None
    api_key_env: str | None = None
    time_scale: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _where(self) -> Settings:
        if self.mode == "export" and not self.path:
            raise ValueError("export mode needs path")
        if self.mode == "rest" and not (self.base_url and self.api_key_env):
            raise ValueError("rest mode needs base_url and api_key_env")
        return self


def create(settings: dict[str, Any], workdir: Path, transport: Any = None) -> Any:
    from ferry.sources.pulse.reader import PulseSource

    src = PulseSource(Settings.model_validate(settings), workdir)
    src.transport = transport  # type: ignore[attr-defined]
    return src
