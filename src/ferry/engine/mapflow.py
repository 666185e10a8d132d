"""Proposing and confirming the map for a project: one implementation for the CLI and the UI.

``propose`` drafts mapping.yaml from the pair's recipe, the staged data's profile and the
destination's schema (and, for file sources, places the export's unknown columns first);
``confirm`` validates it against the same evidence and stamps it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ferry.connectors.base import ObjectInfo
from ferry.engine.pipeline import open_destination, open_source, registry_objects
from ferry.engine.project import Project
from ferry.errors import FerryError
from ferry.mapping.model import MappingDoc

HEADER = ("Ferry mapping: {src} → {dst} (from recipe {recipe}).\n"
          "Edit freely (comments survive); then run `ferry map --confirm`.\n"
          "status: review lines need a decision; samples of PHI fields are masked.\n"
          "on_delete (per object map): what `ferry delta` does when the source deletes a"
          " record —\n  delete_dependants | unlink | keep_and_flag; unset: options.delete_policy"
          " (delete → delete_dependants).")


def data_profile(project: Project, limit: int = 5000) -> Any:
    """Profiles of up to ``limit`` staged records per object (None when nothing is staged)."""
    from ferry.mapping.validate import profile_records

    counts = project.store.counts()
    if not counts:
        return None

    def head(obj: str) -> Any:
        for i, rec in enumerate(project.store.iter_records(obj)):
            if i >= limit:
                return
            yield rec

    return {obj: profile_records(head(obj)) for obj in counts}


def destination_schema(project: Project) -> tuple[list[ObjectInfo] | None, str | None]:
    """The destination's schema, or None and why (confirm then checks the recipe's rules)."""
    try:
        dest = open_destination(project)
        try:
            return dest.describe(), None
        finally:
            dest.close()
    except Exception as exc:  # noqa: BLE001 - the reason is the class name, never a value
        return None, type(exc).__name__


@dataclass
class ColumnPlacement:
    proposed: list[Any] = field(default_factory=list)
    review: list[Any] = field(default_factory=list)
    every: list[Any] = field(default_factory=list)  # every column's proposal, in file order
    restaged: dict[str, int] = field(default_factory=dict)  # object → records staged again
    held: list[tuple[str, str]] = field(default_factory=list)  # (file, why): object in doubt
    #: the read again's extract run and stats (its problems are said like extract's)
    restage_run: tuple[str, Any] | None = None


def place_columns(project: Project) -> ColumnPlacement:
    """File sources: the proposer places every column of the export (a standard field, review,
    a custom field or not migrated) and writes each decision to ferry.yaml ``source.columns``
    (``ferry.mapping.columns``); then the objects whose staged records were read under another
    placement are read again in full (``ferry.engine.placement``), so the map is proposed from
    records placed as every later read places them."""
    from ferry.connectors.registry import source_module
    from ferry.mapping.columns import merge_columns, propose_for_source, supports_columns
    from ferry.settings import ConnectorSettings, save_settings

    settings = project.settings
    if not supports_columns(source_module(settings.source.kind)):
        return ColumnPlacement()
    given = settings.source.options().get("columns") or {}
    src = open_source(project)
    try:
        proposals = propose_for_source(src, given)
        held = src.held()  # files whose object a person must name
    finally:
        asyncio.run(src.aclose())
    out = ColumnPlacement([p for p in proposals if p.status == "proposed"],
                          [p for p in proposals if p.status == "review"], list(proposals),
                          held=held)
    if proposals:
        new = settings.model_copy(deep=True)
        new.source = ConnectorSettings(**{**settings.source.model_dump(),
                                          "columns": merge_columns(given, proposals)})
        save_settings(new, project.settings_path)
        project.__dict__.pop("settings", None)  # cached_property: read the file again
    out.restaged = restage_moved(project, out)
    return out


def restage_moved(project: Project, out: ColumnPlacement | None = None) -> dict[str, int]:
    """Stage again, by a full read, the objects whose staged records were read under another
    placement of the export's columns than ferry.yaml gives now: {object: records staged}
    (and the run in ``out.restage_run``)."""
    from ferry.engine.pipeline import run_extract
    from ferry.engine.placement import EVERYTHING, moved

    objects = moved(project)
    if not objects:
        return {}
    run_id, stats = run_extract(project, since=EVERYTHING, objects=objects)
    if out is not None:
        out.restage_run = (run_id, stats)
    return {o: stats.staged.get(o, 0) + stats.unchanged.get(o, 0) for o in objects}


def _export_columns(project: Project, profile: dict[str, Any], *, merge: bool
                    ) -> dict[str, Any]:
    """File sources: the not-migrated columns with their reasons, per object (never staged,
    so only the export names them); with ``merge`` (nothing staged yet) the custom columns
    too, profiled from their sample cells into ``profile`` in place."""
    from ferry.connectors.registry import source_module
    from ferry.mapping.columns import export_profile, supports_columns

    if not supports_columns(source_module(project.settings.source.kind)):
        return {}
    try:
        src = open_source(project)
    except FerryError:
        return {}
    try:
        raw = src.raw_columns(20)
        if raw is None:
            return {}
        extra, ignored = export_profile(raw)
    except FerryError:
        return {}
    finally:
        asyncio.run(src.aclose())
    for obj, fields in extra.items() if merge else ():
        mine = profile.setdefault(obj, {})
        for path, prof in fields.items():
            mine.setdefault(path, prof)
    return ignored


def _schema_for(project: Project, describe: bool, schema: list[ObjectInfo] | None
                ) -> list[ObjectInfo] | None:
    """The schema a caller already read, else (``describe``) the destination's own."""
    if schema is not None or not describe:
        return schema
    return destination_schema(project)[0]


def propose(project: Project, *, variant: str | None = None, describe: bool = True,
            schema: list[ObjectInfo] | None = None, sample: int = 5000) -> MappingDoc:
    """Draft mapping.yaml (overwrites it: callers decide whether that is allowed)."""
    from ferry.mapping.adapt import fit_to_source
    from ferry.mapping.draft import draft_mapping
    from ferry.mapping.mapping_file import save

    settings = project.settings
    schema = _schema_for(project, describe, schema)
    profile = data_profile(project, sample) or {}
    # nothing staged yet: the export's own columns stand in for the data (once staged, the
    # staged records are the truth: ``place_columns`` stages again what it placed otherwise)
    ignored = _export_columns(project, profile, merge=not profile)
    doc = draft_mapping(settings.source.kind, settings.destination.kind, profile or None,
                        schema, variant)
    if ignored:
        from ferry.mapping.draft import add_not_migrated

        add_not_migrated(doc, ignored)
    try:
        objects = registry_objects(project)
    except FerryError:  # the source cannot be opened here: the recipe stays as written
        objects = None
    if objects is not None:
        fit_to_source(doc, objects)
    save(doc, project.mapping_path,
         HEADER.format(src=doc.source, dst=doc.destination, recipe=doc.recipe))
    return doc


def confirm(project: Project, by: str, *, describe: bool = True,
            schema: list[ObjectInfo] | None = None, sample: int = 5000) -> MappingDoc:
    """Validate mapping.yaml against the staged data and the destination, then stamp it
    (refused when the records were staged under another placement of the export's columns
    than ferry.yaml gives now: ``ferry.engine.placement``)."""
    from ferry.mapping.validate import confirm_file

    schema = _schema_for(project, describe, schema)
    return confirm_file(project.mapping_path, data_profile(project, sample), schema, by=by,
                        placement=confirmed_placement(project))


def confirmed_placement(project: Project) -> Any:
    """``confirm_file``'s ``placement``: the export's column placement for the objects the map
    reads (ConfigError when the staged records were read under another one)."""
    from ferry.engine.placement import for_confirm

    return lambda doc: for_confirm(project, {om.source for om in doc.objects})
