"""Write a verb's report as JSON (machine) and as one self-contained HTML file (people).

The JSON carries ``schema`` (``ferry.report/<verb>/v1``), ``generated_at``, ``project`` and the
verb's data, and ``audit_anchor`` (the audit log's entry count and head MAC when the report was
written: ``status --verify-log`` checks the log against every anchor). The HTML renders the same data: mappings become definition tables, lists of
records become tables. Reports name records by reference only; callers must mask PHI values.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ferry.model.audit import read_anchor

_env = Environment(loader=PackageLoader("ferry.reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]))


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


#: yes/no values that are verdicts get colour (green yes / red no); other booleans stay plain
VERDICT_KEYS = frozenset({"ok", "balanced", "adds_up", "equal", "explained", "verified",
                          "passed", "confirmed", "dry_run_ok"})
def _is_flat(value: dict[str, Any]) -> bool:
    return all(not isinstance(v, dict | list) for v in value.values())


_env.globals.update(is_table=_is_table, columns=_columns, verdict_keys=VERDICT_KEYS,
                    is_flat=_is_flat)
_env.tests["mapping"] = lambda v: isinstance(v, dict)
_env.tests["table"] = _is_table


def _anchor(reports_dir: Path) -> dict[str, Any] | None:
    """The audit log's head (entry count, head MAC) of the project this report belongs to
    (``<project>/reports/<verb>/``): a copy outside the log, so a cut-off tail is detected."""
    if reports_dir.parent.name != "reports":
        return None
    root = reports_dir.parent.parent
    store = _pg_store(root)
    if store is not None:  # the project's schema in PostgreSQL (ferry.yaml's ``store``)
        from ferry.model.pgstore import read_anchor as read_pg_anchor

        return read_pg_anchor(*store)
    return read_anchor(root / ".ferry" / "staging.db")


def _pg_store(root: Path) -> tuple[str, str, str | None] | None:
    """(URL, schema, password) when the project's ferry.yaml names a PostgreSQL store."""
    import os

    from ferry.errors import ConfigError
    from ferry.model.stores import is_server_url, schema_for
    from ferry.settings import load_settings

    if not (root / "ferry.yaml").exists():
        return None
    try:
        s = load_settings(root / "ferry.yaml")
    except ConfigError:
        return None
    if not is_server_url(s.store):
        return None
    return str(s.store), schema_for(s.project), os.environ.get(s.store_password_env)


def anchors_in(reports_root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(report path, audit anchor) of every JSON report under ``<project>/reports``."""
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(reports_root.glob("*/*.json")) if reports_root.is_dir() else []:
        try:
            anchor = json.loads(path.read_text()).get("audit_anchor")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(anchor, dict) and "entries" in anchor:
            out.append((str(path.relative_to(reports_root.parent)), anchor))
    return out


def write_report(reports_dir: Path, verb: str, data: dict[str, Any], *, project: str,
                 title: str | None = None, name: str | None = None,
                 charts: list[str] | None = None, verdict: tuple[bool, str] | None = None,
                 summary: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.html``; returns both paths.

    ``charts`` are inline SVG strings built by ``ferry.reports.charts`` (HTML only);
    ``verdict`` (ok, sentence) is shown as a banner; ``summary`` as the first table.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    doc = {"schema": f"ferry.report/{verb}/v1", "generated_at": stamp.isoformat(),
           "project": project, **data}
    anchor = _anchor(reports_dir)
    if anchor is not None:
        doc["audit_anchor"] = anchor
    base = name or verb
    json_path = reports_dir / f"{base}.json"
    json_path.write_text(json.dumps(doc, indent=2, default=str, sort_keys=False))
    html = _env.get_template("report.html.j2").render(
        title=title or f"ferry {verb}", doc=doc, verb=verb, verdict=verdict, summary=summary,
        charts=[Markup(c) for c in charts or []])
    html_path = reports_dir / f"{base}.html"
    html_path.write_text(html)
    return json_path, html_path
