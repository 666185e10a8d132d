"""``ferry estimate`` against what each step does, per step, on the sandboxes, one destination
per test: in the default run the calls it sends (every destination, unpaced, quick); on demand
(``pytest -m calibration``) its wall time at the paces below, within ±25 %.

A PracticeHub → destination project of 3 patients, every verb through the CLI in process
(PracticeHub's extract, the same for each, is timed with Pipedrive only). Each destination is
paced so that its limits, not this machine's CPU (two cores shared with other test
processes), set most of each step's time, as a real account does:

- Pipedrive at its real time-scale with a burst of 10 calls per 2 s (a Lite plan is 20);
- Odoo at time-scale 10 of Ferry's own 1 call/s courtesy pace;
- Salesforce, no per-second limit, answering every call 100 ms late as a real org's round
  trip does (100-300 ms), its sandbox in a process of its own as a real org is a server
  apart, the estimate learning each call's floor from its timed ``ping``s. (Served in this
  process, the sandbox's answers took the steps' turns and GIL, and its sub-second steps
  swung 30-130 % off at load 10-15: left out until 7 December.)

Each step starts as a person would start it, with the previous step's calls out of
Pipedrive's 2-second window (back to back, the sample's first burst found the prepare's last
calls still counted, and took 4.0 s where 2.5 s were estimated for a fresh window).

The estimate is the one `ferry estimate` gives for the project (its staged counts, its
confirmed map), at the CPU share the step's thread was actually given while it ran (the
kernel's run and run-queue wait times of the thread, ``/proc/thread-self/schedstat``), the
threads that answer it (the sandboxes, upload lanes) at the share probed just before it (they
wake for each call and are given more of a core than the step's thread), and, for Salesforce,
the round trip timed as the step began; each step must take within ±25 % of
it (±0.4 s for a step under 1.6 s: ``FLOOR_S``). The share ``ferry estimate`` probes before a
step is a forecast of the machine's load, which on two cores shared with other test
processes moved 0.07-0.5 within one step (a reconcile estimated at 1.7 s from a probe of
0.13 took 0.9 s); that forecast's own error is what ``bench/estimate_calibration.py``
reports, here the model (calls, pacing, CPU per unit) is what is held to the bound. The map
(``setup_pair.small_map``) is the recipe cut down to a few object maps with 4 custom fields
(so prepare and rollback do not dwarf the rest), still exercising creates, a fold (updates
with their before-images), uploads, the users match, read-backs and the rollback.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.estimate import estimate_project, machine_share, round_trip
from ferry.engine.pipeline import open_destination
from ferry.mapping import mapping_file
from ferry.sandbox.harness import start_pair

from .setup_pair import small_map

#: how each destination's sandbox is paced, and what then binds its steps
CASES: dict[str, dict[str, Any]] = {
    "pipedrive": {"time_scale": 1.0, "extra": {"burst": 10}, "yaml": "  burst: 10\n",
                  "bound": "rate", "extract": 10.0, "window": 2.2},
    "salesforce": {"time_scale": 1.0, "faults": "slow=1,slow_s=0.1", "bound": "latency",
                   "process": True},
    "odoo": {"time_scale": 10.0, "bound": "rate"},
}
TOLERANCE = 0.25
#: a verb's start-up (open the project and the store, compile the map: 0.1-0.3 CPU-s) at a
#: CPU share that swings between 0.15 and 0.45 within seconds on two shared cores is timed
#: to no better than this: a reconcile of 8 calls took 0.4-1.1 s for the same estimate
FLOOR_S = 0.4


def run_and_wait_ns() -> tuple[int, int] | None:
    """This thread's nanoseconds on a CPU and waiting for one (runnable, not running) so far;
    None where the kernel does not say (no ``schedstat``)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            on_cpu, waiting = f.read().split()[:2]
    except OSError:
        return None
    return int(on_cpu), int(waiting)


def share_given(before: tuple[int, int] | None, after: tuple[int, int] | None,
                fallback: float) -> float:
    """The share of a core this thread got while it wanted one, between two readings: what
    a CPU-bound step's time divides by. The probe's ``fallback`` where the kernel does not
    say or the step barely ran (under 20 ms of CPU and wait: too few slices to tell)."""
    if before is None or after is None:
        return fallback
    ran, waited = after[0] - before[0], after[1] - before[1]
    if ran + waited < 20_000_000:
        return fallback
    return ran / (ran + waited)


def calls(*bases: str) -> int:
    return sum(httpx.get(b + "/_sandbox/requests", timeout=60, verify=False).json()["count"]
               for b in bases)


Row = tuple[Any, ...]


def measure(tmp_path: Path, dest_kind: str, case: dict[str, Any], timed: bool = True
            ) -> dict[str, Row]:
    """Every step of a 3-patient migration through the CLI, each against the estimate for
    it: step -> (estimate s, measured s, bound, estimated calls, calls sent, CPU share
    given, CPU share probed before the step, round trip). ``timed=False`` (the calls alone):
    no CPU-share probe, round trip or full collection before each step, only what sets a
    wall time (0.56 s of busy loop and 0.3 s of pings a step); the estimate is then priced at
    a whole core, which moves its seconds, not its calls."""
    runner = CliRunner()
    measured: dict[str, float] = {}
    n_calls: dict[str, int] = {}
    share: dict[str, float] = {}
    probed: dict[str, float] = {}
    trips: dict[str, Any] = {}
    # PracticeHub's extract (the same for every destination) is timed once, at time-scale 10
    source_scale = case.get("extract", 1000.0)
    with start_pair(tmp_path / "proj", destination=dest_kind, patients=3, seed=3,
                    time_scale=case["time_scale"], source_time_scale=source_scale,
                    dest_extra=case.get("extra"), dest_faults=case.get("faults", ""),
                    env_prefix="FERRY_CALT_", dest_process=case.get("process", False)) as pair:
        root = str(pair.project.root)
        if "yaml" in case:  # the account's plan as ferry.yaml states it
            yaml = pair.project.settings_path
            yaml.write_text(yaml.read_text().replace("destination:\n",
                                                     "destination:\n" + case["yaml"], 1))
        bases = (pair.source_info["base_url"], pair.dest_info["base_url"])

        ended = [0.0]

        def step(name: str, *args: str) -> None:
            # each verb is a process of its own for a person; here they share one whose heap
            # holds the sandboxes and the earlier steps: its full collection (0.12 CPU-s at
            # 150k objects) fell inside a step when the previous steps left it due, and
            # doubled a 3-patient load's CPU in one run of three (docs/BENCHMARKS.md, 7 Dec.)
            if timed:
                gc.collect()
            time.sleep(max(0.0, case.get("window", 0.0) - (time.monotonic() - ended[0])))
            share[name] = 1.0
            if timed:
                share[name] = machine_share()  # what `ferry estimate` would assume now
                dest = open_destination(pair.project)
                try:  # and the round trip it would time now (a destination without a rate)
                    if hasattr(dest, "ping"):
                        trips[name] = round_trip(dest.ping)
                finally:
                    dest.close()
            c0, t0, s0 = calls(*bases), time.monotonic(), run_and_wait_ns()
            r = runner.invoke(app, [*args, "-p", root], env={"COLUMNS": "80"}, input="y\n")
            ended[0] = time.monotonic()
            probed[name] = share[name]
            share[name] = share_given(s0, run_and_wait_ns(), share[name])
            measured[name] = ended[0] - t0
            n_calls[name] = calls(*bases) - c0
            # a FAIL verdict (1: e.g. an invalid phone left empty) did the same API work
            assert r.exit_code in (0, 1) and isinstance(r.exception, SystemExit | None), (
                name, r.output[-2000:])

        # everything migrates, as the estimate assumes: BAA recorded, flagged PHI approved
        r = runner.invoke(app, ["check", "--baa-by", "t", "--baa-ref", "BAA-1", "-p", root])
        if "extract" in case:
            step("extract", "extract")
        else:
            r = runner.invoke(app, ["extract", "-p", root])
            assert r.exit_code == 0, r.output[-2000:]
        mapping_file.save(small_map(pair.project), pair.project.mapping_path)
        for verb in (["map", "--confirm"], ["review", "--show", "0", "--rule", "approve"]):
            r = runner.invoke(app, [*verb, "-p", root])
            assert r.exit_code == 0, (verb, r.output[-2000:])
        step("prepare", "prepare")
        step("sample", "sample", "--size", "6")
        step("load", "run")
        step("reconcile", "reconcile")
        step("rollback", "rollback", "--yes")
        # the estimate from the staged counts and the confirmed map (as after `ferry map
        # --confirm`; nothing it reads changed since), at each step's CPU share and round trip
        est = {k: {s["step"]: s for s in estimate_project(
            pair.project, sample_size=6, cpu_share=v, trip=trips.get(k), probe=False,
            answer_share=probed[k])["steps"]}[k] for k, v in share.items()}
    table = {k: (est[k]["wall_s"], round(v, 2), est[k]["bound"], est[k]["calls"], n_calls[k],
                 round(share[k], 2), round(probed[k], 2), trips[k] if k in trips else None)
             for k, v in measured.items()}
    return table


@pytest.mark.slow
@pytest.mark.parametrize("dest_kind", ["odoo", "pipedrive", "salesforce"])
def test_estimated_calls_are_the_calls_each_step_sends(tmp_path: Path, dest_kind: str) -> None:
    """The part of the estimate a loaded machine cannot move: the calls per step, which the
    pacing turns into time. Unpaced (time-scale 1000), so it is quick."""
    table = measure(tmp_path, dest_kind, {"time_scale": 1000.0, "bound": ""}, timed=False)
    # within one call a step (the estimate of 7d410a9 was 2-3 off on Pipedrive's load and
    # rollback: fold updates priced per map, not per parent)
    off = {k: t for k, t in table.items() if abs(t[3] - t[4]) > 1}
    assert not off, table
    assert set(table) == {"prepare", "sample", "load", "reconcile", "rollback"}


@pytest.mark.calibration
@pytest.mark.timeout(300)  # mostly waiting on the pace; slow only when the box is loaded
@pytest.mark.parametrize("dest_kind", ["odoo", "pipedrive", "salesforce"])
def test_estimate_within_a_quarter_of_measured_per_step(tmp_path: Path, dest_kind: str
                                                        ) -> None:
    """On demand (``pytest -m calibration``), not in the default run: a wall-time bound,
    which the project keeps out of the suite CI runs on two loaded cores. On 7 December
    (docs/BENCHMARKS.md) it passed 5 of 5 runs with no CPU hog of ours (load 6.5-9.5, other
    helpers' runs) and 5 of 6 with two (load 4.2-8.8), each ``-n 2`` run 72-124 s: a step
    whose thread is given 0.05-0.1 of a core still misses now and then (a Pipedrive
    reconcile given 0.07 estimated 1.1 s took 1.7). Salesforce (100 ms, its sandbox apart),
    7 December 11:26-11:52 UTC, other helpers' niced runs at load 18-24: passed at nice 0
    without hogs and beside two ``yes``, and niced without and beside two niced ones, every
    step within 17 % (shares given 0.09-0.82), 28-80 s a run; at 12:30 (nice 0, load 4.7) its
    prepare missed once, +39 %, its thread given 0.21 of a core on an idle machine; in the
    reserved quiet window, 12:49-12:51 UTC (load 0.9-1.6), passed quiet and beside two
    ``yes`` within 11 %, and Pipedrive and Odoo beside two ``yes`` (-n 2)."""
    case = CASES[dest_kind]
    table = measure(tmp_path, dest_kind, case)
    off = {k: t for k, t in table.items() if abs(t[0] - t[1]) > max(TOLERANCE * t[1], FLOOR_S)}
    # step: (estimate s, measured s, bound, estimated calls, calls, CPU share given,
    # CPU share probed before the step, round trip); shown with -rP
    for k, t in table.items():
        sys.stdout.write(f"{dest_kind} {k:<9} est {t[0]:5.1f} s measured {t[1]:5.1f} s"
                         f" {100 * (t[0] - t[1]) / max(t[1], 0.01):+4.0f} % calls"
                         f" {t[4]}/{t[3]} share given {t[5]:.2f} probed {t[6]:.2f}"
                         f"{' MISS' if k in off else ''}\n")
    assert not off, table
    # the destination's steps are bound by its pace (or round trip), not by this machine
    assert all(t[2] == case["bound"] for k, t in table.items()
               if k in ("prepare", "sample", "load", "rollback")), table
