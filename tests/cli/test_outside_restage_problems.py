"""``ferry map`` reads again the records whose columns it placed anew; a value the new
placement cannot read was left empty with nothing said (hout3, 8 December: a French desk's
``Fin`` of times placed as ``end`` lost every end; a column placed as the fee whose cells are
words). The read again now says its problems as ``ferry extract`` does, and the extract report
lists them."""

from __future__ import annotations

import json
from pathlib import Path

VISITS = ("Appointment ID,Patient ID,Date,Heure,Montant,Status\n"
          "1,C-001,2025-06-02,14h30,\"125,00 $\",Complétée\n"
          "2,C-001,2025-06-03,9h15,sans frais,Annulée\n")
PATIENTS = "Patient ID,First Name,Last Name\nC-001,Élise,Côté-Tremblay\n"


def test_map_says_what_its_read_again_left_empty(ferry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    export.mkdir()
    (export / "Appointments.csv").write_text(VISITS, encoding="utf-8")
    (export / "Patients.csv").write_text(PATIENTS, encoding="utf-8")
    root = tmp_path / "p"
    r = ferry("init", str(root), "--source", "clinic_csv", "--destination", "odoo",
              "--no-encrypt", "--set", f"source.path={export}", "--set",
              "source.timezone=America/Montreal", "--set",
              "destination.url=http://127.0.0.1:9", "--set", "destination.db=x",
              "--set", "destination.login=admin", "--set", "options.phone_region=CA")
    assert r.returncode == 0, r.stderr
    assert ferry("extract", "-p", str(root)).returncode == 0
    yaml = root / "ferry.yaml"  # the fee column placed after the first read
    yaml.write_text(yaml.read_text().replace(
        "  # columns: {}", "  columns:\n    appointment:\n      Montant: fee"))
    r = ferry("map", "-p", str(root), "--no-describe")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "staged again" in out
    assert "kept: Appointments.csv line 3 column 5: fee: not a number" in out
    assert "sans frais" not in r.stdout + r.stderr
    report = json.loads((root / "reports" / "extract" / "extract.json").read_text())
    assert [(p["ref"], p["field"]) for p in report["problems"]] == [
        ("clinic_csv:appointment:2", "fee")]
