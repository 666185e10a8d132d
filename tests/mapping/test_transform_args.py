"""Transform arguments are checked at ``map --confirm`` against a schema per transform: a
misspelt key or an unusable value is refused, every problem at once, allowed values listed
(issue 21: ``regoin: AU`` was confirmed and fell back to US; ``region: Australia`` emptied the
field)."""

from __future__ import annotations

import pytest

from ferry.errors import MappingError
from ferry.mapping.mapping_file import load, require_confirmed, save
from ferry.mapping.recipes import load_recipe
from ferry.mapping.transform_args import SCHEMAS
from ferry.mapping.transforms import TRANSFORMS
from ferry.mapping.validate import confirm_file


def _edit(doc, target, name, args):
    for om in doc.objects:
        for fm in om.fields:
            for t in fm.transform:
                if fm.target == target and t.name == name:
                    t.args = args
                    return
    raise AssertionError(f"no {name} on {target}")


def test_confirm_lists_every_bad_argument_and_refuses(tmp_path) -> None:
    path = tmp_path / "mapping.yaml"
    doc = load_recipe("practicehub", "pipedrive")
    _edit(doc, "phones", "phone_e164", {"regoin": "AU"})
    save(doc, path)
    with pytest.raises(MappingError) as e:
        confirm_file(path, None, by="t")
    msg = str(e.value)
    assert "unknown argument 'regoin'; phone_e164 takes region" in msg
    with pytest.raises(MappingError, match="not confirmed"):
        require_confirmed(path)

    doc = load(path)
    _edit(doc, "phones", "phone_e164", {"region": "Australia"})
    ts = [t for om in doc.objects for fm in om.fields for t in fm.transform]
    next(t for t in ts if t.name == "truncate").args = {"max": 0, "sufix": "…"}
    next(t for t in ts if t.name == "template").args = {}
    save(doc, path)
    with pytest.raises(MappingError) as e:
        confirm_file(path, None, by="t")
    msg = str(e.value)
    assert "argument 'region': not a two-letter country code" in msg
    assert "argument 'template' is required" in msg
    assert "unknown argument 'sufix'" in msg and "argument 'max'" in msg
    # every problem at once, one line each
    assert msg.count("\n  - ") >= 4
    with pytest.raises(MappingError, match="not confirmed"):
        require_confirmed(path)


def test_closed_sets_name_their_values() -> None:
    from ferry.mapping.transform_args import check_args

    assert check_args("address", {"part": "planet"}) == [
        "argument 'part': allowed: 'street', 'street2', 'street_lines', 'city', 'region',"
        " 'postcode' or 'country'"]
    assert check_args("money", {"as": "cents"}) == [
        "argument 'as': allowed: 'float', 'decimal' or 'int'"]
    assert check_args("date", {"tz": "Australia"}) != []
    assert check_args("date", {"tz": "Australia/Sydney"}) == []
    assert check_args("phone_e164", {"region": "AU"}) == []


def test_recipes_fit_and_every_transform_has_a_schema(tmp_path) -> None:
    assert set(SCHEMAS) == set(TRANSFORMS)
    path = tmp_path / "mapping.yaml"
    save(load_recipe("practicehub", "pipedrive"), path)
    assert confirm_file(path, None, by="t").confirmed is not None
