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

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ferry.connectors.base import Destination
from ferry.engine.dedup import survivor_of
from ferry.engine.diff import as_number
from ferry.mapping.compile import CompiledMap, Lookup
from ferry.mapping.model import MappingDoc
from ferry.model.audit import AuditLog
from ferry.model.entities import ENTITIES
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
                "discrepancies": self.discrepancies}


def baseline(store: StagingStore) -> dict[str, int]:
    """Destination counts before Ferry's first load that is still in effect."""
    for run in store.runs():
        if run.kind in LOAD_KINDS and run.status != "rolled_back" and "snapshot" in run.params:
            return {k: int(v) for k, v in run.params["snapshot"].items()}
    return {}


def _idmap(store: StagingStore, src_object: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for m in store.iter_idmap(src_object=src_object):
        out[m.source_id].add(m.dest_object)
    return out


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


def _source_buckets(store: StagingStore, maps: list[CompiledMap], rec_out: Reconciliation,
                    skips: dict[str, tuple[str, str]]) -> None:
    """Per source object: source = loaded + merged + excluded + held + skipped (+ unaccounted)."""
    by_source: dict[str, list[CompiledMap]] = defaultdict(list)
    for cm in maps:
        by_source[cm.om.source].append(cm)
    unparsed = _unparsed_rows(store)
    for obj, cms in by_source.items():
        mapped = _idmap(store, obj)
        b = Counter[str]()
        staged: set[str] = set()
        for rec in store.iter_records(obj):
            ref = f"source:{obj}:{rec.source_id}"
            staged.add(rec.source_id)
            b["source"] += 1
            if survivor_of(store, obj, rec.source_id):
                b["merged"] += 1
                continue
            accepting = [cm for cm in cms if cm.accepts(rec) and cm.om.mode != "none"]
            if not accepting:
                b["excluded"] += 1
                continue
            if any(_landed(cm, mapped.get(rec.source_id, set())) for cm in accepting):
                b["loaded"] += 1
                continue
            stage, reason = skips.get(ref, ("", ""))
            if stage == "hold":
                b["held"] += 1
            elif stage == "excluded":  # the PHI review decided to exclude it
                b["excluded"] += 1
            elif stage:
                b["skipped"] += 1
            else:
                b["unaccounted"] += 1
                rec_out.log("dropped", ref, "not loaded, merged, excluded, held or skipped:"
                            " the record was silently dropped", root=f"dropped:{obj}")
        refused = len(unparsed.get(obj, set()) - staged)  # rows refused at extract
        b["source"] += refused
        b["skipped"] += refused
        total = sum(b[k] for k in ("loaded", "merged", "excluded", "held", "skipped",
                                   "unaccounted"))
        rec_out.objects.append({"object": obj, "maps": ", ".join(cm.om.name for cm in cms),
                                "source": b["source"], "loaded": b["loaded"],
                                "merged": b["merged"], "excluded": b["excluded"],
                                "held": b["held"], "skipped": b["skipped"],
                                "unaccounted": b["unaccounted"], "adds_up": total == b["source"]
                                and b["unaccounted"] == 0})


def _read_all(dest: Destination, obj: str, ids: list[str], keys: list[str], batch: int = 100
              ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), batch):
        out.update(dest.read(obj, ids[i:i + batch], keys or None))
    return out


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
              compiled: Iterable[CompiledMap], dest: Destination, lookup: Lookup
              ) -> Reconciliation:
    out = Reconciliation()
    maps = list(compiled)
    skips = _last_skips(store)
    _source_buckets(store, maps, out, skips)
    base = baseline(store)
    record_maps = [cm for cm in maps if cm.om.mode == "record"]
    targets = sorted({cm.om.target for cm in maps if cm.om.mode in ("record", "attach")})
    live: dict[str, set[str]] = {t: set(dest.iter_ids(t)) for t in targets}
    for cm in record_maps:
        for _, _, ref_targets in _ref_keys(doc, cm):
            for ref_target in ref_targets:
                if ref_target not in live:
                    live[ref_target] = set(dest.iter_ids(ref_target))
    # Expected destination records: the id map, per destination object.
    expected: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    created: dict[str, set[str]] = defaultdict(set)
    for m in store.iter_idmap():
        if m.dest_object in targets:
            expected[m.dest_object][m.dest_id].append(f"source:{m.src_object}:{m.source_id}")
            if m.created:
                created[m.dest_object].add(m.dest_id)
    stored: dict[str, dict[str, dict[str, Any]]] = {}
    for cm in record_maps:
        keys = sorted({k for k in [cm.id_key, *(k for k, _, _ in _ref_keys(doc, cm)),
                                   *(k for k, _ in _sum_keys(cm))] if k})
        prev = stored.get(cm.om.target, {})
        ids = sorted(live[cm.om.target])
        got = _read_all(dest, cm.om.target, ids, keys) if keys else {i: {} for i in ids}
        for did, row in got.items():
            prev.setdefault(did, {}).update(row)
        stored[cm.om.target] = prev
    for target in targets:
        ids_live = live[target]
        exp = expected[target]
        for did, refs in sorted(exp.items()):
            if did not in ids_live:
                for r in refs:
                    out.log("missing", r, f"the id map says {target}:{did}, which is not in the"
                                          " destination (a dropped write)",
                            root=f"{target}:{did}")
        # Double writes: one source id on several live records.
        dups = 0
        id_keys = {cm.id_key for cm in record_maps if cm.om.target == target and cm.id_key}
        by_sid: dict[tuple[str, str], list[str]] = defaultdict(list)
        for did, row in stored.get(target, {}).items():
            for k in id_keys:
                if row.get(k) not in (None, ""):
                    by_sid[(k, str(row[k]))].append(did)
        src_of = {cm.id_key: cm.om.source for cm in record_maps if cm.om.target == target}
        for (k, sid), dids in sorted(by_sid.items()):
            if len(dids) > 1:
                dups += len(dids) - 1
                extra = [d for d in dids if d not in exp]
                out.log("duplicate", f"source:{src_of.get(k, '?')}:{sid}",
                        f"{len(dids)} records in {target} carry this source id: "
                        f"{', '.join(sorted(dids))}" + (f" ({', '.join(extra)} not in the id"
                                                         " map)" if extra else ""))
        n_created = len(created[target])
        live_expected = len([d for d in exp if d in ids_live])
        b = base.get(target)
        expect_count = None if b is None else b + n_created
        unknown = len(ids_live) - live_expected - dups
        row = {"object": target, "destination": len(ids_live), "baseline": b,
               "created_by_ferry": n_created, "expected": expect_count,
               "in_id_map_and_live": live_expected, "missing": len(exp) - live_expected,
               "duplicates": dups, "not_from_ferry": unknown,
               "balanced": expect_count == len(ids_live) if expect_count is not None else None}
        out.destination.append(row)
        if expect_count is not None and expect_count != len(ids_live) \
                and not (len(exp) - live_expected or dups):
            out.log("count", f"destination:{target}", f"{len(ids_live)} records, expected"
                    f" {expect_count} (baseline {b} + {n_created} created by Ferry)")
    _orphans_and_children(store, doc, record_maps, live, stored, lookup, out)
    _attachments(store, audit, maps, live, out)
    _sums(store, record_maps, stored, lookup, out)
    out.problems = problems(out, store, doc, {t: live[t] for t in live})
    return out


def _orphans_and_children(store: StagingStore, doc: MappingDoc, record_maps: list[CompiledMap],
                          live: dict[str, set[str]], stored: dict[str, dict[str, dict[str, Any]]],
                          lookup: Lookup, out: Reconciliation) -> None:
    for cm in record_maps:
        # several maps can land in one destination object (appointments and invoices both
        # become deals): a map's children are the records *it* wrote
        mine = {m.dest_id for m in store.iter_idmap(src_object=cm.om.source)
                if m.dest_object == cm.om.target}
        for key, src_obj, ref_targets in _ref_keys(doc, cm):
            ref_target = ref_targets[0]
            live_refs = set().union(*(live.get(t, set()) for t in ref_targets))
            actual: Counter[str] = Counter()
            for did, row in sorted(stored.get(cm.om.target, {}).items()):
                v = row.get(key)
                if v in (None, "", []):
                    continue
                for pid in v if isinstance(v, list) else [v]:
                    if str(pid) not in live_refs:
                        where = "/".join(ref_targets)
                        out.orphans.append({"object": cm.om.target, "id": did, "field": key,
                                            "points_to": f"{where}:{pid}"})
                        out.log("orphan", f"destination:{cm.om.target}:{did}",
                                f"{key} points to {where}:{pid}, which does not exist",
                                root=f"{ref_targets[0]}:{pid}")
                    if did in mine:
                        actual[str(pid)] += 1
            if src_obj != "patient":
                continue
            want: Counter[str] = Counter()
            fm = next(f.fm for f in cm.fields if f.key == key)
            src_field = fm.source if isinstance(fm.source, str) else None
            if src_field is None:
                continue
            for m in store.iter_idmap(src_object=cm.om.source):
                if m.dest_object != cm.om.target:
                    continue
                staged = store.get(cm.om.source, m.source_id)
                pid = getattr(staged.record, src_field, None) if staged else None
                pdest = lookup.dest_id(src_obj, str(pid), ref_target) if pid else None
                if pdest:
                    want[pdest] += 1
            mismatched = 0
            for pdest in sorted(set(want) | set(actual)):
                if want[pdest] != actual[pdest] and pdest in live.get(ref_target, set()):
                    mismatched += 1
                    out.log("children", f"destination:{ref_target}:{pdest}",
                            f"{want[pdest]} {cm.om.source} record(s) loaded for it, "
                            f"{actual[pdest]} {cm.om.target} record(s) linked to it",
                            root=f"{ref_target}:{pdest}")
            out.children.append({"map": cm.om.name, "per": ref_target, "parents":
                                 len(set(want) | set(actual)), "expected": sum(want.values()),
                                 "actual": sum(actual.values()), "mismatched": mismatched})


def _attachments(store: StagingStore, audit: AuditLog, maps: list[CompiledMap],
                 live: dict[str, set[str]], out: Reconciliation) -> None:
    """Files per parent record (id map vs live files) and files whose record is gone."""
    attach = [cm.om for cm in maps if cm.om.mode == "attach"]
    if not attach:
        return
    intents = {e.seq: e for e in audit.entries() if e.kind == "intent" and e.op == "upload"}
    parent_of: dict[str, tuple[str, str]] = {}  # file id → (parent object, parent id)
    for e in audit.entries():
        if e.kind == "done" and e.op == "upload" and e.dest_id:
            d = (intents.get(e.intent_seq or -1) or e).detail
            parent_of[e.dest_id] = (str(d.get("parent_object") or ""), str(d.get("parent") or ""))
    for om in attach:
        want: Counter[tuple[str, str]] = Counter()
        have: Counter[tuple[str, str]] = Counter()
        for m in store.iter_idmap(src_object=om.source):
            if m.dest_object != om.target or m.dest_id not in parent_of:
                continue
            pobj, parent = parent_of[m.dest_id]
            want[(pobj, parent)] += 1
            if m.dest_id not in live.get(om.target, set()):
                continue  # a dropped file: logged by the id-map check
            have[(pobj, parent)] += 1
            if pobj in live and parent not in live[pobj]:
                out.orphans.append({"object": om.target, "id": m.dest_id, "field": "parent",
                                    "points_to": f"{pobj}:{parent}"})
                out.log("orphan", f"destination:{om.target}:{m.dest_id}",
                        f"attached to {pobj}:{parent}, which does not exist",
                        root=f"{pobj}:{parent}")
        bad = [k for k in want if want[k] != have[k] and k[0] in live and k[1] in live[k[0]]]
        for pobj, parent in sorted(bad):
            out.log("children", f"destination:{pobj}:{parent}", f"{want[(pobj, parent)]}"
                    f" file(s) uploaded to it, {have[(pobj, parent)]} still there",
                    root=f"{pobj}:{parent}")
        out.children.append({"map": om.name, "per": ", ".join(sorted({k[0] for k in want})),
                             "parents": len(want), "expected": sum(want.values()),
                             "actual": sum(have.values()), "mismatched": len(bad)})


def _sums(store: StagingStore, record_maps: list[CompiledMap],
          stored: dict[str, dict[str, dict[str, Any]]], lookup: Lookup, out: Reconciliation
          ) -> None:
    for cm in record_maps:
        keys = _sum_keys(cm)
        if not keys:
            continue
        src_sum = {k: Decimal(0) for k, _ in keys}
        sent_sum = {k: Decimal(0) for k, _ in keys}
        dest_sum = {k: Decimal(0) for k, _ in keys}
        n = 0
        for m in store.iter_idmap(src_object=cm.om.source):
            if m.dest_object != cm.om.target:
                continue
            staged = store.get(cm.om.source, m.source_id)
            if staged is None or staged.deleted or not cm.accepts(staged.record):
                continue
            n += 1
            built = cm.build(staged.record, lookup)
            row = stored.get(cm.om.target, {}).get(m.dest_id)
            for k, src in keys:
                sent = as_number(built.payload.get(k)) or 0
                got = as_number(row.get(k)) or 0 if row is not None else sent
                src_sum[k] += as_number(getattr(staged.record, src)) or 0
                sent_sum[k] += sent
                dest_sum[k] += got if row is not None else 0
                if sent != got:  # the amounts are PHI: the line names the record, not them
                    out.log("value", f"source:{cm.om.source}:{m.source_id}",
                            f"{src} in {cm.om.target}:{m.dest_id} differs from what was sent",
                            root=f"value:{cm.om.name}:{src}")
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
             live: dict[str, set[str]]) -> list[dict[str, Any]]:
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
             live: dict[str, set[str]]) -> dict[str, Any]:
    kinds = Counter(d["kind"] for d in lines)
    refs = list(dict.fromkeys(d["ref"] for d in lines))
    n = len(refs)
    out = {"problem": root, "kinds": dict(kinds), "lines": len(lines), "records": n,
           "refs": refs[:MAX_REFS]}
    if "orphan" in kinds or ("missing" in kinds and root.split(":")[0] in live):
        obj, _, did = root.partition(":")
        gone = did not in live.get(obj, {did})
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
                          project.settings.options.fallback_owner_email)
    return StoreLookup(project.store, owners)


def run_reconcile(project: Any) -> Reconciliation:
    """Reconcile a project (``ferry.engine.project.Project``) against its destination."""
    from ferry.engine.pipeline import confirmed_mapping, open_destination
    from ferry.engine.prepare import apply_keys
    from ferry.mapping.compile import compile_mapping

    doc = apply_keys(confirmed_mapping(project), project.store)
    dest = open_destination(project)
    try:
        return reconcile(project.store, project.audit, doc,
                         compile_mapping(doc, region=project.phone_region), dest,
                         project_lookup(project, dest))
    finally:
        dest.close()
