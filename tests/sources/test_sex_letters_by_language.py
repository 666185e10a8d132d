"""A sex column's letters are read in the language of the export, for the whole column, so no
letter reaches the map's ``m -> Male`` in the wrong language (hout2, 7 December: hand-written
Irish, German, Spanish and Québécois exports). Before: the letters were settled from the first
200 rows only, and never from the column's name, so a German export whose sampled rows were
all W kept 'W' (each an option of its own in the CRM), a Spanish Sexo column of M alone (all
mujeres) became Male, and a Spanish export whose first 200 patients were men read a later
M (mujer) as Male."""

from __future__ import annotations

from pathlib import Path

from ferry.sources.clinic_csv import create


def _read(h, folder: Path, text: str, column: str):  # type: ignore[no-untyped-def]
    (folder / "pacientes.csv").write_text(text, encoding="utf-8")
    src = create({"path": str(folder), "files": {"pacientes.csv": "patient"},
                  "columns": {"patient": {"ID": "source_id", "Nombre": "first_name",
                                          column: "sex"}}}, folder)
    recs, errs, _ = h.read_all(src, "patient")
    return {r.source_id: r.sex for r in recs}, errs


def test_german_letters_by_the_columns_name(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, errs = _read(h, tmp_path, "ID;Nombre;Geschlecht\r\nG1;Anna;W\r\nG2;Lena;w\r\n"
                      "G3;Kim;D\r\n", "Geschlecht")
    assert errs == []
    assert got == {"G1": "female", "G2": "female", "G3": "other"}


def test_a_sexo_column_of_m_alone_is_not_read_as_male(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, errs = _read(h, tmp_path, "ID;Nombre;Sexo\r\nE1;María;M\r\nE2;Lucía;M\r\n", "Sexo")
    assert got == {"E1": None, "E2": None}  # mujer or masculino: left empty, listed
    assert {(e.field, e.kept) for e in errs} == {("sex", True)}
    assert len(errs) == 2 and "language" in errs[0].reason
    h.assert_no_values(errs, "María", "Lucía")


def test_a_later_m_in_a_spanish_column_is_mujer(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    men = "".join(f"E{i};Juan;H\r\n" for i in range(250))
    got, errs = _read(h, tmp_path, "ID;Nombre;Sexo\r\n" + men + "E999;Ana;M\r\n", "Sexo")
    assert errs == []
    assert got["E999"] == "female" and got["E0"] == "male"
    # and under a name that says no language, the letters still settle the whole column
    got, errs = _read(h, tmp_path, "ID;Nombre;Sex\r\n" + men + "E999;Ana;M\r\n", "Sex")
    assert errs == [] and got["E999"] == "female"


def test_portuguese_m_and_f_and_words_in_other_languages(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, errs = _read(h, tmp_path, "ID;Nombre;Sexo\r\nP1;João;M\r\nP2;Ana;F\r\n", "Sexo")
    assert errs == [] and got == {"P1": "male", "P2": "female"}
    got, errs = _read(h, tmp_path, "ID;Nombre;Genre\r\nQ1;René;Homme\r\nQ2;Zoé;femme\r\n"
                      "Q3;Jürgen;männlich\r\n", "Genre")
    assert errs == [] and got == {"Q1": "male", "Q2": "female", "Q3": "male"}


def test_a_french_columns_m_beside_h_and_f_is_masculin(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A French form writes homme / femme (H, F) or masculin / féminin (M, F), and an export
    mixing both has H, F and M. Only a column named exactly Sexe said French: under ``Sexe du
    patient``, ``SEXE_PAT`` or ``Genre`` the M was left empty and listed as unsettled."""
    rows = "F1;Émilie;F\r\nF2;René;H\r\nF3;Marc;M\r\nF4;Zoé;f\r\n"
    for column in ("Sexe du patient", "SEXE_PAT", "Genre", "Genre (H/F)", "SexePatient"):
        got, errs = _read(h, tmp_path, f"ID;Nombre;{column}\r\n" + rows, column)
        assert errs == [], column
        assert got == {"F1": "female", "F2": "male", "F3": "male", "F4": "female"}, column
    # under a name in no language the same letters stay unsettled (Spanish M is mujer)
    got, errs = _read(h, tmp_path, "ID;Nombre;Sex\r\n" + rows, "Sex")
    assert got["F3"] is None and {e.field for e in errs} == {"sex"}
