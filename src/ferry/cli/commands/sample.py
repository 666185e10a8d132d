"""``ferry sample``: migrate a representative slice, read it back, diff it field by field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.markup import escape

from ferry.cli.common import (
    ProjectOpt,
    load_progress,
    print_item,
    print_paths,
    project_at,
    stats_table,
    verdict,
)
from ferry.cli.console import console
from ferry.engine.readback import report_data, run_sample
from ferry.reports.verification import write_sample

SHOWN = 8  # kinds of difference printed; the report lists every one


def _object(ref: str) -> str:
    parts = str(ref).split(":")
    return parts[1] if len(parts) >= 3 else ""


def register(app: typer.Typer) -> None:
    @app.command()
    def sample(project: Path = ProjectOpt,
               size: int = typer.Option(0, help="records to sample (default: options.sample_size)"),
               show_phi: bool = typer.Option(False, "--show-phi",
                                             help="show PHI values unmasked in the diff")) -> None:
        """Migrate a representative slice, read it back and diff it field by field.

        Exit status 1 when any difference is not explained by the confirmed map.
        """
        proj = project_at(project)
        n = size or proj.settings.options.sample_size
        with load_progress() as update:
            report, diff, selected = run_sample(proj, n, show_phi=show_phi, progress=update)
        console.print(stats_table(f"sample {report.run_id}", report.stats))
        data = report_data(report, diff, n, selected)
        cats = ", ".join(f"{k} {v}" for k, v in diff.categories().items() if v)
        console.print(f"diff: {diff.records} records, {len(diff.fields)} fields ({cats})")
        grouped = Counter((f.category, _object(f.ref) or f.map, f.field, f.note)
                          for f in diff.unexplained)
        for (cat, obj, fld, note), k in grouped.most_common(SHOWN):
            print_item(f"[red]{cat}[/] x{k} {obj}.{fld}: {escape(note)}")
        if len(grouped) > SHOWN:
            print_item(f"… {len(grouped) - SHOWN} more kinds of difference in the report")
        refused = Counter((s["stage"], s["reason"]) for s in diff.unexplained_skips)
        for (stage, reason), k in refused.most_common(SHOWN):
            print_item(f"[red]not written[/] ({stage}) x{k}: {escape(reason)}")
        for line in diff.not_found[:SHOWN]:
            print_item(f"[red]not found[/] {escape(line)}")
        if not proj.settings.options.fallback_owner_email and any(
                "owner" in f"{f.field} {f.note}" for f in diff.unexplained):
            console.print("[yellow]hint:[/] records whose practitioner has no user in the"
                          " destination get no owner; set options.fallback_owner_email in"
                          " ferry.yaml to a destination user's email, then sample again")
        notes = " ".join(f.note for f in diff.unexplained)
        if "no country known" in notes:
            console.print("[yellow]hint:[/] phone numbers without a +country prefix need the"
                          " practice's country: set options.phone_region in ferry.yaml (e.g."
                          " GB), then sample again")
        if "fix it at the source" in notes:
            console.print("[yellow]hint:[/] to migrate those records without the value instead,"
                          " add `on_invalid: leave_out` under the field's line in mapping.yaml,"
                          f" then ferry map --confirm -p {project}")
        print_paths(*write_sample(proj.reports_dir("sample"), data,
                                  project=proj.settings.project, name=report.run_id))
        if not diff.passed:  # each reason it failed counted (a refused file is no difference)
            why = [f"{len(diff.unexplained):,} difference(s) the map does not explain"] + [
                f"{n:,} {what}" for n, what in (
                    (len(diff.unexplained_skips), "record(s) not written"),
                    (len(diff.not_found), "record(s) written but not found")) if n]
            verdict(False, f"sample: {', '.join(why)}",
                    f"fix mapping.yaml (then ferry map --confirm) or the source,"
                    f" and ferry sample -p {project} again")
            raise typer.Exit(1)
        verdict(True, f"sample: {diff.records:,} records read back; every difference is"
                " explained by the map", f"ferry review -p {project} (PHI queue), then ferry run"
                f" --dry-run -p {project}")
