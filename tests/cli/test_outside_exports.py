"""Exports from outside (hand-written, in the words of practices Ferry was not tuned on): what a
newcomer's first migration meets. Here a German practice's export, whose file names and
columns name no object Ferry knows, so the first ``ferry extract`` reads none of its files and
says to name their objects in ferry.yaml ``source.files``."""

from __future__ import annotations

from pathlib import Path

PATIENTEN = (
    "\ufeffPatientennummer;Vorname;Nachname;Geburtsdatum;Geschlecht;Mobil;E-Mail\r\n"
    "P-0001;Jürgen;Müller-Lüdenscheidt;03.04.1981;männlich;0151 23456789;j@example.de\r\n"
    "P-0002;Anna-Lena;von Bäumer;25.12.1975;weiblich;0170 1234567;a@example.de\r\n")


def _init(ferry, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patienten.csv").write_text(PATIENTEN, encoding="utf-8")
    root = tmp_path / "p"
    r = ferry("init", str(root), "--source", "clinic_csv", "--destination", "odoo",
              "--no-encrypt", "--set", f"source.path={export}", "--set",
              "destination.url=http://127.0.0.1:9", "--set", "destination.db=x",
              "--set", "destination.login=admin", "--set", "options.phone_region=DE")
    assert r.returncode == 0, r.stderr
    return root


def _patients(root: Path) -> list[str]:
    from ferry.engine.project import Project

    project = Project.at(root)
    try:
        return sorted(str(r.email) for r in project.store.iter_records("patient"))
    finally:
        project.store.close()


def test_a_file_named_in_source_files_after_the_first_extract_is_read(
        ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _init(ferry, tmp_path)
    r = ferry("extract", "-p", str(root))
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stdout.split())
    assert "Patienten.csv: not read" in said and "source.files" in said
    assert _patients(root) == []
    # the newcomer does what extract said, then runs extract again: the file is read (the
    # first read had finished with no file for patients, which must not count as read)
    yaml = root / "ferry.yaml"
    text = yaml.read_text()
    assert "  # files: {}" in text
    yaml.write_text(text.replace("  # files: {}", "  files: {Patienten.csv: patient}"))
    r = ferry("extract", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert _patients(root) == ["a@example.de", "j@example.de"]
    # and a third extract has nothing new to read
    r = ferry("extract", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert "already read to the end" in " ".join(r.stdout.split())
    assert _patients(root) == ["a@example.de", "j@example.de"]
