"""A country as a practice writes it (its own language, a code, a common variant) is read as
one ISO 3166-1 code (``ferry.model.countries``, pycountry's names and their translations), and
the map writes it by its English name; a name that is not one country is never guessed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from ferry.mapping.address import parse_address
from ferry.mapping.model import MappingDoc
from ferry.mapping.phones import record_country
from ferry.mapping.transforms import TRANSFORMS, Ctx
from ferry.model.countries import country_code, country_name, read_country
from ferry.model.entities import Patient


@pytest.mark.parametrize(("text", "code"), [
    ("Deutschland", "DE"), ("España", "ES"), ("Espana", "ES"), ("Nederland", "NL"),
    ("Österreich", "AT"), ("Schweiz", "CH"), ("Suisse", "CH"), ("Svizzera", "CH"),
    ("Royaume-Uni", "GB"), ("Estados Unidos", "US"), ("Países Bajos", "NL"), ("Italia", "IT"),
    ("Polska", "PL"), ("België", "BE"), ("Éire", "IE"), ("日本", "JP"),
    ("UK", "GB"), ("U.K.", "GB"), ("Great Britain", "GB"), ("England", "GB"),
    ("Scotland", "GB"), ("Wales", "GB"), ("Northern Ireland", "GB"), ("USA", "US"),
    ("U.S.A.", "US"), ("United States of America", "US"), ("Holland", "NL"),
    ("The Netherlands", "NL"), ("DEU", "DE"), ("de", "DE"), ("South Korea", "KR"),
    ("Viet Nam", "VN"), ("  germany ", "DE"),
])
def test_a_country_however_written(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize("text", [
    "Paraguai",  # Paraguay in Catalan, Nicaragua in Occitan's catalogue: two countries
    "Springfield", "N/A", "Unknown", "", "  ", None, 49,
])
def test_no_country_is_guessed(text: object) -> None:
    assert country_code(text) is None


def test_the_english_name_written() -> None:
    assert [country_name(c) for c in ("DE", "GB", "US", "KR", "at")] == \
        ["Germany", "United Kingdom", "United States", "South Korea", "Austria"]


def test_a_country_that_is_also_a_state_needs_the_record_to_agree() -> None:
    assert read_country("Georgia").code == "GE"  # no state, no postcode: the country
    us = read_country("Georgia", "GA", "30301")
    assert (us.code, us.ambiguous) == (None, True)
    assert read_country("Georgia", "Tbilisi", None).ambiguous  # a state that says nothing
    assert read_country("DE", "Bayern", "80331").code == "DE"  # a code is no state (Delaware)
    assert read_country("Deutschland", "Bayern", "80331").code == "DE"
    # the phones of the ambiguous record are read by its state and ZIP instead
    rec = Patient(source_id="g", first_name="A", last_name="B", country="Georgia",
                  region="GA", postcode="30301", date_of_birth=dt.date(1980, 1, 2))
    assert record_country(rec, infer=True) == "US"
    assert record_country(rec) is None  # the practice's country configured: no inference


@pytest.mark.parametrize(("text", "country"), [
    ("Hauptstraße 1, 10115 Berlin, Deutschland", "Germany"),
    ("Calle Mayor 5, 28013 Madrid, España", "Spain"),
    ("12 High Street, Leeds LS1 4AB, U.K.", "United Kingdom"),
    ("1 Main St, Chicago, IL", None),  # a state's code, not Israel
    ("1 Peachtree St, Atlanta, Georgia", None),  # a state's name too: not the country
    ("1 Main St, Springfield", None),
])
def test_the_country_ending_a_one_line_address(text: str, country: str | None) -> None:
    assert parse_address(text).country == country


def _country(value: object, **record: object) -> object:
    rec = Patient(source_id="p", first_name="A", last_name="B", **record)  # type: ignore[arg-type]
    ctx = Ctx(record=rec, lookup=None, doc=MappingDoc(source="x", destination="y",  # type: ignore[arg-type]
                                                     objects=[]), key="k")
    return TRANSFORMS["address"].fn(value, {"part": "country"}, ctx)


def test_the_map_writes_a_country_by_its_english_name() -> None:
    assert _country(["Deutschland", None]) == "Germany"
    assert _country(["USA", "1 Main St, Chicago, IL 60601"]) == "United States"
    assert _country("UK") == "United Kingdom"  # a country column mapped alone
    assert _country([None, "Calle Mayor 5, 28013 Madrid, España"]) == "Spain"
    # not read as one country: written as exported, as before (the audit lists it)
    assert _country(["Atlantis", None]) == "Atlantis"
    assert _country(["Georgia", None], region="GA", postcode="30301") == "Georgia"
    assert _country(["Georgia", None]) == "Georgia"


def test_the_names_are_read_lazily_and_once() -> None:
    """Importing the module loads no catalogue; a code or an English name loads none of the
    ~160 translations; the first other name builds the reverse map once."""
    code = (
        "import sys\n"
        "import ferry.model.countries as c\n"
        "assert 'pycountry' not in sys.modules\n"
        "assert c.country_code('DE') == 'DE' and c.country_code('Germany') == 'DE'\n"
        "assert c._translated.cache_info().currsize == 0\n"
        "assert c.country_code('Deutschland') == 'DE'\n"
        "assert c.country_code('Österreich') == 'AT'\n"
        "assert c._translated.cache_info().misses == 1\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
