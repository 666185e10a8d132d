"""Load benchmark for the Pipedrive destination: 10k persons + 30k activities + 10k notes.

Runs the real connector against the Pipedrive sandbox (served from a separate process so the
two sides do not share one interpreter lock) with ``--time-scale`` dividing the burst window and
the budget day. Reports requests per record, tokens spent against the minimum the spec's
``x-token-cost`` allows (one create per record: persons/activities 5, notes 10, plus the
source-id field), 429s, and wall time against the burst-limit bound (requests / burst x 2 s /
time scale).

    .venv/bin/python bench/load_pipedrive.py [--persons 10000] [--activities 30000]
        [--notes 10000] [--time-scale 10] [--plan premium] [--seats 3] [--batch 200]
        [--workers 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ferry.connectors.base import SchemaItem
from ferry.connectors.registry import make_destination
from ferry.model.fields import Kind

SERVER = """
import json, sys
from ferry.sandbox.registry import SandboxOptions, build
from ferry.sandbox.server import serve_in_thread
opts = SandboxOptions(users=["dr.ada@clinic.example"], time_scale=float(sys.argv[1]),
                      extra={"validate": False, "plan": sys.argv[2], "seats": int(sys.argv[3])})
sb = build("pipedrive", opts)
running = serve_in_thread(sb.app)
print(json.dumps({"base_url": running.base_url, **sb.credentials(running.base_url)}), flush=True)
sys.stdin.read()
"""


def _serve(args: argparse.Namespace) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(args.time_scale), args.plan,
                             str(args.seats)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _load(dest: Any, obj: str, rows: list[dict[str, Any]], batch: int) -> tuple[list[str], float]:
    ids: list[str] = []
    t0 = time.monotonic()
    for start in range(0, len(rows), batch):
        for res in dest.create(obj, rows[start:start + batch]):
            if not res.ok:
                raise SystemExit(f"{obj} write failed: {res.error}")
            ids.append(str(res.dest_id))
    return ids, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=10_000)
    ap.add_argument("--activities", type=int, default=30_000)
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--time-scale", type=float, default=10.0)
    ap.add_argument("--plan", default="premium")
    ap.add_argument("--seats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4, help="rows in flight per create call")
    args = ap.parse_args()

    proc, info = _serve(args)
    os.environ["FERRY_BENCH_PIPEDRIVE_TOKEN"] = info["api_token"]
    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-pd-"))
    dest = make_destination("pipedrive", {
        "base_url": info["base_url"], "api_token_env": "FERRY_BENCH_PIPEDRIVE_TOKEN",
        "plan": args.plan, "seats": args.seats, "time_scale": args.time_scale,
        "workers": args.workers}, workdir)
    try:
        counts = {"person": args.persons, "activity": args.activities, "note": args.notes}
        plan = {o: dest.cost("create", o, n) for o, n in counts.items()}
        budget = dest.budget()
        need = sum(c.tokens for c in plan.values())
        print(f"plan: {need:,} tokens for the creates; today's budget {budget.remaining:,}"
              f" of {budget.limit:,} -> {'fits' if need <= (budget.remaining or 0) else 'SHORT'}")
        t_start = time.monotonic()
        [pkey] = [p.key for p in dest.ensure([SchemaItem(
            "custom_field", "person", "ferry_source_id", "Ferry source id", Kind.TEXT,
            external_id=True)])]
        setup_calls, setup_tokens = dest.client.stats["requests"], dest.client.stats["tokens"]
        people = [{"name": f"Patient {i}", "emails": f"p{i}@example.test", pkey: f"P{i}",
                   "birthday": dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28)}
                  for i in range(args.persons)]
        pids, t_p = _load(dest, "person", people, args.batch)
        acts = [{"subject": f"Visit {i}", "type": "meeting", "person_id": pids[i % len(pids)],
                 "due_date": dt.date(2024, 1, 1) + dt.timedelta(days=i % 365),
                 "due_time": "09:30", "done": i % 3 == 0, "~id": f"A{i}"}
                for i in range(args.activities)]
        _, t_a = _load(dest, "activity", acts, args.batch)
        notes = [{"content": f"<p>Progress note {i}</p>", "person_id": pids[i % len(pids)],
                  "~id": f"N{i}"} for i in range(args.notes)]
        _, t_n = _load(dest, "note", notes, args.batch)
        wall = time.monotonic() - t_start
        state = httpx.get(info["base_url"] + "/_sandbox/state").json()["tokens"]
        stats = dest.client.stats
        records = sum(counts.values())
        minimum = need + setup_tokens
        burst = dest.rate().burst or 1
        bound = stats["requests"] / burst * 2.0 / args.time_scale
        print(f"records: {records:,} (persons {args.persons:,} in {t_p:.1f}s, activities"
              f" {args.activities:,} in {t_a:.1f}s, notes {args.notes:,} in {t_n:.1f}s)")
        print(f"requests: {stats['requests']:,} -> {stats['requests'] / records:.4f} per record"
              f" (setup {setup_calls}, retries {stats['retries']})")
        print(f"tokens: connector counted {stats['tokens']:,}, sandbox charged"
              f" {state['used']:,}; minimum the spec allows {minimum:,}"
              f" ({state['used'] / minimum:.4f}x)")
        print(f"429s: {state['refusals'] or 'none'} (connector saw {stats['rate_limited']})")
        print(f"wall: {wall:.1f}s at time scale {args.time_scale:g}; burst-limit bound"
              f" {bound:.1f}s ({burst} calls / 2 s); {wall / bound:.2f}x the bound;"
              f" unscaled {wall * args.time_scale / 3600:.2f} h vs bound"
              f" {bound * args.time_scale / 3600:.2f} h")
    finally:
        dest.close()
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
