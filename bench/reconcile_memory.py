"""Reconcile's memory against the number of records: peak RSS and CPU of ``ferry reconcile``
(its own process) after a full load at each ``--patients`` N, destination limits divided away.

Reconcile reads every loaded record back; what it keeps of them must not grow with the
practice (issue 20: 401 MB at 10k patients before the read-back went to a temporary table).
The files are downloaded and uploaded as in a real run, but the sandboxes keep no content.

    .venv/bin/python bench/reconcile_memory.py [--dest salesforce] [--patients 300 1000 3000]
    # keep the last pair's sandboxes up and print how to run reconcile against them again:
    .venv/bin/python bench/reconcile_memory.py --patients 1000 --serve
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import DRIVER, new_pair, run_child  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default="salesforce", choices=["odoo", "pipedrive", "salesforce"])
    ap.add_argument("--patients", type=int, nargs="*", default=[300, 1000, 3000])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--serve", action="store_true",
                    help="keep the last pair up and print the command that reconciles it")
    args = ap.parse_args()
    from setup_pair import subprocess_env

    os.environ["FERRY_SANDBOX_DROP_FILE_CONTENT"] = "1"
    work = Path(tempfile.mkdtemp(prefix="ferry-bench-reconcile-"))
    print(f"== reconcile memory, {args.dest}, limits divided away; load average at start"
          f" {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'patients':>8} {'records':>8} {'CPU s':>7} {'CPU s/10k':>9} {'peak RSS MB':>11}"
          f" {'load':>5}", flush=True)
    try:
        for i, n in enumerate(args.patients):
            batch = 5000 if args.dest == "salesforce" else 0
            pair = new_pair(work, f"r{n}", args.dest, n, 1e6, args.seed, 0, batch)
            env = subprocess_env(pair)
            records = 0
            for verb in ("extract", "prepare", "load"):
                r = run_child(verb, pair.project.root, env)
                if verb == "extract":
                    records = int(r["out"].get("records", 0))
            r = run_child("reconcile", pair.project.root, env)
            print(f"{n:>8} {records:>8} {r['cpu']:>7.1f} {r['cpu'] * 1e4 / records:>9.1f}"
                  f" {r['rss_mb']:>11.0f} {r['load']:>5.1f}"
                  f"  ({'balanced' if r['out'].get('balanced') else 'NOT balanced'})",
                  flush=True)
            if args.serve and i == len(args.patients) - 1:
                envfile = work / "env.json"
                envfile.write_text(json.dumps({k: v for k, v in env.items()
                                               if k.startswith("FERRY_")}))
                print(f"serving; env in {envfile}; reconcile with:\n  env $(jq -r 'to_entries"
                      f"|map(\"\\(.key)=\\(.value)\")|.[]' {envfile}) PYTHONPATH=src"
                      f" {sys.executable} {DRIVER} reconcile {pair.project.root}", flush=True)
                while True:
                    time.sleep(60)
            pair.stop()
            shutil.rmtree(pair.project.root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
