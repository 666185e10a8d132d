"""Ferry's verbs as Temporal activities (synchronous: the worker runs them in threads).

Each takes the project folder and opens the project afresh (its store is closed at the end, so
a long-lived worker does not collect database connections). Everything a step must not repeat
lives in the staging store — checkpoints, the audit log, the id map — so an activity retried on
another worker after a crash resumes where the killed one stopped: a page is staged with its
checkpoint in one transaction, and a write's fate is settled from the audit log by source id.
Results and heartbeats carry counts, object names and checkpoints only: never a record's values.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from temporalio import activity

from ferry.connectors.ratelimit import shared_budget
from ferry.engine.project import Project


@contextlib.contextmanager
def _project(path: str) -> Iterator[Project]:
    """The project, with its connectors' rate budgets shared through its PostgreSQL database
    (one row per account): every worker, and every activity after another, takes its turns
    from the same budget, so an account never sees two workers' requests closer than its
    limit allows."""
    from ferry.engine.pipeline import rate_budget

    project = Project.at(path)
    try:
        with shared_budget(rate_budget(project)), _pulse():
            yield project
    finally:
        if project._store is not None:
            project._store.close()


class _Pulse:
    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None
        self.stop = threading.Event()


_PULSE: contextvars.ContextVar[_Pulse | None] = contextvars.ContextVar("ferry_pulse",
                                                                      default=None)


@contextlib.contextmanager
def _pulse() -> Iterator[None]:
    """Heartbeat (the last detail again) every third of the heartbeat timeout while the step
    runs, whether or not it reports progress: a step that is silent for a while (prepare, a
    big batch, a slow API) is alive, and only a dead worker stops beating. Without it Temporal
    would time out a living activity and start a second copy of it on another worker."""
    info = activity.info()
    timeout = info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else 0.0
    if timeout <= 0:
        yield
        return
    pulse = _Pulse()
    token = _PULSE.set(pulse)
    ctx = contextvars.copy_context()  # activity.heartbeat needs the activity's context

    def beat() -> None:
        while not pulse.stop.wait(timeout / 3):
            activity.heartbeat(*([pulse.last] if pulse.last is not None else []))

    thread = threading.Thread(target=ctx.run, args=(beat,), name="ferry-pulse", daemon=True)
    thread.start()
    try:
        yield
    finally:
        pulse.stop.set()
        _PULSE.reset(token)
        thread.join(5)


def _beat(**detail: Any) -> None:
    pulse = _PULSE.get()
    if pulse is not None:
        pulse.last = detail
    activity.heartbeat(detail)


def _progress(name: str, done: int, total: int) -> None:
    _beat(step=name, done=done, total=total)


def _stamp(verb: str) -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{verb}"


@activity.defn(name="ferry.objects")
def objects(path: str) -> list[str]:
    from ferry.engine.pipeline import registry_objects

    with _project(path) as project:
        return list(registry_objects(project))


@activity.defn(name="ferry.extract")
def extract(path: str, obj: str) -> dict[str, Any]:
    """One resource, page by page; each page's checkpoint is the heartbeat's detail."""
    from ferry.engine.pipeline import run_extract

    info = activity.info()
    with _project(path) as project:
        if info.attempt > 1 and info.heartbeat_details:
            activity.logger.info("extract %s resumes after checkpoint %s", obj,
                                 info.heartbeat_details[0].get("checkpoint"))

        def on_page(page: Any, stats: Any) -> None:
            _beat(object=obj, checkpoint=page.checkpoint, done=bool(page.done))

        run_id, stats = run_extract(project, objects=[obj], on_page=on_page)
        return {"run_id": run_id, "staged": stats.staged.get(obj, 0), "pages": stats.pages,
                "errors": stats.errors}


@activity.defn(name="ferry.map_status")
def map_status(path: str) -> dict[str, Any]:
    """Whether mapping.yaml is confirmed; a missing one is proposed for people to review."""
    from ferry.engine.mapflow import propose
    from ferry.errors import MappingError
    from ferry.mapping.mapping_file import require_confirmed

    with _project(path) as project:
        proposed = False
        if not project.mapping_path.exists():
            propose(project)
            proposed = True
        try:
            require_confirmed(project.mapping_path)
            return {"confirmed": True, "proposed": proposed}
        except MappingError:
            return {"confirmed": False, "proposed": proposed}


@activity.defn(name="ferry.prepare")
def prepare(path: str) -> dict[str, Any]:
    from ferry.engine.pipeline import run_prepare

    with _project(path) as project:
        run_id, provisioned = run_prepare(project)
        return {"run_id": run_id, "items": len(provisioned),
                "created": sum(p.created for p in provisioned)}


@activity.defn(name="ferry.sample")
def sample(path: str, size: int) -> dict[str, Any]:
    from ferry.engine.readback import report_data, run_sample
    from ferry.reports.verification import write_sample

    with _project(path) as project:
        report, diff, selected = run_sample(project, size, progress=_progress)
        write_sample(project.reports_dir("sample"), report_data(report, diff, size, selected),
                     project=project.settings.project, name=report.run_id)
        return {"run_id": report.run_id, "passed": diff.passed, "records": diff.records,
                "unexplained": len(diff.unexplained)}


@activity.defn(name="ferry.phi_pending")
def phi_pending(path: str) -> dict[str, Any]:
    """Screen staged free text (new items only) and count what still waits for a decision."""
    from ferry.phi.queue import counts, scan

    with _project(path) as project:
        scan(project.store, regions=project.scan_regions)
        return {"pending": int(counts(project.store).get("pending", 0))}


@activity.defn(name="ferry.run")
def run(path: str) -> dict[str, Any]:
    from ferry.engine.pipeline import load
    from ferry.reports.render import write_report
    from ferry.reports.run import run_report_data

    with _project(path) as project:
        report = load(project, progress=_progress)
        write_report(project.reports_dir("run"), "run", run_report_data(report, project.store),
                     project=project.settings.project, name=report.run_id)
        return {"run_id": report.run_id, "totals": report.totals()}


@activity.defn(name="ferry.delta")
def delta(path: str) -> dict[str, Any]:
    from ferry.engine.pipeline import delta as delta_pass

    with _project(path) as project:
        stats, report, deleted = delta_pass(project, progress=_progress)
        return {"run_id": report.run_id, "staged": sum(stats.staged.values()),
                "deleted": deleted, "totals": report.totals(),
                "changes": {k: v for k, v in report.changes.items() if k != "lines"}}


@activity.defn(name="ferry.reconcile")
def reconcile(path: str) -> dict[str, Any]:
    from ferry.engine.reconcile import run_reconcile
    from ferry.reports.verification import write_reconcile

    with _project(path) as project:
        result = run_reconcile(project)
        write_reconcile(project.reports_dir("reconcile"), result.as_dict(),
                        project=project.settings.project, name=_stamp("reconcile"))
        return {"balanced": bool(result.balanced), "discrepancies": len(result.discrepancies)}


@activity.defn(name="ferry.rollback")
def rollback(path: str) -> dict[str, Any]:
    from ferry.engine.pipeline import run_rollback

    with _project(path) as project:
        result = run_rollback(project)
        return {"verified": bool(result.verified), "deleted": result.deleted,
                "restored": result.restored}


ACTIVITIES = [objects, extract, map_status, prepare, sample, phi_pending, run, delta, reconcile,
              rollback]
