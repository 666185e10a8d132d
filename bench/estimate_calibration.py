"""Estimate vs measured, per step, on the sandboxes at their real limits scaled by a time-scale.

    python bench/estimate_calibration.py [--patients 40] [--time-scale 20]

Runs a PracticeHub → Pipedrive migration through the CLI (in process): prepare, extract, sample,
run, reconcile, rollback. For each step it prints the API calls the sandboxes logged and the wall
time, beside what ``ferry estimate`` says for the same staged counts (its seconds divided by the
time-scale, since the sandboxes divide every limit window by it). Under CPU load the wall times
carry our own processing on top of the API pace; the calls do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def log(base: str) -> list[dict[str, Any]]:
    body = httpx.get(base + "/_sandbox/requests", timeout=60).json()
    return list(body["requests"] if isinstance(body, dict) else body)


def calls(base: str) -> int:
    return len(log(base))


def measure(patients: int, time_scale: float, seed: int = 3) -> dict[str, Any]:
    from typer.testing import CliRunner

    from ferry.cli.app import app
    from ferry.engine.estimate import estimate, limits_for
    from ferry.engine.pipeline import open_destination
    from ferry.mapping.mapping_file import load
    from ferry.sandbox.harness import start_pair

    tmp = Path(tempfile.mkdtemp(prefix="ferry-cal-"))
    saved = dict(os.environ)
    pair = start_pair(tmp / "clinic", patients=patients, seed=seed, time_scale=time_scale,
                      env_prefix="FERRY_CAL_")
    src, dst = pair.source_info["base_url"], pair.dest_info["base_url"]
    root = str(pair.project.root)
    runner = CliRunner()
    measured: dict[str, dict[str, float]] = {}
    try:
        def step(name: str, *args: str) -> None:
            c0 = calls(src) + calls(dst)
            t0 = time.monotonic()
            res = runner.invoke(app, [*args, "-p", root], env={"COLUMNS": "80"}, input="y\n")
            secs = time.monotonic() - t0
            if res.exit_code not in (0, 1):
                raise RuntimeError(f"{name}: {res.output[-2000:]}")
            measured[name] = {"calls": calls(src) + calls(dst) - c0, "seconds": secs}
            if os.environ.get("CAL_DEBUG"):
                from collections import Counter

                recent = (log(src) + log(dst))
                recent.sort(key=lambda r: r.get("t", 0))
                tail = recent[-int(measured[name]["calls"]):] if measured[name]["calls"] else []
                print(name, Counter((r["method"], "/".join(p if not p.isdigit() else "N" for p in
                                                          r["path"].split("/")[:5]))
                                    for r in tail).most_common(12), file=sys.stderr)

        # everything migrates, as the estimate assumes: BAA recorded, PHI items approved
        runner.invoke(app, ["check", "--baa-by", "bench", "--baa-ref", "BAA-1", "-p", root])
        step("extract", "extract")
        runner.invoke(app, ["map", "-p", root])
        runner.invoke(app, ["map", "--confirm", "-p", root])
        runner.invoke(app, ["review", "--show", "0", "--rule", "approve", "-p", root])
        step("prepare", "prepare")
        step("sample", "sample", "--size", "200")
        step("load", "run")
        step("reconcile", "reconcile")
        step("rollback", "rollback", "--yes")
        project = pair.project
        dest = open_destination(project)
        try:
            s_lim, d_lim = limits_for("practicehub", "pipedrive", dest=dest)
            est = estimate(project.store.counts(), source=s_lim, destination=d_lim,
                           doc=load(project.mapping_path), dest=dest)
        finally:
            dest.close()
    finally:
        pair.stop()
        os.environ.clear()
        os.environ.update(saved)
    rows = []
    for s in est["steps"]:
        m = measured.get(s["step"])
        if m is None:
            continue
        rows.append({"step": s["step"], "est_calls": s["calls"], "calls": m["calls"],
                     "est_s": s["seconds"] / time_scale, "s": m["seconds"]})
    return {"patients": patients, "time_scale": time_scale, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--time-scale", type=float, default=20.0)
    a = ap.parse_args()
    out = measure(a.patients, a.time_scale)
    print(f"{out['patients']} patients, time-scale {out['time_scale']:g}"
          f" (load average {os.getloadavg()[0]:.1f})")
    print(f"{'step':<10} {'est calls':>9} {'calls':>7} {'Δ%':>6} {'est s':>8} {'meas s':>8}"
          f" {'Δ%':>6}")
    for r in out["rows"]:
        dc = 100 * (r["est_calls"] - r["calls"]) / max(r["calls"], 1)
        ds = 100 * (r["est_s"] - r["s"]) / max(r["s"], 0.001)
        print(f"{r['step']:<10} {r['est_calls']:>9,} {r['calls']:>7,} {dc:>+6.0f}"
              f" {r['est_s']:>8.1f} {r['s']:>8.1f} {ds:>+6.0f}")


if __name__ == "__main__":
    main()
