"""A country column as a practice abroad writes it: headed in its own language (Pays, País,
Land, Paese) or as some systems do (Country/Territory), its values the countries' names in that
language (Belgique, Países Bajos, Österreich). The value profile knew only a short list of
English names and the proposer only English headers, so such a column went to a custom field
(the map's country empty) or its values vetoed the country field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.mapping.columns import propose_for_source
from ferry.mapping.profile import field_fit, sniff
from ferry.sources.clinic_csv import create

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")

COLUMNS = [
    ("Pays", ["France", "Belgique", "Suisse", "Pays-Bas", "Royaume-Uni"]),
    ("País", ["España", "Francia", "Países Bajos", "Portugal", "Alemania"]),
    ("Land", ["Deutschland", "Österreich", "Schweiz", "Frankreich", "Niederlande"]),
    ("Paese", ["Italia", "Svizzera", "Francia", "Germania", "Spagna"]),
    ("Country/Territory", ["United Kingdom", "Ireland", "Norway", "South Korea", "Viet Nam"]),
]


@pytest.mark.parametrize(("header", "values"), COLUMNS)
def test_country_names_in_any_language_look_like_countries(header: str,
                                                           values: list[str]) -> None:
    sniffed = sniff(values)
    assert sniffed.get("country") == 1.0, header
    assert field_fit("country", sniffed)
    # a city is no country, in any language
    assert not sniff(["Paris", "Lyon", "Nantes", "Lille", "Bordeaux"]).get("country")
    assert not field_fit("country", sniff(["Paris", "Lyon", "Nantes", "Lille", "Bordeaux"]))


@pytest.mark.parametrize(("header", "values"), COLUMNS)
def test_a_country_column_headed_in_its_language_is_proposed_as_country(
        tmp_path: Path, header: str, values: list[str]) -> None:
    rows = "".join(f"{i},Ann{i},Example,{v}\r\n" for i, v in enumerate(values, 1))
    (tmp_path / "patients.csv").write_text(f"Patient ID,First Name,Last Name,{header}\r\n"
                                           + rows, encoding="utf-8")
    got = {(p.object, p.column): p.target
           for p in propose_for_source(create({"path": str(tmp_path)}, tmp_path), {})}
    assert got[("patient", header)] == "country", header
