"""A region written another way is the same region (``ferry.model.regions``), and nothing else:
a modern area is never its postal county, an ambiguous name never one of its parts."""

from __future__ import annotations

import pytest

from ferry.model.regions import ALIASES, fold, region_forms


@pytest.mark.parametrize(("text", "country", "form"), [
    ("Glos", "GB", "gloucestershire"), ("Lancs.", "GB", "lancashire"),
    ("HERTS", "GB", "hertfordshire"), ("N Yorks", "GB", "north yorkshire"),
    ("W. Sussex", "GB", "west sussex"), ("S Glam", "GB", "south glamorgan"),
    ("Co. Durham", "GB", "county durham"), ("Salop", "GB", "shropshire"),
    ("County Derry", "GB", "county londonderry"), ("Orkney Islands", "GB", "orkney"),
    ("Odisha", "IN", "orissa"), ("Manawatū-Whanganui", "NZ", "manawatu wanganui"),
    ("Glos", None, "gloucestershire"),  # no country known: every country's names
    ("Ont.", "CA", "ontario"), ("Qué.", "CA", "quebec"), ("P.E.I.", "CA", "prince edward island"),
    ("Nfld.", "CA", "newfoundland and labrador"), ("Calif.", "US", "california"),
    ("W.Va.", "US", "west virginia"), ("W. Va.", "US", "west virginia"),
    ("B.C.", "CA", "british columbia"), ("N.Y.", "US", "new york"),
])
def test_other_names_of_the_same_region(text: str, country: str | None, form: str) -> None:
    forms = region_forms(text, country)
    assert forms[0] == fold(text) and form in forms


@pytest.mark.parametrize("text", ["Greater Manchester", "Bristol", "Moray", "Pembrokeshire",
                                  "Yorkshire", "Sussex", "Highland", "Here"])
def test_no_neighbour_part_or_successor(text: str) -> None:
    assert region_forms(text, "GB") == [fold(text)]


def test_folding() -> None:
    assert fold("Hawke's Bay") == fold("Hawkes Bay") == "hawkes bay"
    assert fold("Inverness-Shire") == "inverness shire"
    assert fold("Tyne & Wear") == "tyne and wear"
    assert fold("  Ávila ") == "avila"


def test_every_alias_is_folded_and_names_another_form() -> None:
    for table in ALIASES.values():
        for alias, name in table.items():
            assert alias == fold(alias) and name == fold(name) and alias != name
