"""``ferry map --confirm`` lists the sex letters the map's value map lacks (hout2, 7 December):
the recipes' sex value map keeps what it lacks (``value_map_default: keep``), so a letter from
an export in another language (a Dutch M/V column under an English name, read as written:
vrouw or varón) passed confirm and became an option of its own in the CRM, silently. Sex
letters name no one: the confirm names them; a longer value of the PHI field stays counted."""

from __future__ import annotations

import pytest

from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import FieldProfile, validate


def _profile(*values: str) -> dict:
    return {"patient": {"sex": FieldProfile(values=list(values), filled=len(values),
                                            total=len(values))}}


@pytest.mark.parametrize("destination", ["pipedrive", "salesforce", "odoo"])
def test_a_sex_letter_the_value_map_lacks_is_listed(destination: str) -> None:
    doc = load_recipe("clinic_csv", destination)
    problems = [p for p in validate(doc, _profile("male", "female", "m", "V"))
                if "value map misses" in p]
    assert len(problems) == 1 and "'V'" in problems[0], problems
    assert "kept as written" in problems[0]
    assert not [p for p in validate(doc, _profile("male", "female", "F", "m", "Other"))
                if "value map misses" in p]  # every value in the map: nothing to say


def test_a_longer_value_of_the_phi_field_is_counted_not_named() -> None:
    doc = load_recipe("clinic_csv", "pipedrive")
    [problem] = [p for p in validate(doc, _profile("female", "non-binary person"))
                 if "value map misses" in p]
    assert "non-binary" not in problem and "1 value(s)" in problem
