"""``ferry estimate``: the timeline per step under each API's limits and number of keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_paths, verdict
from ferry.cli.console import console
from ferry.engine.estimate import (
    counts_for,
    estimate_practice,
    estimate_project,
    machine_share,
)
from ferry.errors import ConfigError
from ferry.reports.charts import human_duration
from ferry.reports.verification import write_estimate


def _project(path: Path) -> Any:
    from ferry.engine.project import Project

    return Project.at(path) if (path / "ferry.yaml").exists() else None


def _doc(proj: Any, source: str, destination: str) -> Any:
    """The project's mapping, else the pair's default recipe (how each object lands)."""
    try:
        if proj is not None and proj.mapping_path.exists():
            from ferry.mapping.mapping_file import load

            return load(proj.mapping_path)
        from ferry.mapping.recipes import load_recipe

        return load_recipe(source, destination)
    except Exception:  # noqa: BLE001 - no recipe for this pair: every object as one create
        return None


def budget_unit(data: dict[str, Any]) -> str:
    """What the destination's daily budget counts: Pipedrive's tokens, else API requests."""
    return "tokens" if "pipedrive" in str(data["inputs"].get("destination", "")).lower() \
        else "requests"


def step_table(data: dict[str, Any]) -> Table:
    """The steps with a header: time, API calls, what they take from the daily budget (only
    where the budget counts something other than the calls) and what bounds each."""
    steps = data["steps"]
    priced = any(s["tokens"] != s["calls"] for s in steps) and data.get("daily_budget")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("API calls", justify="right")
    if priced:  # Salesforce counts some calls (not OAuth's, say) against its daily allocation
        table.add_column("tokens" if budget_unit(data) == "tokens" else "counted",
                         justify="right")
    table.add_column("bound by")
    for s in steps:
        row = [s["step"], human_duration(s["seconds"]), f"{s['calls']:,}"]
        if priced:
            row.append(f"{s['tokens']:,}")
        row.append(s.get("bound", "") + (" (if needed)" if s.get("if_needed") else ""))
        table.add_row(*row)
    return table


def next_after(proj: Any, project: Path) -> str:
    """Where a person goes from an estimate: a project's next step, else a new project."""
    if proj is None:
        return "ferry init DIR --source … --destination … to start"
    if not proj.mapping_path.exists():
        return f"ferry map -p {project}"
    return f"ferry run --dry-run -p {project} (the plan and its API cost)"


def register(app: typer.Typer) -> None:
    @app.command(name="estimate")
    def estimate_cmd(project: Path = ProjectOpt,
                     patients: int = typer.Option(0, help="estimate for N patients (typical"
                                                          " per-patient ratios)"),
                     source: str = typer.Option("", help="source kind (default: project's)"),
                     destination: str = typer.Option("", help="destination kind"),
                     source_keys: int = typer.Option(1, help="API keys for the source"),
                     dest_keys: int = typer.Option(1, help="API keys for the destination"),
                     plan: str = typer.Option("", help="Pipedrive plan (growth, premium …)"),
                     seats: int = typer.Option(0, help="Pipedrive seats (multiplies the daily"
                                                       " token budget)"),
                     sample: int = typer.Option(200, help="the sample size you will use"),
                     cpu_share: float = typer.Option(
                         0.0, help="share of one CPU core Ferry will get (0: this machine's"
                                   " now, measured by a 0.6 s probe)")) -> None:
        """Timeline per step under every API's limits, from --patients N or staged counts."""
        proj = _project(project)
        s_kind = source or (proj.settings.source.kind if proj else "practicehub")
        d_kind = destination or (proj.settings.destination.kind if proj else "pipedrive")
        counts = counts_for(patients) if patients or proj is None else proj.store.counts()
        if not counts or not any(counts.values()):
            raise ConfigError("nothing to estimate from: give --patients N, or stage the"
                              " project's records with `ferry extract` first")
        share = cpu_share or round(machine_share(), 2)
        if proj is not None and not (patients or source or destination or plan or seats) \
                and proj.mapping_path.exists():
            # the project as it stands: its connectors' own prices and limits, the slice
            # ``ferry sample`` will take, each system's time-scale
            data = estimate_project(proj, sample_size=sample, cpu_share=share,
                                    source_keys=source_keys, dest_keys=dest_keys)
        else:
            # priced by the destination connector's own counting, as a project's estimate
            data = estimate_practice(patients, s_kind, d_kind,
                                     counts=None if patients or proj is None else counts,
                                     doc=_doc(proj, s_kind, d_kind), plan=plan or None,
                                     seats=seats or None, sample_size=sample, cpu_share=share,
                                     source_keys=source_keys, dest_keys=dest_keys)
        console.print(step_table(data))
        console.print(f"bound: rate = the API's pace, cpu = Ferry's CPU at {share:.0%} of a"
                      " core (--cpu-share)")
        latency = data["inputs"].get("dest_latency_s")
        if latency:  # timed now (`Destination.ping`): the network and the server per call
            console.print(f"latency = the destination's round trip, {latency * 1000:.0f} ms a"
                          " call as timed now")
        budget = data.get("daily_budget")
        unit = budget_unit(data)
        # the table's steps add up to a rehearsal; the migration overlaps extract and run
        console.print(f"migration ≈ {human_duration(data['migration_seconds'])}, extract and"
                      " run overlapped as `ferry run --with-extract` does (bound by"
                      f" {data['binding_limit']}"
                      + (f"; {data['budget_days']} day(s) of API budget)" if budget else ")")
                      + "; the steps above in turn, rollback aside, ≈"
                      f" {human_duration(data['total_seconds'])}")
        rehearsal = sum(s["tokens"] for s in data["steps"])
        if budget and rehearsal:
            console.print(f"a rehearsal (every step, then rollback) spends {rehearsal:,} of"
                          f" {budget:,} {unit}/day"
                          + (" — [red]more than a day's budget[/]" if rehearsal > budget else ""))
        elif not budget:
            console.print(f"{data['inputs'].get('destination', 'the destination')} has no"
                          " daily API budget: only its pace bounds the run")
        console.print(f"delta pass ≈ {human_duration(data['delta_pass_seconds'])}"
                      f" ({data['delta_pass_calls']:,} calls; deletions by"
                      f" {data['delta_deletions']})")
        out = proj.reports_dir("estimate") if proj else project / "reports" / "estimate"
        print_paths(*write_estimate(out, data, project=proj.settings.project if proj else "-"))
        verdict(None, f"estimate: about {human_duration(data['migration_seconds'])} for the"
                " migration" + (f", {data['budget_days']} day(s) of API budget" if budget
                                 else ""), next_after(proj, project))
