"""Read the sample back from the destination and diff it (``ferry sample``).

``run_sample`` selects a representative slice, loads it for real through the same map and PHI
gate as ``ferry run`` (run kind ``sample``, so rollback can undo it), then reads back every record
it wrote: record maps field by field, fold maps as the parent's aggregated fields, attach maps as
file name and size. The comparison rules live in ``diff``; this module knows where to look.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ferry.connectors.base import Destination
from ferry.engine.dedup import merged_record
from ferry.engine.diff import (
    EXPLAINED_SKIPS,
    FieldDiff,
    SampleDiff,
    classify,
    diff_record,
    phi_of,
)
from ferry.engine.masking import mask
from ferry.mapping.compile import CompiledMap, Lookup
from ferry.model.audit import FOLD_DETAIL_LIKE
from ferry.model.fields import PhiClass
from ferry.model.staging import StagingStore

_PARENT_REF = re.compile(r"references (\w+):(\S+), which has no destination record")


def sample_diff(store: StagingStore, compiled: Iterable[CompiledMap], dest: Destination,
                lookup: Lookup, selection: set[tuple[str, str]], *, run_id: str | None = None,
                show_phi: bool = False, batch: int = 100, gate: Any = None) -> SampleDiff:
    """Read back every sampled record the load wrote and diff it field by field. ``gate`` is
    the load's hold: a record it rewrote (redaction) is compared as written."""
    result = SampleDiff()
    compiled = list(compiled)
    emptied: dict[str, dict[str, str]] = {}  # ref → {field: reason} the destination left empty
    for s in store.skips(run_id) if run_id else []:
        if s.stage == "load-field" and s.field:
            emptied.setdefault(s.ref, {})[s.field] = s.reason.removeprefix("field left empty: ")
        elif s.stage == "load-kept" and s.field:  # left empty, its text kept in another field
            emptied.setdefault(s.ref, {})[s.field] = KeptReason(s.reason)
    for cm in compiled:
        om = cm.om
        if om.mode == "fold":
            _diff_fold(store, cm, dest, result, show_phi)
        elif om.mode == "attach":
            _diff_attach(store, cm, dest, lookup, selection, result, gate)
        if om.mode != "record":
            continue
        ids = sorted(sid for obj, sid in selection if obj == om.source)
        pairs = []
        for sid in ids:
            staged = store.get(om.source, sid)
            did = store.dest_id(om.source, sid, om.target)
            if staged is None or did is None or staged.deleted or not cm.accepts(staged.record):
                continue
            # a dedup survivor was written with the fields its merged twins filled in
            rec = merged_record(store, om.source, staged.record)
            verdict = gate(om, rec) if gate is not None else None
            written = verdict if verdict is not None and not isinstance(verdict, str) else None
            pairs.append((rec, did, written))
        keys = sorted({k for k in [cm.id_key, *(f.key for f in cm.fields)] if k})
        # and the fields where the destination keeps a value it could not take (Odoo: notes)
        keys += sorted({h for k in keys if (h := dest.kept_as_text(om.target, k))} - set(keys))
        for i in range(0, len(pairs), batch):
            chunk = pairs[i:i + batch]
            got = dest.read(om.target, [d for _, d, _ in chunk], keys)
            diffs: list[tuple[Any, list[FieldDiff], tuple[Any, ...]]] = []
            for rec, did, written in chunk:
                where = f"{om.target}:{did}"
                if did not in got:
                    result.not_found.append(f"source:{om.source}:{rec.source_id} → {where}")
                    continue
                result.records += 1
                args = (cm, dest, lookup, rec, written, got[did], where, show_phi)
                diffs.append((written or rec, _diff_one(
                    *args, emptied.get(f"source:{om.source}:{rec.source_id}")), args))
            # a field sent but not stored, on a record this sample did not write (unchanged):
            # the reason recorded by the run that wrote it explains it, as it did then
            earlier = _earlier_reasons(store, cm, lookup, run_id, [
                sent for sent, fields, _ in diffs
                if f"source:{om.source}:{sent.source_id}" not in emptied
                and any(f.category == "missing" and not f.explained for f in fields)])
            for sent, fields, args in diffs:
                reasons = earlier.get(sent.source_id)
                result.fields += _diff_one(*args, reasons) if reasons else fields
    if run_id:
        result.skips = _explain_skips(store, compiled, run_id)
    return result


class KeptReason(str):
    """A ``load-kept`` line's reason: the field was left empty and its text kept in another
    field of the record (``Destination.kept_as_text``), which the diff reads."""


def _diff_one(cm: CompiledMap, dest: Destination, lookup: Lookup, rec: Any, written: Any,
              row: dict[str, Any], where: str, show_phi: bool, errors: dict[str, str] | None
              ) -> list[FieldDiff]:
    t = cm.om.target
    kept = {k: (str(v), h) for k, v in (errors or {}).items()
            if isinstance(v, KeptReason) and (h := dest.kept_as_text(t, k))}
    return diff_record(cm, written or rec, lookup, row, dest=where, show_phi=show_phi,
                       original=rec, stored_form=lambda k, v, r: dest.stored_form(t, k, v, r),
                       dest_errors=errors,
                       design_rule=lambda k, a, b, r: dest.design_rule(t, k, a, b, row=r),
                       meaning=lambda k, kind, r: dest.stored_meaning(t, k, kind, r),
                       dest_kept=kept)


def _earlier_reasons(store: StagingStore, cm: CompiledMap, lookup: Lookup, run_id: str | None,
                     records: list[Any]) -> dict[str, dict[str, str]]:
    """{source id: {physical key: reason}} the destination left empty when it last wrote each
    of ``records`` (as the load builds them), when that write was an earlier run's and the
    record is unchanged since (its payload hash is the one that run stored): the recorded
    ``load-field`` skip lines of that run, record and field, so a new difference still fails."""
    from ferry.engine.writes import same_payload

    om = cm.om
    if not records or run_id is None:
        return {}
    refs = {f"source:{om.source}:{r.source_id}": r for r in records}
    marks = ",".join("?" * len(refs))
    last: dict[str, str] = {}  # ref → the run whose write of it is the latest
    for ref, run in store.conn.execute(  # the record's own writes, not its folded fields'
            "SELECT src_ref, run_id FROM audit WHERE kind='done' AND dest_object=? AND"
            f" src_ref IN ({marks}) AND coalesce(detail, '') NOT LIKE ? ORDER BY seq",  # noqa: S608
            (om.target, *refs, FOLD_DETAIL_LIKE)):
        last[ref] = run
    hashes = store.mapped(om.source, [r.source_id for r in records], om.target)
    out: dict[str, dict[str, str]] = {}
    for ref, run in last.items():
        rec = refs[ref]
        if run == run_id or not same_payload(hashes.get(rec.source_id, (None, None))[1],
                                             cm.build(rec, lookup).payload, store.codec):
            continue
        for fld, reason, stage in store.conn.execute(
                "SELECT field, reason, stage FROM skips WHERE run_id=? AND ref=? AND"
                " stage IN ('load-field', 'load-kept') AND field IS NOT NULL ORDER BY seq",
                (run, ref)):
            said = (f"{reason.removeprefix('field left empty: ')} (when {run} wrote it;"
                    " unchanged since)")
            out.setdefault(rec.source_id, {})[fld] = KeptReason(said) if stage == "load-kept" \
                else said
    return out


def _explain_skips(store: StagingStore, compiled: list[CompiledMap], run_id: str
                   ) -> list[dict[str, Any]]:
    """The run's skip lines, each marked explained when its stage is one the map accounts for,
    or when it only lacks a parent that was itself skipped for an explained reason or that the
    source does not have (an orphan)."""
    explained: dict[str, bool] = {}
    vias = {cm.om.source: cm.om.parent for cm in compiled if cm.om.parent is not None}
    out = []
    for s in store.skips(run_id):
        ok = s.stage in EXPLAINED_SKIPS
        if not ok and s.stage in ("reference", "attach"):
            m = _PARENT_REF.search(s.reason)
            parent = f"source:{m.group(1)}:{m.group(2)}" if m else None
            _, obj, sid = s.ref.split(":", 2)
            if parent is None and obj in vias:
                staged = store.get(obj, sid)
                pid = getattr(staged.record, vias[obj].via, None) if staged else None
                parent = f"source:{vias[obj].object}:{pid}" if pid else None
            if parent:
                _, pobj, pid = parent.split(":", 2)
                # explained when the parent was skipped for an explained reason, or is not in
                # the source at all (an orphan the audit reports; the map cannot place it)
                ok = bool(explained.get(parent)) or store.get(pobj, pid) is None
        explained[s.ref] = explained.get(s.ref, False) or ok
        out.append({"ref": s.ref, "field": s.field, "reason": s.reason, "stage": s.stage,
                    "explained": ok})
    return out


def _diff_fold(store: StagingStore, cm: CompiledMap, dest: Destination, result: SampleDiff,
               show_phi: bool) -> None:
    """Folded children: the parent's fields vs the aggregate of what the children sent
    (``fold_acc`` holds exactly the sampled children's built values)."""
    from ferry.engine import load as engine_load  # the one definition of fold values/strategies

    om = cm.om
    try:  # the children's values in the load's order (their order keys decrypted first)
        sent = engine_load.fold_values(store, om.name)
        target = store.conn.execute("SELECT dest_object FROM idmap WHERE src_object=? AND"
                                    " dest_object LIKE ? LIMIT 1",
                                    (om.source, f"%#{om.name}")).fetchone()
    except sqlite3.OperationalError:
        return  # no fold ran in this project yet
    if not sent or target is None:
        return
    parent_target = str(target[0]).split("#", 1)[0]
    strategy, sep = (om.fold.strategy, om.fold.separator) if om.fold else ("latest", "\n")
    phi = {f.key: phi_of(cm, f.fm) for f in cm.fields}
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


def _diff_attach(store: StagingStore, cm: CompiledMap, dest: Destination, lookup: Lookup,
                 selection: set[tuple[str, str]], result: SampleDiff, gate: Any = None) -> None:
    """Uploaded files: each must read back, with its name and (for documents) its size —
    those of the file as written when the PHI gate replaced it (a redacted rendition)."""
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
        verdict = gate(om, rec) if gate is not None else None
        if verdict is not None and not isinstance(verdict, str):
            rec = verdict
        checks = [("file_name", cm.attach_name(rec, lookup), _first(row, "file_name", "name", "Title")),
                  ("size", getattr(rec, "size", None) if om.attach is None
                   or om.attach.content == "file" else None,
                   _first(row, "file_size", "size", "ContentSize", "file_size_bytes"))]
        for label, want, have in checks:
            if want is None or have is None:
                continue
            cat, ok, note = classify(want, want, have, [], rule=lambda a, b, k=label:
                                     dest.design_rule(om.target, k, a, b))
            result.fields.append(FieldDiff(ref, om.name, where, label, label, cat, ok,
                                           mask(want, PhiClass.CLINICAL),
                                           mask(want, PhiClass.CLINICAL),
                                           mask(have, PhiClass.CLINICAL), note))


def _first(row: dict[str, Any], *keys: str) -> Any:
    return next((row[k] for k in keys if row.get(k) not in (None, "")), None)


def run_sample(project: Any, size: int, *, show_phi: bool = False, progress: Any = None,
               hold: Any = None) -> tuple[Any, SampleDiff, dict[str, int]]:
    """Select a representative slice, load it for real (run kind ``sample``), read it back and
    diff it. ``hold`` is the same PHI-review / BAA gate ``ferry run`` uses (held records are
    explained skips). Returns (load report, diff, records selected per object)."""
    from ferry.engine.pipeline import confirmed_mapping, gate_for, load, open_destination
    from ferry.engine.prepare import apply_keys
    from ferry.engine.reconcile import project_lookup
    from ferry.engine.sample import select_sample

    doc = apply_keys(confirmed_mapping(project), project.store)
    objects = {om.source for om in doc.objects if om.mode != "none"}
    if project.settings.options.dedup_by_email and "patient" in objects:
        from ferry.engine import dedup

        dedup.analyse(project.store)  # current merges, so the slice brings their survivors
    selection = select_sample(project.store, size, objects)
    dest = open_destination(project)
    try:
        # The map and the gate exactly as ``pipeline.load`` applies them, so the diff compares
        # what was written: clinical fields withheld without a BAA, redactions applied.
        doc, _, gate = gate_for(project, doc, dest)
        hold = hold or gate
        report = load(project, kind="sample", only=selection, dest=dest, progress=progress,
                      hold=hold)
        result = sample_diff(project.store, project.compile(doc),
                             dest,
                             project_lookup(project, dest), selection, run_id=report.run_id,
                             show_phi=show_phi, gate=hold)
        result.withheld = list(report.withheld)
    finally:
        dest.close()
    return report, result, dict(Counter(obj for obj, _ in selection))


def report_data(report: Any, diff: SampleDiff, size: int, selected: dict[str, int]
                ) -> dict[str, Any]:
    """The sample report's data (``ferry.report/sample/v1``), for the CLI and the web UI."""
    return {"run": report.run_id, "size": size, "selection": selected, **diff.as_dict(),
            "unexplained_skip_count": len(diff.unexplained_skips)}
