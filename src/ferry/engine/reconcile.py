"""``ferry reconcile``: does the destination hold exactly what the source, the map and the logs
say it should — and if not, which record is off?

Three independent accounts are compared:

* **Source buckets** (staging store): every live staged record is loaded (id map), merged
  (dedup), excluded (no map accepts it, or mode ``none``), held or skipped (skip table). The
  buckets must add up to the source count; a record in none of them was silently dropped.
* **Destination records** (``iter_ids`` + ``read``): per destination object, the live count must
  equal the baseline (records there before the first load) plus the records Ferry created. Each
  id-map entry must be live (else a dropped write); each source id may appear once (else a double
  write); references must point at live records (else an orphan: an activity with no person, a
  file with no record).
* **Field sums**: money and number fields summed over the loaded records, as the map sent them,
  vs as the destination holds them; children (notes, activities, files) counted per parent.

Each difference becomes one discrepancy line naming the record by reference; ``balanced`` is
true only when there are none.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from ferry.connectors.base import Destination
from ferry.engine.dedup import merge_state
from ferry.engine.diff import as_number
from ferry.engine.readback_tables import ReadBack
from ferry.mapping.compile import CompiledMap, Lookup
from ferry.mapping.model import MappingDoc
from ferry.model.audit import AuditLog
from ferry.model.entities import ENTITIES, Record
from ferry.model.fields import Kind, field_info
from ferry.model.staging import StagingStore

SUM_KINDS = (Kind.MONEY, Kind.DECIMAL, Kind.INT)
LOAD_KINDS = ("run", "sample", "delta")


@dataclass
class Reconciliation:
    objects: list[dict[str, Any]] = field(default_factory=list)
    destination: list[dict[str, Any]] = field(default_factory=list)
    sums: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    discrepancies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.discrepancies

    problems: list[dict[str, Any]] = field(default_factory=list)
    #: fields written without their value, per source object and field (``field_findings``):
    #: not discrepancies (the record is accounted for), each listed in the skip file
    fields_not_taken: list[dict[str, Any]] = field(default_factory=list)

    def log(self, kind: str, ref: str, detail: str, root: str | None = None) -> None:
        """One discrepancy line; ``root`` names the problem it belongs to (the record that is
        gone, the parent whose children differ…), so each problem is reported once."""
        self.discrepancies.append({"kind": kind, "ref": ref, "detail": detail,
                                   "root": root or f"{kind}:{ref}"})

    def as_dict(self) -> dict[str, Any]:
        return {"balanced": self.balanced, "discrepancy_count": len(self.discrepancies),
                "problem_count": len(self.problems), "problems": self.problems,
                "by_kind": dict(Counter(d["kind"] for d in self.discrepancies)),
                "objects": self.objects, "destination": self.destination, "sums": self.sums,
                "children_per_parent": self.children, "orphans": self.orphans,
                "fields_not_taken": self.fields_not_taken,
                "discrepancies": self.discrepancies}


def baseline(store: StagingStore) -> dict[str, int]:
    """Destination counts before Ferry's first load that is still in effect."""
    for run in store.runs():
        if run.kind in LOAD_KINDS and run.status != "rolled_back" and "snapshot" in run.params:
            return {k: int(v) for k, v in run.params["snapshot"].items()}
    return {}


def _last_skips(store: StagingStore) -> dict[str, tuple[str, str]]:
    # a field left empty at extract is not a record skip: the record itself was kept
    return {s.ref: (s.stage, s.reason) for s in store.skips() if s.stage != "extract-field"}


def _unparsed_rows(store: StagingStore) -> dict[str, set[str]]:
    """Source rows that never became a staged record (refused at extract), per object, by the
    row's reference: the source holds them, so reconcile counts them as source rows."""
    out: dict[str, set[str]] = defaultdict(set)
    for s in store.skips():
        if s.stage != "extract":
            continue
        parts = s.ref.split(":", 2)
        if len(parts) == 3:
            out[parts[1]].add(parts[2])
    return out


def _landed(cm: CompiledMap, dest_objects: set[str]) -> bool:
    om = cm.om
    if om.mode in ("record", "attach"):
        return om.target in dest_objects
    if om.mode == "users":
        return "user" in dest_objects
    if om.mode == "fold":
        return any(d.endswith(f"#{om.name}") for d in dest_objects)
    return False


def _dest_objects(store: StagingStore, obj: str, source_ids: list[str]) -> dict[str, set[str]]:
    """Destination objects each of ``source_ids`` was written to: one query per 500 ids."""
    out: dict[str, set[str]] = defaultdict(set)
    for i in range(0, len(source_ids), 500):
        chunk = source_ids[i:i + 500]
        for sid, dobj in store.conn.execute(
                "SELECT source_id, dest_object FROM idmap WHERE src_object=? AND source_id IN"
                f" ({','.join('?' * len(chunk))})", (obj, *chunk)):  # noqa: S608
            out[str(sid)].add(str(dobj))
    return out


def _is_staged(store: StagingStore, obj: str, source_id: str) -> bool:
    return store.conn.execute("SELECT 1 FROM records WHERE object=? AND source_id=? AND deleted=0",
                              (obj, source_id)).fetchone() is not None


def _source_buckets(store: StagingStore, maps: list[CompiledMap], rec_out: Reconciliation,
                    skips: dict[str, tuple[str, str]]) -> None:
    """Per source object: source = loaded + merged + excluded + held + skipped (+ unaccounted).

    A batch of staged records at a time, with its id-map rows: nothing kept per record."""
    by_source: dict[str, list[CompiledMap]] = defaultdict(list)
    for cm in maps:
        by_source[cm.om.source].append(cm)
    unparsed = _unparsed_rows(store)
    for obj, cms in by_source.items():
        b = Counter[str]()
        # the records are decoded only when a map's condition needs them
        decode = any(cm.om.when is not None and cm.om.mode != "none" for cm in cms)
        batches: Iterator[list[tuple[str, Record | None]]] = (
            ([(s.record.source_id, s.record) for s in batch] for batch in store.iter_batches(obj))
            if decode else ([(sid, None) for sid in ids] for ids in store.iter_id_batches(obj)))
        for batch in batches:
            ids = [sid for sid, _ in batch]
            mapped = _dest_objects(store, obj, ids)
            survivors, _ = merge_state(store, obj, ids)
            for sid, rec in batch:
                ref = f"source:{obj}:{sid}"
                b["source"] += 1
                if sid in survivors and str(survivors[sid]):  # as ``survivor_of`` tells
                    b["merged"] += 1
                    continue
                accepting = [cm for cm in cms if cm.om.mode != "none" and (
                    cm.om.when is None or cm.accepts(rec))]  # type: ignore[arg-type]
                if not accepting:
                    b["excluded"] += 1
                    continue
                if any(_landed(cm, mapped.get(sid, set())) for cm in accepting):
                    b["loaded"] += 1
                    continue
                stage, reason = skips.get(ref, ("", ""))
                if stage == "hold":
                    b["held"] += 1
                elif stage == "excluded":  # the PHI review decided to exclude it
                    b["excluded"] += 1
                elif stage == "owners":  # a practitioner with no CRM user: the fallback owner
                    b["fallback"] += 1  # (the run table's word, not a skip)
                elif stage:
                    b["skipped"] += 1
                else:
                    b["unaccounted"] += 1
                    rec_out.log("dropped", ref, "not loaded, merged, excluded, held or skipped:"
                                " the record was silently dropped", root=f"dropped:{obj}")
        # rows refused at extract (those staged later are counted above)
        refused = sum(1 for sid in unparsed.get(obj, set()) if not _is_staged(store, obj, sid))
        b["source"] += refused
        b["skipped"] += refused
        total = sum(b[k] for k in ("loaded", "merged", "excluded", "held", "fallback",
                                   "skipped", "unaccounted"))
        rec_out.objects.append({"object": obj, "maps": ", ".join(cm.om.name for cm in cms),
                                "source": b["source"], "loaded": b["loaded"],
                                "merged": b["merged"], "excluded": b["excluded"],
                                "held": b["held"], "fallback": b["fallback"],
                                "skipped": b["skipped"],
                                "unaccounted": b["unaccounted"], "adds_up": total == b["source"]
                                and b["unaccounted"] == 0})


def _ref_keys(doc: MappingDoc, cm: CompiledMap) -> list[tuple[str, str, tuple[str, ...]]]:
    """(payload key, referenced source object, destination objects it may point into) of a map.

    A ref without ``dest_object`` resolves to whichever record the source record became, and a
    source object split over several maps (Salesforce appointments: Task or Event by type)
    lands in several objects: the reference is live when it is in any of them.
    """
    out = []
    for f in cm.fields:
        for t in f.fm.transform:
            if t.name != "ref":
                continue
            src_obj = str(t.args.get("object") or "")
            explicit = t.args.get("dest_object")
            targets = (str(explicit),) if explicit else tuple(dict.fromkeys(
                m.target for m in doc.objects if m.source == src_obj and m.mode == "record"))
            if targets:
                out.append((f.key, src_obj, targets))
    return out


def _sum_keys(cm: CompiledMap) -> list[tuple[str, str]]:
    model = ENTITIES.get(cm.om.source)
    out = []
    for f in cm.fields:
        src = f.fm.source
        if model is None or not isinstance(src, str) or src not in model.model_fields \
                or src == "custom" or f.fm.value_map is not None:
            continue
        if field_info(model, src).kind in SUM_KINDS:
            out.append((f.key, src))
    return out


def reconcile(store: StagingStore, audit: AuditLog, doc: MappingDoc,
              compiled: Iterable[CompiledMap], dest: Destination, lookup: Lookup,
              delete_policy: str = "delete") -> Reconciliation:
    """The three accounts. What is read back (live ids, the id map by destination id, the
    values compared) goes to tables of the store (``ReadBack``), so memory does not grow with
    the number of records. ``delete_policy``: ``options.delete_policy``, the default of the
    maps' ``on_delete``."""
    rb = ReadBack(store)
    try:
        out = _reconcile(store, audit, doc, list(compiled), dest, lookup, rb)
        _gone_at_source(store, doc, rb, out, delete_policy)
        out.fields_not_taken = field_findings(store)
        return out
    finally:
        rb.close()


#: a destination's field-level findings: skip stage → what became of the value (a
#: ``load-field`` line the writer did not word "field left empty": "not as sent", a file's name)
NOT_TAKEN = {"load-kept": "kept as text", "load-field": "left empty"}


def field_findings(store: StagingStore) -> list[dict[str, Any]]:
    """Per source object, field and outcome, the records the destination wrote without that
    field's value: ``kept as text`` in another field of the record (a region Odoo does not
    list, in its notes) or ``left empty``. The latest line of each record and field among the
    loads still in effect (not rolled back); one query over the skip lines, none per record."""
    live = {r.run_id for r in store.runs() if r.kind in LOAD_KINDS and r.status != "rolled_back"}
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for run, ref, fld, stage, reason in store.conn.execute(
            "SELECT run_id, ref, field, stage, reason FROM skips WHERE stage IN"
            " ('load-field', 'load-kept') AND field IS NOT NULL ORDER BY seq"):
        if run in live:
            latest[(ref, fld)] = (stage, reason)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for (ref, fld), (stage, reason) in latest.items():
        obj = ref.split(":", 2)[1] if ref.count(":") >= 2 else ref
        what = NOT_TAKEN[stage] if stage == "load-kept" or reason.startswith(
            "field left empty: ") else "not as sent"
        counts[(obj, fld, what, reason.removeprefix("field left empty: "))] += 1
    return [{"object": o, "field": f, "outcome": what, "reason": why, "records": n}
            for (o, f, what, why), n in sorted(counts.items())]


def _gone_at_source(store: StagingStore, doc: MappingDoc, live: ReadBack, out: Reconciliation,
                    delete_policy: str) -> None:
    """Records the CRM still holds whose source record is gone from the source (staged as
    deleted: a deletions list, or a full listing that no longer names it, such as
    ``ferry extract --since 1970-01-01`` on a source whose deltas cannot see deletions), where
    the map's ``on_delete`` would have deleted them: a delta that saw the deletion would have.
    Records kept on purpose (``keep_and_flag``, ``ignore``) are not named."""
    deleting = {(om.source, om.target) for om in doc.objects if om.mode in ("record", "attach")
                and om.delete_policy(delete_policy) in ("delete_dependants", "unlink")}
    if not deleting:
        return
    found: list[tuple[str, str, str, str]] = []
    for sobj, sid, target, did in store.conn.execute(
            "SELECT i.src_object, i.source_id, i.dest_object, i.dest_id FROM idmap i JOIN"
            " records r ON r.object = i.src_object AND r.source_id = i.source_id"
            " WHERE r.deleted = 1"):
        if (sobj, target) in deleting and target in live and live.has(target, str(did)):
            found.append((str(sobj), str(sid), str(target), str(did)))
    for sobj, sid, target, did in found:
        out.log("gone_at_source", f"source:{sobj}:{sid}", f"deleted at the source, still in"
                f" the destination as {target}:{did}", root=f"gone_at_source:{sobj}")
    if found:  # one problem per source object (the lines are logged after ``problems``)
        out.problems += [
            {"problem": f"gone_at_source:{sobj}", "kinds": {"gone_at_source": len(lines)},
             "lines": len(lines), "records": len(lines),
             "refs": [f"source:{sobj}:{sid}" for sid, _, _ in lines][:MAX_REFS],
             "what": f"{len(lines)} {sobj} record(s) deleted at the source are still in the"
                     f" destination ({', '.join(sorted({t for _, t, _ in lines}))})",
             "action": "delete them in the CRM if they were deleted at the source on purpose"
                       " (the refs name them; `ferry delta` deletes only what a delta sees)"}
            for sobj, lines in _by_object(found).items()]


def _by_object(found: list[tuple[str, str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for sobj, sid, target, did in found:
        out.setdefault(sobj, []).append((sid, target, did))
    return out


def _reconcile(store: StagingStore, audit: AuditLog, doc: MappingDoc, maps: list[CompiledMap],
               dest: Destination, lookup: Lookup, live: ReadBack) -> Reconciliation:
    out = Reconciliation()
    skips = _last_skips(store)
    _source_buckets(store, maps, out, skips)
    base = baseline(store)
    record_maps = [cm for cm in maps if cm.om.mode == "record"]
    targets = sorted({cm.om.target for cm in maps if cm.om.mode in ("record", "attach")})
    for t in targets:
        live.add_live(t, dest.iter_ids(t))
    for cm in record_maps:
        for _, _, ref_targets in _ref_keys(doc, cm):
            for ref_target in ref_targets:
                if ref_target not in live:
                    live.add_live(ref_target, dest.iter_ids(ref_target))
    # Expected destination records: the id map, per destination object.
    tset = set(targets)
    live.add_expected((m.dest_object, m.dest_id, m.src_object, m.source_id, m.created)
                      for m in store.iter_idmap() if m.dest_object in tset)
    # Read back every live record of each object, with the keys its maps compare: one read
    # per object and batch, whatever the number of maps landing in it.
    read_keys: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for cm in record_maps:
        ik, rk, sk = read_keys.setdefault(cm.om.target, (set(), set(), set()))
        if cm.id_key:
            ik.add(cm.id_key)
        rk.update(k for k, _, _ in _ref_keys(doc, cm))
        sk.update(k for k, _ in _sum_keys(cm))
    for target, (ik, rk, sk) in read_keys.items():
        keys = sorted(ik | rk | sk)
        for ids in live.iter_live(target):
            for i in range(0, len(ids), 100):
                chunk = ids[i:i + 100]
                got = dest.read(target, chunk, keys or None) if keys else {d: {} for d in chunk}
                live.add_rows(target, got, ik, rk, sk)
    for target in targets:
        n_live = live.count(target)
        for did, sobj, sid in live.missing(target):
            out.log("missing", f"source:{sobj}:{sid}", f"the id map says {target}:{did}, which"
                                                        " is not in the destination (a dropped"
                                                        " write)", root=f"{target}:{did}")
        # Double writes: one source id on several live records.
        dups = 0
        id_keys = {cm.id_key for cm in record_maps if cm.om.target == target and cm.id_key}
        src_of = {cm.id_key: cm.om.source for cm in record_maps if cm.om.target == target}
        for k, sid, dids in live.source_ids(target, sorted(id_keys)):
            if len(dids) > 1:
                dups += len(dids) - 1
                known = live.expected_among(target, dids)
                extra = [d for d in dids if d not in known]
                out.log("duplicate", f"source:{src_of.get(k, '?')}:{sid}",
                        f"{len(dids)} records in {target} carry this source id: "
                        f"{', '.join(sorted(dids))}" + (f" ({', '.join(extra)} not in the id"
                                                         " map)" if extra else ""))
        n_exp, live_expected, n_created = live.expected_counts(target)
        b = base.get(target)
        expect_count = None if b is None else b + n_created
        unknown = n_live - live_expected - dups
        row = {"object": target, "destination": n_live, "baseline": b,
               "created_by_ferry": n_created, "expected": expect_count,
               "in_id_map_and_live": live_expected, "missing": n_exp - live_expected,
               "duplicates": dups, "not_from_ferry": unknown,
               "balanced": expect_count == n_live if expect_count is not None else None}
        out.destination.append(row)
        if expect_count is not None and expect_count != n_live \
                and not (n_exp - live_expected or dups):
            out.log("count", f"destination:{target}", f"{n_live} records, expected"
                    f" {expect_count} (baseline {b} + {n_created} created by Ferry)")
    _orphans_and_children(store, doc, record_maps, live, lookup, out)
    _attachments(store, audit, maps, live, out)
    _sums(store, record_maps, live, lookup, out)
    out.problems = problems(out, store, doc, live)
    return out


def _orphans_and_children(store: StagingStore, doc: MappingDoc, record_maps: list[CompiledMap],
                          live: ReadBack, lookup: Lookup, out: Reconciliation) -> None:
    for cm in record_maps:
        for key, src_obj, ref_targets in _ref_keys(doc, cm):
            ref_target = ref_targets[0]
            # several maps can land in one destination object (appointments and invoices both
            # become deals): a map's children are the records *it* wrote
            actual: Counter[str] = Counter()
            for did, pid, pid_live, mine in live.refs(cm.om.target, key, ref_targets,
                                                      cm.om.source):
                if not pid_live:
                    where = "/".join(ref_targets)
                    out.orphans.append({"object": cm.om.target, "id": did, "field": key,
                                        "points_to": f"{where}:{pid}"})
                    out.log("orphan", f"destination:{cm.om.target}:{did}",
                            f"{key} points to {where}:{pid}, which does not exist",
                            root=f"{ref_targets[0]}:{pid}")
                if mine:
                    actual[pid] += 1
            if src_obj != "patient":
                continue
            want: Counter[str] = Counter()
            fm = next(f.fm for f in cm.fields if f.key == key)
            src_field = fm.source if isinstance(fm.source, str) else None
            if src_field is None:
                continue
            entries = (m for m in store.iter_idmap(src_object=cm.om.source)
                       if m.dest_object == cm.om.target)
            while batch := list(islice(entries, 500)):
                # the one field read from the stored JSON: validating each record into its
                # model was a fifth of a 1k Salesforce reconcile's samples
                staged_of = store.get_many_json(cm.om.source, [m.source_id for m in batch])
                for m in batch:
                    got = staged_of.get(m.source_id)
                    pid = got[1].get(src_field) if got and isinstance(got[1], dict) else None
                    pdest = lookup.dest_id(src_obj, str(pid), ref_target) if pid else None
                    if pdest:
                        want[pdest] += 1
            differ = sorted(p for p in set(want) | set(actual) if want[p] != actual[p])
            parents_live = live.live_among([ref_target], differ)
            mismatched = 0
            for pdest in differ:
                if pdest in parents_live:
                    mismatched += 1
                    out.log("children", f"destination:{ref_target}:{pdest}",
                            f"{want[pdest]} {cm.om.source} record(s) loaded for it, "
                            f"{actual[pdest]} {cm.om.target} record(s) linked to it",
                            root=f"{ref_target}:{pdest}")
            out.children.append({"map": cm.om.name, "per": ref_target, "parents":
                                 len(set(want) | set(actual)), "expected": sum(want.values()),
                                 "actual": sum(actual.values()), "mismatched": mismatched})


def _uploads(store: StagingStore) -> Iterator[tuple[str, str, str]]:
    """(file id, parent object, parent id) of every file the log says was uploaded: the done
    entries with their intents, straight from the audit table (the entries' before-images,
    decrypted by ``AuditLog.entries``, are not needed here)."""
    for fid, idetail, detail in store.conn.execute(
            "SELECT d.dest_id, i.detail, d.detail FROM audit d LEFT JOIN audit i ON"
            " i.seq=d.intent_seq AND i.kind='intent' AND i.op='upload' WHERE d.kind='done' AND"
            " d.op='upload' AND d.dest_id IS NOT NULL ORDER BY d.seq"):
        det = json.loads(idetail if idetail is not None else (detail or "{}"))
        yield str(fid), str(det.get("parent_object") or ""), str(det.get("parent") or "")


def _attachments(store: StagingStore, audit: AuditLog, maps: list[CompiledMap],
                 live: ReadBack, out: Reconciliation) -> None:
    """Files per parent record (id map vs live files) and files whose record is gone."""
    attach = [cm.om for cm in maps if cm.om.mode == "attach"]
    if not attach:
        return
    parent_of: dict[str, tuple[str, str]] = {fid: (po, p) for fid, po, p in _uploads(store)}
    for om in attach:
        want: Counter[tuple[str, str]] = Counter()
        have: Counter[tuple[str, str]] = Counter()
        for m in store.iter_idmap(src_object=om.source):
            if m.dest_object != om.target or m.dest_id not in parent_of:
                continue
            pobj, parent = parent_of[m.dest_id]
            want[(pobj, parent)] += 1
            if not live.has(om.target, m.dest_id):
                continue  # a dropped file: logged by the id-map check
            have[(pobj, parent)] += 1
            if pobj in live and not live.has(pobj, parent):
                out.orphans.append({"object": om.target, "id": m.dest_id, "field": "parent",
                                    "points_to": f"{pobj}:{parent}"})
                out.log("orphan", f"destination:{om.target}:{m.dest_id}",
                        f"attached to {pobj}:{parent}, which does not exist",
                        root=f"{pobj}:{parent}")
        bad = [k for k in want if want[k] != have[k] and k[0] in live and live.has(*k)]
        for pobj, parent in sorted(bad):
            out.log("children", f"destination:{pobj}:{parent}", f"{want[(pobj, parent)]}"
                    f" file(s) uploaded to it, {have[(pobj, parent)]} still there",
                    root=f"{pobj}:{parent}")
        out.children.append({"map": om.name, "per": ", ".join(sorted({k[0] for k in want})),
                             "parents": len(want), "expected": sum(want.values()),
                             "actual": sum(have.values()), "mismatched": len(bad)})


def _sums(store: StagingStore, record_maps: list[CompiledMap], live: ReadBack, lookup: Lookup,
          out: Reconciliation) -> None:
    for cm in record_maps:
        keys = _sum_keys(cm)
        if not keys:
            continue
        src_sum = {k: Decimal(0) for k, _ in keys}
        sent_sum = {k: Decimal(0) for k, _ in keys}
        dest_sum = {k: Decimal(0) for k, _ in keys}
        n = 0
        only = frozenset(k for k, _ in keys)
        entries = (m for m in store.iter_idmap(src_object=cm.om.source)
                   if m.dest_object == cm.om.target)
        while batch := list(islice(entries, 500)):
            rows = live.rows(cm.om.target, [m.dest_id for m in batch], [k for k, _ in keys])
            staged_of = store.get_many(cm.om.source, [m.source_id for m in batch])
            for m in batch:
                staged = staged_of.get(m.source_id)
                if staged is None or staged.deleted or not cm.accepts(staged.record):
                    continue
                n += 1
                built = cm.build(staged.record, lookup, only)
                row = rows.get(m.dest_id)
                for k, src in keys:
                    sent = as_number(built.payload.get(k)) or 0
                    got = as_number(row.get(k)) or 0 if row is not None else sent
                    src_sum[k] += as_number(getattr(staged.record, src)) or 0
                    sent_sum[k] += sent
                    dest_sum[k] += got if row is not None else 0
                    if sent != got:  # the amounts are PHI: the line names the record, not them
                        out.log("value", f"source:{cm.om.source}:{m.source_id}",
                                f"{src} in {cm.om.target}:{m.dest_id} differs from what was"
                                " sent", root=f"value:{cm.om.name}:{src}")
        for k, src in keys:
            ok = sent_sum[k] == dest_sum[k]
            out.sums.append({"map": cm.om.name, "field": f"{cm.om.source}.{src}", "key": k,
                             "records": n, "source": str(src_sum[k]), "sent": str(sent_sum[k]),
                             "destination": str(dest_sum[k]), "equal": ok})
            if not ok:
                out.log("sum", f"destination:{cm.om.target}", f"sum of {cm.om.source}.{src}:"
                        f" {sent_sum[k]} sent, {dest_sum[k]} in the destination",
                        root=f"value:{cm.om.name}:{src}")


MAX_REFS = 10


def problems(out: Reconciliation, store: StagingStore, doc: MappingDoc,
             live: ReadBack) -> list[dict[str, Any]]:
    """The discrepancy lines grouped so each problem appears once — a deleted person with its
    deals, notes and files still pointing at it is one problem, not a line per record — each
    with what it is and what to do about it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in out.discrepancies:
        groups.setdefault(d["root"], []).append(d)
    return [_problem(root, lines, store, doc, live) for root, lines in groups.items()]


def _source_of(store: StagingStore, root: str) -> str | None:
    """The source record a destination record (``object:id``) was written from."""
    obj, _, did = root.partition(":")
    row = store.conn.execute("SELECT src_object, source_id FROM idmap WHERE dest_object=? AND"
                             " dest_id=?", (obj, did)).fetchone()
    if row:
        return f"source:{row[0]}:{row[1]}"
    row = store.conn.execute("SELECT src_ref FROM audit WHERE dest_object=? AND dest_id=? AND"
                             " kind='done' AND src_ref IS NOT NULL ORDER BY seq LIMIT 1",
                             (obj, did)).fetchone()
    return str(row[0]) if row else None


def _problem(root: str, lines: list[dict[str, Any]], store: StagingStore, doc: MappingDoc,
             live: ReadBack) -> dict[str, Any]:
    kinds = Counter(d["kind"] for d in lines)
    refs = list(dict.fromkeys(d["ref"] for d in lines))
    n = len(refs)
    out = {"problem": root, "kinds": dict(kinds), "lines": len(lines), "records": n,
           "refs": refs[:MAX_REFS]}
    if "orphan" in kinds or ("missing" in kinds and root.split(":")[0] in live):
        obj, _, did = root.partition(":")
        gone = obj in live and not live.has(obj, did)
        src = _source_of(store, root)
        pointing = sum(1 for d in lines if d["kind"] == "orphan")
        if src and gone:
            _, sobj, sid = src.split(":", 2)
            staged = store.get(sobj, sid)
            om = next((m for m in doc.objects if m.source == sobj and m.mode == "record"), None)
            if staged is not None and staged.deleted:
                policy = (om.on_delete if om else None) or "the default of options.delete_policy"
                out["what"] = (f"dependants of a deleted {sobj} ({src}, was {root}):"
                               f" {pointing} record(s) still point at it")
                out["action"] = (f"delete or re-link the records listed; so that `ferry delta`"
                                 f" does it for later deletions, set `on_delete:"
                                 f" delete_dependants` (or `unlink`) on the"
                                 f" `{om.name if om else sobj}` map in mapping.yaml (now:"
                                 f" {policy})")
                return out
        out["what"] = (f"{root}{f' ({src})' if src else ''} is gone from the destination"
                       f" (deleted outside Ferry)" + (f"; {pointing} record(s) still point at"
                                                      " it" if pointing else ""))
        out["action"] = ("restore it from the CRM's trash if it was deleted by mistake; or"
                         " `ferry rollback` then `ferry run` to write it again")
        return out
    kind = kinds.most_common(1)[0][0]
    tail = root.split(":", 2)[-1]
    if kind == "missing":
        what, action = (f"{n} record(s) Ferry wrote are gone from the destination",
                        "restore them from the CRM's trash, or `ferry rollback` then"
                        " `ferry run`")
    elif kind == "children":
        what, action = (f"{root}: its children in the destination differ from what was loaded"
                        f" ({'; '.join(d['detail'] for d in lines[:3])})",
                        "children were deleted or moved in the CRM: compare with the source;"
                        " `ferry delta` re-sends records the source changed")
    elif kind == "duplicate":
        what, action = (f"{lines[0]['ref']} is in the destination more than once",
                        "delete the extra record(s) named (those not in the id map), then"
                        " `ferry reconcile` again")
    elif kind == "dropped":
        what, action = (f"{n} {tail} record(s) neither loaded nor skipped with a reason",
                        "a defect: `ferry run` again (it resumes) and report it if they stay")
    elif kind == "count":
        what, action = (lines[0]["detail"], "records made or deleted in the CRM by someone"
                        " else during the migration: check that object in the CRM")
    elif kind in ("value", "sum"):
        what, action = (f"{tail}: {n} record(s) hold a value other than what was sent",
                        "the destination changed the value (rounding, currency, an"
                        " automation): check the field's type and the CRM's automations")
    else:
        what, action = lines[0]["detail"], "read the lines and fix the cause"
    out["what"], out["action"] = what, action
    return out


def project_lookup(project: Any, dest: Destination) -> Lookup:
    """The lookup a load uses (id map through merges, owners by email) for rebuilding payloads."""
    from ferry.engine.context import StoreLookup
    from ferry.engine.owners import match_owners

    owners = match_owners(project.store, dest.users(),
                          project.settings.options.fallback_owner_email, report=False)
    return StoreLookup(project.store, owners)


def run_reconcile(project: Any) -> Reconciliation:
    """Reconcile a project (``ferry.engine.project.Project``) against its destination."""
    from ferry.engine.pipeline import confirmed_mapping, open_destination
    from ferry.engine.prepare import apply_keys

    doc = apply_keys(confirmed_mapping(project), project.store)
    dest = open_destination(project)
    try:
        return reconcile(project.store, project.audit, doc,
                         project.compile(doc), dest,
                         project_lookup(project, dest),
                         project.settings.options.delete_policy)
    finally:
        dest.close()
