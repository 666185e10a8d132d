"""What the walk-throughs in docs/TRANSCRIPT-*.md showed at 80 columns (issue 18): the dry run's
reasons wrap under the map's name, a rolled-back run reads "rolled back", and after a rollback
the last reconciliation is no longer reported as the state of the destination."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.cli.commands.run import reason_lines
from ferry.cli.common import print_item
from ferry.cli.console import console
from ferry.engine.project import Project
from ferry.reports.progress import reconcile_verdict
from ferry.reports.render import write_report

REASON = "held: no BAA confirmation: a field the destination requires is clinical"


@pytest.fixture
def at_80() -> Iterator[None]:
    was = console.size
    console.size = (80, 50)
    yield
    console.size = was


def test_dry_run_reasons_wrap_under_the_map_name(at_80: None) -> None:
    stats = {"message_note": types.SimpleNamespace(reasons={REASON: 470}),
             "appointment_deal": types.SimpleNamespace(reasons={"orphan": 2})}
    with console.capture() as cap:
        for line in reason_lines(stats):
            print_item(line, hang=8, plain=True)
    lines = cap.get().splitlines()
    assert lines[0].startswith("    470 message_note: held") and len(lines) == 3, lines
    assert lines[1].startswith(" " * 8) and lines[1][8] != " "
    assert lines[2] == "      2 appointment_deal: orphan"
    assert all(len(x) <= 80 for x in lines)


def test_a_rollback_after_the_reconciliation_is_said(tmp_path: Path) -> None:
    proj = Project.at(tmp_path)
    write_report(proj.reports_dir("reconcile"), "reconcile", {"balanced": True},
                 project="t", name="r1")
    assert reconcile_verdict(proj).done
    run = proj.store.start_run("rollback")
    proj.store.finish_run(run, "done", {"deleted": 3})
    v = reconcile_verdict(proj)
    assert not v.done and f"rollback {run} wrote since" in v.detail and "reconcile" in v.next


def test_status_names_an_undone_run_in_words(tmp_path: Path, at_80: None) -> None:
    proj = Project.at(tmp_path)
    run = proj.store.start_run("run")
    proj.store.finish_run(run, "rolled_back", {"created": 4})
    proj.store.close()
    res = CliRunner().invoke(app, ["status", "--project", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "rolled back" in res.output and "rolled_back" not in res.output


def test_after_a_rollback_status_says_prepare_again_not_map(tmp_path: Path) -> None:
    from ferry.cli.commands.status import next_step

    state = {"settings": {"project": "t"}, "store": True, "objects": [{"staged": 5}],
             "runs": [{"kind": "extract", "status": "done"},
                      {"kind": "prepare", "status": "rolled_back"}]}
    assert next_step(state, "clinic").startswith("ferry prepare -p clinic")
    state["runs"] = state["runs"][:1]
    assert next_step(state, "clinic").startswith("ferry map, ferry map --confirm")


def test_an_unusable_ferry_yaml_gets_a_next_command_and_status_fails(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "ferry.yaml").write_text("project: p\nsource: {kind: clinic_csv\n")

    def ferry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ferry", *args], capture_output=True,
                              text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "80"},
                              timeout=120)

    r = ferry("check", "-p", "p")
    assert r.returncode == 2 and "error: ferry.yaml line 3" in r.stderr, r.stderr
    assert "next: fix ferry.yaml where the error points, then ferry check -p p" in r.stderr
    r = ferry("status", "-p", "p")
    assert r.returncode == 2, r.stdout
    lines = r.stdout.splitlines()
    assert "next: fix p/ferry.yaml where the line above points, then ferry status -p p" in lines
    assert all(len(x) <= 80 for x in lines), lines


def test_reconcile_report_draws_no_rows_of_nothing(tmp_path: Path) -> None:
    import re

    from ferry.reports.verification import write_reconcile

    objects = [{"object": "patient", "source": 10, "loaded": 9, "merged": 1},
               {"object": "clinical_note", "source": 0}, {"object": "workflow", "source": 0}]
    dest = [{"object": "person", "expected": 9, "destination": 9},
            {"object": "note", "expected": 0, "destination": 0}]
    _, html = write_reconcile(tmp_path, {"objects": objects, "destination": dest,
                                         "by_kind": {}, "balanced": True,
                                         "discrepancy_count": 0}, project="t", name="r")
    svgs = re.findall(r"<svg.*?</svg>", html.read_text(), flags=re.S)
    assert "2 objects with none left out" in svgs[0] and ">patient<" in svgs[0]
    assert ">clinical_note<" not in svgs[0] and ">workflow<" not in svgs[0]
    assert ">person<" in svgs[1] and ">note<" not in svgs[1]


def test_a_sandbox_stopped_with_kill_leaves_no_key_files(tmp_path: Path) -> None:
    """`ferry sandbox serve salesforce` keeps its CA, TLS and JWT keys in a temp folder: a
    SIGTERM (how the transcripts' driver and most supervisors stop it) removes it as Ctrl-C does."""
    import json
    import os
    import signal
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "ferry", "sandbox", "serve", "salesforce"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env={**os.environ, "COLUMNS": "80"})
    try:
        assert p.stdout is not None
        folder = Path(json.loads(p.stdout.readline())["credentials"]["ca_bundle"]).parent
        assert folder.is_dir()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    assert p.returncode == 0 and not folder.exists()
