"""PracticeHub → Pipedrive: runs killed inside the sandbox right after it applied a create (the
engine never saw the answer), then resumed, converge to the oracle state.

Pipedrive notes and activities carry their source id only as a ``[ferry-id:…]`` text trailer,
and one deal holds appointments, treatment plans and invoices, each with its own id field: a
resume must find exactly the record the interrupted create made, not another one with the same
source id number.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from ferry.engine import pipeline as P
from ferry.sandbox.synth import Practice

from .oracle import actual, diff, duplicates, expected
from .setup_pair import make_pair, subprocess_env
from .test_kill_resume import DRIVER, KillSwitch, _get, _verify_log

SEED, PATIENTS = 28, 40
#: (path of the creates, absolute range of the create to kill at), in the load's plan order for
#: this practice: deals 1-173 appointments, 174-193 treatment plans, 194-324 invoices;
#: notes 1-3 relationships, 4-96 clinical notes, 97-152 messages
#: (whose source ids reuse the clinical notes' numbers)
KILLS = [("/deals", (1, 170)), ("/notes", (4, 95)), ("/deals", (174, 193)),
         ("/notes", (97, 150))]


def test_kill_after_applied_creates_then_resume(tmp_path: Path) -> None:
    saved = dict(os.environ)
    pair = make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=PATIENTS,
                     env_prefix="FERRY_KILLPD_")
    try:
        rng = random.Random(int(os.environ.get("FERRY_KILL_SEED", "11")))
        env = subprocess_env(pair)
        switch = KillSwitch(pair.servers[1])
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        log: list[str] = []
        for path, (lo, hi) in [*KILLS, (None, (0, 0))]:
            switch.fired = False
            proc = subprocess.Popen([sys.executable, str(DRIVER), "run",
                                     str(pair.project.root)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if path is not None:
                nth = max(1, rng.randint(lo, hi) - switch.posted(path))
                switch.arm(proc.pid, nth, b"", path)
            out, err = proc.communicate(timeout=600)
            switch.disarm()
            if switch.fired:
                assert proc.returncode == -signal.SIGKILL
                log.append(f"killed at create {switch.posted(path)} of {path}")
                continue
            assert proc.returncode == 0, err[-3000:]
            log.append(f"completed: {out.strip()[:300]}")
            if path is None:
                break
        assert sum(line.startswith("killed") for line in log) >= len(KILLS) - 1, log
        want = expected(Practice(seed=SEED, patients=PATIENTS), "pipedrive")
        got = actual(_get(pair.dest_info, "/_sandbox/state"), "pipedrive")
        assert not duplicates(got), (duplicates(got)[:5], log)
        problems = diff(want, got)
        assert not problems, "\n".join(problems + log)
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)
    finally:
        pair.stop()
        os.environ.clear()
        os.environ.update(saved)


def test_prepare_killed_after_schema_creates_still_rolls_back_clean(tmp_path: Path) -> None:
    """``prepare`` killed just after Pipedrive applied a pipeline, a stage or a field create
    (the outcome never logged), then resumed: the resumed attempt finds the item already there,
    yet rollback still removes it, because the first attempt wrote down that it did not exist."""
    saved = dict(os.environ)
    pair = make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=12,
                     env_prefix="FERRY_KILLPREP_")
    try:
        env = subprocess_env(pair)
        switch = KillSwitch(pair.servers[1])
        P.run_extract(pair.project)
        pair.project.store.close()
        before = _get(pair.dest_info, "/_sandbox/state")
        kills = [("/personFields", 1), ("/pipelines", 2), ("/stages", 3)]  # prepare's order
        for path, nth in [*kills, (None, 0)]:
            proc = subprocess.Popen([sys.executable, str(DRIVER), "prepare",
                                     str(pair.project.root)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if path is not None:
                switch.arm(proc.pid, nth, b"", path)
            out, err = proc.communicate(timeout=600)
            switch.disarm()
            if path is not None:
                assert switch.fired and proc.returncode == -signal.SIGKILL, (path, err[-2000:])
                continue
            assert proc.returncode == 0, err[-3000:]
        prepared = _get(pair.dest_info, "/_sandbox/state")
        assert len(prepared["pipelines"]) > len(before["pipelines"])
        names = [p["name"] for p in prepared["pipelines"] if not p["is_deleted"]]
        assert len(names) == len(set(names))  # the resume found, did not duplicate
        rb = subprocess.run([sys.executable, str(DRIVER), "rollback", str(pair.project.root)],
                            env=env, capture_output=True, text=True, timeout=600)
        assert rb.returncode == 0, rb.stdout + rb.stderr[-3000:]
        after = _get(pair.dest_info, "/_sandbox/state")
        for part in ("pipelines", "stages"):  # Pipedrive soft-deletes both
            live = [sorted(x["id"] for x in state[part] if not x["is_deleted"])
                    for state in (after, before)]
            assert live[0] == live[1], part
        for obj, fields in before["fields"].items():
            live = [sorted(f["field_name"] for f in state["fields"][obj] if not f["is_deleted"])
                    for state in (after, {"fields": {obj: fields}})]
            assert live[0] == live[1], obj
    finally:
        pair.stop()
        os.environ.clear()
        os.environ.update(saved)
