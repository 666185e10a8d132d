"""Estimate vs measured, per step, on the sandboxes (PracticeHub → Pipedrive).

    python bench/estimate_calibration.py [--patients 20] [--time-scale 1] [--source-scale 10]
                                         [--sample 20] [--hogs 0]
    python bench/estimate_calibration.py --calibrate     # CPU-s per call, per step

Runs the CLI in process: extract, prepare, sample, run, reconcile, rollback. For each step it
prints the API calls the sandboxes logged, the wall time and the process CPU time beside what
``ferry estimate`` says for the same project (its staged counts, its mapping, each system's
time-scale as ferry.yaml gives it). ``--calibrate`` runs with the limits scaled away (time-scale
2000) and prints the CPU seconds per call of each step: the ``CPU_PER_CALL`` constants in
``ferry.engine.estimate`` come from it (the sandboxes run in this process, so their share of
each call is in the figure). ``--hogs N`` starts N busy-loop processes for the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

STEPS = ("extract", "prepare", "sample", "load", "reconcile", "rollback")


def calls(base: str) -> int:
    body = httpx.get(base + "/_sandbox/requests", timeout=60).json()
    return len(body["requests"] if isinstance(body, dict) else body)


def measure(patients: int, time_scale: float, source_scale: float, sample: int,
            seed: int = 3) -> dict[str, Any]:
    from typer.testing import CliRunner

    from ferry.cli.app import app
    from ferry.engine.estimate import estimate_project
    from ferry.sandbox.harness import start_pair

    tmp = Path(tempfile.mkdtemp(prefix="ferry-cal-"))
    runner = CliRunner()
    measured: dict[str, dict[str, float]] = {}
    with start_pair(tmp / "clinic", patients=patients, seed=seed, time_scale=time_scale,
                    source_time_scale=source_scale, env_prefix="FERRY_CAL_") as pair:
        src, dst = pair.source_info["base_url"], pair.dest_info["base_url"]
        root = str(pair.project.root)
        est: dict[str, Any] = {}

        def step(name: str, *args: str) -> None:
            c0 = calls(src) + calls(dst)
            t0, p0 = time.monotonic(), time.process_time()
            res = runner.invoke(app, [*args, "-p", root], env={"COLUMNS": "80"}, input="y\n")
            secs, cpu = time.monotonic() - t0, time.process_time() - p0
            if res.exit_code not in (0, 1):
                raise RuntimeError(f"{name}: {res.output[-2000:]}")
            measured[name] = {"calls": calls(src) + calls(dst) - c0, "seconds": secs,
                              "cpu": cpu, "load": os.getloadavg()[0]}
            if os.environ.get("CAL_DEBUG"):
                import traceback

                print(f"--- {name} (exit {res.exit_code})\n{res.output[-1500:]}", file=sys.stderr)
                if res.exc_info and not isinstance(res.exception, SystemExit):
                    traceback.print_exception(*res.exc_info, file=sys.stderr)

        # everything migrates, as the estimate assumes: BAA recorded, PHI items approved
        runner.invoke(app, ["check", "--baa-by", "bench", "--baa-ref", "BAA-1", "-p", root])
        step("extract", "extract")
        runner.invoke(app, ["map", "-p", root])
        runner.invoke(app, ["map", "--confirm", "-p", root])
        runner.invoke(app, ["review", "--show", "0", "--rule", "approve", "-p", root])
        # the estimate a user would get at this point: map confirmed, data staged
        est = estimate_project(pair.project, sample_size=sample)
        step("prepare", "prepare")
        step("sample", "sample", "--size", str(sample))
        step("load", "run")
        step("reconcile", "reconcile")
        step("rollback", "rollback", "--yes")
    rows = []
    for s in est["steps"]:
        m = measured.get(s["step"])
        if m is not None:
            rows.append({"step": s["step"], "est_calls": s["calls"], "est_s": s["seconds"],
                         "est_cpu": s.get("cpu_seconds", 0.0), "bound": s.get("bound", ""),
                         **m})
    return {"patients": patients, "time_scale": time_scale, "source_scale": source_scale,
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=20)
    ap.add_argument("--time-scale", type=float, default=1.0, help="the destination's")
    ap.add_argument("--source-scale", type=float, default=10.0, help="the source's")
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--hogs", type=int, default=0)
    ap.add_argument("--calibrate", action="store_true")
    a = ap.parse_args()
    if a.calibrate:
        a.time_scale = a.source_scale = 2000.0
    hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(a.hogs)]
    try:
        out = measure(a.patients, a.time_scale, a.source_scale, a.sample)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    print(f"{out['patients']} patients, destination time-scale {out['time_scale']:g}, source"
          f" {out['source_scale']:g}, sample {a.sample}, {a.hogs} CPU hog(s)")
    print(f"{'step':<10} {'calls':>6} {'est':>6} {'est s':>7} {'meas s':>7} {'err%':>5}"
          f" {'cpu s':>6} {'cpu/call ms':>11} {'bound':>6} {'load':>5}")
    for r in out["rows"]:
        err = 100 * (r["est_s"] - r["seconds"]) / max(r["seconds"], 0.001)
        print(f"{r['step']:<10} {r['calls']:>6.0f} {r['est_calls']:>6} {r['est_s']:>7.1f}"
              f" {r['seconds']:>7.1f} {err:>+5.0f} {r['cpu']:>6.2f}"
              f" {1000 * r['cpu'] / max(r['calls'], 1):>11.1f} {r['bound']:>6}"
              f" {r['load']:>5.1f}")


if __name__ == "__main__":
    main()
