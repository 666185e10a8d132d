"""Connector lookup by name. Each package exposes ``create(settings, workdir) -> Source|Destination``
and a pydantic ``Settings`` model; the import is lazy so one system's driver never loads for another.
A destination package may also expose ``SCHEMA_TERMS`` (its words for what ``prepare`` makes) and
``pricing(workdir)`` (a connector built to price calls only, for ``ferry estimate --patients``).

Third-party packages can add systems through the entry-point groups ``ferry.sources`` and
``ferry.destinations`` (value: the module path).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from ferry.connectors.base import Destination, Source
from ferry.errors import ConfigError

SOURCES: dict[str, str] = {
    "practicehub": "ferry.sources.practicehub",
    "pulse": "ferry.sources.pulse",
    "clinic_csv": "ferry.sources.clinic_csv",
    "fhir_bulk": "ferry.sources.fhir_bulk",
}
DESTINATIONS: dict[str, str] = {
    "pipedrive": "ferry.destinations.pipedrive",
    "salesforce": "ferry.destinations.salesforce",
    "odoo": "ferry.destinations.odoo",
}


def _module(group: str, table: dict[str, str], kind: str) -> ModuleType:
    path = table.get(kind)
    if path is None:  # a third party's system (``importlib.metadata``: only for those)
        from importlib.metadata import entry_points

        for ep in entry_points(group=group):
            if ep.name == kind:
                path = ep.value
    if path is None:
        known = ", ".join(sorted(table))
        raise ConfigError(f"unknown {group.split('.')[-1][:-1]} kind {kind!r} (known: {known})")
    return importlib.import_module(path)


def source_module(kind: str) -> ModuleType:
    return _module("ferry.sources", SOURCES, kind)


def destination_module(kind: str) -> ModuleType:
    return _module("ferry.destinations", DESTINATIONS, kind)


def make_source(kind: str, settings: dict[str, Any], workdir: Path) -> Source:
    return cast(Source, source_module(kind).create(settings, workdir))


def make_destination(kind: str, settings: dict[str, Any], workdir: Path) -> Destination:
    return cast(Destination, destination_module(kind).create(settings, workdir))
