"""Which placement of the export's columns the staged records were read under.

A file source places each column of the export on a field (ferry.yaml ``source.columns``, which
``ferry map`` fills, then the source's own matcher); the records it stages are shaped by that
placement (a column placed on ``mobile`` is staged there, an unplaced one in the custom bag).
``ferry map`` may place a column differently from the records already staged, and the map it
proposes and the person confirms are read from those records. Loading them, or staging some of
them again (a delta pass) beside the others, would move a column's values to another field
than the confirmed map says, and the sample diff could not see it: it rebuilds each payload
from the very records that were written. So the placement is kept with the staged records
(one digest per object, ``Source.placement``) and checked:

* ``extract``: a partial read (a delta pass, ``--since``) under another placement than the
  staged records' is refused before it stages anything; a full read records the new one.
* ``ferry map`` (``mapflow.place_columns``), having written ``source.columns``, stages again
  (a full read) the objects whose staged records were read under another placement, so the
  map it proposes next is read from records placed as every later read will place them.
* ``ferry map --confirm`` refuses records staged under another placement than ferry.yaml
  gives now, and stamps the placement it confirmed against into ``confirmed``.
* ``load`` (run, sample, delta) refuses staged records of mixed placements, or of another one
  than the map was confirmed against.

Sources without a placement (REST APIs) are not tracked; neither are stores staged before it
was kept, nor maps confirmed before it was (nothing is known about them).

The source settings that change how a value is parsed (``PARSE_SETTINGS``: the zone of a
date-time written without one, day-first dates, the encoding...) shape the staged records as
much, but not the map: they are kept with the staged records too (``reading:{object}``, the
settings' values), and

* ``extract`` reads again from the start an object staged under another placement or other
  parse settings than now, though its last read ended (a full read; a delta pass reads
  everything): a ``timezone`` set after extract moves the staged times;
* ``load`` refuses records staged under other parse settings than ferry.yaml gives now,
  naming the setting and the command (``ferry extract`` reads them again).

A full read from the start supersedes the row problems earlier reads put in the skip file for
that object (``StagingStore.supersede_skips``): they describe records read otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ferry.errors import ConfigError, FerryError

#: a read from this instant on reads everything (``ferry extract --since 1970-01-01``)
EVERYTHING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
RESTAGE = "ferry extract --since 1970-01-01"
#: the placement of an object a file source had no file for when it was first read (a file
#: whose object it could not tell, before ``source.files`` names it): nothing was staged, and
#: once a file is named for the object its finished read is stale, so it is read again
NO_FILE = "no-file"


#: source settings that change how a cell becomes a value: records read under other values
#: are other records (a ``timezone`` set after extract: 09:00 BST was staged as 09:00 UTC)
PARSE_SETTINGS = ("timezone", "dayfirst", "encoding", "delimiter", "header_row",
                  "encoding_fallback")


def _key(obj: str) -> str:
    return f"placement:{obj}"


def _reading_key(obj: str) -> str:
    return f"reading:{obj}"


def reading_of(settings: Any) -> dict[str, Any]:
    """{setting: value} of the parse settings a source's settings model has ({}: none)."""
    dump = getattr(settings, "model_dump", None)
    if dump is None:
        return {}
    values = dump(mode="json")
    return {k: values[k] for k in PARSE_SETTINGS if k in values}


def reading_changes(store: Any, obj: str, now: dict[str, Any]) -> list[str]:
    """The parse settings whose value differs from the staged records' of ``obj``, as
    ``timezone 'UTC' → 'Europe/London'`` ([]: the same, or unknown: staged before it was kept)."""
    had = store.get_value(_reading_key(obj))
    if had is None or not now:
        return []
    return [f"{k} {had.get(k)!r} → {now[k]!r}" for k in now if had.get(k) != now[k]]


def stale(store: Any, obj: str, digest: str | None, reading: dict[str, Any]) -> bool:
    """``obj`` has a finished read under another placement or other parse settings."""
    return bool(reading_changes(store, obj, reading)) or (
        digest is not None and bool(had := staged(store, obj)) and had != [digest])


def after_read_from_start(store: Any, obj: str, digest: str | None,
                          reading: dict[str, Any]) -> None:
    """A read from the start staged every record the source holds under ``digest`` and
    ``reading``: those are the staged records' now."""
    after_full_read(store, obj, digest)
    if reading:
        store.set_value(_reading_key(obj), reading)


def of_source(source: Any) -> dict[str, str]:
    """{object: digest} of how ``source`` places its columns now ({} when it has no such)."""
    placement = getattr(source, "placement", None)
    return dict(placement()) if placement is not None else {}


def digest_for(source: Any, placements: dict[str, str], store: Any, obj: str) -> str | None:
    """The placement ``obj`` is read under now: its files' digest; ``NO_FILE`` when a file
    source has no file for it and it was never read from one (so a file named for it later
    reads it again; one whose file left the folder keeps its records and placement, as
    before); None for a source without placement."""
    if obj in placements:
        return placements[obj]
    if getattr(source, "placement", None) is None or staged(store, obj) not in ([], [NO_FILE]):
        return None
    return NO_FILE


def staged(store: Any, obj: str) -> list[str]:
    """The placements the staged records of ``obj`` may have been read under ([]: unknown)."""
    return list(store.get_value(_key(obj)) or [])


def full_read(since: dt.datetime | None) -> bool:
    return since is None or since <= EVERYTHING


def before_read(store: Any, obj: str, digest: str | None, *, full: bool) -> None:
    """Called before ``obj`` is read under ``digest``: a partial read under another placement
    than the staged records' is refused (it would leave them mixed); otherwise the placement
    joins the staged ones (a read killed midway leaves both, so nothing passes for uniform)."""
    if digest is None:
        return
    stored = staged(store, obj)
    # no record was read under "no file": a file named since replaces it, never mixes with it
    had = stored if digest == NO_FILE else [h for h in stored if h != NO_FILE]
    if not full and had and had != [digest] and store.count(obj):
        raise ConfigError(
            f"the export's columns of {obj} are placed differently (ferry.yaml source.columns)"
            f" from the records already staged: reading only the changes would mix the two;"
            f" read everything again with `{RESTAGE}`, then review the map (ferry map --force,"
            f" ferry map --confirm)")
    now = had if digest in had else [*had, digest]
    if now != stored:
        store.set_value(_key(obj), now)


def after_full_read(store: Any, obj: str, digest: str | None) -> None:
    """A full read from the start placed every record the export holds: one placement now."""
    if digest is not None:
        store.set_value(_key(obj), [digest])


def _differs(project: Any, objects: set[str], now: dict[str, str]) -> list[str]:
    store = project.store
    # an object the export no longer has a file for is not read again: nothing to compare
    return sorted(o for o in objects if o in now and (had := staged(store, o))
                  and store.count(o) and had != [now[o]])


def current(project: Any) -> dict[str, str]:
    """{object: digest} of how the project's source places its columns now ({}: the source
    has no placement, or its export cannot be read here)."""
    import asyncio

    from ferry.engine.pipeline import open_source

    try:
        src = open_source(project)
        try:
            return of_source(src)
        finally:
            asyncio.run(src.aclose())
    except FerryError:
        return {}


def moved(project: Any) -> list[str]:
    """Objects with staged records read under another placement than the source gives now
    (or under one not kept: staged before it was), which a full read must stage again."""
    store = project.store
    counts = store.counts()
    now = current(project)
    # an object read with every row refused (a required column not placed) has no record
    # staged but its placement kept: placing the column must read it again all the same
    return sorted(o for o in now if (counts.get(o) or staged(store, o))
                  and staged(store, o) != [now[o]])


def for_confirm(project: Any, objects: set[str]) -> dict[str, str] | None:
    """The placement to stamp into the confirmation of a map reading ``objects``; refuses
    (ConfigError naming the objects and the command) when records of them were staged under
    another placement than ferry.yaml gives now. None when the source has no placement."""
    now = current(project)
    if not now:  # no placement, or the export cannot be read here: nothing to compare
        return None
    bad = _differs(project, objects, now)
    if bad:
        raise ConfigError(
            f"records of {', '.join(bad)} were staged with the export's columns placed"
            f" differently from ferry.yaml source.columns now (ferry map placed them since),"
            f" and the map was read from those records: stage them again with `{RESTAGE}`,"
            f" then propose the map again (ferry map --force) and confirm it")
    return {o: d for o, d in now.items() if o in objects}


def settings_reading(project: Any) -> dict[str, Any]:
    """The parse settings ferry.yaml gives the source now, as its settings model reads them
    ({}: the source has none, or they do not validate: nothing to compare)."""
    from ferry.connectors.registry import source_module

    s = project.settings.source
    model = getattr(source_module(s.kind), "Settings", None)
    try:
        return reading_of(model(**s.options())) if model is not None else {}
    except Exception:  # invalid settings: `ferry check` and extract say why
        return {}


def require_read_as_set(project: Any, objects: list[str]) -> None:
    """Before a load: the staged records of ``objects`` were read under the parse settings
    ferry.yaml gives now (ConfigError naming the setting and the command)."""
    now = settings_reading(project)
    store = project.store
    changed = {o: c for o in objects if store.count(o)
               and (c := reading_changes(store, o, now))}
    if changed:
        raise ConfigError(
            "records staged before a source setting that changes how values are read was"
            " changed in ferry.yaml: " + "; ".join(f"{o}: {', '.join(c)}"
                                                  for o, c in sorted(changed.items()))
            + "; read them again with `ferry extract` (it reads again what the change"
            " affects), then load")


def require_confirmed(project: Any, doc: Any) -> None:
    """Before a load: the staged records of each object the map reads were placed as when the
    map was confirmed, all of them alike, and read under the parse settings ferry.yaml gives
    now (ConfigError naming the objects, or the setting, and the command)."""
    confirmed = doc.confirmed.placement if doc.confirmed is not None else None
    store = project.store
    require_read_as_set(project, sorted({om.source for om in doc.objects}))
    mixed, moved = [], []
    for obj in sorted({om.source for om in doc.objects}):
        had = staged(store, obj)
        if not had or not store.count(obj):
            continue
        if len(had) > 1:
            mixed.append(obj)
        elif confirmed is not None and obj in confirmed and confirmed[obj] != had[0]:
            moved.append(obj)
    if mixed:
        raise ConfigError(
            f"records of {', '.join(mixed)} were staged under two placements of the export's"
            f" columns (ferry.yaml source.columns changed between reads): stage them again"
            f" with `{RESTAGE}`, then review and confirm the map (ferry map --confirm)")
    if moved:
        raise ConfigError(
            f"records of {', '.join(moved)} were staged with the export's columns placed"
            f" differently from when mapping.yaml was confirmed, so the map no longer describes"
            f" them: propose it again with `ferry map --force` (or review it), then confirm it"
            f" (ferry map --confirm)")
