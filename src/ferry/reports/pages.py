"""The run, prepare, check and extract reports as pages people read: a verdict banner and a
picture first (outcomes per object map, the API cost spent, the project's timeline), then the
detail. The JSON beside each page carries the same data for machines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ferry.reports.charts import bar_chart, stacked_bars, timeline
from ferry.reports.render import write_report

#: buckets of a map's outcome, in reading order, with their colours (good → bad)
BUCKETS = [("created", "#2e9e5b"), ("updated", "#3b6fd4"), ("unchanged", "#9aa5b8"),
           ("attached", "#7a4fc4"), ("merged", "#6b7280"), ("excluded", "#c9ced8"),
           ("held", "#e08a2e"), ("fallback", "#d9b44a"), ("skipped", "#b3261e")]


def outcome(d: dict[str, Any], dry_run: bool) -> dict[str, int]:
    """A map's buckets; a dry run's plan reads as the run's buckets (create → created …)."""
    plan = d.get("plan") or {}
    if dry_run:
        made = {"created": plan.get("create", 0), "updated": plan.get("update", 0),
                "attached": d.get("folded", 0) + plan.get("upload", 0)}
    else:
        made = {"created": d.get("created", 0), "updated": d.get("updated", 0),
                "attached": d.get("folded", 0) + d.get("uploaded", 0)}
    return {**made, **{k: int(d.get(k, 0) or 0) for k in
                       ("unchanged", "merged", "excluded", "held", "fallback", "skipped")}}


def _when(iso: str | None) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(iso)).timestamp() if iso else None
    except ValueError:
        return None


def runs_timeline(runs: list[dict[str, Any]]) -> str | None:
    """The project's steps so far on one time axis (extract, prepare, sample, run, …)."""
    spans = [(r["kind"], _when(r.get("started_at")), _when(r.get("finished_at")))
             for r in runs]
    spans = [(k, s, e) for k, s, e in spans if s is not None and e is not None]
    if not spans:
        return None
    t0 = min(s for _, s, _ in spans)
    return timeline("Timeline of the project's steps",
                    [(k, s - t0, e - t0) for k, s, e in spans[-12:]])


def outcome_chart(maps: list[dict[str, Any]], dry_run: bool) -> str:
    rows = []
    for m in maps:
        o = outcome(m, dry_run)
        if any(o.values()):
            rows.append((m["map"], [o[b] for b, _ in BUCKETS]))
    what = "planned outcome" if dry_run else "outcome"
    return stacked_bars(f"Records per object map, by {what}", rows, [b for b, _ in BUCKETS],
                        [c for _, c in BUCKETS])


def write_run(out: Path, data: dict[str, Any], *, project: str, name: str,
              runs: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    dry = bool(data.get("dry_run"))
    totals = {b: sum(outcome(m, dry)[b] for m in data["maps"]) for b, _ in BUCKETS}
    charts = [outcome_chart(data["maps"], dry)]
    cost = data.get("cost")
    if cost:
        per = sorted(((k, v["tokens"] if cost["unit"] == "tokens" else v["calls"])
                      for k, v in cost["per_map"].items()), key=lambda kv: -kv[1])
        unit = "Pipedrive tokens" if cost["unit"] == "tokens" else "API requests"
        charts.append(bar_chart(f"API cost per map ({unit}; {cost['spend']:,} in all)",
                                [kv for kv in per if kv[1]][:15],
                                colors={k: "#e08a2e" for k, _ in per}))
        if cost.get("budget_remaining") is not None:
            charts.append(bar_chart("Today's API budget", [
                ("this " + ("plan" if dry else "run"), cost["spend"]),
                ("left when it was priced", cost["budget_remaining"]),
                ("daily limit", cost.get("budget_limit") or 0)],
                colors={"this plan": "#e08a2e", "this run": "#e08a2e",
                        "left when it was priced": "#2e9e5b", "daily limit": "#9aa5b8"}))
    if runs and (chart := runs_timeline(runs)):
        charts.append(chart)
    made = f"{totals['created']:,} created, {totals['updated']:,} updated," \
           f" {totals['attached']:,} attached"
    if dry:
        ok = not (cost or {}).get("exceeds_budget")
        sentence = ("PLAN — would be " + made.replace("created", "to create") +
                    f"; {totals['skipped']:,} would not be written, {totals['held']:,} held"
                    + ("" if ok else "; MORE THAN TODAY'S API BUDGET"))
    else:
        ok = totals["skipped"] == 0
        sentence = (f"{'DONE' if ok else 'DONE WITH SKIPS'} — {made};"
                    f" {totals['skipped']:,} not written (reasons below),"
                    f" {totals['held']:,} held for PHI review or the BAA"
                    + (f"; {totals['fallback']:,} practitioner(s) with no CRM user: their"
                       " records go to the fallback owner" if totals["fallback"] else ""))
    summary = {b: f"{totals[b]:,}" for b, _ in BUCKETS if totals[b]}
    return write_report(out, "run", data, project=project, name=name, charts=charts,
                        verdict=(ok, sentence), summary=summary,
                        title="Dry run: the plan" if dry else "Migration run")


def write_check(out: Path, checks: list[dict[str, Any]], *, project: str) -> tuple[Path, Path]:
    counts = {s: sum(1 for c in checks if c.get("status") == s) for s in ("ok", "WARN", "FAIL")}
    failed = [c["name"] for c in checks if c.get("status") == "FAIL"]
    sentence = (f"FAIL — {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}"
                if failed else f"PASS — {counts['ok']} checks ok"
                + (f", {counts['WARN']} warning(s)" if counts["WARN"] else ""))
    charts = [bar_chart("Checks", list(counts.items()),
                        colors={"ok": "#2e9e5b", "WARN": "#e08a2e", "FAIL": "#b3261e"})]
    return write_report(out, "check", {"checks": checks}, project=project, charts=charts,
                        verdict=(not failed, sentence), title="Connection check")


def write_prepare(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    kinds: dict[str, list[int]] = {}
    for s in data["schema"]:
        k = kinds.setdefault(f"{s['kind']} · {s['object']}", [0, 0])
        k[0 if s["created"] else 1] += 1
    owners = data.get("owners") or {}
    unmatched = len(owners.get("unmatched") or [])
    charts = [stacked_bars("Destination schema", list(kinds.items()), ["created", "existed"],
                           ["#2e9e5b", "#9aa5b8"])]
    made = sum(v[0] for v in kinds.values())
    ok = not (unmatched and not owners.get("fallback_owner"))
    sentence = (f"PREPARED — {made} created, {sum(v[1] for v in kinds.values())} already there;"
                f" {owners.get('matched', 0)} practitioner(s) matched to users, {unmatched}"
                f" unmatched" + (f" → {owners['fallback_owner']}" if owners.get("fallback_owner")
                                 else " and no fallback owner set"))
    return write_report(out, "prepare", data, project=project, charts=charts,
                        verdict=(ok, sentence), title="Destination prepared")


def write_extract(out: Path, data: dict[str, Any], *, project: str,
                  runs: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    staged = data.get("staged") or {}
    problems = data.get("problems") or []
    charts = [bar_chart("Records staged per object", sorted(staged.items(),
                                                            key=lambda kv: -kv[1]))]
    if runs and (chart := runs_timeline(runs)):
        charts.append(chart)
    stats = data.get("stats") or {}
    ok = not problems
    sentence = (f"EXTRACTED — {sum(staged.values()):,} records staged, {stats.get('files', 0)}"
                f" files" + (f"; {len(problems):,} problem(s) listed below" if problems else
                             "; no problems"))
    return write_report(out, "extract", data, project=project, charts=charts,
                        verdict=(ok, sentence), title="Extraction")


def write_rollback(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    """What the rollback did (deleted, restored, re-created, schema removed) and whether the
    destination was verified to be as before; the problems first when it was not."""
    done = [("deleted", data.get("deleted", 0)), ("restored", data.get("restored", 0)),
            ("re-created", data.get("recreated", 0)),
            ("schema removed", data.get("schema_removed", 0))]
    charts = [bar_chart("What the rollback did", done,
                        colors={"deleted": "#b3261e", "restored": "#3b6fd4",
                                "re-created": "#7a4fc4", "schema removed": "#9aa5b8"})]
    before, after = data.get("counts_before") or {}, data.get("counts_after") or {}
    if any(before.values()) or any(after.values()):  # all zero: an empty account, no picture
        from ferry.reports.charts import grouped_bars

        charts.append(grouped_bars("Destination records before the run(s) and now",
                                   [(o, [n or 0, after.get(o) or 0]) for o, n in before.items()],
                                   ["before", "now"]))
    problems = data.get("problems") or []
    ok = bool(data.get("verified"))
    sentence = ("ROLLED BACK — verified: the destination is as it was before the run(s)" if ok
                else f"NOT VERIFIED — {len(problems)} problem(s): "
                + "; ".join(str(p) for p in problems[:3]) + (" …" if len(problems) > 3 else ""))
    summary = {label: f"{n:,}" for label, n in done}
    return write_report(out, "rollback", data, project=project, title="Rollback",
                        charts=charts, verdict=(ok, sentence), summary=summary)


def write_review(out: Path, data: dict[str, Any], *, project: str) -> tuple[Path, Path]:
    """The PHI review queue: flagged records per object and decisions so far. References and
    PHI types only, never the flagged text (the page is for non-clinical staff too)."""
    flagged, queue = data.get("flagged") or {}, data.get("queue") or {}
    charts = [bar_chart("Records flagged for PHI, per object", sorted(flagged.items())),
              bar_chart("Review queue", sorted(queue.items()),
                        colors={"pending": "#e08a2e", "approve": "#2e9e5b",
                                "redact": "#3b6fd4", "exclude": "#9aa5b8"})]
    waiting = queue.get("pending", 0)
    sentence = (f"WAITING — {waiting:,} record(s) wait for a PHI decision (ferry review"
                " --approve/--redact/--exclude or --rule); until then they are held" if waiting
                else "DONE — nothing waits for a PHI decision")
    return write_report(out, "review", data, project=project, title="PHI review queue",
                        charts=charts, verdict=(not waiting, sentence))
