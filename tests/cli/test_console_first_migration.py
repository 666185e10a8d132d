"""What the console tells a user during a first real migration (``ferry demo`` and the verbs
it runs, at 80 columns): a report's path is never split, a delta pass does not count the
export's broken rows as new changes, its deletions are said, reconcile names a practitioner on
the fallback owner as the run table does, and a map's name is shown whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ferry.cli import common
from ferry.cli import console as cli_console
from ferry.cli.common import print_paths


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The CLI's console as an 80-column terminal that keeps what it prints."""
    out = io.StringIO()
    term = Console(file=out, width=80, color_system=None)
    for module in (cli_console, common):
        monkeypatch.setattr(module, "console", term)
    return out


def test_a_report_path_longer_than_the_line_is_never_split(screen: io.StringIO) -> None:
    """Before: ``report: /tmp/…/20261207T235258-delta-9b97cb.js`` / ``on``: copy-paste failed."""
    long = Path("/tmp/ferry-demo-values/fhir-odoo-seed-2718/demo-project/reports/delta"
                "/20261207T235258-delta-9b97cb.json")
    short = Path("demo-project/reports/check/check.json")
    print_paths(long, short)
    lines = screen.getvalue().splitlines()
    assert str(long) in lines  # whole, alone on its line
    assert "  report: demo-project/reports/check/check.json" in lines
    assert all(len(ln) <= 80 for ln in lines if ln != str(long))


def test_a_broken_row_refused_again_is_no_new_change(tmp_path: Path) -> None:
    """An export read whole again refuses its broken rows again: a row refused before for the
    same reason (at whatever line) is counted apart, not as a change refused. Before: "13
    source change(s): applied 9, … refused 4" on every pass, the 4 being the same rows."""
    from ferry.engine.accounting import account_changes
    from ferry.model.audit import AuditLog
    from ferry.model.staging import StagingStore
    from ferry.reports.run import changes_line

    store = StagingStore(tmp_path / "staging.db")
    old = "clinic_csv patients.csv line 7 column 3: date_of_birth: not a date"
    store.skip("r0", "clinic_csv:patient:7", "date_of_birth", old, "superseded:extract")
    store.skip("r1", "clinic_csv:patient:7", "date_of_birth", old.replace("line 7", "line 8"),
               "extract")  # the same row, one line lower: a row was added above it
    store.skip("r1", "clinic_csv:patient:9", "date_of_birth",
               "clinic_csv patients.csv line 10 column 3: date_of_birth: not a date", "extract")
    changes = account_changes(store, AuditLog(store), [], "2026-01-01", ["r1"]).as_dict()
    assert (changes["total"], changes["refused"], changes["unreadable_as_before"]) == (1, 1, 1)
    assert [c["ref"] for c in changes["lines"]] == ["clinic_csv:patient:9"]
    assert changes_line(changes).endswith(
        "refused 1, unaccounted 0; 1 row(s) still unreadable, as before (not counted as"
        " changes)")


def test_reconcile_says_fallback_where_the_run_table_does(tmp_path: Path) -> None:
    """A practitioner with no CRM user is on the run table's "fallback" column; reconcile
    counted the same practitioner as "skipped 1". Now it is "fallback" in both."""
    import datetime as dt
    from types import SimpleNamespace

    from ferry.cli.commands.reconcile import balance_table
    from ferry.engine.reconcile import Reconciliation, _source_buckets
    from ferry.model.entities import Practitioner
    from ferry.model.staging import StagingStore

    store = StagingStore(tmp_path / "staging.db")
    at = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    store.put_page("practitioner", [Practitioner(source_id=s, first_name="A", last_name="B",
                                                 created_at=at) for s in ("pr1", "pr2")],
                   "extract:practitioner", "1")
    store.map_id("practitioner", "pr1", "user", "u1", "r1", created=False)
    users = SimpleNamespace(om=SimpleNamespace(source="practitioner", mode="users", when=None,
                                               name="practitioner_user"))
    out = Reconciliation()
    _source_buckets(store, [users], out,  # type: ignore[list-item]
                    {"source:practitioner:pr2": ("owners", "no destination user")})
    [row] = out.objects
    assert (row["loaded"], row["fallback"], row["skipped"], row["adds_up"]) == (1, 1, 0, True)
    lines = [ln for ln in _rendered(balance_table(out.objects)) if ln.strip()]
    assert lines[0] == "reconcile: source = loaded + fallback"
    assert lines[1].split() == ["object", "source", "loaded", "fallback"]
    assert lines[3].split() == ["practitioner", "2", "1", "1"]


def _rendered(renderable: object, width: int = 80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue().splitlines()


def test_a_delta_pass_says_what_its_deleted_count_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: "delta pass 1 (…): 0 changed, 11 deleted" folded inside the narrow table's
    title, over a table with no deleted column; the 11 (2 deleted at the source and 9 records
    that needed them) were only in the JSON report. Now the title is a line above the table
    and a line under it says what the 11 are."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from ferry.cli import app as cli
    from ferry.cli.commands import delta
    from ferry.engine.context import MapStats

    stats = SimpleNamespace(staged={})
    changes = {"total": 11, "applied": 11, "unaccounted": 0, "lines": []}
    report = SimpleNamespace(
        run_id="20261207T235258-delta-9b97cb", changes=changes,
        stats={"patient_person": MapStats(), "appointment_deal": MapStats()},
        deletions={"deleted": 2, "dependants_deleted": 9, "links_emptied": 0})
    proj = SimpleNamespace(settings=SimpleNamespace(project="p"), reports_dir=lambda verb: ".")
    monkeypatch.setattr(delta, "project_at", lambda path: proj)
    monkeypatch.setattr(delta, "run_delta", lambda p, progress=None: (stats, report, 11))
    monkeypatch.setattr(delta, "delta_report_data", lambda *a: {})
    monkeypatch.setattr(delta, "write_report", lambda *a, **k: [])
    r = CliRunner().invoke(cli.build_app(["delta"]), ["delta", "-p", "clinic"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    title = "delta pass 1 (20261207T235258-delta-9b97cb): 0 changed, 11 deleted"
    lines = [ln for ln in lines if ln.strip()]  # (the progress bars' blank line)
    assert lines[0] == title  # one line, above what the pass wrote: nothing (no empty table)
    assert lines[1] == "no records for (2): patient_person, appointment_deal"
    assert "  11 deleted in the destination: 2 deleted at the source, 9 their dependants" \
        in lines
    assert all(len(ln) <= 80 for ln in lines)
