"""A Spanish practice's own export (cp1252, semicolons): ``Sexo`` written H / M (hombre,
mujer) and ``Acepta SMS`` written Sí / No. Before, M reached the map's ``m → Male`` and every
woman was stored as Male (sample and reconcile PASS: they compare with the staged "M"), and
"Sí" was not a yes/no value, so every patient who had said yes lost the consent while those who
said no kept it."""

from __future__ import annotations

from pathlib import Path

from ferry.sources.clinic_csv import create

PACIENTES = ("ID Paciente;Nombre;Apellidos;Sexo;Acepta SMS;Acepta email\r\n"
             "E1;María José;García-López;M;Sí;Ja\r\n"
             "E2;Juan;Pérez Núñez;H;No;nein\r\n"
             "E3;Lucía;Fernández;M;sí;Oui\r\n")
COLUMNS = {"patient": {"ID Paciente": "source_id", "Nombre": "first_name",
                       "Apellidos": "last_name", "Sexo": "sex", "Acepta SMS": "consent_sms",
                       "Acepta email": "consent_email"}}


def test_spanish_sex_letters_and_yes_no_words(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pacientes.csv").write_bytes(PACIENTES.encode("cp1252"))
    src = create({"path": str(tmp_path), "files": {"pacientes.csv": "patient"},
                  "columns": COLUMNS}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    got = {r.source_id: (r.first_name, r.sex, r.consent_sms, r.consent_email) for r in recs}
    assert got == {"E1": ("María José", "female", True, True),
                   "E2": ("Juan", "male", False, False),
                   "E3": ("Lucía", "female", True, True)}


def test_english_m_and_f_are_read_as_written(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "patients.csv").write_text(
        "Patient ID,First Name,Sex\r\n1,Ann,F\r\n2,Bob,M\r\n3,Cy,\r\n", encoding="utf-8")
    src = create({"path": str(tmp_path)}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    assert sorted((r.first_name, r.sex) for r in recs) == [("Ann", "F"), ("Bob", "M"),
                                                           ("Cy", None)]
