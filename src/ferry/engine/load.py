"""Load: stream staged records through the confirmed mapping into audited destination writes.

For each object map in plan order every record the map looks at ends in exactly one bucket:
created / updated / unchanged (loaded), folded or uploaded (loaded onto a parent), merged
(dedup), excluded (a confirmed ``when`` rule or mode ``none``), held (PHI review / BAA gate) or
skipped (with a reason in the skip table). ``dry_run`` classifies through the same code path
without writing, so the dry run predicts the run.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ferry.connectors.base import FileUpload
from ferry.engine.context import LoadContext, MapStats
from ferry.engine.dedup import merge_state, merged_record
from ferry.engine.deletions import LINK_EMPTIED, emptied_reason
from ferry.engine.plan import load_order
from ferry.engine.writes import Item, Writer, payload_hash, ref, same_payload
from ferry.mapping.compile import Built, CompiledMap
from ferry.mapping.model import ObjectMap
from ferry.model.crypto import PlainView, plain_file, private_copy
from ferry.model.entities import Document, Record
from ferry.model.staging import StagedRecord

FOLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS fold_acc (map TEXT NOT NULL, parent_dest TEXT NOT NULL,
    key TEXT NOT NULL, ord BLOB NOT NULL, source_id TEXT NOT NULL, value BLOB,
    PRIMARY KEY (map, parent_dest, key, source_id));
CREATE TABLE IF NOT EXISTS fold_state (map TEXT NOT NULL, parent_dest TEXT NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (map, parent_dest));
"""


def run_load(ctx: LoadContext) -> dict[str, MapStats]:
    writer = Writer(ctx.store, ctx.audit, ctx.dest, ctx.run_id)
    for cm in ctx.compiled.values():  # fields the map requires: a bad value refuses the record
        writer.required.setdefault(cm.om.target, set()).update(
            {f.key for f in cm.fields if f.fm.required} | ({cm.id_key} if cm.id_key else set()))
    folded: list[Folded] = []
    for om in load_order(ctx.doc):
        if om.mode == "users":
            _users(ctx, om)
        elif om.mode == "record":
            _records(ctx, writer, om)
        elif om.mode == "fold":
            folded.append(_folds(ctx, om))
        elif om.mode == "attach":
            _attachments(ctx, writer, om)
        else:
            st = ctx.stat(om.name)
            st.excluded += sum(len(batch) for batch in _candidates(ctx, om))
    if not ctx.dry_run:  # every fold map's values for one parent in one update (see Folded)
        _apply_folds(ctx, writer, folded)
    return ctx.stats


#: staged records decoded at a time. The write batch (``options.batch_size``) can be far larger
#: (5,000 for Salesforce, so creates reach Bulk API 2.0): ``_records`` gathers the built
#: payloads of several reads into one write, so only this many decoded records are held.
READ_CHUNK = 500


def _read_size(ctx: LoadContext) -> int:
    return max(1, min(READ_CHUNK, ctx.batch_size))


def _candidates(ctx: LoadContext, om: ObjectMap, *, deleted: bool = False,
                caught_up: bool = False) -> Any:
    """Batches (``_read_size``) of the map's source object. While extraction still runs
    (``ctx.extracted``), follow the staging store as pages land, so extract and load overlap.
    ``deleted``: a delta pass's records deleted at the source come too (a fold takes them out
    of their parent). ``caught_up``: yield (batch, whether the read came back short: the
    store held no more for now), so a write waits for more reads only while there are more."""
    size = _read_size(ctx)
    batches = ctx.store.iter_batches(om.source, size, changed_since=ctx.changed_since,
                                     include_deleted=deleted and ctx.changed_since is not None)
    if ctx.extracted is not None:
        batches = ctx.store.follow_batches(om.source, size,
                                           finished=lambda: ctx.extracted(om.source))
    again = set((ctx.retry or {}).get(om.source, ()))
    unlinked = (ctx.unlinked or {}).get(om.source)
    for batch in batches:
        chosen = [s for s in batch if ctx.selected(om.source, s.source_id)]
        again.difference_update(s.source_id for s in chosen)
        if unlinked:  # changed at the source in this pass: a missing parent is its news
            unlinked.difference_update(s.source_id for s in chosen)
        if chosen:
            yield (chosen, len(batch) < size) if caught_up else chosen
    # a delta pass also retries what an earlier pass held (PHI review since decided) or could
    # not link (its parent had no destination record yet), though the source did not change it
    waiting = sorted(again)
    for i in range(0, len(waiting), size):
        chosen = [s for sid in waiting[i:i + size]
                  if (s := ctx.store.get(om.source, sid)) is not None and not s.deleted
                  and ctx.selected(om.source, sid)]
        if chosen:
            yield (chosen, False) if caught_up else chosen


def _report(ctx: LoadContext, om: ObjectMap, n: int) -> None:
    if ctx.progress:
        ctx.progress(om.name, n, ctx.store.count(om.source))


def _waits(ctx: LoadContext, om: ObjectMap, st: MapStats, source_id: str) -> bool:
    """Whether a record without its parent's destination record is one an earlier pass could
    not link either and the source has not changed since (a delta's retry): it waits on, its
    earlier skip line standing (``pipeline.waiting`` retries it next pass), counted apart from
    this pass's skips (a delta that showed ``skip 1`` beside "refused 0" for an orphan the
    first run skipped)."""
    if source_id not in (ctx.unlinked or {}).get(om.source, ()):
        return False
    st.waiting += 1
    return True


def _skip(ctx: LoadContext, st: MapStats, r: str, field: str | None, reason: str, stage: str,
          summary: str | None = None) -> None:
    """Log a record's skip with its reason; a dry run counts the reason instead (its plan)."""
    if ctx.dry_run:
        st.reasons[summary or reason] += 1
    else:
        ctx.store.skip(ctx.run_id, r, field, reason, stage)


def _users(ctx: LoadContext, om: ObjectMap) -> None:
    """Practitioners → existing users: nothing is written, the id map learns the pairs."""
    st = ctx.stat(om.name)
    for batch in _candidates(ctx, om):
        for s in batch:
            uid = ctx.owners.by_practitioner.get(s.source_id)
            if uid is None:
                st.fallback += 1  # a finding (owner falls back), not a record left out
                if not ctx.dry_run:  # kept with its reason so reconcile accounts for it
                    ctx.store.skip(ctx.run_id, ref("source", om.source, s.source_id), "email",
                                   "no destination user with this email; records it owns go"
                                   " to the fallback owner", "owners")
                continue
            st.unchanged += 1
            if not ctx.dry_run:
                ctx.store.map_id(om.source, s.source_id, "user", uid, ctx.run_id, created=False)


def _screen(ctx: LoadContext, om: ObjectMap, rec: Record, st: MapStats, r: str
            ) -> Record | None:
    """Pass the record through the hold (PHI review, BAA gate): the record to write, or None
    when it is held or excluded (counted and logged as such)."""
    verdict = ctx.hold(om, rec) if ctx.hold else None
    if isinstance(verdict, Record):  # e.g. the PHI review decided to redact: write this instead
        return verdict
    if isinstance(verdict, str) and verdict.startswith("excluded: "):
        st.excluded += 1
        _skip(ctx, st, r, None, verdict, "excluded")
        return None
    if verdict:
        st.held += 1
        _skip(ctx, st, r, None, f"held: {verdict}", "hold")
        return None
    return rec


def _prepare(ctx: LoadContext, om: ObjectMap, cm: CompiledMap, s: StagedRecord,
             st: MapStats, merges: tuple[dict[str, str], set[str]]) -> tuple[Record, Built] | None:
    """Decide a record's bucket up to the write; returns what to write, or None.

    ``merges``: the batch's ``dedup.merge_state`` (merged ids, survivors with filled fields)."""
    rec = s.record
    r = ref("source", om.source, s.source_id)
    if s.source_id in merges[0]:
        st.merged += 1
        return None
    if not cm.accepts(rec):
        st.excluded += 1
        return None
    if s.source_id in merges[1]:
        rec = merged_record(ctx.store, om.source, rec)
    screened = _screen(ctx, om, rec, st, r)
    if screened is None:
        return None
    rec = screened
    built = cm.build(rec, ctx.lookup)
    if built.error is not None:
        st.skipped += 1
        _skip(ctx, st, r, built.error.field, built.error.reason, "transform")
        return None
    if built.unresolved:
        need = built.unresolved[0]
        if _waits(ctx, om, st, s.source_id):
            return None
        st.skipped += 1
        _skip(ctx, st, r, need.field, f"references {need.object}:{need.source_id}, which has no"
              " destination record", "reference",
              summary=f"{need.field} references a {need.object} with no destination record")
        return None
    if not ctx.dry_run:
        for fe in built.field_errors:
            ctx.store.skip(ctx.run_id, r, fe.field, f"field left empty: {fe.reason}",
                           "transform-field")
        for fa in built.assumed:  # written with a value the source did not give: said
            ctx.store.skip(ctx.run_id, r, fa.field, fa.reason, "transform-assumed")
        for gone in built.emptied:  # kept, its link to a record deleted at the source empty
            ctx.store.skip(ctx.run_id, r, gone.field, emptied_reason(gone.object, gone.source_id),
                           LINK_EMPTIED)
    return rec, built


def _prepared(ctx: LoadContext, om: ObjectMap, cm: CompiledMap, batch: list[StagedRecord],
              st: MapStats) -> Any:
    """The live records of a batch that pass every check, with their built payloads."""
    merges = merge_state(ctx.store, om.source, [s.source_id for s in batch])
    for s in batch:
        if s.deleted:
            continue
        prepared = _prepare(ctx, om, cm, s, st, merges)
        if prepared is not None:
            yield s, prepared[0], prepared[1]


def _records(ctx: LoadContext, writer: Writer, om: ObjectMap) -> None:
    cm = ctx.compiled[om.name]
    st = ctx.stat(om.name)
    detail = {"map": om.name}
    done = pending = 0
    creates: list[Item] = []
    updates: list[Item] = []
    # reads of ``_read_size`` records are decoded, built and dropped; their payloads gather
    # into one write batch of ``batch_size`` records read (the same write boundaries as one
    # read of the whole batch), or of what the store held when a followed extract lags
    keys = clearable(cm)
    for batch, short in _candidates(ctx, om, caught_up=True):
        mapped = ctx.store.mapped(om.source, [s.source_id for s in batch], om.target)
        for s, _, built in _prepared(ctx, om, cm, batch, st):
            item = Item(om.source, s.source_id, built.payload,
                        assumed=tuple(e.field or "" for e in built.assumed))
            existing, known_hash = mapped.get(s.source_id, (None, None))
            if existing is None:
                creates.append(item)
                st.plan["create"] += 1
                if ctx.dry_run:  # later maps see it as there, as they will in the run
                    ctx.lookup.planned.setdefault((om.source, s.source_id), set()).add(om.target)
                continue
            # an update sends the map's fields the record has left empty as empty: the
            # destination would keep the value the source no longer has (a removed mobile
            # number, occupation or address line stayed in the CRM after a delta)
            full = {**dict.fromkeys(k for k in keys if k not in built.payload),
                    **built.payload}
            if same_payload(known_hash, built.payload, ctx.store.codec) or (
                    len(full) > len(built.payload)
                    and same_payload(known_hash, full, ctx.store.codec)):
                st.unchanged += 1
                st.plan["unchanged"] += 1
            else:
                item.payload = full
                item.dest_id = existing
                updates.append(item)
                st.plan["update"] += 1
        pending += len(batch)
        done += len(batch)
        if pending >= ctx.batch_size or short:
            if not ctx.dry_run:
                _write(ctx, writer, om, creates, updates, detail, st)
            creates, updates, pending = [], [], 0
            _report(ctx, om, done)
    if pending:
        if not ctx.dry_run:
            _write(ctx, writer, om, creates, updates, detail, st)
        _report(ctx, om, done)


def clearable(cm: CompiledMap) -> list[str]:
    """The keys a record map's update empties when the record has no value for them: its
    fields, less the source id key and those that always hold a value (required, default)."""
    out: dict[str, None] = {}
    for f in cm.fields:
        if f.key != cm.id_key and not f.fm.required and f.fm.default is None:
            out[f.key] = None
    return list(out)


def _chunks(items: list[Item], size: int) -> Any:
    for i in range(0, len(items), max(size, 1)):
        yield items[i:i + max(size, 1)]


def _write(ctx: LoadContext, writer: Writer, om: ObjectMap, creates: list[Item],
           updates: list[Item], detail: dict[str, Any], st: MapStats) -> None:
    caps = ctx.dest.capabilities
    for chunk in _chunks(creates, min(caps.create_group or caps.batch_create, ctx.batch_size)):
        for res in writer.create(om.target, chunk, detail):
            if res.ok:
                st.created += 1
            else:
                st.skipped += 1
    # a destination's ``batch_update`` counts its calls per update (Odoo writes one dict per
    # call), not the rows one ``update`` takes: a batch of rows shares one read of the
    # before-images, one intent and one outcome transaction, and the destination groups calls
    for chunk in _chunks(updates, ctx.batch_size):
        for res in writer.update(om.target, chunk, detail, map_as=om.target):
            if res.ok:
                st.updated += 1
            else:
                st.skipped += 1


def _parent_target(ctx: LoadContext, om: ObjectMap) -> str:
    """The destination object of a fold/attach map's parents (found once per map: it was
    looked for over every map for each child, 1 % of an Odoo load's samples)."""
    assert om.parent is not None
    if om.parent.map:
        return ctx.doc.object_map(om.parent.map).target
    return next((m.target for m in ctx.doc.objects
                 if m.source == om.parent.object and m.mode == "record"), om.target)


def _parent_dest(ctx: LoadContext, om: ObjectMap, rec: Record, target: str
                 ) -> tuple[str, str] | None:
    """(parent's destination object, parent's destination id) for fold/attach maps;
    ``target``: ``_parent_target`` of the map."""
    assert om.parent is not None
    pid = getattr(rec, om.parent.via, None)
    if pid is None:
        return None
    dest_id = ctx.lookup.dest_id(om.parent.object, str(pid), target)
    return None if dest_id is None else (target, dest_id)


@dataclass
class Folded:
    """A fold map whose children are in ``fold_acc``; its parents are updated after the last
    map, together with every other fold map's values for the same parent: one update per
    parent instead of one per fold map (five maps fold into a patient's person, two into an
    invoice's deal: calls, audit entries and API tokens). Nothing later in the load reads a
    folded field, so the update may wait."""

    om: ObjectMap
    parent_target: str
    #: delta: parents whose last child in this map went (their folded fields are emptied)
    emptied: list[str] = field(default_factory=list)


def _folds(ctx: LoadContext, om: ObjectMap) -> Folded:
    """Children folded into fields of their parent's record, aggregated per ``om.fold``."""
    cm = ctx.compiled[om.name]
    st = ctx.stat(om.name)
    fold = om.fold
    store = ctx.store
    with store.write_lock:
        store.conn.executescript(FOLD_SCHEMA)
    # A full load folds every child afresh. A delta pass keeps what earlier loads folded and
    # replaces only the children that changed or went: their parents are folded again from
    # all their children (a sum over the changed payments alone would be wrong).
    partial = ctx.changed_since is not None and ctx.only is None
    touched: set[str] = set()
    if not partial:
        with store.tx() as c:
            c.execute("DELETE FROM fold_acc WHERE map=?", (om.name,))
    parent_target = om.target
    target = _parent_target(ctx, om) if om.parent else om.target
    # latest / first fold one child whole (the last bill, the current policy), so each child
    # keeps its empty fields: a pending last bill must not show an older bill's paid date
    whole = (fold.strategy if fold else "latest") in WHOLE_CHILD
    # a key another fold map also writes on the same parent (the last bill's payment method,
    # the last payment's) keeps its latest non-empty value: the later map's value stands
    of = om.parent.object if om.parent else None
    shared = {fl.key for other in ctx.compiled.values() if other is not cm
              and other.om.mode == "fold" and other.om.target == om.target
              and (other.om.parent.object if other.om.parent else None) == of
              for fl in other.fields}
    keys = [fl.key for fl in cm.fields if fl.key != cm.id_key and fl.key not in shared]
    for batch in _candidates(ctx, om, deleted=partial):
        rows = []
        maps: list[tuple[str, str, str, str]] = []
        if partial:
            touched |= _unfold(ctx, om, batch)
        for s, rec, built in _prepared(ctx, om, cm, batch, st):
            parent = _parent_dest(ctx, om, rec, target)
            if parent is None:
                if _waits(ctx, om, st, s.source_id):
                    continue
                st.skipped += 1
                _skip(ctx, st, ref("source", om.source, s.source_id),
                      om.parent.via if om.parent else None,
                      "parent record has no destination record", "reference")
                continue
            parent_target, parent_id = parent
            # one row per child: its values and its order key (a field value too: a date, or
            # whatever the map orders by) in one JSON document, encrypted once
            order = str(getattr(rec, fold.order_by if fold else "updated_at", "") or "")
            values = {k: _typed(v) for k, v in built.payload.items() if k != cm.id_key}
            if values:  # a child with no value folds nothing (its parent may have no row)
                if whole:  # its empty fields too: the latest bill's paid date is none
                    values = {**dict.fromkeys(keys), **values}
                rows.append((om.name, parent_id, CHILD, b"", s.source_id, store.codec.encode(
                    _child_json({"o": order, "v": values}))))
            st.folded += 1
            st.plan["fold"] += 1
            maps.append((om.source, s.source_id, f"{parent_target}#{om.name}", parent_id))
        with store.tx() as c:  # one transaction for the batch: its children and their maps
            c.executemany("INSERT OR REPLACE INTO fold_acc VALUES (?,?,?,?,?,?)", rows)
            if not ctx.dry_run:
                store.map_ids(maps, ctx.run_id, created=False, conn=c)
    out = Folded(om, parent_target)
    if partial and not ctx.dry_run:  # parents whose last folded child went
        left = {p for p, in store.conn.execute("SELECT DISTINCT parent_dest FROM fold_acc"
                                               " WHERE map=?", (om.name,))}
        out.emptied = sorted(touched - left)
    return out


def _unfold(ctx: LoadContext, om: ObjectMap, batch: list[StagedRecord]) -> set[str]:
    """Delta: take the batch's children out of the fold (they are folded again below if still
    live); a child deleted at the source leaves its parent, with a line saying so. Returns the
    parents (destination ids) they were folded into."""
    store = ctx.store
    parents: set[str] = set()
    with store.tx() as c:
        for s in batch:
            was = {p for p, in c.execute("SELECT DISTINCT parent_dest FROM fold_acc WHERE map=?"
                                         " AND source_id=?", (om.name, s.source_id))}
            parents |= was
            c.execute("DELETE FROM fold_acc WHERE map=? AND source_id=?",
                      (om.name, s.source_id))
            if s.deleted and was and not ctx.dry_run:
                for p in sorted(was):
                    store.unmap_id(om.source, s.source_id, f"{om.target}#{om.name}", conn=c)
                    store.skip(ctx.run_id, ref("source", om.source, s.source_id), None,
                               f"deleted at the source; taken out of the fields folded into"
                               f" {om.target}:{p}", "delta-delete", conn=c)
    return parents


#: ``fold_acc.key`` of a row holding all of one child's values (``{"o": order, "v": {key:
#: value}}``); rows written before hold one key's value each, their order key in ``ord``
CHILD = "*"


def _typed(value: Any) -> Any:
    """A value as JSON that keeps dates, datetimes and decimals typed through the fold table."""
    t = value.__class__
    if t is str or t is int or t is bool or t is float or value is None:  # most values
        return value
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    return value


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` as ``json.dumps(value, default=str)`` reads back: JSON's
    own types only (no NaN, which orjson writes as null; no datetime, which it writes with a
    "T" where ``str`` has a space; no enum, which it writes by value)."""
    t = value.__class__
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return math.isfinite(value)
    if t is dict:
        return all(k.__class__ is str and _plain(v) for k, v in value.items())
    if t is list or t is tuple:
        return all(_plain(v) for v in value)
    return False


def _child_json(doc: dict[str, Any]) -> bytes:
    """A folded child's row as JSON: orjson when its values are plain (``json.dumps`` with a
    ``default`` builds an encoder per call: 3.6 % of a 300-patient Odoo load's samples), the
    standard library otherwise. Both read back the same through ``fold_values``."""
    if _plain(doc):
        try:
            return orjson.dumps(doc)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate
            pass
    return json.dumps(doc, default=str).encode()


def _child_values(raw: str | bytes) -> tuple[Any, dict[str, Any]]:
    """A child's row read back as ``json.loads`` reads it, as (its order key, its values
    untyped by ``_untyped``): orjson when every value is text, a number, a boolean, null or
    a typed value (``_typed``) — the standard library's reader was most of ``fold_values``
    —, ``json.loads`` otherwise. orjson refuses NaN, infinities and lone surrogates (the
    row goes to ``json.loads``) and reads an integer beyond 64 bits as a float: a float
    that is a whole number of 2**63 or more may have been one, so it goes there too. Other
    floats read the same (Ferry writes them as ``repr`` does; 1.4M such texts compared).
    A list is rare enough to leave to ``json.loads``. One pass over the values checks and
    untypes each (a check, then ``_untyped`` per value, was two). Money folds as floats:
    8,930 of a 1k Odoo load's 14,561 rows took ``json.loads`` before floats came here."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        doc = None
    values = doc.get("v") if type(doc) is dict else None
    if type(values) is dict:
        out: dict[str, Any] = {}
        for key, v in values.items():
            t = v.__class__
            if t is str or t is bool or t is int or v is None or (
                    t is float and not (v.is_integer() and abs(v) >= 2**63)):
                out[key] = v
            elif t is dict and len(v) == 1 and v.get(
                    "$dt", v.get("$d", v.get("$n"))).__class__ is str:
                out[key] = _untyped(v)
            else:
                break
        else:
            return doc["o"], out
    doc = json.loads(raw)
    return doc["o"], {key: _untyped(x) for key, x in doc["v"].items()}


def _decode(text: str) -> Any:
    return _untyped(json.loads(text))


def _untyped(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        if tag == "$dt":
            return dt.datetime.fromisoformat(raw)
        if tag == "$d":
            return dt.date.fromisoformat(raw)
        if tag == "$n":
            return Decimal(raw)
    return value


#: fold strategies that take one child whole: its empty fields are empty on the parent
WHOLE_CHILD = ("latest", "first")


def _aggregate(strategy: str, sep: str, values: list[Any]) -> Any:
    if strategy in WHOLE_CHILD:  # the chosen child's value, empty or not (children folded
        # before empty fields were kept have only their non-empty ones here)
        one = values[-1 if strategy == "latest" else 0] if values else None
        return None if one in (None, "", []) else one
    values = [v for v in values if v not in (None, "", [])]
    if not values:
        return None
    if strategy == "latest":
        return values[-1]
    if strategy == "first":
        return values[0]
    if strategy == "sum":
        return float(sum(Decimal(str(v)) for v in values))
    if strategy == "list":
        out: list[Any] = []
        for v in values:
            out.extend(v if isinstance(v, list) else [v])
        return out
    if all(isinstance(v, str) for v in values):
        return sep.join(values)
    return values[-1]  # joining dates or numbers makes no value: keep the latest


FOLD_PARENTS_PER_PASS = 200


def _apply_folds(ctx: LoadContext, writer: Writer, folded: list[Folded]) -> None:
    """Update the parents whose folded values changed: fold maps into one parent object are
    merged, so a parent gets one update carrying every changed map's fields (a map whose
    values did not change adds nothing). A bounded slice of parents at a time (keyset
    paging over each map's parents), so memory stays flat however many there are."""
    groups: dict[tuple[str, str], list[Folded]] = {}
    for f in folded:
        parent_obj = f.om.parent.object if f.om.parent else f.om.source
        groups.setdefault((f.parent_target, parent_obj), []).append(f)
    for (parent_target, parent_obj), maps in groups.items():
        after = ""
        while True:
            parents = _next_parents(ctx, maps, after)
            if not parents:
                break
            after = parents[-1]
            items: dict[str, Item] = {}
            parts: dict[str, list[tuple[str, str]]] = {}  # parent → (map, hash) it carries
            # the update is audited under the parent's own source record, as its create was
            # (its destination id read as a source id would name another patient)
            sources = ctx.store.sources_of(parent_obj, parent_target, parents)
            for f in maps:
                for parent_dest, (payload, h) in _fold_payloads(ctx, f, parents).items():
                    item = items.setdefault(parent_dest, Item(
                        parent_obj, sources.get(parent_dest, ""), {}, dest_id=parent_dest))
                    # a key two maps fold gets the later map's value, as when each map sent
                    # its own update in load order; an empty one leaves the earlier map's
                    item.payload.update({k: v for k, v in payload.items()
                                         if v is not None or k not in item.payload})
                    parts.setdefault(parent_dest, []).append((f.om.name, h))
            _write_folds(ctx, writer, parent_target, [m.om.name for m in maps],
                         [items[p] for p in parents if p in items], parts)


def _next_parents(ctx: LoadContext, maps: list[Folded], after: str) -> list[str]:
    """The next ``FOLD_PARENTS_PER_PASS`` parents after ``after`` of any of ``maps``: among
    each map's next that many (an index range each), so a page costs no scan of the rest."""
    n = FOLD_PARENTS_PER_PASS
    found: set[str] = set()
    for f in maps:
        found.update(r[0] for r in ctx.store.conn.execute(
            "SELECT DISTINCT parent_dest FROM fold_acc WHERE map=? AND parent_dest>? ORDER BY"
            " parent_dest LIMIT ?", (f.om.name, after, n)))
        i = bisect.bisect_right(f.emptied, after)
        found.update(f.emptied[i:i + n])
    return sorted(found)[:n]


def _fold_payloads(ctx: LoadContext, f: Folded, parents: list[str]
                   ) -> dict[str, tuple[dict[str, Any], str]]:
    """Of ``parents``, those whose values from map ``f`` differ from what was last sent: the
    aggregate of their children, or every folded field empty for a parent whose last child
    went (delta); with the payload's hash."""
    om = f.om
    fold = om.fold
    strategy, sep = (fold.strategy, fold.separator) if fold else ("latest", "\n")
    acc = fold_values(ctx.store, om.name, parents)
    sent = dict(ctx.store.conn.execute(
        f"SELECT parent_dest, hash FROM fold_state WHERE map=? AND"  # noqa: S608
        f" parent_dest IN ({','.join('?' * len(parents))})", (om.name, *parents)))
    cm = ctx.compiled[om.name]
    keys = [fl.key for fl in cm.fields if fl.key != cm.id_key]
    out: dict[str, tuple[dict[str, Any], str]] = {}
    emptied = set(f.emptied)
    for parent_dest in parents:
        values = acc.get(parent_dest)
        if values is not None:
            payload = {k: _aggregate(strategy, sep, v) for k, v in values.items()}
        elif parent_dest in emptied:
            payload = dict.fromkeys(keys)
        else:
            continue
        h = payload_hash(payload, ctx.store.codec)
        if not same_payload(sent.get(parent_dest), payload, ctx.store.codec, h):
            out[parent_dest] = (payload, h)
    return out


def fold_values(store: Any, map_name: str, parents: list[str] | None = None
                ) -> dict[str, dict[str, list[Any]]]:
    """Each parent's folded values by key, children in order (their order key, then source
    id), from ``fold_acc``: of ``parents``, or all. Reads rows of both layouts (one per child,
    or one per child and key as earlier versions wrote them)."""
    decode = store.codec.decode
    where, args = ("", (map_name,)) if parents is None else (
        f" AND parent_dest IN ({','.join('?' * len(parents))})", (map_name, *parents))
    children: list[tuple[str, str, str, dict[str, Any]]] = []
    for p, k, o, sid, v in store.conn.execute(
            "SELECT parent_dest, key, ord, source_id, value FROM fold_acc WHERE map=?"  # noqa: S608
            + where, args):
        raw = v if isinstance(v, str) else decode(v)
        if k == CHILD:
            order, values = _child_values(raw)
            children.append((p, order, sid, values))
        else:
            order = o if isinstance(o, str) else decode(o).decode()
            children.append((p, order, sid, {k: _decode(raw if isinstance(raw, str)
                                                         else raw.decode())}))
    children.sort(key=lambda c: c[:3])
    acc: dict[str, dict[str, list[Any]]] = {}
    for p, _, _, values in children:
        keys = acc.setdefault(p, {})
        for k, v in values.items():
            keys.setdefault(k, []).append(v)
    return {p: {k: keys[k] for k in sorted(keys)} for p, keys in acc.items()}


def _write_folds(ctx: LoadContext, writer: Writer, parent_target: str, names: list[str],
                 pending: list[Item], parts: dict[str, list[tuple[str, str]]]) -> None:
    """One update per parent (its before-image in the intent covers every key, so a rollback
    restores them all); each map's hash recorded for the parents that took it."""
    detail: dict[str, Any] = {"map": names[0]} if len(names) == 1 else {"maps": names}
    detail["fold"] = True
    for chunk in _chunks(pending, ctx.batch_size):  # rows per update: see ``_write``
        results = writer.update(parent_target, chunk, detail)
        with ctx.store.tx() as c:
            c.executemany("INSERT OR REPLACE INTO fold_state VALUES (?,?,?)",
                          [(name, it.dest_id, h) for it, res in zip(chunk, results, strict=True)
                           if res.ok for name, h in parts[str(it.dest_id)]])
            for it, res in zip(chunk, results, strict=True):
                if res.ok:
                    continue
                for name, _ in parts[str(it.dest_id)]:  # its children did not land after all
                    n = c.execute("SELECT count(DISTINCT source_id) FROM fold_acc WHERE map=?"
                                  " AND parent_dest=?", (name, it.dest_id)).fetchone()[0]
                    st = ctx.stat(name)
                    st.folded -= n
                    st.skipped += n


def _attachments(ctx: LoadContext, writer: Writer, om: ObjectMap) -> None:
    """Files (a Document's content, or a record rendered as text) attached to the parent."""
    st = ctx.stat(om.name)
    attach = om.attach
    caps = ctx.dest.capabilities
    group = caps.upload_group if caps.upload_reads_view else 1
    pending: list[tuple[Item, FileUpload]] = []  # a group's files (views: nothing held open)
    target = _parent_target(ctx, om) if om.parent else om.target
    moving = _moved_files(ctx, om, target)
    uploaded: list[tuple[Record, str]] = []  # delta: files up already, their names to check
    for batch in _candidates(ctx, om):
        for s in batch:
            rec = s.record
            r = ref("source", om.source, s.source_id)
            if s.deleted:
                continue
            if not ctx.compiled[om.name].accepts(rec):
                st.excluded += 1
                continue
            did = ctx.store.dest_id(om.source, s.source_id, om.target)
            if did and s.source_id not in moving:
                if ctx.changed_since is not None and not ctx.dry_run:
                    uploaded.append((rec, did))
                else:
                    st.unchanged += 1
                continue
            screened = _screen(ctx, om, rec, st, r)
            if screened is None:
                continue
            rec = screened
            parent = _parent_dest(ctx, om, rec, target)
            reason = None
            if parent is None:
                reason = "parent record has no destination record"
            elif (attach is None or attach.content == "file") and not (
                    isinstance(rec, Document) and rec.local_path
                    and Path(rec.local_path).exists()):
                reason = "file content was not downloaded"
            elif ctx.dry_run and isinstance(rec, Document):  # the writer refuses it in a run
                size = rec.size or Path(str(rec.local_path)).stat().st_size
                cap = ctx.dest.capabilities.max_file_bytes
                if cap and size > cap:
                    reason = f"file is over the destination's {cap:,}-byte limit"
            if reason:
                st.skipped += 1
                _skip(ctx, st, r, None, reason, "attach")
                continue
            st.plan["upload"] += 1
            if ctx.dry_run:
                continue
            assert parent is not None
            if group > 1:
                pending.append(_upload_view(ctx, om, rec, parent))
                if len(pending) >= group:
                    _upload_group(ctx, writer, om, pending, st)
                    pending = []
            else:
                _upload_one(ctx, writer, om, rec, parent, st)
    if pending:
        _upload_group(ctx, writer, om, pending, st)
    if moving and not ctx.dry_run:
        _drop_moved(ctx, writer, om, moving, target)
    if uploaded:
        _rename_files(ctx, writer, om, uploaded, st)


def _rename_files(ctx: LoadContext, writer: Writer, om: ObjectMap,
                  uploaded: list[tuple[Record, str]], st: MapStats) -> None:
    """Delta: files uploaded before whose name, as the map builds it now, is not the one they
    carry (the record a template names was renamed: ``relabel``; the record's own name or date
    changed): renamed in place (``Destination.file_rename``: an update audited with the old
    name as its before-image, so a rollback gives it back); a file's content is never sent
    again. Where the destination cannot rename a file without uploading it again, the file
    keeps its name and a field line says so (the delta report lists it)."""
    cm = ctx.compiled[om.name]
    recs = {did: rec for rec, did in uploaded}
    fields = {did: ctx.dest.file_rename(om.target, cm.attach_name(rec, ctx.lookup))
              for did, rec in recs.items()}
    keys = sorted({k for f in fields.values() if f for k in f})
    now = writer.dest.read(om.target, sorted(d for d, f in fields.items() if f), keys) \
        if keys else {}
    items: list[Item] = []
    for did, rec in recs.items():
        want = fields[did]
        if want is None:
            st.unchanged += 1
            _skip(ctx, st, ref("source", om.source, rec.source_id), "file_name",
                  "file left with the name it was uploaded with: the destination cannot rename"
                  " a file without uploading it again (its name may no longer match the"
                  " source)", "load-field")
            continue
        have = now.get(did)
        if have is None or all(have.get(k) == v for k, v in want.items()):
            st.unchanged += 1  # (a file gone from the destination: reconcile's to tell)
            continue
        items.append(Item(om.source, rec.source_id, want, dest_id=did,
                          before={k: have.get(k) for k in want}))
    for chunk in _chunks(items, ctx.batch_size):
        for res in writer.update(om.target, chunk, {"map": om.name, "delta": True,
                                                    "rename": True}, capture_before=False):
            if res.ok:
                st.updated += 1
            else:
                st.skipped += 1


def _moved_files(ctx: LoadContext, om: ObjectMap, target: str
                 ) -> dict[str, tuple[str, str]]:
    """Delta: files on a record that is no longer their parent's (source id → file id, the
    parent record it is on).

    A patient that leaves a same-email group (given its own email) gets a record of its own
    (``dedup.regroup``), and its documents are retried with it; a file already uploaded is
    still attached to the other patient's record. The parent each file was uploaded to is in
    its upload's intent: where it differs from the parent's record now, the file is uploaded
    to the new parent and then deleted from the old one (``_drop_moved``); no destination moves
    a file between records."""
    again = (ctx.retry or {}).get(om.source)
    if not again or ctx.changed_since is None or om.parent is None or om.mode != "attach":
        return {}
    wanted = {ref("source", om.source, sid): sid for sid in again}
    last: dict[str, tuple[str, str]] = {}  # source id → (file id, parent id) of its upload
    # (on a record of this map's parent object: a file of another map is that map's to move)
    for src_ref, did, went in ctx.audit.uploads(om.target):
        sid = wanted.get(src_ref)
        if sid is not None and did and went.get("parent_object", target) == target:
            last[sid] = (str(did), str(went.get("parent", "")))
    out: dict[str, tuple[str, str]] = {}
    for sid, (did, parent_id) in sorted(last.items()):
        if ctx.store.dest_id(om.source, sid, om.target) != did:
            continue
        staged = ctx.store.get(om.source, sid)
        if staged is None or staged.deleted or not ctx.compiled[om.name].accepts(staged.record):
            continue
        now = _parent_dest(ctx, om, staged.record, target)
        if now is not None and now[1] != parent_id:
            out[sid] = (did, parent_id)
    return out


def _drop_moved(ctx: LoadContext, writer: Writer, om: ObjectMap,
                moving: dict[str, tuple[str, str]], target: str) -> None:
    """The old copy of each moved file, once the new one is up (its id map points at the new
    file): deleted, audited with the record it was on, so a rollback uploads the staged
    document there again (``rollback``: no destination re-creates a file from its fields, so
    no before-image is read: Salesforce refused reading every ContentVersion field)."""
    for sid, (old, parent_id) in sorted(moving.items()):
        if ctx.store.dest_id(om.source, sid, om.target) in (None, old):
            continue
        it = Item(om.source, sid, dest_id=old)
        res = writer.delete(om.target, [it], {"map": om.name, "delta": True, "moved": True,
                                              "parent": parent_id, "parent_object": target})[0]
        if not res.ok:
            ctx.store.skip(writer.run_id, ref("source", om.source, it.source_id), None,
                           "moved to its patient's own record; the old copy could not be"
                           " deleted", "delta-move")


def _upload_view(ctx: LoadContext, om: ObjectMap, rec: Record, parent: tuple[str, str]
                 ) -> tuple[Item, FileUpload]:
    """A file to upload in a group: its item and the file, read as a view when it is sent
    (the stored file decrypted as it is read, or a rendered record from memory)."""
    cm = ctx.compiled[om.name]  # names and rendered text come from the map, as the diff reads them
    name = cm.attach_name(rec, ctx.lookup)
    if om.attach is not None and om.attach.content == "render":
        text = (cm.render_text(rec, ctx.lookup) or "").encode()
        view, mime = PlainView.of_bytes(text, f"{rec.source_id}.txt"), "text/plain"
    else:
        assert isinstance(rec, Document) and rec.local_path
        view = PlainView.of_file(Path(rec.local_path), ctx.store.codec)
        view.prefetch()  # read from disk while the group gathers and the calls before it run
        mime = rec.mime_type
    item = Item(om.source, rec.source_id, {"file_name": name})
    return item, FileUpload(parent[0], parent[1], view, name, mime,
                            {"_source_id": rec.source_id, "_src_object": om.source})


def _upload_group(ctx: LoadContext, writer: Writer, om: ObjectMap,
                  pending: list[tuple[Item, FileUpload]], st: MapStats) -> None:
    results = writer.upload_many(om.target, [it for it, _ in pending],
                                 [f for _, f in pending], {"map": om.name})
    for res in results:
        if res.ok:
            st.uploaded += 1
        else:
            st.skipped += 1


def _upload_one(ctx: LoadContext, writer: Writer, om: ObjectMap, rec: Record,
                parent: tuple[str, str], st: MapStats) -> None:
    if ctx.dest.capabilities.upload_reads_view:  # no plain copy on disk: read as it goes
        item, f = _upload_view(ctx, om, rec, parent)
        res = writer.upload(om.target, item, parent[0], parent[1], f.path, f.file_name,
                            f.mime_type, {"map": om.name})
    else:
        cm = ctx.compiled[om.name]  # names and rendered text come from the map, as the diff reads them
        name = cm.attach_name(rec, ctx.lookup)
        item = Item(om.source, rec.source_id, {"file_name": name})
        # plain copies (a rendered record, a decrypted document) live in the project's private
        # folder, never the shared TMPDIR, and go when the upload returns
        tmp_dir = ctx.tmp_dir or Path(tempfile.mkdtemp(prefix="ferry-"))  # (a bare context)
        if om.attach is not None and om.attach.content == "render":
            text = (cm.render_text(rec, ctx.lookup) or "").encode()
            opened, mime = private_copy(text, tmp_dir, ".txt"), "text/plain"
        else:
            assert isinstance(rec, Document) and rec.local_path
            opened = plain_file(Path(rec.local_path), ctx.store.codec, tmp_dir)
            mime = rec.mime_type
        with opened as plain:
            res = writer.upload(om.target, item, parent[0], parent[1], plain, name, mime,
                                {"map": om.name})
    if res.ok:
        st.uploaded += 1
    else:
        st.skipped += 1
