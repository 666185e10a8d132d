"""Odoo tags and titles through the real connector over HTTP (issue 17), checked with
``xmlrpc.client`` as an Odoo admin would look: patients carry the partner tag "Patient", each
appointment lead carries its treatment type as a crm.tag, a patient's title lands on Odoo's own
titles ("Dr" → Doctor) or a new one ("Ms"), and a rollback removes what Ferry added — and only
that: a tag the practice had before the run stays.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.engine import pipeline
from ferry.mapping.mapping_file import save
from ferry.mapping.recipes import load_recipe
from ferry.mapping.review import leave_out_invalid
from ferry.mapping.validate import confirm
from ferry.sandbox.harness import start_pair

BASE_TITLES = {"Madam", "Miss", "Mister", "Doctor", "Professor"}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    with start_pair(tmp_path / "p", source="practicehub", destination="odoo", patients=10,
                    seed=8, time_scale=1000.0, env_prefix="FERRY_OTAG_") as p:
        yield p


def test_tags_and_titles_land_and_roll_back(pair: Any) -> None:
    c = pair.dest_info["credentials"]
    obj = xmlrpc.client.ServerProxy(f"{c['url']}/xmlrpc/2/object", allow_none=True)

    def call(model: str, method: str, *args: Any, **kw: Any) -> Any:
        return obj.execute_kw(c["db"], 2, c["api_key"], model, method, list(args), kw)

    own = call("res.partner.category", "create", {"name": "Patient"})  # the practice's own
    doc = load_recipe("practicehub", "odoo", "no_accounting")
    leave_out_invalid(doc)
    doc = confirm(doc, by="tests")  # validated and stamped, as `map --confirm` does
    save(doc, pair.project.mapping_path)
    pipeline.run_extract(pair.project)
    pipeline.run_prepare(pair.project)
    pipeline.load(pair.project)

    patients = {p.source_id: p for p in pair.practice.iter("patient")}
    rows = call("res.partner", "search_read", [["x_ferry_source_id", "in", list(patients)]],
                fields=["x_ferry_source_id", "category_id", "title"])
    assert len(rows) == len(patients)
    assert all(r["category_id"] == [own] for r in rows)  # reused, not duplicated
    titles = {t["id"]: t for t in call("res.partner.title", "search_read", [],
                                       fields=["name", "shortcut"])}
    expect = {"Dr": "Doctor", "Mr": "Mister", "Mrs": "Madam", "Miss": "Miss"}
    seen_new = set()
    for r in rows:
        given = patients[r["x_ferry_source_id"]].title
        if not given:
            assert r["title"] is False
            continue
        name = titles[r["title"][0]]["name"]
        assert name == expect.get(given, given), (given, name)
        if given not in expect:
            seen_new.add(given)
    assert seen_new == {"Ms"}  # seed 8's patients: Ms, Miss, Mr — Odoo has no "Ms"
    marks = call("ir.model.data", "search_read", [["module", "=", "ferry"]],
                 fields=["model", "res_id"])
    assert {m["res_id"] for m in marks if m["model"] == "res.partner.title"} == \
        {tid for tid, t in titles.items() if t["name"] in seen_new}

    types = {str(a.type_name) for a in pair.practice.iter("appointment") if a.type_name}
    tags = {t["id"]: t["name"] for t in call("crm.tag", "search_read", [], fields=["name"])}
    assert set(tags.values()) <= types and len(tags) == len(set(tags.values())) > 1
    leads = call("crm.lead", "search_read", [["x_ferry_source_id", "!=", False]],
                 fields=["name", "tag_ids"], context={"active_test": False})
    assert leads and all(len(ld["tag_ids"]) == 1 and ld["name"].startswith(
        tags[ld["tag_ids"][0]]) for ld in leads)

    result = pipeline.run_rollback(pair.project)
    assert not result.failures
    assert call("crm.tag", "search", []) == []
    assert call("res.partner.category", "search", []) == [own]
    assert {t["name"] for t in call("res.partner.title", "search_read", [],
                                    fields=["name"])} == BASE_TITLES
    assert call("ir.model.data", "search", [["module", "=", "ferry"]]) == []
