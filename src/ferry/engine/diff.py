"""The sample's field-level diff: what the map meant to write vs what the destination holds.

For every sampled record the payload is rebuilt through the confirmed map (``CompiledMap.build``,
with the id map now complete, so it is what was sent) and compared, key by key, with what
``Destination.read`` returns. Each field lands in one category:

* ``equal``          destination value == source value
* ``transformed``    differs from the source as the map says (value map / transforms in
                     ``Built.trace``): explained; a value that differs from the built payload in
                     any other way is ``transformed`` *unexplained*
* ``truncated``      by a ``truncate`` transform (explained) or silently by the destination
                     (the stored value is a prefix of what was sent: unexplained)
* ``format_changed`` same value after normalisation (case, spacing, phone digits, number or
                     instant equality): the destination's own formatting, explained
* ``missing``        sent but not stored (unexplained), or left empty because a transform
                     refused the value and the skip file says so (explained)
* ``unexpected``     a mapped destination field holds a value the map did not send

The verdict passes only when every difference is explained. Values are masked by the source
field's PHI class (shape only: ``Xxxx``, ``99/99/9999``) unless ``show_phi`` — masking keeps
format problems visible without showing the value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ferry.connectors.base import Destination
from ferry.engine.masking import mask, plain
from ferry.mapping.compile import CompiledMap, Lookup
from ferry.mapping.transforms import get_value
from ferry.model.entities import ENTITIES
from ferry.model.fields import PhiClass, field_info
from ferry.model.staging import StagingStore

__all__ = ["CATEGORIES", "FieldDiff", "SampleDiff", "classify", "diff_record", "mask", "plain",
           "run_sample", "same", "sample_diff"]

CATEGORIES = ("equal", "transformed", "truncated", "format_changed", "missing", "unexpected")
#: skip stages the confirmed map accounts for (owner fallback, PHI hold, transform refusals)
EXPLAINED_SKIPS = {"owners", "hold", "transform", "transform-field"}


# -- comparing -----------------------------------------------------------------------------------

def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def as_number(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v))
    if isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v.strip()):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            return None
    return None


def _instant(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC) if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and re.match(r"\d{4}-\d\d-\d\d", v):
        try:
            if len(v) == 10:
                return dt.date.fromisoformat(v)
            d = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace(" ", "T", 1))
            return d.astimezone(dt.UTC) if d.tzinfo else d.replace(tzinfo=dt.UTC)
        except ValueError:
            return None
    return None


def same(a: Any, b: Any) -> bool:
    """Equal as values: numbers numerically, dates/instants as instants, sets unordered."""
    if _empty(a) and _empty(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, plain(list(a)))) == sorted(map(str, plain(list(b))))
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    ia, ib = _instant(a), _instant(b)
    if ia is not None and ib is not None:
        return bool(ia == ib)
    return bool(plain(a) == plain(b))


def _loose(v: Any) -> str:
    text = json.dumps(plain(v), sort_keys=True, default=str) if not isinstance(v, str) else v
    text = re.sub(r"<[^>]+>", " ", text)  # HTML the destination wrapped around text
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"[\d\s()+\-./]+", text.strip()) and len(digits) >= 6:
        return digits[-9:]
    return re.sub(r"[\s\W_]+", "", text.casefold())


@dataclass
class FieldDiff:
    ref: str  # source:object:id
    map: str
    dest: str  # object:id in the destination
    field: str  # logical target (as in mapping.yaml)
    key: str  # physical key
    category: str
    explained: bool
    source: Any = None
    sent: Any = None
    stored: Any = None
    note: str = ""


def classify(source_value: Any, sent: Any, stored: Any, trace: list[str], *,
             field_error: str | None = None) -> tuple[str, bool, str]:
    """(category, explained, note) of one field."""
    if _empty(sent):
        if not _empty(stored):
            return "unexpected", False, "the destination holds a value the map did not send"
        if field_error and not _empty(source_value):
            return "missing", True, f"left empty by the map: {field_error} (in the skip file)"
        return "equal", True, ""
    if _empty(stored):
        return "missing", False, "sent but not stored by the destination"
    steps = [t for t in trace if t not in ("truncated",)]
    if same(sent, stored):
        if "truncated" in trace:
            return "truncated", True, "cut by the map's truncate transform"
        if same(source_value, stored):
            return "equal", True, ""
        if steps:
            return "transformed", True, "as mapped: " + ", ".join(steps)
        return "transformed", True, "as mapped"
    if isinstance(sent, str) and isinstance(stored, str) and len(stored) < len(sent) \
            and sent.startswith(stored):
        return "truncated", False, (f"the destination cut the value from {len(sent)} to"
                                    f" {len(stored)} characters without an error")
    if _loose(sent) == _loose(stored):
        return "format_changed", True, "same value in the destination's format"
    return "transformed", False, "the stored value differs from what the map sent"


@dataclass
class SampleDiff:
    fields: list[FieldDiff] = field(default_factory=list)
    records: int = 0
    not_found: list[str] = field(default_factory=list)  # written but not readable back
    skips: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unexplained(self) -> list[FieldDiff]:
        return [f for f in self.fields if not f.explained]

    @property
    def unexplained_skips(self) -> list[dict[str, Any]]:
        return [s for s in self.skips if s["stage"] not in EXPLAINED_SKIPS]

    @property
    def passed(self) -> bool:
        return not self.unexplained and not self.not_found and not self.unexplained_skips

    def categories(self) -> dict[str, int]:
        c = Counter(f.category for f in self.fields)
        return {k: c.get(k, 0) for k in CATEGORIES}

    def as_dict(self, *, limit: int = 5000) -> dict[str, Any]:
        differences = [asdict(f) for f in self.fields if f.category != "equal"]
        by_map: dict[str, Counter[str]] = {}
        for f in self.fields:
            by_map.setdefault(f.map, Counter())[f.category] += 1
        return {"verdict": "pass" if self.passed else "fail", "records": self.records,
                "fields_compared": len(self.fields), "categories": self.categories(),
                "unexplained": len(self.unexplained), "by_map": [
                    {"map": m, **{k: c.get(k, 0) for k in CATEGORIES}} for m, c in by_map.items()],
                "not_found": self.not_found, "skips": self.skips,
                "differences": differences[:limit],
                "unexplained_differences": [asdict(f) for f in self.unexplained][:limit]}


def _phi(cm: CompiledMap, fm_source: Any, fm_phi: PhiClass | None) -> PhiClass:
    if fm_phi is not None:
        return fm_phi
    model = ENTITIES.get(cm.om.source)
    names = fm_source if isinstance(fm_source, list) else [fm_source]
    worst = PhiClass.NONE
    for n in names:
        if not isinstance(n, str) or model is None:
            continue
        head = n.split(".")[0]
        if head in model.model_fields and head != "custom":
            p = field_info(model, head).phi
            if p != PhiClass.NONE:
                worst = p
    return worst


def diff_record(cm: CompiledMap, rec: Any, lookup: Lookup, stored: dict[str, Any], *,
                dest: str, show_phi: bool = False) -> list[FieldDiff]:
    """One record's field diffs (every mapped field, equal ones included)."""
    built = cm.build(rec, lookup)
    ref = f"source:{cm.om.source}:{rec.source_id}"
    errors = {e.field: e.reason for e in built.field_errors}
    out: list[FieldDiff] = []
    if cm.id_key:
        sent = built.payload.get(cm.id_key)
        cat, ok, note = classify(rec.source_id, sent, stored.get(cm.id_key), [])
        out.append(FieldDiff(ref, cm.om.name, dest, cm.om.id_field or cm.id_key, cm.id_key,
                             cat, ok, rec.source_id, sent, stored.get(cm.id_key), note))
    seen = {cm.id_key}
    for f in cm.fields:
        if f.key in seen:
            continue
        seen.add(f.key)
        fm = f.fm
        if fm.source is None:
            src = None
        elif isinstance(fm.source, list):
            src = [get_value(rec, s) for s in fm.source]
        else:
            src = get_value(rec, fm.source)
        sent, got = built.payload.get(f.key), stored.get(f.key)
        cat, ok, note = classify(src, sent, got, built.trace.get(f.key, []),
                                 field_error=errors.get(f.label))
        phi = _phi(cm, fm.source, fm.phi)
        # Destination ids and constants are not PHI; what came from a PHI field is.
        out.append(FieldDiff(ref, cm.om.name, dest, f.label, f.key, cat, ok,
                             mask(src, phi, show_phi=show_phi),
                             mask(sent, phi, show_phi=show_phi),
                             mask(got, phi, show_phi=show_phi), note))
    return out


def sample_diff(store: StagingStore, compiled: Iterable[CompiledMap], dest: Destination,
                lookup: Lookup, selection: set[tuple[str, str]], *, run_id: str | None = None,
                show_phi: bool = False, batch: int = 100) -> SampleDiff:
    """Read back every sampled record the load wrote (record maps) and diff it field by field."""
    result = SampleDiff()
    for cm in compiled:
        om = cm.om
        if om.mode == "fold":
            _diff_fold(store, cm, dest, result, show_phi)
        elif om.mode == "attach":
            _diff_attach(store, cm, dest, selection, result)
        if om.mode != "record":
            continue
        ids = sorted(sid for obj, sid in selection if obj == om.source)
        pairs = []
        for sid in ids:
            staged = store.get(om.source, sid)
            did = store.dest_id(om.source, sid, om.target)
            if staged is None or did is None or staged.deleted or not cm.accepts(staged.record):
                continue
            pairs.append((staged.record, did))
        keys = sorted({k for k in [cm.id_key, *(f.key for f in cm.fields)] if k})
        for i in range(0, len(pairs), batch):
            chunk = pairs[i:i + batch]
            got = dest.read(om.target, [d for _, d in chunk], keys)
            for rec, did in chunk:
                where = f"{om.target}:{did}"
                if did not in got:
                    result.not_found.append(f"source:{om.source}:{rec.source_id} → {where}")
                    continue
                result.records += 1
                result.fields += diff_record(cm, rec, lookup, got[did], dest=where,
                                             show_phi=show_phi)
    if run_id:
        result.skips = [{"ref": s.ref, "field": s.field, "reason": s.reason, "stage": s.stage}
                        for s in store.skips(run_id)]
    return result


def _diff_fold(store: StagingStore, cm: CompiledMap, dest: Destination, result: SampleDiff,
               show_phi: bool) -> None:
    """Folded children: the parent's fields vs the aggregate of what the children sent
    (``fold_acc`` holds exactly the sampled children's built values)."""
    from ferry.engine import load as engine_load  # the one definition of fold values/strategies

    decode = getattr(engine_load, "_decode", json.loads)

    om = cm.om
    try:
        rows = store.conn.execute("SELECT parent_dest, key, value FROM fold_acc WHERE map=?"
                                  " ORDER BY parent_dest, key, ord, source_id",
                                  (om.name,)).fetchall()
        target = store.conn.execute("SELECT dest_object FROM idmap WHERE src_object=? AND"
                                    " dest_object LIKE ? LIMIT 1",
                                    (om.source, f"%#{om.name}")).fetchone()
    except sqlite3.OperationalError:
        return  # no fold ran in this project yet
    if not rows or target is None:
        return
    parent_target = str(target[0]).split("#", 1)[0]
    strategy, sep = (om.fold.strategy, om.fold.separator) if om.fold else ("latest", "\n")
    sent: dict[str, dict[str, list[Any]]] = {}
    for parent, key, value in rows:
        sent.setdefault(parent, {}).setdefault(key, []).append(decode(value))
    phi = {f.key: _phi(cm, f.fm.source, f.fm.phi) for f in cm.fields}
    labels = {f.key: f.label for f in cm.fields}
    got = dest.read(parent_target, sorted(sent), sorted({k for v in sent.values() for k in v}))
    for parent, values in sorted(sent.items()):
        where = f"{parent_target}:{parent}"
        if parent not in got:
            result.not_found.append(f"fold {om.name} → {where}")
            continue
        result.records += 1
        for key, vals in values.items():
            want, have = engine_load._aggregate(strategy, sep, vals), got[parent].get(key)
            cat, ok, note = classify(vals, want, have, [f"fold {strategy}"])
            p = phi.get(key, PhiClass.NONE)
            result.fields.append(FieldDiff(
                f"fold:{om.name}", om.name, where, labels.get(key, key), key, cat, ok,
                mask(vals, p, show_phi=show_phi), mask(want, p, show_phi=show_phi),
                mask(have, p, show_phi=show_phi), note))


def _diff_attach(store: StagingStore, cm: CompiledMap, dest: Destination,
                 selection: set[tuple[str, str]], result: SampleDiff) -> None:
    """Uploaded files: each must read back, with its name and (for documents) its size."""
    om = cm.om
    for obj, sid in sorted(selection):
        if obj != om.source:
            continue
        staged, did = store.get(obj, sid), store.dest_id(obj, sid, om.target)
        if staged is None or did is None:
            continue
        ref, where = f"source:{obj}:{sid}", f"{om.target}:{did}"
        got = dest.read(om.target, [did])
        if did not in got:
            result.not_found.append(f"{ref} → {where}")
            continue
        result.records += 1
        row = got[did]
        rec = staged.record
        checks = [("file_name", render_name(om, rec), _first(row, "file_name", "name", "Title")),
                  ("size", getattr(rec, "size", None) if om.attach is None
                   or om.attach.content == "file" else None,
                   _first(row, "file_size", "size", "ContentSize", "file_size_bytes"))]
        for label, want, have in checks:
            if want is None or have is None:
                continue
            cat, ok, note = classify(want, want, have, [])
            result.fields.append(FieldDiff(ref, om.name, where, label, label, cat, ok,
                                           mask(want, PhiClass.CLINICAL),
                                           mask(want, PhiClass.CLINICAL),
                                           mask(have, PhiClass.CLINICAL), note))


def _first(row: dict[str, Any], *keys: str) -> Any:
    return next((row[k] for k in keys if row.get(k) not in (None, "")), None)


def render_name(om: Any, rec: Any) -> str | None:
    from ferry.engine.load import render

    try:
        return render(om.attach.file_name if om.attach else "{file_name}", rec)
    except (KeyError, ValueError):
        return None


def run_sample(project: Any, size: int, *, show_phi: bool = False, progress: Any = None,
               hold: Any = None) -> tuple[Any, SampleDiff, dict[str, int]]:
    """Select a representative slice, load it for real (run kind ``sample``), read it back and
    diff it. ``hold`` is the same PHI-review / BAA gate ``ferry run`` uses (held records are
    explained skips). Returns (load report, diff, records selected per object)."""
    from ferry.engine.pipeline import confirmed_mapping, load, open_destination
    from ferry.engine.prepare import apply_keys
    from ferry.engine.reconcile import project_lookup
    from ferry.engine.sample import select_sample
    from ferry.mapping.compile import compile_mapping

    doc = apply_keys(confirmed_mapping(project), project.store)
    objects = {om.source for om in doc.objects if om.mode != "none"}
    selection = select_sample(project.store, size, objects)
    dest = open_destination(project)
    try:
        report = load(project, kind="sample", only=selection, dest=dest, progress=progress,
                      hold=hold)
        compiled = compile_mapping(doc)
        result = sample_diff(project.store, compiled, dest, project_lookup(project, dest),
                             selection, run_id=report.run_id, show_phi=show_phi)
    finally:
        dest.close()
    return report, result, dict(Counter(obj for obj, _ in selection))
