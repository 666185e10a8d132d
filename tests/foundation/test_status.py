"""``ferry status`` over real project folders, through typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.project import Project
from ferry.sandbox.synth import Practice

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console():
    """The shared rich console was sized when first imported (maybe by another test in this
    worker): give the tables room so no cell is cut."""
    from ferry.cli.console import console

    old = console.size
    console.size = (160, 50)
    yield
    console.size = old


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = Project.at(tmp_path)
    prac = Practice(seed=2, patients=20)
    store = proj.store
    run = store.start_run("extract", {"patients": 20})
    for obj in ("clinic", "practitioner", "patient", "appointment"):
        store.put_page(obj, list(prac.iter(obj)), f"extract:{obj}", "cursor-after-page-1")
    store.mark_deleted("appointment", [next(prac.iter("appointment")).source_id])
    store.finish_run(run, "done", {"staged": 99})
    load = store.start_run("run")
    store.map_id("patient", "10000", "person", "501", load, created=True)
    store.map_id("patient", "10001", "person", "502", load, created=True)
    store.skip(load, "practicehub:patient:10002", "email", "not an email address", "load")
    seq = proj.audit.append(load, kind="intent", op="create", dest_object="person",
                            src_ref="practicehub:patient:10000")
    proj.audit.append(load, kind="done", op="create", dest_object="person", dest_id="501",
                      intent_seq=seq)
    proj.audit.append(load, kind="intent", op="create", dest_object="person",
                      src_ref="practicehub:patient:10001")
    store.close()
    return tmp_path


def test_status_of_an_empty_folder_creates_nothing(tmp_path: Path) -> None:
    res = runner.invoke(app, ["status", "--project", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "no staging store yet" in res.output
    assert not (tmp_path / ".ferry").exists()


def test_status_tables(project: Path) -> None:
    res = runner.invoke(app, ["status", "--project", str(project)], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    out = res.output
    for word in ("Records per object", "patient", "appointment", "Runs", "extract", "done",
                 "running", "Checkpoints", "extract:patient", "cursor-after-page-1",
                 "Skip log: 1 entries", "3 entries", "1 writes of unknown outcome"):
        assert word in out, word
    assert "ferry.yaml not found" in out


def test_status_json_counts(project: Path) -> None:
    res = runner.invoke(app, ["status", "--project", str(project), "--json"])
    assert res.exit_code == 0, res.output
    state = json.loads(res.output)
    rows = {o["object"]: o for o in state["objects"]}
    prac = Practice(seed=2, patients=20)
    assert rows["patient"] == {"object": "patient", "staged": 20, "deleted": 0, "loaded": 2,
                               "skipped": 1}
    assert rows["appointment"]["staged"] == prac.count("appointment") - 1
    assert rows["appointment"]["deleted"] == 1
    assert [r["kind"] for r in state["runs"]] == ["extract", "run"]
    assert state["skips"] == 1 and state["audit"]["open_intents"] == 1
    assert [o["object"] for o in state["objects"]][:3] == ["clinic", "practitioner", "patient"]


def test_verify_log_ok_then_broken(project: Path) -> None:
    res = runner.invoke(app, ["status", "--project", str(project), "--verify-log"])
    assert res.exit_code == 0 and "intact" in res.output
    db = sqlite3.connect(project / ".ferry" / "staging.db")
    db.execute("UPDATE audit SET dest_id='999' WHERE seq=2")
    db.commit()
    db.close()
    res = runner.invoke(app, ["status", "--project", str(project), "--verify-log"])
    assert res.exit_code == 1
    assert "BROKEN" in res.output and "entry 2 was altered" in res.output
    res = runner.invoke(app, ["status", "--project", str(project), "--verify-log", "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["audit"]["verified"]["ok"] is False


def _verdict_project(tmp_path: Path) -> Path:
    """A project whose prepare, sample and run finished: the sample's diff did not pass and the
    reconciliation after the run did not balance."""
    from ferry.reports.render import write_report

    res = runner.invoke(app, ["init", str(tmp_path), "--source", "practicehub",
                              "--destination", "pipedrive", "--no-encrypt"])
    assert res.exit_code == 0, res.output
    proj = Project.at(tmp_path)
    store = proj.store
    prac = Practice(seed=2, patients=5)
    store.put_page("patient", list(prac.iter("patient")), "extract:patient", "done")
    for kind in ("extract", "prepare", "sample", "run"):
        store.finish_run(store.start_run(kind), "done", {})
    sample = store.runs("sample")[-1].run_id
    write_report(proj.reports_dir("sample"), "sample", {"run": sample, "verdict": "fail",
                                                        "unexplained": 4}, project="t",
                 name=sample)
    write_report(proj.reports_dir("reconcile"), "reconcile",
                 {"balanced": False, "discrepancy_count": 8, "discrepancies": []},
                 project="t", name="r1")
    store.close()
    return tmp_path


def test_status_next_step_comes_from_verdicts_not_finished_runs(tmp_path: Path) -> None:
    """A finished run used to make the next step "ferry delta during cutover" although the
    sample had not passed and reconcile said NOT balanced."""
    root = _verdict_project(tmp_path)
    res = runner.invoke(app, ["status", "--project", str(root), "--json"])
    assert res.exit_code == 0, res.output
    v = json.loads(res.output)["verdicts"]
    assert not v["sample"]["done"] and "NOT passed" in v["sample"]["detail"]
    assert v["run"]["done"]
    assert not v["reconcile"]["done"] and "NOT balanced" in v["reconcile"]["detail"]
    res = runner.invoke(app, ["status", "--project", str(root)], env={"COLUMNS": "200"})
    nxt = res.output[res.output.index("next:"):]
    assert "sample" in nxt and "ferry delta" not in nxt, nxt
    # the sample passes now: the next step is the reconciliation that did not balance
    from ferry.reports.render import write_report

    proj = Project.at(root)
    write_report(proj.reports_dir("sample"), "sample", {"verdict": "pass", "unexplained": 0},
                 project="t", name="s2")
    res = runner.invoke(app, ["status", "--project", str(root)], env={"COLUMNS": "200"})
    nxt = res.output[res.output.index("next:"):]
    assert "reconcile" in nxt and "ferry delta" not in nxt, nxt
