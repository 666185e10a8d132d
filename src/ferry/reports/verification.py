"""Write the verification reports (audit, sample, reconcile, guide, estimate) with their charts.

Each function takes the engine's report data (plain dicts, values already masked) and writes
``<name>.json`` + ``<name>.html`` through ``write_report``, adding the verdict banner and the
few charts a person needs at a glance: counts per object, findings, diff categories, source vs
destination, the timeline. The JSON schemas are documented in ``docs/REPORTS.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ferry.reports.charts import bar_chart, grouped_bars, human_duration, stacked_bars, timeline
from ferry.reports.render import write_report


def estimate_chart(est: dict[str, Any]) -> str:
    return timeline("Timeline, step by step",
                    [(s["step"], s["start_s"], s["end_s"]) for s in est["steps"]])


def write_audit(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    charts = [bar_chart("Records per object", [(o["object"], o["count"])
                                               for o in data["objects"]])]
    by_check: dict[str, int] = {}
    for f in data["findings"]:
        by_check[f["check"]] = by_check.get(f["check"], 0) + f["count"]
    if by_check:
        charts.append(bar_chart("Data-quality findings", sorted(by_check.items()),
                                colors=dict.fromkeys(by_check, "#e08a2e")))
    if data.get("estimate"):
        charts.append(estimate_chart(data["estimate"]))
    t = data["totals"]
    summary = {"objects": t["objects"], "records": t["records"], "findings": t["findings"],
               "estimated migration": human_duration(data["estimate"]["migration_seconds"])
               if data.get("estimate") else "n/a"}
    sentence = (f"AUDITED — {t['records']:,} records in {t['objects']} objects;"
                f" {t['findings']:,} data-quality finding(s) below (none stops the migration:"
                " each says what happens to the value)" if t["findings"] else
                f"AUDITED — {t['records']:,} records in {t['objects']} objects; no findings")
    return write_report(out, "audit", data, project=project, title="Source audit",
                        charts=charts, summary=summary, verdict=(True, sentence))


def write_sample(out: Path, data: dict[str, Any], *, project: str, name: str
                 ) -> tuple[Path, Path]:
    bad: dict[str, int] = {}
    for d in data["unexplained_differences"]:
        bad[d["category"]] = bad.get(d["category"], 0) + 1
    items: list[tuple[str, float]] = []
    colors: dict[str, str] = {}
    for cat, n in data["categories"].items():
        items.append((cat if cat == "equal" else f"{cat} (explained)", n - bad.get(cat, 0)))
        colors[items[-1][0]] = "#2e9e5b" if cat == "equal" else "#3b6fd4"
        if bad.get(cat):
            items.append((f"{cat} (UNEXPLAINED)", bad[cat]))
            colors[items[-1][0]] = "#b3261e"
    charts = [bar_chart("Fields by diff category", items, colors=colors),
              bar_chart("Records sampled per object",
                        sorted((k, v) for k, v in data.get("selection", {}).items()))]
    ok = data["verdict"] == "pass"
    sentence = (f"PASS — {data['records']} records, {data['fields_compared']} fields: every"
                " difference is explained by the confirmed map" if ok else
                f"FAIL — {data['unexplained']} unexplained field difference(s),"
                f" {len(data['not_found'])} record(s) not found,"
                f" {data.get('unexplained_skip_count', 0)} record(s) not written for reasons the"
                " map does not explain")
    return write_report(out, "sample", data, project=project, title="Sample migration diff",
                        charts=charts, verdict=(ok, sentence), name=name)


def write_reconcile(out: Path, data: dict[str, Any], *, project: str, name: str
                    ) -> tuple[Path, Path]:
    series = ["loaded", "merged", "excluded", "held", "fallback", "skipped", "unaccounted"]
    # objects with no records on either side are counted in the title, not drawn as rows of
    # 0 (as the terminal's "no records in source or destination" line does; the table names them)
    rows = [(o["object"], [o.get(k, 0) or 0 for k in series]) for o in data["objects"]]
    drawn = [r for r, o in zip(rows, data["objects"], strict=True)
             if any(r[1]) or o.get("source") or o.get("destination")]
    empty = [r[0] for r in rows if r not in drawn]
    charts = [stacked_bars("Source records by outcome (a bar's length is the source count"
                           + (f"; {len(empty)} objects with none left out" if empty else "")
                           + ")", drawn, series,
                           ["#2e9e5b", "#6b7280", "#c9ced8", "#e08a2e", "#d9b44a", "#b3261e",
                            "#000000"])]
    dest = [(d["object"], [d["expected"] or 0, d["destination"] or 0])
            for d in data["destination"]]
    if any(any(vs) for _, vs in dest):
        charts.append(grouped_bars("Destination records",
                                   [(name, vs) for name, vs in dest if any(vs)],
                                   ["expected", "in destination"]))
    if data["by_kind"]:
        charts.append(bar_chart("Discrepancies by kind", sorted(data["by_kind"].items()),
                                colors=dict.fromkeys(data["by_kind"], "#b3261e")))
    ok = data["balanced"]
    sentence = ("BALANCED — every source record is accounted for and the destination matches"
                if ok else f"NOT BALANCED — {data.get('problem_count', '?')} problem(s) to act"
                f" on, in {data['discrepancy_count']} discrepancy line(s)")
    return write_report(out, "reconcile", data, project=project, title="Reconciliation",
                        charts=charts, verdict=(ok, sentence), name=name)


def write_guide(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    s = data["summary"]
    charts = [bar_chart("To rebuild by hand", [("workflows", s["workflows"]),
                                                ("reminder rules", s["reminder_rules"]),
                                                ("policies", s["policies"]),
                                                ("maps not migrated", s["maps_not_migrated"])])]
    return write_report(out, "guide", data, project=project,
                        title=f"Rebuild guide — {data['tool']}", charts=charts)


def write_estimate(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    summary = {"all steps, one after another": human_duration(data["total_seconds"]),
               "migration with extract ∥ load (run --with-extract)":
                   human_duration(data["migration_seconds"]),
               "binding limit": data["binding_limit"], "days (daily budget)":
                   data["budget_days"]}
    charts = [estimate_chart(data),
              bar_chart("Load calls per map", [(p["map"], p["calls"])
                                               for p in data["load_by_object"]])]
    budget = f", {data['budget_days']} day(s) of API budget" if data.get("daily_budget") else ""
    sentence = (f"ESTIMATE — about {human_duration(data['migration_seconds'])} for the"
                f" migration (bound by {data['binding_limit']}){budget}")
    return write_report(out, "estimate", data, project=project, title="Migration estimate",
                        charts=charts, summary=summary, verdict=(True, sentence))
