"""``ferry audit``: the source data dictionary, data-quality findings and a time estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import ProjectOpt, print_item, print_paths, project_at, verdict
from ferry.cli.console import console, err_console
from ferry.engine.audit_source import audit as run_audit
from ferry.engine.estimate import estimate, file_sizes, limits_for
from ferry.errors import ConfigError
from ferry.reports.verification import write_audit

SHOWN = 10  # findings printed, largest first; the report lists them all


def _try(label: str, fn: Any) -> Any:
    """Describe calls are best effort: the audit works from the staging store alone."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - reported as one line, never a traceback
        err_console.print(f"[yellow]note:[/] {label} unavailable ({type(exc).__name__});"
                          " continuing from the staging store")
        return None


def _mapping(proj: Any) -> Any:
    """The project's map (proposed or confirmed), else the pair's default recipe."""
    from ferry.engine.prepare import apply_keys

    if proj.mapping_path.exists():
        from ferry.mapping.mapping_file import load

        doc = load(proj.mapping_path)
    else:
        from ferry.mapping.recipes import load_recipe

        doc = load_recipe(proj.settings.source.kind, proj.settings.destination.kind)
    return apply_keys(doc, proj.store)


def register(app: typer.Typer) -> None:
    @app.command()
    def audit(project: Path = ProjectOpt,
              show_phi: bool = typer.Option(False, "--show-phi",
                                            help="show example values of PHI fields unmasked"),
              region: str = typer.Option("", help="phone numbering plan for numbers without a"
                                                  " country code (default: the clinics' country)"),
              describe: bool = typer.Option(True, help="ask the source and destination to"
                                                       " describe themselves")) -> None:
        """Source data dictionary: fields, fill rates, PHI classes, bad values, orphans."""
        from ferry.engine.pipeline import open_destination, open_source

        proj = project_at(project)
        if not proj.store.counts():
            raise ConfigError("nothing is staged yet: run `ferry extract` first")
        source = _try("source describe", lambda: open_source(proj)) if describe else None
        dest = _try("destination describe", lambda: open_destination(proj)) if describe else None
        doc = _try("mapping.yaml", lambda: _mapping(proj))
        data = run_audit(proj.store, source_info=_try("source describe", source.describe)
                         if source else None,
                         dest_info=_try("destination describe", dest.describe) if dest else None,
                         doc=doc, region=region.upper() or proj.phone_region, show_phi=show_phi,
                         infer=not region and proj.infers_countries)
        s_lim, d_lim = limits_for(proj.settings.source.kind, proj.settings.destination.kind,
                                  source=source, dest=dest)
        est = estimate(proj.store.counts(), source=s_lim, destination=d_lim, doc=doc, dest=dest,
                       file_bytes=file_sizes(proj.store, doc))  # the staged files' sizes
        data = {"totals": data["totals"], "estimate": est, **data}  # estimate before the detail
        if dest is not None:
            dest.close()
        t = data["totals"]
        console.print(f"audit: {t['objects']} objects, {t['records']} records,"
                      f" {t['findings']} finding(s)")
        findings = sorted(data["findings"], key=lambda f: -int(f["count"] or 0))
        unreachable: dict[str, list[str]] = {}  # one line per cause, its objects named once
        for f in [f for f in findings if f["check"] == "not_reachable"]:
            unreachable.setdefault(f["detail"], []).append(f["object"])
        for detail, objects in unreachable.items():
            cause, _, what = detail.partition(": ")
            each = "; for each, " if len(objects) > 1 else "; "
            print_item(f"{cause} ({len(objects)}): {', '.join(objects)}"
                       + (f"{each}{what}" if what else ""), plain=True)
        # a finding that runs past the line wraps under its name, not at column 0
        for f in [f for f in findings if f["check"] == "not_exported"]:
            print_item(f"{f['count']:>6,} {f['object']}.{f['field']} {f['detail']}", hang=9,
                       plain=True)
        findings = [f for f in findings if f["check"] not in ("not_reachable", "not_exported")]
        for f in findings[:SHOWN]:
            print_item(f"{f['count']:>6,} {f['object']}.{f['field'] or '*'} {f['check']}",
                       hang=9, plain=True)
        if len(findings) > SHOWN:
            console.print(f"  … {len(findings) - SHOWN} more findings in the report")
        if not data.get("phone_region"):
            console.print("[yellow]hint:[/] no country known for phone numbers (no clinic or"
                          " patient address names one): numbers without a +country prefix will"
                          " be left empty; set options.phone_region in ferry.yaml to the"
                          " practice's country (e.g. GB)")
        print_paths(*write_audit(proj.reports_dir("audit"), data,
                                 project=proj.settings.project))
        verdict(None, f"audit: {t['records']:,} records in {t['objects']} objects,"
                f" {t['findings']} finding(s) to read in the report", f"ferry map -p {project}")
