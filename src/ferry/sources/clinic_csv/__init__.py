"""Generic clinic export: a folder of CSV / XLSX files (seed 000, "structured CSV export").

Settings keys:
  path              folder holding the export files
  files             {file name: object} where a file's name does not say what it holds
  columns           {file name or object: {column: canonical field, or null for custom}}; the
                    confirmed map from ``ferry map`` arrives here and wins over our matcher
  encoding          force a codec (default: detected per file)
  delimiter         force a delimiter (default: detected per file)
  header_row        1-based line of the header (default: detected, preamble skipped)
  dayfirst          ambiguous dates are day-first (default: the export's evidence, the
                    country its Country column, State/ZIP or else phones name, the system's
                    documented order; a date they do not
                    settle is left out and reported, never guessed)
  timezone          zone of naive date-times (default UTC)
  page_size         records (and errors) per page (default 1000)
  encoding_fallback decode lines the file's encoding refuses with this codec instead of
                    reporting them (default: report)
  max_record_lines  a quoted cell may span at most this many lines (default 10,000)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ferry.connectors.walltime import zone_name


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    files: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = Field(default=None, ge=1)
    dayfirst: bool | None = None
    timezone: str = "UTC"
    page_size: int = Field(default=1000, ge=1)
    encoding_fallback: str | None = None
    max_record_lines: int = Field(default=10_000, ge=1)

    _zone = field_validator("timezone")(zone_name)


def create(settings: dict[str, Any], workdir: Path) -> Any:
    from ferry.sources.clinic_csv.reader import ExportSource

    return ExportSource(Settings.model_validate(settings), workdir)
