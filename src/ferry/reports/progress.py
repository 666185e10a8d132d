"""Whether each step's *verdict* is good, for ``ferry status`` and the UI overview.

A step is done when what it found is good, not when a run of it finished: a sample whose diff
has unexplained differences, a run that was interrupted or rolled back, a reconciliation that
did not balance (or that a later load made stale) are steps still to do, each with what it
found and what to do next. Reads only the staging store's runs and the report files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.engine.project import Project

LOADS = ("run", "delta")


@dataclass
class Verdict:
    done: bool
    detail: str
    next: str = ""  # what to run (a verb and its words), when not done

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def latest_report(project: Project, verb: str) -> tuple[Path, dict[str, Any]] | None:
    """The newest JSON report of a verb (by the time it says it was made, then by mtime)."""
    d = project.root / "reports" / verb
    if not d.is_dir():
        return None
    best: tuple[tuple[str, float], Path, dict[str, Any]] | None = None
    for f in d.glob("*.json"):
        try:
            doc = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        key = (str(doc.get("generated_at") or ""), f.stat().st_mtime)
        if best is None or key > best[0]:
            best = (key, f, doc)
    return None if best is None else (best[1], best[2])


def _last(project: Project, kind: str) -> Any:
    runs = project.store.runs(kind)
    return runs[-1] if runs else None


def check_verdict(project: Project) -> Verdict:
    got = latest_report(project, "check")
    if got is None:
        return Verdict(False, "not checked yet", "ferry check")
    failed = [c.get("name", "?") for c in got[1].get("checks", [])
              if c.get("status") == "fail" or (c.get("ok") is False and not c.get("warn"))]
    if failed:
        return Verdict(False, f"{len(failed)} check(s) failed: {', '.join(failed[:4])}",
                       "fix what ferry check says, then ferry check")
    return Verdict(True, "every check passed")


def sample_verdict(project: Project) -> Verdict:
    run = _last(project, "sample")
    if run is None:
        return Verdict(False, "no sample yet", "ferry sample")
    got = latest_report(project, "sample")
    if run.status != "done" or got is None:
        return Verdict(False, f"sample {run.run_id} {run.status.replace('_', ' ')}",
                       "ferry sample")
    doc = got[1]
    if str(doc.get("verdict", "")).lower() != "pass":
        n = doc.get("unexplained", "?")
        return Verdict(False, f"{got[0].stem}: NOT passed, {n} unexplained difference(s)",
                       "read the sample diff, fix the map (ferry map --confirm), then"
                       " ferry sample again")
    return Verdict(True, f"{got[0].stem}: passed")


def run_verdict(project: Project) -> Verdict:
    run = _last(project, "run")
    if run is None:
        return Verdict(False, "not run yet", "ferry run")
    if run.status == "done":
        return Verdict(True, f"run {run.run_id} finished")
    if run.status == "running":
        return Verdict(False, f"run {run.run_id} did not finish (interrupted)",
                       "ferry run (it resumes where it stopped)")
    return Verdict(False, f"run {run.run_id} {run.status.replace('_', ' ')}", "ferry run")


def reconcile_verdict(project: Project) -> Verdict:
    got = latest_report(project, "reconcile")
    if got is None:
        return Verdict(False, "no reconciliation yet", "ferry reconcile")
    path, doc = got
    if doc.get("balanced") is not True:
        return Verdict(False, f"{path.stem}: NOT balanced, {doc.get('discrepancy_count', '?')}"
                       " discrepancy line(s)", "fix what its report says to do, then"
                       " ferry reconcile again")
    made = str(doc.get("generated_at") or "")
    later = [r for r in project.store.runs() if r.kind in (*LOADS, "rollback")
             and r.status == "done" and str(r.finished_at or "") > made]
    if made and later:
        return Verdict(False, f"{path.stem}: balanced, but {later[-1].kind} {later[-1].run_id}"
                       " wrote since", "ferry reconcile")
    return Verdict(True, f"{path.stem}: balanced")


def verdicts(project: Project) -> dict[str, Verdict]:
    """The steps that have a verdict, in order."""
    return {"check": check_verdict(project), "sample": sample_verdict(project),
            "run": run_verdict(project), "reconcile": reconcile_verdict(project)}
