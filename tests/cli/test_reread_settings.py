"""A clinic's own export read again when what shaped its staged records changes (a UK
practice, clinic_csv → odoo, as tests/cli/test_own_export.py): a file whose every row was
refused at extract is read again once the missing column is placed, and the row problems of
the superseded read leave the skip file's current entries; a ``timezone`` set after extract
is refused at load by name, and ``ferry extract`` reads again what it changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.cli.test_own_export import own_export

from ferry.errors import ConfigError


def _set(root: Path, old: str, new: str) -> None:
    yaml = root / "ferry.yaml"
    text = yaml.read_text()
    assert old in text
    yaml.write_text(text.replace(old, new))


def test_a_file_every_row_refused_is_read_again_once_its_column_is_placed(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ferry.engine.mapflow import restage_moved
    from ferry.engine.project import Project

    root = own_export(ferry, tmp_path)
    assert ferry("extract", "-p", str(root)).returncode == 0
    project = Project.at(root)
    try:
        store = project.store
        assert store.count("invoice") == 0  # no amount column known: both rows refused
        assert store.skip_counts().get("invoice") == 2
        # the user places the column (as `ferry map` tells them), then runs ferry map --force
        _set(root, "  # columns: {}", "  columns:\n    invoice:\n      Gross: amount")
        project.__dict__.pop("settings", None)
        assert restage_moved(project) == {"invoice": 2}
        assert sorted(str(r.amount) for r in store.iter_records("invoice")) == \
            ["105.00", "45.00"]
        # the refusals of the superseded read are history, not current skips
        assert "invoice" not in store.skip_counts()
        assert not [s for s in store.skips() if ":invoice:" in s.ref]
        old = [s for s in store.skips(superseded=True) if ":invoice:" in s.ref]
        assert [s.stage for s in old] == ["superseded:extract"] * 2
    finally:
        project.store.close()
    r = ferry("status", "-p", str(root))
    assert r.returncode == 0, r.stderr


def _starts(root: Path) -> list[str]:
    from ferry.engine.project import Project

    project = Project.at(root)
    try:
        return sorted(r.start.astimezone(dt.UTC).isoformat() for r in project.store.iter_records("appointment"))
    finally:
        project.store.close()


def test_a_timezone_set_after_extract_is_named_at_load_and_extract_reads_again(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ferry.engine.placement import require_read_as_set
    from ferry.engine.project import Project

    root = own_export(ferry, tmp_path)
    assert ferry("extract", "-p", str(root)).returncode == 0
    assert _starts(root) == ["2020-05-03T09:00:00+00:00", "2020-05-04T10:30:00+00:00"]
    _set(root, "  # timezone: UTC", "  timezone: Europe/London")
    project = Project.at(root)
    try:  # what run, sample and delta check before they load
        with pytest.raises(ConfigError) as exc:
            require_read_as_set(project, ["appointment", "patient"])
    finally:
        project.store.close()
    said = " ".join(str(exc.value).split())
    assert "appointment: timezone 'UTC' → 'Europe/London'" in said
    assert "`ferry extract`" in said
    # a plain extract, though the last one read every file to the end, reads them again
    r = ferry("extract", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert "already read to the end" not in r.stdout
    assert _starts(root) == ["2020-05-03T08:00:00+00:00", "2020-05-04T09:30:00+00:00"]
    project = Project.at(root)
    try:
        require_read_as_set(project, ["appointment", "patient"])
    finally:
        project.store.close()


def test_a_delta_pass_under_a_changed_dayfirst_reads_everything_again(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ferry.engine.placement import require_read_as_set
    from ferry.engine.project import Project

    root = own_export(ferry, tmp_path)
    assert ferry("extract", "-p", str(root)).returncode == 0
    assert _starts(root)[0].startswith("2020-05-03")
    _set(root, "  # dayfirst: null", "  dayfirst: false")  # 03/05/2020 read as 5 March
    # a pass reading only the changes (as ferry delta's extract does) reads every row again
    r = ferry("extract", "--since", "2026-12-01", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert _starts(root) == ["2020-03-05T09:00:00+00:00", "2020-04-05T10:30:00+00:00"]
    project = Project.at(root)
    try:  # and the records are the staged ones of the new setting: a load may read them
        require_read_as_set(project, ["appointment", "patient"])
    finally:
        project.store.close()


def test_a_row_exported_twice_is_reported_once_and_a_delta_read_stays_quiet(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ferry.engine.project import Project

    root = own_export(ferry, tmp_path)
    # invoice 160019 on two lines that differ (as the practice's export had it)
    (tmp_path / "export" / "Invoices.csv").write_text(
        "Invoice No,Client Ref,Gross,Invoice Date\n160018,10000,£105.00,03/05/2020\n"
        "160019,10001,£45.00,04/05/2020\n160019,10001,£50.00,04/05/2020\n")
    _set(root, "  # columns: {}", "  columns:\n    invoice:\n      Gross: amount\n"
         "      Invoice No: source_id")
    r = ferry("extract", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert "duplicate: Invoices.csv line 4: the same key as line 3 (a row exported twice):" \
           " line 3 is staged, this row is left out" in " ".join(r.stdout.split())
    for _ in range(2):  # each pass reads every row of the export again: nothing changed
        r = ferry("extract", "--since", "2026-12-01", "-p", str(root))
        assert r.returncode == 0, r.stderr
        assert "DONE extract: 0 records staged" in r.stdout
    project = Project.at(root)
    try:
        store = project.store
        staged = {r.source_id: str(r.amount) for r in store.iter_records("invoice")}
        assert staged == {"160018": "105.00", "160019": "45.00"}  # the first line's, each time
        # reported once (the later passes' reports supersede the earlier ones')
        twice = [s for s in store.skips() if ":invoice:" in s.ref]
        assert [s.stage for s in twice] == ["extract-duplicate"]
        assert store.skip_counts().get("invoice") == 1
    finally:
        project.store.close()
