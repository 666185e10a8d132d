"""Writes whose answer was lost: a gateway's 504 (the sandbox's ``late`` fault) leaves the call
running, and Odoo commits it just before the second call after it (by order, not time: the
connector's first look misses it, its second look finds it, a resend after one look twins it).
Every record and file must still land exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.connectors.base import FileUpload, SchemaItem
from ferry.destinations.odoo.rpc import PROTOCOLS
from ferry.model.fields import Kind

from .test_connector import connect

LATE = "late=0.2"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_writes_landing_after_a_504_land_once(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, protocol: str) -> None:
    """``create`` (a list of rows, one transaction) and ``ir.attachment`` uploads are not
    idempotent: after a lost answer the connector looks the rows up by source id (files by
    their tags), looks again after its settle wait, and sends again only what is still not
    there."""
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, time_scale=1000.0, batch_size=5,
                   protocol=protocol)
    odoo.faults(LATE, seed=2)
    dest.ensure([*(SchemaItem("custom_field", obj, "ferry_source_id", "Ferry source id",
                              Kind.TEXT, external_id=True)
                   for obj in ("res.partner", "ir.attachment")),
                 SchemaItem("pipeline", "deal", "Late pipeline", "Late pipeline"),
                 *(SchemaItem("stage", "deal", f"Late stage {k}", f"Late stage {k}",
                              parent="Late pipeline", order=k) for k in range(4)),
                 *(SchemaItem("activity_type", "activity", f"Late type {k}", f"Late type {k}")
                   for k in range(4))])
    results = dest.create("res.partner", [{"name": f"P{i}", "x_ferry_source_id": f"S{i}"}
                                          for i in range(40)])
    pid = str(results[0].dest_id)
    files = []
    for i in range(12):
        doc = tmp_path / f"f{i}.txt"
        doc.write_bytes(f"file {i}".encode())
        files.append(FileUpload("res.partner", pid, doc, doc.name, "text/plain",
                                {"_source_id": f"D{i}"}))
    uploaded = [r for k in range(0, 12, 3) for r in dest.upload_many(files[k:k + 3])]
    late = httpx.get(f"{odoo.url}/_sandbox/faults", timeout=30).json()["injected"].get("late")
    odoo.faults("")
    assert all(r.ok for r in results + uploaded), [r.error for r in results + uploaded
                                                   if not r.ok]
    assert (late or 0) >= 3
    for model, prefix, n in (("crm.team", "Late pipeline", 1), ("crm.stage", "Late stage", 4),
                             ("mail.activity.type", "Late type", 4)):
        names = dest.rpc.search_read(model, [["name", "=like", prefix + "%"]], ["name"])
        assert sorted(r["name"] for r in names) == sorted(
            {prefix} if n == 1 else {f"{prefix} {k}" for k in range(n)}), model
    assert dest.rpc.execute("ir.model.fields", "search_count",
                            [["name", "=", "x_ferry_source_id"]]) == 2
    partners = dest.rpc.search_read("res.partner", [["x_ferry_source_id", "!=", False]],
                                    ["x_ferry_source_id"])
    assert Counter(p["x_ferry_source_id"] for p in partners) == Counter(
        {f"S{i}": 1 for i in range(40)})
    assert {r.dest_id for r in results} == {str(p["id"]) for p in partners}
    rows = dest.rpc.search_read("ir.attachment", [["res_id", "=", int(pid)]], ["description"])
    assert Counter(r["description"] for r in rows) == {f"[ferry-id:D{i}]": 1 for i in range(12)}
    assert {r.dest_id for r in uploaded} == {str(r["id"]) for r in rows}


def test_a_full_load_under_late_faults_lands_everything_once(tmp_path: Path) -> None:
    """PracticeHub → Odoo through the engine (the default recipe), the load under ``late``
    faults: every record (by its source id) and every attachment (by its tag) once; a
    fault-free run after it finds nothing left to create."""
    import datetime as dt

    from ferry.engine import pipeline
    from ferry.mapping.mapping_file import content_hash, save
    from ferry.mapping.model import Confirmation
    from ferry.mapping.recipes import load_recipe
    from ferry.mapping.review import leave_out_invalid
    from ferry.sandbox import profiles
    from ferry.sandbox.harness import start_pair
    from ferry.sandbox.odoo import profile as odoo_profile
    from ferry.settings import load_settings, save_settings

    profiles.PROFILES.setdefault("odoo", odoo_profile)
    with start_pair(tmp_path / "p", source="practicehub", destination="odoo", patients=10,
                    seed=3, time_scale=1000.0, dest_extra={"version": 17, "accounting": False},
                    env_prefix="FERRY_OLATE_") as pair:
        url = pair.dest_info["base_url"]
        settings = load_settings(pair.project.settings_path)  # more calls, more of them late
        settings.destination = settings.destination.model_copy(update={"batch_size": 5})
        save_settings(settings, pair.project.settings_path)
        doc = load_recipe("practicehub", "odoo", "no_accounting")
        leave_out_invalid(doc)
        doc.confirmed = Confirmation(hash=content_hash(doc), by="tests",
                                     at=dt.datetime.now(dt.UTC).isoformat())
        save(doc, pair.project.mapping_path)
        pipeline.run_extract(pair.project)
        pipeline.run_prepare(pair.project)

        def models() -> dict[str, dict[str, dict[str, Any]]]:
            return dict(httpx.get(f"{url}/_sandbox/state", timeout=60).json()["models"])

        httpx.post(f"{url}/_sandbox/faults", json={"spec": "late=0.3", "seed": 5},
                   timeout=30).raise_for_status()
        report = pipeline.load(pair.project)
        late = httpx.get(f"{url}/_sandbox/faults", timeout=30).json()["injected"].get("late", 0)
        httpx.post(f"{url}/_sandbox/faults", json={"spec": ""}, timeout=30).raise_for_status()
        assert late >= 10
        totals = report.totals()
        assert totals["created"] > 50 and not totals.get("failed"), totals
        loaded = models()
        for model, rows in loaded.items():
            ids = Counter(r.get("x_ferry_source_id") for r in rows.values()
                          if r.get("x_ferry_source_id"))
            assert not [k for k, n in ids.items() if n > 1], model
        tags = Counter(r.get("description") for r in loaded["ir.attachment"].values()
                       if str(r.get("description") or "").startswith("[ferry-id:"))
        assert max(tags.values()) == 1 and len(tags) == totals["uploaded"] > 5, tags
        counts = {m: len(rows) for m, rows in loaded.items()}
        again = pipeline.load(pair.project, kind="run")
        assert not again.totals().get("created"), again.totals()
        assert {m: len(rows) for m, rows in models().items()} == counts


def test_options_added_to_an_open_pick_list_survive_lost_answers(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An option added to an open pick list (a ``write`` of a ``[0, 0, vals]`` command) is not
    idempotent: sent again after a lost answer it meets the option its first try made (unique
    per field) and is refused; the option is there, so the record is written with it."""
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, batch_size=1)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True),
                 SchemaItem("custom_field", "res.partner", "referral_source", "Referral source",
                            Kind.ENUM)])
    odoo.faults("truncate=0.4", seed=1)
    results = dest.create("res.partner", [{"name": f"P{i}", "x_ferry_source_id": f"R{i}",
                                           "x_referral_source": f"Source {i}"}
                                          for i in range(12)])
    cut = httpx.get(f"{odoo.url}/_sandbox/faults", timeout=30).json()["injected"].get("truncate")
    odoo.faults("")
    assert (cut or 0) >= 5
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    got = dest.read("res.partner", [str(r.dest_id) for r in results], ["x_referral_source"])
    assert [got[str(r.dest_id)]["x_referral_source"] for r in results] == [
        f"Source {i}" for i in range(12)]


def test_invoices_posted_after_lost_answers_are_posted_once(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``action_post`` is not idempotent: sent again after a lost answer it finds the moves
    its first try posted no longer draft and is refused; the moves are posted, as asked."""
    import datetime as dt
    from decimal import Decimal

    odoo = odoo_factory(17, accounting=True)
    dest = connect(odoo, monkeypatch, tmp_path, batch_size=2)
    dest.ensure([SchemaItem("custom_field", "account.move", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    [p] = dest.create("res.partner", [{"name": "Payer"}])
    odoo.faults("truncate=0.3", seed=1)
    results = dest.create("account.move", [
        {"partner_id": p.dest_id, "invoice_date": dt.date(2026, 1, 31), "ref": f"B-{i}",
         "amount_total": Decimal("10.50"), "move_type": "out_invoice", "state": "posted",
         "x_ferry_source_id": f"M{i}"} for i in range(12)])
    cut = httpx.get(f"{odoo.url}/_sandbox/faults", timeout=30).json()["injected"].get("truncate")
    odoo.faults("")
    assert (cut or 0) >= 3
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    moves = dest.rpc.search_read("account.move", [["x_ferry_source_id", "!=", False]],
                                 ["x_ferry_source_id", "state"])
    assert sorted((m["x_ferry_source_id"], m["state"]) for m in moves) == sorted(
        (f"M{i}", "posted") for i in range(12))
