"""The verbs the UI can start, as job work: the same engine functions the CLI commands call,
followed by the same report writers, so a step clicked here leaves exactly the trace the
command would have left (runs in the staging store, audit entries, reports under ``reports/``).

Each work function takes the ``Job`` (for progress) and returns (one-line summary, report paths
relative to the project's reports folder).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ferry.engine.project import Project
from ferry.errors import FerryError
from ferry.reports.run import run_report_data
from ferry.ui.jobs import Job, Work

Paths = tuple[Path, Path]


def fresh(project: Project) -> Project:
    """A Project re-reading ferry.yaml (settings are cached per instance)."""
    project.__dict__.pop("settings", None)
    return project


def _rel(project: Project, *paths: Path) -> list[str]:
    root = project.root / "reports"
    return [str(p.relative_to(root)) for p in paths if p.suffix == ".html"] + \
        [str(p.relative_to(root)) for p in paths if p.suffix == ".json"]


def _budgeted(job: Job, dest: Any) -> Callable[[str, int, int], None]:
    """A load progress callback that also samples the destination's API budget (≤ 1/s)."""
    last = [0.0]

    def update(name: str, done: int, total: int) -> None:
        job.progress(name, done, total)
        now = time.monotonic()
        if dest is not None and now - last[0] >= 1.0:
            last[0] = now
            try:
                b = dest.budget()
                job.set_budget(b.remaining, b.limit)
            except Exception:  # noqa: BLE001 - the budget is a nicety; the load goes on
                pass
    return update


def check(project: Project) -> Work:
    """``ferry check``: credentials, reachability, permissions, the BAA status."""
    from ferry.engine.pipeline import check as run_check
    from ferry.reports.pages import write_check

    def work(job: Job) -> tuple[str, list[str]]:
        items = run_check(project)
        paths = write_check(project.reports_dir("check"),
                            [{**it.__dict__, "status": it.status} for it in items],
                            project=project.settings.project)
        failed = [it.name for it in items if it.status == "FAIL"]
        return (f"check: {len(items) - len(failed)} of {len(items)} ok"
                + (f"; failed: {', '.join(failed)}" if failed else "")), _rel(project, *paths)
    return work


def extract(project: Project) -> Work:
    from ferry.engine.pipeline import run_extract
    from ferry.reports.pages import write_extract

    def work(job: Job) -> tuple[str, list[str]]:
        def on_page(page: Any, stats: Any) -> None:
            job.progress(page.object, stats.staged.get(page.object, 0)
                         + stats.unchanged.get(page.object, 0), None)

        run_id, stats = run_extract(project, on_page=on_page)
        paths = write_extract(project.reports_dir("extract"),
                              {"run": run_id, "stats": stats.__dict__,
                               "staged": project.store.counts()},
                              project=project.settings.project, runs=_runs(project))
        return (f"extract {run_id}: {stats.pages} pages, staged {sum(stats.staged.values())}"
                f" records, {stats.errors} rows skipped"), _rel(project, *paths)
    return work


def propose(project: Project, force: bool = False) -> Work:
    from ferry.engine import mapflow

    def work(job: Job) -> tuple[str, list[str]]:
        path = project.mapping_path
        if path.exists() and not force:
            raise FerryError(f"{path.name} exists: edit it on the mapping page")
        mapflow.place_columns(project)  # file sources: the export's unknown columns first
        doc = mapflow.propose(project)
        review = sum(1 for om in doc.objects for fm in om.fields if fm.status == "review")
        return (f"wrote {path.name}: {len(doc.objects)} object maps,"
                f" {review} field(s) to review"), []
    return work


def prepare(project: Project) -> Work:
    from ferry.engine.owners import match_owners
    from ferry.engine.pipeline import open_destination, run_prepare
    from ferry.reports.pages import write_prepare

    def work(job: Job) -> tuple[str, list[str]]:
        run_id, provisioned = run_prepare(project)
        dest = open_destination(project)
        try:
            owners = match_owners(project.store, dest.users(),
                                  project.settings.options.fallback_owner_email).report()
        finally:
            dest.close()
        rows = [{"kind": p.item.kind, "object": p.item.object, "name": p.item.name,
                 "key": p.key, "created": p.created} for p in provisioned]
        paths = write_prepare(project.reports_dir("prepare"),
                              {"run": run_id, "schema": rows, "owners": owners},
                              project=project.settings.project)
        return (f"prepare {run_id}: {len(rows)} schema items"
                f" ({sum(r['created'] for r in rows)} created)"), _rel(project, *paths)
    return work


def scan(project: Project) -> Work:
    from ferry.phi import queue

    def work(job: Job) -> tuple[str, list[str]]:
        flagged = queue.scan(project.store, regions=project.scan_regions)
        return f"PHI scan: {sum(flagged.values())} record(s) flagged", []
    return work


def sample(project: Project, size: int) -> Work:
    from ferry.engine.readback import report_data, run_sample
    from ferry.reports.verification import write_sample

    def work(job: Job) -> tuple[str, list[str]]:
        # no hold given: the load applies the PHI-review / BAA gate itself, as for `ferry sample`
        report, diff, selected = run_sample(project, size, progress=job.progress)
        paths = write_sample(project.reports_dir("sample"),
                             report_data(report, diff, size, selected),
                             project=project.settings.project, name=report.run_id)
        return (f"sample {report.run_id}: {diff.records} records,"
                f" {len(diff.fields)} fields — {'PASS' if diff.passed else 'FAIL'}"), \
            _rel(project, *paths)
    return work


def _runs(project: Project) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "started_at": r.started_at, "finished_at": r.finished_at}
            for r in project.store.runs()]


def _run_report(project: Project, report: Any) -> tuple[Path, Path]:
    from ferry.reports.pages import write_run

    return write_run(project.reports_dir("run"), run_report_data(report, project.store),
                     project=project.settings.project, name=report.run_id, runs=_runs(project))


def run(project: Project) -> Work:
    from ferry.engine.pipeline import load, open_destination

    def work(job: Job) -> tuple[str, list[str]]:
        dest = open_destination(project)
        try:
            report = load(project, progress=_budgeted(job, dest), dest=dest)
            b = dest.budget()
            job.set_budget(b.remaining, b.limit)
        finally:
            dest.close()
        paths = _run_report(project, report)
        t = report.totals()
        return (f"run {report.run_id}: created {t.get('created', 0)}, updated"
                f" {t.get('updated', 0)}, held {t.get('held', 0)}, skipped"
                f" {t.get('skipped', 0)}"), _rel(project, *paths)
    return work


def migrate(project: Project) -> Work:
    """``ferry run --with-extract``: extract and load overlapped."""
    from ferry.engine.pipeline import migrate as run_migrate

    def work(job: Job) -> tuple[str, list[str]]:
        stats, report = run_migrate(project, progress=job.progress)
        paths = _run_report(project, report)
        t = report.totals()
        return (f"run {report.run_id} (with extract, {sum(stats.staged.values())} staged):"
                f" created {t.get('created', 0)}, held {t.get('held', 0)}, skipped"
                f" {t.get('skipped', 0)}"), _rel(project, *paths)
    return work


def delta(project: Project) -> Work:
    from ferry.engine.pipeline import delta as run_delta
    from ferry.reports.render import write_report
    from ferry.reports.run import changes_line, delta_report_data

    def work(job: Job) -> tuple[str, list[str]]:
        stats, report, deleted = run_delta(project, progress=job.progress)
        paths = write_report(project.reports_dir("delta"), "delta",
                             delta_report_data(stats, report, deleted),
                             project=project.settings.project, name=report.run_id)
        return (f"delta {report.run_id}: {changes_line(report.changes)}; {deleted} deleted"
                " in the destination"), _rel(project, *paths)
    return work


def reconcile(project: Project) -> Work:
    from ferry.engine.reconcile import run_reconcile
    from ferry.reports.verification import write_reconcile

    def work(job: Job) -> tuple[str, list[str]]:
        result = run_reconcile(project)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-reconcile"
        paths = write_reconcile(project.reports_dir("reconcile"), result.as_dict(),
                                project=project.settings.project, name=name)
        verdict = "balanced" if result.balanced else \
            f"NOT balanced ({len(result.discrepancies)} discrepancies)"
        return f"reconcile: {verdict}", _rel(project, *paths)
    return work


def guide(project: Project) -> Work:
    from ferry.engine.guide import guide as build_guide
    from ferry.reports.verification import write_guide

    def work(job: Job) -> tuple[str, list[str]]:
        doc = None
        if project.mapping_path.exists():
            from ferry.mapping.mapping_file import load

            doc = load(project.mapping_path)
        data = build_guide(project.store, project.settings.destination.kind, doc)
        paths = write_guide(project.reports_dir("guide"), data,
                            project=project.settings.project)
        s = data["summary"]
        return (f"guide for {data['tool']}: {s['workflows']} workflow(s),"
                f" {s['reminder_rules']} reminder rule(s)"), _rel(project, *paths)
    return work


def rollback(project: Project, run_id: str | None) -> Work:
    from ferry.engine.pipeline import run_rollback
    from ferry.reports.render import write_report

    def work(job: Job) -> tuple[str, list[str]]:
        result = run_rollback(project, run_id)
        paths = write_report(project.reports_dir("rollback"), "rollback",
                             {**result.__dict__, "verified": result.verified},
                             project=project.settings.project)
        status = "verified" if result.verified else "NOT verified"
        return (f"rollback of {len(result.runs)} run(s): deleted {result.deleted}, restored"
                f" {result.restored}, schema removed {result.schema_removed} — {status}"), \
            _rel(project, *paths)
    return work


#: verbs the run-control page can start with no further input
SIMPLE: dict[str, Callable[[Project], Work]] = {
    "check": check, "extract": extract, "prepare": prepare, "scan": scan, "run": run, "migrate": migrate,
    "delta": delta,
    "reconcile": reconcile, "guide": guide}
