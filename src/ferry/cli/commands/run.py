"""``ferry run``: the full load (``--dry-run`` prints the plan and its API cost, writing nothing)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import (
    ProjectOpt,
    Tracker,
    load_progress,
    outcome,
    print_item,
    print_paths,
    project_at,
    runs_of,
    stats_table,
    verdict,
)
from ferry.cli.console import console
from ferry.engine.costing import PlanCost, plan_cost, reset_text, steps_cost
from ferry.engine.pipeline import confirmed_mapping, load, migrate, open_destination
from ferry.engine.plan import plan_steps
from ferry.engine.prepare import apply_keys
from ferry.errors import BudgetExhausted
from ferry.reports.pages import write_run
from ferry.reports.run import run_report_data

REASON_LINES = 8


def cost_lines(cost: PlanCost, dest_name: str, *, upper: bool = False) -> list[str]:
    """The plan's API cost against today's budget, and what happens if it does not fit."""
    about = "up to" if upper else "about"
    spend = f"{about} {cost.calls:,} API requests"
    if cost.unit == "tokens":
        spend += f" = {cost.tokens:,} {dest_name.capitalize()} tokens"
    lines = [f"cost: {spend}"]
    b = cost.budget
    if b is None or b.remaining is None:
        lines.append("budget: this destination has no daily API budget")
        return lines
    resets = reset_text(b.resets_at)
    lines.append(f"budget: {b.remaining:,} of {b.limit or 0:,} {cost.unit} left today"
                 + (f", resets {resets}" if resets else ""))
    if cost.exceeds:
        lines.append(f"[red]not enough budget:[/] the run needs {about} {cost.spend:,}"
                     f" {cost.unit} and {b.remaining:,} are left; it would stop part-way and"
                     f" resume after the reset{' (' + resets + ')' if resets else ''}, or"
                     " raise destination.daily_budget / plan / seats in ferry.yaml")
    return lines


def reason_lines(stats: dict[str, Any]) -> list[str]:
    """Why records would not be written, most frequent first, the first few of them."""
    counts: Counter[tuple[str, str]] = Counter()
    for name, st in stats.items():
        for reason, n in st.reasons.items():
            counts[(name, reason)] += n
    lines = [f"{n:>5,} {name}: {reason}" for (name, reason), n in
             counts.most_common(REASON_LINES)]
    if len(counts) > REASON_LINES:
        rest = sum(n for _, n in counts.most_common()[REASON_LINES:])
        lines.append(f"… and {len(counts) - REASON_LINES} more reasons ({rest:,} records);"
                     " all in the report")
    return lines


def _interrupted(tracker: Tracker, project: Path) -> None:
    console.print(f"\n[yellow]interrupted[/] {tracker.where()}. Every write so far is in the"
                  " audit log; the next run resumes there without duplicates.")
    verdict(False, "run stopped by Ctrl-C", f"ferry run -p {project}")


def register(app: typer.Typer) -> None:
    @app.command()
    def run(project: Path = ProjectOpt,
            dry_run: bool = typer.Option(False, "--dry-run",
                                         help="print the plan and its API cost; write nothing"),
            with_extract: bool = typer.Option(False, "--with-extract",
                                              help="extract and load overlapped")) -> None:
        """Load everything staged, in dependency order; resumable after any interruption.

        Exit 0: done (records not written are counted, with reasons in the report); 1: the
        run stopped (daily API budget spent: the message says when it resets), or a dry run's
        plan needs more budget than is left today; 2: configuration; 130: Ctrl-C (run the
        same command to resume).
        """
        proj = project_at(project)
        if not dry_run:
            _warn_budget(proj)
        tracker: Tracker | None = None
        try:
            with load_progress() as tracker:
                if with_extract and not dry_run:
                    _, report = migrate(proj, progress=tracker)
                else:
                    report = load(proj, dry_run=dry_run, progress=tracker)
        except KeyboardInterrupt:
            assert tracker is not None
            _interrupted(tracker, project)
            raise typer.Exit(130) from None
        except BudgetExhausted as exc:
            at = reset_text(exc.resets_at) if exc.resets_at else "when the day's budget resets"
            console.print(f"[red]stopped:[/] {exc} ({tracker.where() if tracker else ''})")
            verdict(False, f"daily API budget spent; it resets {at}",
                    f"ferry run -p {project} after the reset (it resumes where it stopped)")
            raise typer.Exit(1) from None
        title = f"{'plan (dry run)' if dry_run else 'run ' + report.run_id}"
        console.print(stats_table(title, report.stats, dry_run=dry_run))
        data = run_report_data(report, proj.store)
        if report.withheld:
            console.print(f"[yellow]no BAA confirmation: {len(report.withheld)} clinical field"
                          " map(s) withheld and flagged content held (ferry check --baa-by …)[/]")
        if report.phi_queue.get("pending"):
            console.print(f"[yellow]{report.phi_queue['pending']:,} record(s) wait for PHI"
                          " review (ferry review)[/]")
        totals = {k: sum(outcome(st.as_dict(), dry_run)[k] for st in report.stats.values())
                  for k in ("created", "updated", "attached", "skipped", "held", "fallback")}
        if dry_run:
            _dry_run_tail(proj, project, report, data, totals)
            return
        data["cost"] = _spent(proj, report.stats)
        print_paths(*write_run(proj.reports_dir("run"), data, project=proj.settings.project,
                               name=report.run_id, runs=runs_of(proj)))
        problems = f"; {totals['skipped']:,} not written (reasons in the report)" \
            if totals["skipped"] else ""
        if totals["fallback"]:  # a finding, not a failure: say it, keep the verdict
            console.print(f"{totals['fallback']:,} practitioner(s) have no user in"
                          f" {proj.settings.destination.kind}: the records they own go to the"
                          " fallback owner (options.fallback_owner_email)")
        verdict(True if not totals["skipped"] else None,
                f"run done: {totals['created']:,} created, {totals['updated']:,} updated,"
                f" {totals['attached']:,} attached{problems}", f"ferry reconcile -p {project}")


def _spent(proj: Any, stats: dict[str, Any]) -> dict[str, Any] | None:
    """What the run's writes cost, priced like the plan (for the report's cost picture)."""
    dest = open_destination(proj)
    try:
        doc = apply_keys(confirmed_mapping(proj), proj.store)
        return plan_cost(doc, stats, dest).as_dict()
    except Exception:  # noqa: BLE001 - the picture is optional; the run is done
        return None
    finally:
        dest.close()


def _warn_budget(proj: Any) -> None:
    """Before a run: if the staged records could need more than today's budget, say so."""
    dest = open_destination(proj)
    try:
        doc = apply_keys(confirmed_mapping(proj), proj.store)
        cost = steps_cost(plan_steps(doc, proj.store, dest), dest)
    except Exception:  # noqa: BLE001 - the run itself reports what is wrong
        return
    finally:
        dest.close()
    if cost.exceeds:
        for line in cost_lines(cost, dest.name, upper=True):
            console.print(line)


def _dry_run_tail(proj: Any, project: Path, report: Any, data: dict[str, Any],
                  totals: dict[str, int]) -> None:
    lines = reason_lines(report.stats)
    if lines:
        console.print("not written, and why:")
        for line in lines:  # a long reason wraps under the map's name, not at column 0
            print_item(line, hang=8, plain=True)
    dest = open_destination(proj)
    try:
        doc = apply_keys(confirmed_mapping(proj), proj.store)
        cost = plan_cost(doc, report.stats, dest)
        data["plan"] = [s.as_dict() for s in plan_steps(doc, proj.store, dest)]
    finally:
        dest.close()
    data["cost"] = cost.as_dict()
    for line in cost_lines(cost, dest.name):
        console.print(line)
    print_paths(*write_run(proj.reports_dir("run"), data, project=proj.settings.project,
                           name="dry-run", runs=runs_of(proj)))
    summary = (f"plan: {totals['created']:,} to create, {totals['updated']:,} to update,"
               f" {totals['attached']:,} to attach, {totals['skipped']:,} not written,"
               f" {totals['held']:,} held")
    if cost.exceeds:
        verdict(False, summary + "; more than today's API budget",
                f"wait for the reset or raise the budget, then ferry run -p {project}")
        raise typer.Exit(1)
    verdict(True, summary, f"ferry run -p {project}")
