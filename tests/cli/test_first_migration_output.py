"""What a newcomer sees at 80 columns on pairs other than PracticeHub → Pipedrive (the
walk-throughs in docs/TRANSCRIPT-pulse-salesforce.md and docs/TRANSCRIPT-clinic_csv-odoo.md):
the outcome tables keep one line per map, a typo'd option names the valid ones, a verb run out
of order says the command to run, and the review queue is counted in words. Command lines
run through the CLI's entry point in this process (the ``ferry`` fixture, tests/cli/conftest.py)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from ferry.cli.app import next_command
from ferry.cli.commands.reconcile import balance_table
from ferry.cli.commands.review import queue_line
from ferry.cli.common import fold_name, stats_table

#: the object maps of Pulse → Salesforce's dry run (20261207, 200 patients), by bucket
PLAN = {
    "practitioner_user": {"fallback": 5},
    "patient_contact": {"plan": {"create": 144}, "unchanged": 52, "merged": 4},
    "appointment_type_definitions": {},
    "appointment_event": {"plan": {"create": 793}, "unchanged": 72, "skipped": 2},
    "clinical_note_task": {"held": 485},
    "prescription_current_medications": {"folded": 71, "excluded": 67},
    "prescription_medication_history": {"folded": 67, "excluded": 71},
    "campaign_definitions": {"excluded": 4},
    "workflow_rebuild_guide": {},
}


def rendered(renderable: object, width: int = 80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue().splitlines()


def test_the_plan_table_shows_each_map_name_whole_at_80_columns() -> None:
    lines = rendered(stats_table("plan (dry run)", PLAN, dry_run=True, width=80))
    assert max(map(len, lines)) <= 80
    rows = {line.split()[0]: line for line in lines if line.strip()}
    # a long name is folded after an underscore, whole (before: "presc…_current_medications")
    at = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["prescription_current_"])
    assert lines[at + 1].split()[0] == "medications"
    assert "…" not in "".join(lines)
    assert rows["patient_contact"].split()[1:] == ["144", "52", "4"]
    assert rows["total"].split()[1:] == ["937", "124", "138", "4", "142", "485", "5", "2"]
    # maps with nothing in any bucket are named once, below the table, not as empty rows
    tail = " ".join(lines[-3:])
    assert "no records for (2): appointment_type_definitions, workflow_rebuild_guide" in tail
    assert "appointment_type_definitions" not in rows


def test_a_pass_with_nothing_in_any_bucket_shows_no_empty_table() -> None:
    """A delta pass that only deleted (the deletions have their own line) printed a table of
    no rows: a ``map`` header and a blank ``total``."""
    lines = rendered(stats_table("", {"patient_partner": {}, "appointment_lead": {}}))
    assert [ln for ln in lines if ln.strip()] == [
        "no records for (2): patient_partner, appointment_lead"]


def test_fold_name_keeps_a_name_whole() -> None:
    assert fold_name("patient_contact", 20) == "patient_contact"
    assert fold_name("appointment_type_definitions", 27) == "appointment_type_\ndefinitions"
    assert fold_name("prescription_current_medications", 12) == \
        "prescription\n_current_\nmedications"
    for width in (5, 12, 27):
        assert fold_name("prescription_current_medications", width).replace("\n", "") == \
            "prescription_current_medications"


def test_the_reconcile_table_names_empty_objects_in_one_line() -> None:
    objects = [{"object": "patient", "source": 201, "loaded": 196, "merged": 4, "skipped": 1},
               {"object": "clinical_note", "source": 0, "loaded": 0},
               {"object": "message", "source": 0}]
    lines = rendered(balance_table(objects))
    assert lines[0] == "reconcile: source = loaded + merged + skipped"
    assert max(map(len, lines)) <= 80
    assert [ln.split() for ln in lines if ln.strip().startswith("patient")] == \
        [["patient", "201", "196", "4", "1"]]
    assert lines[-1] == "no records in source or destination (2): clinical_note, message"


def test_the_review_queue_is_counted_in_words_not_a_dict() -> None:
    line = queue_line({"patient": 20, "clinical_note": 485, "message": 423}, {"pending": 928})
    assert line == ("flagged for PHI: 485 clinical_note, 423 message, 20 patient;"
                    " review queue: 928 pending")
    assert "{" not in queue_line({}, {})


def test_an_error_naming_a_command_prints_it_for_this_project() -> None:
    argv = ["ferry", "audit", "-p", "clinic"]
    assert next_command("nothing is staged yet: run `ferry extract` first", argv) == \
        "ferry extract -p clinic"
    assert next_command("x: run `ferry map --confirm -p other`", argv) == \
        "ferry map --confirm -p other"
    assert next_command("no command here", argv) is None


def test_a_verb_out_of_order_says_what_to_run(ferry, tmp_path: Path) -> None:
    export = tmp_path / "export"
    r = ferry("sandbox", "export", "clinic_csv", str(export), "--patients", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert json.loads(lines[0])["rows"]["patients.csv"] == 3  # machine line first
    text = "".join("".join(lines[1:]).split())  # rich folds a long path mid-word
    assert "next:ferryinitDIR--sourceclinic_csv--destination…" in text
    assert f"--setsource.path={export.resolve()}" in text
    root = tmp_path / "p"
    r = ferry("init", str(root), "--source", "clinic_csv", "--destination", "odoo",
              "--no-encrypt", "--set", f"source.path={export}", "--set",
              "destination.url=http://127.0.0.1:9", "--set", "destination.db=x",
              "--set", "destination.login=admin")
    assert r.returncode == 0, r.stderr
    r = ferry("audit", "-p", str(root))
    assert r.returncode == 2
    assert "Usage:" not in r.stderr and "Try 'ferry" not in r.stderr
    # rich folds a path longer than the line: compare without whitespace
    assert "".join(r.stderr.split()).endswith("".join(f"first next: ferry extract -p {root}"
                                                      .split()))
    r = ferry("run", "-p", str(root), env={"ODOO_API_KEY": "k"})
    assert r.returncode == 2
    assert "".join(r.stderr.split()).endswith("".join(f"first next: ferry map -p {root}"
                                                      .split()))


def test_a_typo_in_options_names_the_valid_keys(ferry, tmp_path: Path) -> None:
    root = tmp_path / "p"
    r = ferry("init", str(root), "--source", "pulse", "--destination", "salesforce",
              "--no-encrypt", "--set", "options.fallback_owner_email=a@b.example")
    assert r.returncode == 0, r.stderr
    yaml = root / "ferry.yaml"
    yaml.write_text(yaml.read_text().replace("  fallback_owner_email:", "  fallback_owner_emial:"))
    r = ferry("check", "-p", str(root))
    assert r.returncode == 2
    out = " ".join(r.stderr.split())
    assert "options.fallback_owner_emial is not a setting (did you mean" \
           " 'fallback_owner_email'?); valid under options: fallback_owner_email," in out
    assert "Extra inputs" not in out
    r = ferry("sandbox", "export", "cliniko", str(tmp_path / "x"))
    assert r.returncode == 2 and "valid: pulse, clinic_csv" in r.stderr


def test_help_paragraphs_are_not_broken_where_the_source_wraps() -> None:
    from ferry.cli.app import _paragraphs, build_app

    assert _paragraphs("First line\n    goes on.\n\n    Exit 0: done; 1:\n    failed.") == \
        "First line goes on.\n\nExit 0: done; 1: failed."
    (cmd,) = build_app(["rollback"]).registered_commands
    assert cmd.help and "\n" not in cmd.help.replace("\n\n", "")


def test_since_without_an_offset_is_utc_and_a_bad_one_is_refused() -> None:
    import datetime as dt

    import pytest

    from ferry.cli.commands.extract import _since
    from ferry.errors import ConfigError

    assert _since("1970-01-01") == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert _since("") is None
    with pytest.raises(ConfigError, match="not an ISO date"):
        _since("yesterday")


def test_an_export_column_placed_by_a_guess_is_staged_again(ferry, tmp_path: Path) -> None:
    """`ferry map` places a Pulse column by a guess after the records were staged; a plain
    `ferry extract` resumes at its end and stages nothing (it says how to read everything
    again), so map stages the patients again itself before it proposes the map from them, and
    the map confirms as proposed."""
    export, root = tmp_path / "export", tmp_path / "p"
    assert ferry("sandbox", "export", "pulse", str(export), "--patients", "3").returncode == 0
    r = ferry("init", str(root), "--source", "pulse", "--destination", "salesforce",
              "--no-encrypt", "--set", f"source.path={export}")
    assert r.returncode == 0, r.stderr
    assert ferry("extract", "-p", str(root)).returncode == 0
    again = ferry("extract", "-p", str(root))
    assert again.returncode == 0
    said = " ".join(again.stdout.split())
    assert "every object was already read to the end" in said
    assert "".join(f"ferry extract --since 1970-01-01 -p {root}".split()) in \
        "".join(said.split())
    r = ferry("map", "-p", str(root), "--no-describe")
    assert r.returncode == 0, r.stderr[-2000:]
    out = " ".join(r.stdout.split())
    assert "export column(s) placed by the proposer" in out
    assert re.search(r"staged again \(their columns are placed differently now, and the map"
                     r" below is read from them\): \d+ patient", out), out[-2000:]
    assert "".join(f"next: ferry map --confirm -p {root}".split()) in "".join(r.stdout.split())
    r = ferry("map", "--confirm", "-p", str(root), "--no-describe")
    assert r.returncode == 0, r.stderr[-2000:]


def test_estimate_without_a_daily_budget_shows_no_budget_columns(ferry, tmp_path: Path) -> None:
    r = ferry("estimate", "--patients", "50", "--source", "clinic_csv", "--destination",
              "odoo", "--cpu-share", "0.5", "-p", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    header = next(line for line in r.stdout.splitlines() if "step" in line)
    assert header.split() == ["step", "time", "API", "calls", "bound", "by"]
    out = " ".join(r.stdout.split())
    assert "Odoo has no daily API budget" in out and "tokens" not in out
    assert "day(s) of API budget" not in out
    assert out.endswith("next: ferry init DIR --source … --destination … to start")
    # only a report's path longer than the line runs past it, alone and whole (never split)
    assert all(len(ln) <= 80 or ln.startswith(str(tmp_path)) for ln in r.stdout.splitlines())
    assert (tmp_path / "reports" / "estimate" / "estimate.json").exists()  # -p's, not the cwd's


def test_a_cancelled_rollback_says_nothing_changed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import rollback

    proj = SimpleNamespace(settings=SimpleNamespace(
        destination=SimpleNamespace(kind="salesforce")), store=None, audit=None)
    monkeypatch.setattr(rollback, "project_at", lambda path: proj)
    monkeypatch.setattr(rollback, "target_runs", lambda store, run: ["20261207T080452-run-1"])
    monkeypatch.setattr(rollback, "preview",
                        lambda audit, runs, destination="": {("delete", "Contact"): 201})

    def must_not_run(*a: object) -> None:
        raise AssertionError("rolled back after a no")

    monkeypatch.setattr(rollback, "run_rollback", must_not_run)
    r = CliRunner().invoke(cli.build_app(["rollback"]), ["rollback", "-p", "clinic"],
                           input="n\n", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "Aborted" not in r.output
    assert "delete" in r.output and "201 Contact" in r.output
    out = " ".join(r.output.split())
    assert "rollback cancelled: nothing was changed in salesforce" in out
    assert "next: ferry rollback -p clinic when you mean it" in out


def test_ctrl_c_in_any_verb_says_how_to_go_on_without_a_traceback() -> None:
    """Ctrl-C in a verb other than run (which says where it stopped itself) printed Python's
    whole traceback; now one line, the command to run again, exit 130."""
    code = """
import sys
from ferry.cli import app as cli

def interrupted():
    raise KeyboardInterrupt

cli.build_app = lambda names=None: interrupted
sys.argv = ["ferry", "sample", "--size", "50", "-p", "my clinic"]
cli.main()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "80"}, timeout=120)
    assert r.returncode == 130, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "KeyboardInterrupt" not in r.stderr
    assert "interrupted: what was finished is kept" in " ".join(r.stderr.split())
    assert r.stderr.splitlines()[-1] == "next: ferry sample --size 50 -p 'my clinic'"


def test_report_paths_are_shown_relative_to_the_current_folder(tmp_path: Path,
                                                                monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ferry.cli.common import shown_path

    report = tmp_path / "clinic" / "reports" / "run" / "20261207T090827-run-994686.html"
    monkeypatch.chdir(tmp_path)
    assert shown_path(report) == "clinic/reports/run/20261207T090827-run-994686.html"
    monkeypatch.chdir(tmp_path / "..")
    assert shown_path(report).endswith(f"{tmp_path.name}/clinic/reports/run/"
                                       "20261207T090827-run-994686.html")
    elsewhere = Path("/proc") / "x.html"
    assert shown_path(elsewhere) == "/proc/x.html"  # not under the folder: as it is
