"""``ferry sample``: migrate a representative slice, read it back, diff it field by field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, load_progress, print_paths, project_at, stats_table
from ferry.cli.console import console
from ferry.engine.readback import report_data, run_sample
from ferry.reports.verification import write_sample


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
        for f in diff.unexplained[:20]:
            console.print(f"  [red]{f.category}[/] {f.ref} {f.field}: {f.note}")
        refused = Counter((s["stage"], s["reason"]) for s in diff.unexplained_skips)
        for (stage, reason), n in refused.most_common(10):
            console.print(f"  [red]not written[/] ({stage}) x{n}: {reason}")
        for line in diff.not_found[:10]:
            console.print(f"  [red]not found[/] {line}")
        verdict = "[green]PASS[/]" if diff.passed else "[red]FAIL[/]"
        console.print(f"verdict: {verdict}")
        print_paths(*write_sample(proj.reports_dir("sample"), data,
                                  project=proj.settings.project, name=report.run_id))
        if not diff.passed:
            raise typer.Exit(1)
