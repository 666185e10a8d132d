"""The verbs as functions over a Project: what the CLI, the demo and the web UI call.

Each function opens the connectors the project names (through the registry), does one step,
records it as a run in the staging store and returns plain results for reports.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferry.connectors.base import CheckItem, Destination, Provisioned, Source
from ferry.connectors.registry import make_destination, make_source
from ferry.engine import dedup
from ferry.engine.owners import OwnerMatch, match_owners
from ferry.engine.project import Project
from ferry.engine.recover import Recovery, recover
from ferry.errors import MappingError
from ferry.model.audit import FOLD_DETAIL_LIKE, AuditLog
from ferry.model.crypto import TMP_DIR
from ferry.model.staging import now_iso

# The extract (asyncio), the map, its compiler and transforms, the PHI gate, the
# load, deletions and rollback are imported by the verbs that use them: ``extract`` and the
# review's scan paid ~0.1 CPU-s each for them at start-up.
if TYPE_CHECKING:
    from ferry.connectors.ratelimit import SharedBudget
    from ferry.engine.accounting import ChangeAccount
    from ferry.engine.context import Hold, MapStats
    from ferry.engine.deletions import DeletionReport
    from ferry.engine.extract import ExtractStats
    from ferry.engine.rollback import RollbackResult
    from ferry.mapping.model import MappingDoc
    from ferry.phi.gate import Gate


def rate_budget(project: Project) -> SharedBudget | None:
    """The rate budgets shared by every process on the project's PostgreSQL store (one row per
    account, ``ferry.model.pgbudget``); None on SQLite (one process: connectors pace alone)."""
    from ferry.model.stores import is_server_url

    url = project.settings.store if project.settings_path.exists() else None
    if not is_server_url(url):
        return None
    from ferry.model.pgbudget import budget_for

    return budget_for(str(url), os.environ.get(project.settings.store_password_env))


def _budgeted(project: Project) -> contextlib.AbstractContextManager[None]:
    """Connectors built in here take their turns (and Pipedrive its day of tokens) from the
    project's shared budget: a fleet worker's activity, or a person's ``ferry delta`` beside
    the workers, spends the same budget of each account."""
    from ferry.connectors.ratelimit import current_budget, shared_budget

    if current_budget() is not None:  # a fleet activity opened it already
        return contextlib.nullcontext()
    return shared_budget(rate_budget(project))


def open_source(project: Project) -> Source:
    s = project.settings.source
    with _budgeted(project):
        source = make_source(s.kind, s.options(), project.root)
    source.phone_region = project.settings.options.phone_region  # wins over the data's guess
    return source


def registry_objects(project: Project) -> tuple[str, ...]:
    """The objects the project's source produces (a class attribute: no connection made)."""
    from ferry.connectors.registry import source_module

    module = source_module(project.settings.source.kind)
    cls = getattr(module, "SOURCE_CLASS", None)
    if cls is not None:
        return tuple(cls.objects)
    src = open_source(project)
    try:
        return tuple(src.objects)
    finally:
        _close(src)


def open_destination(project: Project) -> Destination:
    d = project.settings.destination
    with _budgeted(project):
        return make_destination(d.kind, d.options(), project.root)


def _close(conn: Any) -> None:
    """Release a connector's sockets (a source's are async)."""
    if isinstance(conn, Source):
        import asyncio

        asyncio.run(conn.aclose())
    else:
        conn.close()


def resume_or_start(project: Project, kind: str, params: dict[str, Any] | None = None) -> str:
    """Reuse the last unfinished run of this kind (a resume), else start a new one."""
    for run in reversed(project.store.runs(kind)):
        if run.status == "running":
            return run.run_id
    return project.store.start_run(kind, params)


def check(project: Project) -> list[CheckItem]:
    from ferry.engine.checks import column_names, connector_checks, encryption_key, phone_region

    items: list[CheckItem] = []
    s = project.settings
    items += connector_checks("source", s.source, lambda: open_source(project), _close)
    items += connector_checks("destination", s.destination, lambda: open_destination(project),
                              _close)
    if key := encryption_key(project):
        items.append(key)
    items += [it for it in (column_names(project), phone_region(project)) if it is not None]
    baa = s.baa
    items.append(CheckItem(
        "BAA confirmation", baa.confirmed,
        f"confirmed by {baa.by} on {baa.at} (ref {baa.reference})" if baa.confirmed else
        "none recorded: clinical fields and flagged content will be held back",
        "record it with `ferry check --baa-by NAME --baa-ref REF` once the BAA is signed",
        warn=not baa.confirmed))
    return items


def run_extract(project: Project, *, since: dt.datetime | None = None,
                objects: list[str] | None = None,
                on_page: Callable[[Any, ExtractStats], None] | None = None,
                since_by_object: dict[str, dt.datetime | None] | None = None
                ) -> tuple[str, ExtractStats]:
    from ferry.engine.extract import extract

    run_id = resume_or_start(project, "extract", {"since": since.isoformat() if since else None})
    stats = extract(open_source(project), project.store, run_id=run_id, objects=objects,
                    since=since, files_dir=project.files_dir, on_page=on_page,
                    since_by_object=since_by_object)
    project.store.finish_run(run_id, "done", stats.__dict__)
    return run_id, stats


def confirmed_mapping(project: Project) -> MappingDoc:
    from ferry.mapping.mapping_file import require_confirmed

    return require_confirmed(project.mapping_path)


def run_prepare(project: Project) -> tuple[str, list[Provisioned]]:
    from ferry.engine.prepare import prepare

    doc = confirmed_mapping(project)
    run_id = resume_or_start(project, "prepare")
    dest = open_destination(project)
    try:
        provisioned = prepare(doc, project.store, project.audit, dest, run_id)
    finally:
        dest.close()
    project.store.finish_run(run_id, "done", {"items": len(provisioned),
                                              "created": sum(p.created for p in provisioned)})
    return run_id, provisioned


def gate_for(project: Project, doc: MappingDoc, dest: Destination
             ) -> tuple[MappingDoc, list[dict[str, Any]], Gate]:
    """The map as the BAA status allows it, what it withheld, and the PHI gate for records.

    Without a BAA confirmation clinical-class fields are taken out of the map, and maps whose
    required destination field is clinical are held whole. Run and sample share this, so the
    sample's diff sees exactly what a run writes.
    """
    from ferry.phi.gate import Gate, withhold_clinical

    baa = project.settings.baa.confirmed
    withheld: list[dict[str, Any]] = []
    held_maps: set[str] = set()
    if not baa:
        required = {o.name: {f.key for f in o.fields if f.required} | {f.name for f in o.fields
                                                                       if f.required}
                    for o in dest.describe()}
        doc, withheld, held_maps = withhold_clinical(doc, required)
    return doc, withheld, Gate(project.store, baa_confirmed=baa, files_dir=project.files_dir,
                               held_maps=held_maps, order=[om.source for om in doc.objects],
                               regions=project.scan_regions)


@dataclass
class LoadReport:
    run_id: str
    kind: str
    stats: dict[str, MapStats]
    owners: dict[str, Any]
    recovery: Recovery
    dedup: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    withheld: list[dict[str, Any]] = field(default_factory=list)  # fields kept back (no BAA)
    phi_queue: dict[str, int] = field(default_factory=dict)
    deletions: dict[str, Any] = field(default_factory=dict)  # delta: by each map's policy
    #: delta: every change the source showed, with its outcome (``engine/accounting.py``)
    changes: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for st in self.stats.values():
            for k, v in st.as_dict().items():
                if isinstance(v, int):
                    out[k] = out.get(k, 0) + v
        return out


def _targets(doc: MappingDoc) -> list[str]:
    return sorted({om.target for om in doc.objects if om.mode in ("record", "attach")})


def load(project: Project, *, kind: str = "run", dry_run: bool = False,
         only: set[tuple[str, str]] | None = None, changed_since: str | None = None,
         extracted: Callable[[str], bool] | None = None, hold: Hold | None = None,
         progress: Callable[[str, int, int], None] | None = None,
         dest: Destination | None = None,
         retry: dict[str, set[str]] | None = None,
         unlinked: dict[str, set[str]] | None = None) -> LoadReport:
    """Load staged records through the confirmed map (a run, a sample or a delta pass).
    ``unlinked``: of ``retry``, those an earlier pass could not link (``waiting``)."""
    from ferry.engine.context import LoadContext
    from ferry.engine.load import run_load
    from ferry.engine.placement import require_confirmed
    from ferry.engine.prepare import apply_keys, prepared
    from ferry.phi.queue import counts as queue_counts

    doc = apply_keys(confirmed_mapping(project), project.store)
    require_confirmed(project, doc)  # staged as the map was confirmed against (file sources)
    if not prepared(doc, project.store):
        raise MappingError("the destination schema is not prepared: run `ferry prepare` first")
    dest = dest or open_destination(project)
    doc, withheld, gate = gate_for(project, doc, dest)
    hold = hold or gate
    compiled = {cm.om.name: cm for cm in project.compile(doc)}
    store = project.store
    resumed = False
    if dry_run:
        run_id = f"dry-run-{now_iso()}"
    else:
        resumed = any(r.status == "running" for r in store.runs(kind))
        run_id = resume_or_start(project, kind)
        info = store.run(run_id)
        if info is not None and "snapshot" not in info.params:
            snapshot = {obj: sum(1 for _ in dest.iter_ids(obj)) for obj in _targets(doc)}
            store.set_run_params(run_id, {**info.params, "snapshot": snapshot})
    id_keys = {(cm.om.source, cm.om.target): cm.id_key for cm in compiled.values() if cm.id_key}
    recovery = recover(store, project.audit, dest, id_keys,
                       settle_s=project.settings.options.resume_settle_s
                       ) if not dry_run else Recovery()
    owners: OwnerMatch = match_owners(store, dest.users(),
                                      project.settings.options.fallback_owner_email)
    dd: dict[str, Any] = {}
    if project.settings.options.dedup_by_email and any(om.source == "patient"
                                                       for om in doc.objects):
        before = dedup.merge_map(store) if kind == "delta" and not dry_run else None
        res = dedup.analyse(store)
        dd = {"groups": res.groups, "merged": res.merged, "probable": res.probable}
        if before is not None:  # groups changed at the source: follow them (dedup.regroup)
            rg = dedup.regroup(store, before, sorted({om.target for om in doc.objects
                                                      if om.source == "patient"
                                                      and om.mode == "record"}),
                               {om.source for om in doc.objects if om.mode != "none"})
            retry = {o: set(v) for o, v in (retry or {}).items()}
            for obj, ids in {"patient": rg.rewrite, **rg.children}.items():
                retry.setdefault(obj, set()).update(ids)
            dd.update(moved=rg.moved, gone_merged=sorted(rg.gone))
    if kind == "delta" and changed_since is not None:  # names of records renamed (relabel)
        from ferry.engine.relabel import relabelled

        retry = {o: set(v) for o, v in (retry or {}).items()}
        for obj, ids in relabelled(doc, store, changed_since).items():
            retry.setdefault(obj, set()).update(ids)
    ctx = LoadContext(store, project.audit, dest, doc, compiled, owners, run_id,
                      batch_size=project.settings.options.batch_size, dry_run=dry_run, only=only,
                      changed_since=changed_since, retry=retry, unlinked=unlinked, hold=hold,
                      progress=progress, extracted=extracted,
                      tmp_dir=project.state_dir / TMP_DIR)
    stats = run_load(ctx)
    gate.wait()  # the PHI scan runs beside the load (``Gate``): the report counts all of it
    if resumed:
        count_earlier_attempts(project.audit, run_id, stats)
    report = LoadReport(run_id, kind, stats, owners.report(), recovery, dd, dry_run, withheld,
                        queue_counts(store))
    if not dry_run:
        store.finish_run(run_id, "done", {"totals": report.totals(),
                                          "maps": {k: v.as_dict() for k, v in stats.items()}})
    return report


def count_earlier_attempts(audit: AuditLog, run_id: str, stats: dict[str, MapStats]) -> None:
    """A resumed run's totals cover every attempt: what an earlier (killed) attempt created or
    uploaded, this one saw as already there (unchanged). The audit log knows which it was."""
    made: dict[tuple[str, str], int] = {}
    for e in audit.entries(run_id):
        if e.kind == "done" and e.op in ("create", "upload") and "map" in e.detail \
                and "undoes" not in e.detail:
            key = (str(e.detail["map"]), e.op)
            made[key] = made.get(key, 0) + 1
    for (name, op), n in made.items():
        st = stats.get(name)
        if st is None:
            continue
        bucket = "created" if op == "create" else "uploaded"
        extra = n - getattr(st, bucket)
        for seen_as in ("unchanged", "updated"):  # a recovered create is re-sent as an update
            moved = max(0, min(extra, getattr(st, seen_as)))
            setattr(st, seen_as, getattr(st, seen_as) - moved)
            setattr(st, bucket, getattr(st, bucket) + moved)
            extra -= moved


def migrate(project: Project, *, progress: Callable[[str, int, int], None] | None = None,
            hold: Hold | None = None) -> tuple[ExtractStats, LoadReport]:
    """Extract and load overlapped: the load follows the staging store as pages land.

    Users, clinics, practitioners and patients must be complete before loading starts (owner
    matching and dedup need all of them); everything after streams, so the migration takes about
    max(extract, load) rather than their sum.
    """
    from ferry.engine.extract import ExtractStats, scope_for

    objects = list(registry_objects(project))
    done_objects: set[str] = set()
    failure: list[BaseException] = []
    result: dict[str, ExtractStats] = {}

    def on_page(page: Any, stats: ExtractStats) -> None:
        if page.done:
            done_objects.add(page.object)

    def work() -> None:
        try:
            result["stats"] = run_extract(project, on_page=on_page)[1]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)
        finally:
            done_objects.update(objects)

    def extracted(obj: str) -> bool:
        return obj in done_objects or project.store.get_checkpoint(scope_for(obj, None)) == "done"

    # the caller's context goes along (a fleet worker's shared rate budget, see ratelimit)
    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                              name="ferry-extract", daemon=True)
    thread.start()
    first = {"clinic", "practitioner", "patient"} & set(objects)
    while not all(extracted(o) for o in first) and thread.is_alive():
        thread.join(0.05)
    if failure:
        raise failure[0]
    report = load(project, extracted=extracted, progress=progress, hold=hold)
    thread.join()
    if failure:
        raise failure[0]
    return result.get("stats", ExtractStats()), report


def delta(project: Project, *, progress: Callable[[str, int, int], None] | None = None,
          hold: Hold | None = None) -> tuple[ExtractStats, LoadReport, int]:
    """One delta pass: read changes since each object's watermark, apply deletions per the
    mapping's policy, upsert the changed records. Every write is audited (reversible)."""
    from ferry.engine.extract import watermark

    started = now_iso()
    objects = list(registry_objects(project))
    since_by = {obj: (dt.datetime.fromisoformat(wm) if (wm := watermark(project.store, obj))
                      else None) for obj in objects}
    extract_id, total = run_extract(project, since_by_object=since_by)  # one source, one pass
    from ferry.engine.deletions import relinkable

    retry, unlinked = waiting(project.store, baa_confirmed=project.settings.baa.confirmed)
    for obj, ids in relinkable(project.store).items():  # a link's record back at the source
        retry.setdefault(obj, set()).update(ids)
        if obj in unlinked:  # its link's record is back: not merely waiting on
            unlinked[obj].difference_update(ids)
    report = load(project, kind="delta", changed_since=started, progress=progress, hold=hold,
                  retry=retry, unlinked=unlinked)
    deletions = _apply_deletions(project, report.run_id, started,
                                 set(report.dedup.get("gone_merged") or ()))
    report.deletions = deletions.as_dict()
    report.changes = account(project, started, [extract_id, report.run_id]).as_dict()
    return total, report, deletions.deleted + deletions.dependants_deleted


def account(project: Project, since: str, run_ids: list[str]) -> ChangeAccount:
    """What became of every change the source showed since ``since`` (a delta pass)."""
    from ferry.engine.accounting import account_changes
    from ferry.engine.prepare import apply_keys

    doc = apply_keys(confirmed_mapping(project), project.store)
    return account_changes(project.store, project.audit,
                           project.compile(doc), since, run_ids)


#: skip stages of records a later pass can deliver unchanged: held for PHI review (decided
#: since), or referring to a parent that had no destination record yet
RETRY_STAGES = ("hold", "reference")


def waiting(store: Any, *, baa_confirmed: bool = True
            ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Records whose latest outcome is a hold or a missing parent, with no write since: the next
    delta pass tries them again (a note approved after a pass held its new content). A hold
    whose review is still pending — or every hold while no BAA is confirmed — would only be
    held again, so it waits for the decision. Returned twice: all of them, and those whose
    latest skip was the missing parent (``LoadContext.unlinked``)."""
    stages = RETRY_STAGES if baa_confirmed else ("reference",)
    # each record's latest skip and its stage; joined back, not SQLite's bare column beside
    # max(), which PostgreSQL refuses (a GroupingError in the fleet's delta window)
    marks = ",".join("?" * len(stages))
    rows = store.conn.execute(
        f"SELECT s.ref, s.at, s.stage FROM skips s JOIN (SELECT ref, max(at) AS at FROM skips"  # noqa: S608
        f" WHERE stage IN ({marks}) GROUP BY ref) m ON s.ref = m.ref AND s.at = m.at"
        f" WHERE s.stage IN ({marks})", (*stages, *stages)).fetchall()
    last_skip = {r: at for r, at, _ in rows}
    parentless = {r for r, _, stage in rows if stage == "reference"}
    from ferry.phi.queue import ensure_schema

    ensure_schema(store)
    pending = {f"source:{o}:{i}" for o, i in store.conn.execute(
        "SELECT DISTINCT object, source_id FROM phi_queue WHERE status='pending'")}
    for ref in pending:
        last_skip.pop(ref, None)
    last_write: dict[str, str] = {}
    refs = sorted(last_skip)
    for i in range(0, len(refs), 500):
        chunk = refs[i:i + 500]
        last_write.update(store.conn.execute(  # a folded field's update is not the record's
            "SELECT src_ref, max(at) FROM audit WHERE kind='done' AND op IN"
            f" ('create','update','upload') AND src_ref IN ({','.join('?' * len(chunk))})"  # noqa: S608
            " AND coalesce(detail, '') NOT LIKE ? GROUP BY src_ref",
            (*chunk, FOLD_DETAIL_LIKE)).fetchall())
    out: dict[str, set[str]] = {}
    unlinked: dict[str, set[str]] = {}
    for ref, at in last_skip.items():
        parts = str(ref).split(":", 2)
        if len(parts) == 3 and parts[0] == "source" and str(at) >= str(last_write.get(ref, "")):
            out.setdefault(parts[1], set()).add(parts[2])
            if ref in parentless:
                unlinked.setdefault(parts[1], set()).add(parts[2])
    return out, unlinked


def _apply_deletions(project: Project, run_id: str, since: str,
                     merged_gone: set[str] | None = None) -> DeletionReport:
    """Source deletions by each object map's ``on_delete`` policy (``engine/deletions.py``);
    ``merged_gone``: deleted patients that owned no record (merged into another)."""
    from ferry.engine.deletions import apply_deletions
    from ferry.engine.prepare import apply_keys
    from ferry.engine.writes import Writer

    doc = apply_keys(confirmed_mapping(project), project.store)  # an emptied link's key
    dest = open_destination(project)
    writer = Writer(project.store, project.audit, dest, run_id)
    return apply_deletions(doc, project.store, writer, since,
                           project.settings.options.delete_policy,
                           recordless={"patient": merged_gone} if merged_gone else None)


def _settle_open_intents(project: Project, dest: Destination) -> Recovery:
    """Writes a killed process sent without logging their outcome (a run or a rollback): creates
    are looked up by source id, so the rollback deletes what landed (the same as a resume)."""
    from ferry.engine.prepare import apply_keys
    from ferry.mapping.compile import compile_mapping

    audit = project.audit
    if not audit.has_open_intents():
        return Recovery()
    _settle_provisions(audit, dest)
    try:
        doc = apply_keys(confirmed_mapping(project), project.store)
        id_keys = {(cm.om.source, cm.om.target): cm.id_key for cm in compile_mapping(doc)
                   if cm.id_key}
    except MappingError:
        id_keys = {}
    return recover(project.store, audit, dest, id_keys,
                   settle_s=project.settings.options.resume_settle_s)


def _settle_provisions(audit: AuditLog, dest: Destination) -> None:
    """A ``prepare`` killed after the destination made an item, before logging it: the item
    did not exist when its intent was written, so what exists now is Ferry's — recorded as
    created, so the rollback removes it (``ensure`` of an existing item only finds its key)."""
    from ferry.engine.prepare import item_from_dict

    for e in audit.open_intents():
        if e.op != "provision" or e.detail.get("existed") is not False or "item" not in e.detail:
            continue
        item = item_from_dict(e.detail["item"])
        if dest.existing_schema([item]) != [True]:
            continue  # not made (or cannot tell): ``recover`` closes the intent
        [prov] = dest.ensure([item])
        audit.append_many(e.run_id, [{"kind": "done", "op": "provision",
                                      "dest_object": item.object, "dest_id": prov.key,
                                      "intent_seq": e.seq,
                                      "detail": {**e.detail, "created": True, "recovered": True,
                                                 "option_ids": prov.option_ids,
                                                 "also_made": prov.also_made}}])


def run_rollback(project: Project, run_id: str | None = None) -> RollbackResult:
    from ferry.engine.rollback import rollback, target_runs

    runs = target_runs(project.store, run_id)
    rb_id = resume_or_start(project, "rollback", {"runs": runs})
    dest = open_destination(project)
    _settle_open_intents(project, dest)
    result = rollback(project.store, project.audit, dest, runs, rb_id)
    project.store.finish_run(rb_id, "done" if result.verified else "failed",
                             {"deleted": result.deleted, "restored": result.restored,
                              "verified": result.verified})
    return result
