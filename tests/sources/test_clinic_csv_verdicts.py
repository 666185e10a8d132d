"""A clinic export taken as it is, not at face value: a bad value loses only its field,
reconcile counts the rows the file holds, and each file gets a verdict (not a table, no key
column, no identity column, control characters cleaned)."""

from __future__ import annotations

from pathlib import Path

from ferry.engine.extract import extract
from ferry.engine.reconcile import Reconciliation, _source_buckets
from ferry.mapping.compile import compile_mapping
from ferry.mapping.recipes import load_recipe
from ferry.model.staging import StagingStore
from ferry.sources.clinic_csv import create

PATIENTS = ("Patient ID,First Name,Last Name,DOB,Email\n"
            "1,Ann,Lee,25/03/1980,ann@x.org\n"
            "2,Bob,Ray,03/04/1990,bob@x.org\n"
            "3,Cat,Moe,31/02/1980,cat@x.org\n"  # 31 February: no such day
            "4,Dan,Fox,01/01/2001,dan@x.org\n"
            "5,Eve,Gum,02/02/2002,eve@x.org\n"
            "6,Fay,Ivy,03/03/2003,fay@x.org\n")


def source(folder: Path):  # noqa: ANN201
    return create({"path": str(folder)}, folder)


def test_bad_date_keeps_the_record_with_the_field_empty_and_reported(h, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    recs, errs, _ = h.read_all(source(tmp_path), "patient")
    assert [r.source_id for r in recs] == ["1", "2", "3", "4", "5", "6"]
    cat = recs[2]
    assert cat.date_of_birth is None and cat.first_name == "Cat"
    assert h.where(errs) == {("patients.csv", 4, 4)}  # file, line, column
    (err,) = errs
    assert err.kept and err.field == "date_of_birth" and err.ref == "clinic_csv:patient:3"
    assert "left empty" in err.reason
    h.assert_no_values(errs, "31/02/1980", "Cat")


def test_reconcile_counts_the_rows_the_file_holds(tmp_path: Path) -> None:
    # a six-row file whose row 4 cannot become a record at all (one cell too many)
    text = PATIENTS.replace("4,Dan,Fox,01/01/2001,dan@x.org", "4,Dan,Fox,01/01/2001,d@x.org,x")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "patients.csv").write_text(text)
    store = StagingStore(tmp_path / "s.db")
    stats = extract(source(folder), store, run_id="r1", objects=["patient"])
    assert stats.errors == 1 and stats.field_issues == 1  # one row lost, one field emptied
    assert store.counts()["patient"] == 5
    maps = compile_mapping(load_recipe("clinic_csv", "pipedrive"), need_keys=False)
    out = Reconciliation()
    _source_buckets(store, maps, out, {})
    (patients,) = [o for o in out.objects if o["object"] == "patient"]
    assert patients["source"] == 6  # as the file holds them, not 5 parsed
    assert patients["skipped"] == 1


def test_binary_file_named_csv_is_refused_and_named(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    (tmp_path / "patients_scan.csv").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    src = source(tmp_path)
    assert [p.table.name for p in src.plans()] == ["patients.csv"]
    verdicts = [v.reason for v in src.verdicts()]
    assert any(v.startswith("patients_scan.csv: refused: not a table") for v in verdicts)
    assert any(not c.ok and c.name == "patients_scan.csv" for c in src.check())


def test_no_key_column_gets_a_content_key_and_a_verdict(h, tmp_path: Path) -> None:
    body = "First Name,Last Name,Email\nAnn,Lee,a@x.org\nBob,Ray,b@x.org\n"
    (tmp_path / "patients.csv").write_text(body)
    first, _, _ = h.read_all(source(tmp_path), "patient")
    # a later export with a row more at the top: the same people keep their ids
    (tmp_path / "patients.csv").write_text(body.replace("\nAnn", "\nZed,Zo,z@x.org\nAnn", 1))
    later, _, _ = h.read_all(source(tmp_path), "patient")
    ids = {r.email: r.source_id for r in later}
    assert {r.email: r.source_id for r in first} == {k: ids[k] for k in ("a@x.org", "b@x.org")}
    assert not any("#L" in r.source_id for r in later)
    (v,) = source(tmp_path).verdicts()
    assert "no key column" in v.reason and "delta is unsafe" in v.reason


def test_no_identity_column_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("Patient ID,Blood Group\n1,A+\n2,O-\n")
    reasons = [v.reason for v in source(tmp_path).verdicts()]
    assert any("no identity column" in r for r in reasons)


def test_control_characters_are_cleaned_and_counted(h, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_bytes(
        b"Patient ID,First Name,Last Name\n1,A\x00nn,Lee\n2,Bob,R\x00\x00ay\n3,Cat,Moe\n")
    src = source(tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == [] and [r.first_name for r in recs] == ["Ann", "Bob", "Cat"]
    assert recs[1].last_name == "Ray"
    assert any("3 control characters (NUL …) removed from 2 rows" in v.reason
               for v in src.verdicts())
