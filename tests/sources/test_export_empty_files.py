"""What ``ferry check`` and ``extract`` say of an export's odd files, in plain words and alike:
an empty file ("has no rows"), a file with a header and no rows, and a header that names a
column twice (check WARNs and says what extract does: the later one read apart as Phone__2)."""

from __future__ import annotations

from pathlib import Path

from ferry.engine.extract import extract
from ferry.model.staging import StagingStore
from ferry.sources.clinic_csv import create

PATIENTS = ("Patient ID,First Name,Last Name,Phone,Email,Phone\n"
            "1,Aoife,Byrne,087 123 4567,aoife@example.ie,086 765 4321\n"
            "2,Cian,Walsh,087 222 3333,cian@example.ie,\n")


def _export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "appointments.csv").write_bytes(b"")
    (folder / "practitioners.csv").write_text("Practitioner ID,First Name,Last Name\n")
    (folder / "patients.csv").write_text(PATIENTS)
    return folder


def test_check_says_no_rows_and_what_extract_does_with_a_repeated_name(tmp_path: Path) -> None:
    folder = _export(tmp_path)
    items = {i.name: i for i in create({"path": str(folder)}, folder).check()}
    empty = items["appointments.csv"]
    assert empty.status == "WARN" and "has no rows" in empty.detail and "empty" in empty.detail
    header = items["practitioners.csv → practitioner"]
    assert header.status == "WARN" and "has a header and no rows" in header.detail
    dup = items["patients.csv → patient"]
    assert dup.status == "WARN", dup  # extract reads the file: not a FAIL
    assert "column 6 repeats 'Phone'" in dup.detail and "'Phone__2'" in dup.detail
    assert not [i for i in items.values() if i.status == "FAIL"]


def test_extract_reads_the_repeated_column_apart_and_names_the_empty_files(
        tmp_path: Path) -> None:
    folder = _export(tmp_path)
    store = StagingStore(tmp_path / "s.db")
    stats = extract(create({"path": str(folder)}, folder), store, run_id="r1")
    said = "\n".join(stats.verdicts)
    assert "appointments.csv: has no rows: the file is empty" in said
    assert "practitioners.csv: has a header and no rows" in said
    # what the columns lack is not said of files with no records (no key, no start column)
    assert "appointments.csv: no" not in said and "practitioners.csv: no" not in said
    recs = {r.source_id: r for r in store.iter_records("patient")}
    apart = recs["1"].custom["phone_2"]  # the key custom fields take; labelled as check said
    assert apart.label == "Phone__2" and apart.value == "086 765 4321"
    assert recs["1"].phone == "087 123 4567"
