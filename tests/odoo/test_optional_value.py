"""Odoo refused a whole patient for one pick-list value its selection lacks (245 patients in one
run). Through the engine's audited writer against the Odoo sandbox: the record is written with
that field empty and the finding (record, field, reason) is in the skip file; a bad value in a
field the map requires still refuses the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.engine.writes import Item, Writer
from ferry.model.audit import AuditLog
from ferry.model.fields import Kind
from ferry.model.staging import StagingStore

from .test_connector import BLOOD, connect


def _rows(keys: dict[str, str]) -> list[Item]:
    sid, blood = keys["ferry_source_id"], keys["studio_blood_group"]
    return [Item("patient", str(i), {"name": f"Patient {i}", sid: str(i), blood: b})
            for i, b in enumerate(["A+", "Z+", "O-"], start=1)]


@pytest.mark.parametrize("required", [False, True])
def test_bad_pick_list_value(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path, required: bool) -> None:
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    made = dest.ensure([
        SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                   Kind.TEXT, external_id=True),
        SchemaItem("custom_field", "res.partner", "studio_blood_group", "Blood group",
                   Kind.ENUM, options=BLOOD)])
    keys = {p.item.name: p.key for p in made}
    store = StagingStore(tmp_path / "staging.db")
    writer = Writer(store, AuditLog(store), dest, "run-1")
    if required:
        writer.required["res.partner"] = {keys["studio_blood_group"]}
    results = writer.create("res.partner", _rows(keys), {"map": "patient_partner"})
    skips = {s.ref: s for s in store.skips("run-1")}
    bad = skips["source:patient:2"]
    assert bad.field == keys["studio_blood_group"] and "options" in bad.reason
    if required:
        assert [r.ok for r in results] == [True, False, True]
        assert bad.stage == "load" and store.dest_id("patient", "2") is None
    else:
        assert all(r.ok for r in results)
        assert bad.stage == "load-field" and bad.reason.startswith("field left empty")
        did = store.dest_id("patient", "2", "res.partner")
        row = dest.read("res.partner", [did], [keys["studio_blood_group"]])[did]
        assert row.get(keys["studio_blood_group"]) in (None, "", False)
        assert set(skips) == {"source:patient:2"}
    store.close()
