"""A migration as a Temporal workflow, on a PostgreSQL store, with real worker processes.

One migration, followed end to end (one test: each step costs real seconds under load):
1. it stops at the map and writes nothing to the destination until the map is confirmed and
   the ``map-confirmed`` signal comes; then it prepares, samples and waits for PHI decisions
   and the go/no-go;
2. the delta window's timer is durable: the worker is SIGKILLed while the workflow waits in
   the window, the timer fires with no worker alive, and a new worker picks the migration up,
   runs the delta pass, and after ``cutover`` reconciles balanced.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.engine.project import Project
from ferry.fleet import client as fleet
from ferry.mapping import mapping_file
from ferry.phi.queue import decide_rule
from ferry.sandbox.harness import Pair, start_pair
from ferry.settings import save_settings

ENGINE = Path(__file__).resolve().parents[1] / "engine"
DEST = "odoo"  # the destination whose schema is quickest to prepare under load


def _recipe(destination: str) -> Any:
    sys.path.insert(0, str(ENGINE))
    try:
        from setup_pair import recipe_for  # the engine tests' default map for the pair
    finally:
        sys.path.remove(str(ENGINE))
    return recipe_for("practicehub", destination)


def _confirm_map(project: Project, destination: str) -> None:
    from ferry.mapping.validate import confirm_file

    mapping_file.save(_recipe(destination), project.mapping_path)
    confirm_file(project.mapping_path, by="fleet tests")


def _baa(project: Project) -> Project:
    s = project.settings
    s.baa.confirmed, s.baa.by, s.baa.reference = True, "fleet tests", "BAA-1"
    save_settings(s, project.settings_path)
    return Project.at(project.root)


@pytest.fixture
def pair(tmp_path: Path, pg: str) -> Iterator[Callable[..., Pair]]:
    pairs: list[Pair] = []

    def make(name: str) -> Pair:
        p = start_pair(tmp_path / name, destination=DEST, patients=4, seed=11,
                       time_scale=2000.0, store=pg, env_prefix=f"FERRY_FT_{name.upper()}_")
        p.project = _baa(p.project)
        pairs.append(p)
        return p

    yield make
    for p in pairs:
        p.stop()


_LIBC = ctypes.CDLL(None)  # loaded before any fork: the child only makes the call


def _die_with_parent() -> None:
    """A worker must not outlive a test process killed mid-test (Linux prctl)."""
    _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _worker(temporal: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ferry", "worker", "--temporal", temporal,
                             "--activities", "2"], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)


async def _failure(client: Any, root: Path) -> str:
    """Why the workflow ended: the failed activity's error type and message, cause by cause."""
    try:
        await fleet.handle(client, root).result()
    except Exception as exc:  # noqa: BLE001 - the failure is what we want to read
        chain, cur = [], exc
        while cur is not None:
            chain.append(f"{type(cur).__name__}: {getattr(cur, 'type', None) or ''} {cur}")
            cur = cur.__cause__
        return " <- ".join(chain)
    return "it completed"


async def _until(client: Any, root: Path, pred: Callable[[dict[str, Any]], bool],
                 timeout: float = 240.0) -> dict[str, Any]:
    """Poll the workflow's state until ``pred`` holds. The deadline is only a bound for a hung
    run: under CI's load (two cores, many suites) one step can take minutes."""
    deadline = time.monotonic() + timeout
    st: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            st = await fleet.state(client, root)
        except Exception:  # noqa: BLE001 - no worker has answered the query yet
            await asyncio.sleep(0.3)
            continue
        if pred(st):
            return st
        if st.get("workflow", {}).get("status") not in (None, "RUNNING"):
            raise AssertionError(f"the workflow ended in phase {st['phase']!r}: "
                                 + await _failure(client, root))
        await asyncio.sleep(0.3)
    raise AssertionError(f"workflow state never matched; last: {st}")


def _dest_state(pair: Pair) -> Any:
    return httpx.get(pair.dest_info["base_url"] + "/_sandbox/state", timeout=60).json()


@pytest.mark.timeout(300)  # ~60 s alone, with other suites on two cores; a bound for a hang
def test_waits_for_people_and_its_delta_timer_outlives_a_killed_worker(pair: Any,
                                                                        temporal: str) -> None:
    from temporalio.api.enums.v1 import EventType

    p = pair("mig")
    root = p.project.root
    every = 4.0
    empty = _dest_state(p)
    first = _worker(temporal)
    workers = [first]

    async def body() -> None:
        client = await fleet.connect(temporal)
        h = await fleet.submit(client, root, sample_size=20, delta_every_s=every,
                               heartbeat_s=20, attempts=3)  # a defect fails in seconds
        # 1. extracted, map proposed, and nothing written until the map is confirmed
        st = await _until(client, root, lambda s: s["waiting_for"] == "map_confirmed")
        assert st["phase"] == "map" and st["extracted"]["patient"] == 4
        assert p.project.mapping_path.exists()  # proposed for people to review
        await fleet.send(client, root, "map-confirmed")  # a signal before the map is confirmed
        st = await _until(client, root, lambda s: s["map_checks"] == 2  # changes nothing:
                          and s["waiting_for"] == "map_confirmed")    # it checks, waits again
        assert "prepare" not in st["results"] and not Project.at(root).store.runs("prepare")
        assert _dest_state(p) == empty  # not a field, not a record
        _confirm_map(p.project, DEST)
        await fleet.send(client, root, "map-confirmed")
        # 2. prepared and sampled; PHI decisions and the go/no-go are people's too
        st = await _until(client, root, lambda s: s["waiting_for"] in ("phi_decided", "go"))
        assert st["results"]["prepare"]["items"] > 0 and st["results"]["sample"]["records"] > 0
        assert _dest_state(p) != empty and "run" not in st["results"]
        if st["waiting_for"] == "phi_decided":
            decide_rule(Project.at(root).store, "approve", "fleet tests")
            await fleet.send(client, root, "phi-decided")
            await _until(client, root, lambda s: s["waiting_for"] == "go")
        await fleet.send(client, root, "go")
        # 3. run, then the delta window: kill the worker while a timer is pending
        st = await _until(client, root, lambda s: s["phase"] == "delta window"
                          and s["waiting_for"] == "cutover")
        passes = st["delta_passes"]
        _kill(first)
        killed_at = time.time()
        await asyncio.sleep(every + 1)  # the timer fires with no worker alive
        workers.append(_worker(temporal))
        st = await _until(client, root, lambda s: s["delta_passes"] > passes)
        fired = [e.event_time.ToDatetime().timestamp() async for e in h.fetch_history_events()
                 if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
        assert any(t > killed_at for t in fired), "no timer fired after the kill"
        await fleet.send(client, root, "cutover")
        result = await h.result()
        assert result["phase"] == "done", result
        assert result["results"]["reconcile"]["balanced"], result["results"]["reconcile"]
        assert result["results"]["run"]["totals"]["created"] > 0

    try:
        asyncio.run(body())
    finally:
        for w in workers:
            _kill(w)
