"""Extract a whole PracticeHub practice through the rate limit and compare with the bound.

    python bench/extract_practicehub.py --patients 20000 --time-scale 20

The sandbox runs in its own process (``ferry sandbox serve practicehub``), so its work does not
share an interpreter lock with the client, as the real service would not. The extraction is the
engine's own ``extract`` into a fresh staging store (files are not downloaded: pre-signed links
are outside the API allowance). Printed per resource: rows, list requests made, the minimum
ceil(rows/100) (one for an empty list); then 429s received and wall time against the bound the
limit sets, minimum requests × 1 s / time-scale. Passes when requests equal the minimum, no 429 arrived
and wall time is within 5 % of the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ferry.engine.extract import aextract
from ferry.model.staging import StagingStore
from ferry.sources.practicehub import create
from ferry.sources.practicehub.wire import RESOURCES


def start_sandbox(patients: int, seed: int, time_scale: float) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ferry", "sandbox", "serve", "practicehub", "--patients",
         str(patients), "--seed", str(seed), "--time-scale", str(time_scale)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("sandbox did not start")
    return proc, json.loads(line)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-scale", type=float, default=20.0)
    args = ap.parse_args()

    t0 = time.monotonic()
    proc, info = start_sandbox(args.patients, args.seed, args.time_scale)
    built = time.monotonic() - t0
    try:
        creds = info["credentials"]
        os.environ["PRACTICEHUB_BENCH_KEY"] = creds["api_key"]
        source = create({"base_url": creds["base_url"], "connect_to": creds["connect_to"],
                         "api_key_env": "PRACTICEHUB_BENCH_KEY",
                         "app_details": creds["app_details"], "time_scale": args.time_scale},
                        Path("."))
        state = httpx.get(f"{info['base_url']}/_sandbox/state", timeout=120).json()
        rows = {r: v["count"] for r, v in state["resources"].items()}
        with tempfile.TemporaryDirectory() as tmp:
            store = StagingStore(Path(tmp) / "staging.db")
            pauses: list[float] = []
            gc_start = [0.0]

            def gc_timer(phase: str, info: dict) -> None:
                if phase == "start":
                    gc_start[0] = time.perf_counter()
                elif info["generation"] == 2:
                    pauses.append(time.perf_counter() - gc_start[0])

            gc.callbacks.append(gc_timer)
            started = time.monotonic()
            stats = asyncio.run(aextract(source, store, run_id="bench"))
            wall = time.monotonic() - started
            staged = sum(store.count(o) for o in RESOURCES)
        limit = httpx.get(f"{info['base_url']}/_sandbox/state", timeout=120).json()["rate_limit"]
        refused = limit["refused"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    cs = source.client.stats  # type: ignore[attr-defined]
    print(f"sandbox: {args.patients} patients, seed {args.seed}, time scale {args.time_scale:g}"
          f" (built in {built:.1f} s)")
    print(f"{'resource':<24}{'rows':>9}{'requests':>10}{'minimum':>9}")
    total_req = total_min = 0
    for resource in RESOURCES.values():
        n, made = rows[resource], cs.by_resource.get(resource, 0)
        minimum = max(1, math.ceil(n / 100))
        total_req, total_min = total_req + made, total_min + minimum
        flag = "" if made == minimum else "  <-- over"
        print(f"{resource:<24}{n:>9}{made:>10}{minimum:>9}{flag}")
    bound = total_min / args.time_scale  # the fewest requests, at 1 per emulated second
    print(f"{'total':<24}{sum(rows.values()):>9}{total_req:>10}{total_min:>9}")
    retried = cs.rate_limited + cs.server_errors + cs.network_errors + cs.bad_bodies
    print(f"answered list requests: {total_req - retried} (minimum {total_min}); retried: "
          f"{retried}")
    print(f"staged records: {staged}; record errors: {stats.errors}")
    print(f"429s received: {cs.rate_limited} (sandbox refused {refused}); 5xx: "
          f"{cs.server_errors}; network errors: {cs.network_errors}")
    if refused:
        log = httpx.get(f"{info['base_url']}/_sandbox/requests", timeout=120).json()["requests"]
        api = [e for e in log if e["path"].startswith("/api")]
        for i, e in enumerate(api):
            if e["status"] == 429 and i >= 2:
                ctx = api[i - 2:i + 2]
                print("  around a 429 (real ms between arrivals): " + " | ".join(
                    f"{c['path']} {c['status']} +{1000 * (c['arrived'] - ctx[0]['arrived']):.0f}"
                    for c in ctx))
        gaps = ", ".join(f"{g:.3f}" for g in limit["refused_gaps"][:20])
        print(f"  refused requests came this many emulated seconds after the last admitted: {gaps}")
    if pauses:
        print(f"client full GC passes: {len(pauses)}, longest {1000 * max(pauses):.1f} ms")
    print(f"requests that left over a tenth of an interval after their turn: {cs.late_sends}")
    print(f"wall time {wall:.2f} s vs rate-limit bound {bound:.2f} s "
          f"({total_min} requests at 1/s, /{args.time_scale:g}): {100 * (wall / bound - 1):+.1f}%")
    print(f"at time scale 1 this extraction takes {total_req / 3600:.2f} h")
    ok = total_req == total_min and cs.rate_limited == 0 and wall <= bound * 1.05
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
