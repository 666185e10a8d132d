"""PracticeHub → Pipedrive: runs killed right after Pipedrive applied a create or a file upload
(the engine never logged the answer), then resumed, converge to the oracle state.

Pipedrive notes and activities carry their source id only as a ``[ferry-id:…]`` text trailer,
and one deal holds appointments, treatment plans and invoices, each with its own id field: a
resume must find exactly the record the interrupted create made, not another one with the same
source id number.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

from ferry.engine import pipeline as P
from ferry.engine.project import Project
from ferry.reports.run import current_skips
from ferry.sandbox.synth import Practice
from ferry.settings import load_settings, save_settings

from . import forked
from .oracle import actual, diff, duplicates, expected
from .setup_pair import make_pair, subprocess_env
from .test_kill_resume import KillSwitch, LateWrite, _get, _verify_log

SEED = 28
#: ``FERRY_KILL_AT`` points, in the load's plan order. Creates go a chunk at a time (one call
#: per record, the chunk's intents in one transaction before them, its outcomes in one after):
#: some of a chunk's records applied, the rest not sent (``after-row``); a chunk's intents
#: logged, nothing sent (``after-intent``); every call of a chunk applied by Pipedrive, no
#: outcome logged (``after-call``); a file stored but not yet tagged (``between-calls``:
#: ``POST /files`` takes no description, the tag is a second call).
KILLS = ["after-row:create@person:5", "after-intent:create@activity:1",
         "after-call:create@deal:2", "between-calls:upload@file:3",
         "after-call:upload@file:2", "after-intent:upload@file:1"]


def _open_creates(root: Path, dest_object: str) -> set[str]:
    project = Project.at(root)
    try:
        return {e.src_ref.rsplit(":", 1)[1] for e in project.audit.open_intents()
                if e.op == "create" and e.dest_object == dest_object and e.src_ref}
    finally:
        project.store.close()


def test_kill_after_applied_creates_then_resume(tmp_path: Path) -> None:
    """Each run is killed at a named point (deterministic: no timing, no load dependence), then
    the next one resumes; the last runs to the end. Nothing is missing, nothing doubled — in
    particular no file is lost or uploaded twice."""
    with make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=16,
                   env_prefix="FERRY_KILLPD_", settle_on_clock=True) as pair:
        env = subprocess_env(pair)
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        log: list[str] = []
        for point in [*KILLS, None]:
            run_env = {**env, "FERRY_KILL_AT": point} if point else env
            proc = forked.run("run", pair.project.root, run_env)
            if point is not None:
                assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-3000:])
                log.append(f"killed at {point}")
                if point.startswith("after-row"):
                    # mid-chunk: open intents for records Pipedrive holds and for records never
                    # sent; the resume must adopt the first and create the second, once each
                    landed = {row[1] for row in actual(_get(pair.dest_info, "/_sandbox/state"),
                                                       "pipedrive").get("person", {})}
                    waiting = _open_creates(pair.project.root, "person")
                    assert waiting & landed and waiting - landed, (len(waiting), len(landed))
                continue
            assert proc.returncode == 0, proc.stderr[-3000:]
            log.append(f"completed: {proc.stdout.strip()[:300]}")
        want = expected(Practice(seed=SEED, patients=16), "pipedrive")
        state = _get(pair.dest_info, "/_sandbox/state")
        got = actual(state, "pipedrive")
        assert not duplicates(got), (duplicates(got)[:5], log)
        problems = diff(want, got)
        assert not problems, "\n".join(problems + log)
        untagged = [f["id"] for f in state["records"]["file"]
                    if f["active_flag"] and not f.get("description")]
        assert not untagged, log  # every file carries its source tag (rollback finds it)
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)
        # the report of the resumed run counts every attempt and names each problem once
        totals = json.loads(proc.stdout.splitlines()[-1])["totals"]
        assert totals["created"] + totals["uploaded"] == sum(
            sum(rows.values()) for rows in got.values()), (totals, log)
        project = Project.at(pair.project.root)
        try:
            run_id = project.store.runs("run")[-1].run_id
            raw = project.store.skips(run_id)
            shown = current_skips(project.store, run_id)
        finally:
            project.store.close()
        keys = [(s.ref, s.field, s.reason) for s in shown]
        assert len(keys) == len(set(keys)) and len(raw) > len(shown), (len(raw), len(shown))


def test_prepare_killed_after_schema_creates_still_rolls_back_clean(tmp_path: Path) -> None:
    """``prepare`` killed just after Pipedrive applied a pipeline, a stage or a field create
    (the outcome never logged), then resumed: the resumed attempt finds the item already there,
    yet rollback still removes it, because the first attempt wrote down that it did not exist."""
    with make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=12,
                   env_prefix="FERRY_KILLPREP_", settle_on_clock=True) as pair:
        env = subprocess_env(pair)
        switch = KillSwitch(pair.servers[1])
        P.run_extract(pair.project)
        pair.project.store.close()
        before = _get(pair.dest_info, "/_sandbox/state")
        kills = [("/personFields", 1), ("/pipelines", 2), ("/stages", 3)]  # prepare's order
        for path, nth in [*kills, (None, 0)]:
            proc = forked.Forked("prepare", pair.project.root, env)
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
        rb = forked.run("rollback", pair.project.root, env)
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


def test_upload_landing_after_the_resume_looked_is_adopted(tmp_path: Path) -> None:
    """A run killed while Pipedrive still holds a file upload it sent; the file lands just after
    the resume's first look for it. The resume looks again before uploading (after the
    ``resume_settle_s`` wait; the order is fixed by ``LateWrite``, not by the wait's length) and
    adopts it: the file is there once, tagged. Before, the resume decided on one look and
    uploaded it a second time (CI beside two hogs: one document twice, when an upload lane's
    1.4 MB POST was still being stored as the next run looked)."""
    with make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=6,
                   env_prefix="FERRY_LATEPD_", settle_on_clock=True) as pair:
        settings = load_settings(pair.project.settings_path)
        # one upload at a time: the held file is the only open intent, so the resume's first
        # look for the newest files is the look for it
        settings.destination.workers = 1  # type: ignore[attr-defined]
        save_settings(settings, pair.project.settings_path)
        pair.project = Project.at(pair.project.root)
        env = subprocess_env(pair)
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        # the held file is stored once the resume asked for the newest files (its first look)
        late = LateWrite(pair.servers[1], "POST", "/files", look=("/files", b"sort="))
        late.kill_then_resume(pair.project.root, env)
        state = _get(pair.dest_info, "/_sandbox/state")
        got = actual(state, "pipedrive")
        assert not duplicates(got), duplicates(got)
        problems = diff(expected(Practice(seed=SEED, patients=6), "pipedrive"), got)
        assert not problems, "\n".join(problems)
        untagged = [f["id"] for f in state["records"]["file"]
                    if f["active_flag"] and not f.get("description")]
        assert not untagged
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)
