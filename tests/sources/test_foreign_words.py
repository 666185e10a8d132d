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


def test_french_and_german_sex_letters(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Homme / Femme (H, F) and männlich / weiblich (M, W): before, H and W reached the map's
    value map as letters it has no row for, and each became an option of its own."""
    from ferry.sources.clinic_csv.values import sex_codes

    assert sex_codes(["H", "F", "F"]) == {"h": "male", "m": None}  # an M beside them: unsettled
    assert sex_codes(["M", "W", "w."]) == {"m": "male", "w": "female"}
    assert sex_codes(["V", "M"]) == {}  # vrouw or varón: left as written
    (tmp_path / "patients.csv").write_text(
        "Numéro,Prénom,Sexe\r\nQ1,Émilie,F\r\nQ2,René,H\r\n", encoding="utf-8")
    src = create({"path": str(tmp_path), "columns": {"patient": {
        "Numéro": "source_id", "Prénom": "first_name", "Sexe": "sex"}},
        "files": {"patients.csv": "patient"}}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    assert {r.first_name: r.sex for r in recs} == {"Émilie": "female", "René": "male"}


def test_english_m_and_f_are_read_as_written(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "patients.csv").write_text(
        "Patient ID,First Name,Sex\r\n1,Ann,F\r\n2,Bob,M\r\n3,Cy,\r\n", encoding="utf-8")
    src = create({"path": str(tmp_path)}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    assert sorted((r.first_name, r.sex) for r in recs) == [("Ann", "F"), ("Bob", "M"),
                                                           ("Cy", None)]


def test_an_amounts_sign_or_its_columns_name_gives_the_currency(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An Irish and a German export name their currency only in the amounts ("120,00 €") or
    the column ("Total (€)"); the invoices were staged with no currency, so each landed in
    the CRM's default (a Pipedrive deal in USD). A bare "$" names no currency; a currency
    column, where there is one, is read as it is."""
    (tmp_path / "Rechnungen.csv").write_text(
        "Rechnungsnummer;Betrag;Status\r\nRE-1;120,00 €;paid\r\nRE-2;1.250,50 €;paid\r\n",
        encoding="utf-8")
    (tmp_path / "ie").mkdir()
    (tmp_path / "ie" / "invoices.csv").write_text(
        "Invoice No,Total (€),Status\r\nINV-1,65.00,paid\r\nINV-2,£80.50,paid\r\n",
        encoding="utf-8")
    (tmp_path / "us").mkdir()
    (tmp_path / "us" / "invoices.csv").write_text(
        "Invoice No,Amount,Currency,Status\r\nU1,$85.00,CAD,paid\r\nU2,$10.00,,paid\r\n",
        encoding="utf-8")
    cols = {"invoice": {"Rechnungsnummer": "source_id", "Betrag": "amount",
                        "Invoice No": "source_id", "Total (€)": "amount", "Amount": "amount",
                        "Currency": "currency", "Status": "status"}}

    def read(folder: Path, files: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        src = create({"path": str(folder), "files": files, "columns": cols}, folder)
        recs, errs, _ = h.read_all(src, "invoice")
        assert errs == []
        return {r.source_id: (str(r.amount), r.currency) for r in recs}

    assert read(tmp_path, {"Rechnungen.csv": "invoice"}) == {
        "RE-1": ("120.00", "EUR"), "RE-2": ("1250.50", "EUR")}
    # the cell's own sign before the column's
    assert read(tmp_path / "ie", {"invoices.csv": "invoice"}) == {
        "INV-1": ("65.00", "EUR"), "INV-2": ("80.50", "GBP")}
    assert read(tmp_path / "us", {"invoices.csv": "invoice"}) == {
        "U1": ("85.00", "CAD"), "U2": ("10.00", None)}
