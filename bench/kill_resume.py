"""Kill/resume under load: runs SIGKILLed at random points of uploads and creates, resumed, and
the files counted — 0 lost, 0 doubled, every file tagged.

    PYTHONPATH=src python bench/kill_resume.py [--runs 50] [--patients 30] [--seed 1] [--hogs 2]

Two CPU hogs (``yes > /dev/null``, killed by pid at the end) load the machine the way CI is
loaded. Each killed run is killed deterministically at a named point (``FERRY_KILL_AT``, see
``ferry.connectors.killpoint``) drawn at random: ``after-intent`` / ``between-calls`` /
``after-call`` of the n-th upload, or ``after-call`` of the n-th create batch of an object. The
next run resumes. When a run completes, the PracticeHub → Pipedrive oracle checks the account
(missing or doubled files and records), that run is rolled back, and a fresh run starts, until
``--runs`` killed runs have been made. Prints one line per cycle and the totals.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))

DRIVER = ROOT / "tests" / "engine" / "driver.py"
UPLOAD_POINTS = ("after-intent", "between-calls", "after-call")
CREATE_OBJECTS = ("person", "deal", "note", "activity", "organization")


def state(info: dict[str, Any]) -> Any:
    r = httpx.get(info["base_url"] + "/_sandbox/state", timeout=120)
    r.raise_for_status()
    return r.json()


def draw(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.choice(UPLOAD_POINTS)}:upload@file:{rng.randint(1, 4)}"
    return f"after-call:create@{rng.choice(CREATE_OBJECTS)}:{rng.randint(1, 3)}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50, help="killed runs to make")
    ap.add_argument("--patients", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hogs", type=int, default=2)
    args = ap.parse_args()

    from oracle import actual, diff, duplicates, expected
    from setup_pair import approve_phi, make_pair, subprocess_env

    from ferry.engine import pipeline as P
    from ferry.engine.project import Project
    from ferry.sandbox.synth import Practice

    rng = random.Random(args.seed)
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.hogs)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))  # the hogs are killed on the way out
    work = Path(tempfile.mkdtemp(prefix="ferry-kill-bench-"))
    pair = make_pair(work / "proj", destination="pipedrive", seed=args.seed,
                     patients=args.patients, env_prefix="FERRY_KILLBENCH_")
    totals = {"killed": 0, "not_reached": 0, "cycles": 0, "files_lost": 0,
              "files_doubled": 0, "untagged": 0, "records_off": 0}
    t0 = time.monotonic()
    try:
        env = subprocess_env(pair)
        P.run_extract(pair.project)
        unfetched = [s for s in pair.project.store.skips() if s.stage == "extract-file"]
        print(f"extract under load: {len(unfetched)} file(s) not fetched", flush=True)
        totals["files_lost"] += len(unfetched)  # lost at extract, before any kill
        P.run_prepare(pair.project)
        approve_phi(pair.project)
        pair.project.store.close()
        want = expected(Practice(seed=args.seed, patients=args.patients), "pipedrive")
        kills_this_cycle = 0
        while totals["killed"] < args.runs:
            point = draw(rng)
            proc = subprocess.run([sys.executable, str(DRIVER), "run", str(pair.project.root)],
                                  env={**env, "FERRY_KILL_AT": point}, capture_output=True,
                                  text=True, timeout=1800)
            if proc.returncode == -signal.SIGKILL:
                totals["killed"] += 1
                kills_this_cycle += 1
                continue
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 2
            totals["not_reached"] += 1  # the run completed before reaching the point
            st = state(pair.dest_info)
            got = actual(st, "pipedrive")
            files_want, files_got = want.get("file", {}), got.get("file", {})
            lost = sum(max(0, n - files_got.get(k, 0)) for k, n in files_want.items())
            doubled = sum(max(0, n - files_want.get(k, 0)) for k, n in files_got.items())
            untagged = sum(1 for f in st["records"]["file"]
                           if f["active_flag"] and not f.get("description"))
            off = [p for p in diff(want, got) if not p.startswith(("file", "  "))]
            totals["files_lost"] += lost
            totals["files_doubled"] += doubled
            totals["untagged"] += untagged
            totals["records_off"] += len(off) + len(duplicates(got))
            totals["cycles"] += 1
            print(f"cycle {totals['cycles']}: {kills_this_cycle} kills, files"
                  f" {sum(files_got.values())}/{sum(files_want.values())},"
                  f" lost {lost}, doubled {doubled}, untagged {untagged},"
                  f" other differences {len(off)}", flush=True)
            kills_this_cycle = 0
            project = Project.at(pair.project.root)
            try:  # back to the prepared, empty account for the next cycle
                run_id = project.store.runs("run")[-1].run_id
                rb = P.run_rollback(project, run_id)
                if not rb.verified:
                    print(f"rollback not verified: {rb.failures[:3]}", file=sys.stderr)
                    return 2
            finally:
                project.store.close()
        if kills_this_cycle:  # finish the last cycle and check it too
            proc = subprocess.run([sys.executable, str(DRIVER), "run",
                                   str(pair.project.root)], env=env, capture_output=True,
                                  text=True, timeout=1800)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 2
            st = state(pair.dest_info)
            got = actual(st, "pipedrive")
            problems = diff(want, got)
            files_want, files_got = want.get("file", {}), got.get("file", {})
            totals["files_lost"] += sum(max(0, n - files_got.get(k, 0))
                                        for k, n in files_want.items())
            totals["files_doubled"] += sum(max(0, n - files_want.get(k, 0))
                                           for k, n in files_got.items())
            totals["untagged"] += sum(1 for f in st["records"]["file"]
                                      if f["active_flag"] and not f.get("description"))
            totals["records_off"] += len([p for p in problems
                                          if not p.startswith(("file", "  "))])
            totals["cycles"] += 1
    finally:
        for h in hogs:
            os.kill(h.pid, signal.SIGKILL)
            h.wait()
        pair.stop()
    wall = time.monotonic() - t0
    print(f"killed runs {totals['killed']} (points never reached {totals['not_reached']}),"
          f" cycles checked {totals['cycles']}, under {args.hogs} CPU hogs,"
          f" load average {os.getloadavg()[0]:.1f}, {wall:.0f} s")
    print(f"files lost {totals['files_lost']}, files doubled {totals['files_doubled']},"
          f" untagged files {totals['untagged']}, other record differences"
          f" {totals['records_off']}")
    ok = not (totals["files_lost"] or totals["files_doubled"] or totals["untagged"]
              or totals["records_off"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
