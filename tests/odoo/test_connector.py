"""The real Odoo connector against the sandbox over real HTTP: schema, round trips, rollback."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.connectors.registry import make_destination
from ferry.destinations.odoo.rpc import PROTOCOLS
from ferry.destinations.odoo.writer import OdooDestination
from ferry.errors import ConfigError, FatalError, RecordError
from ferry.model.fields import Kind

BLOOD = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
TIMESTAMPS = ("create_date", "write_date")


def connect(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: Any
            ) -> OdooDestination:
    c = odoo.creds
    monkeypatch.setenv("ODOO_TEST_API_KEY", c["api_key"])
    settings = {"kind": "odoo", "url": odoo.url, "db": c["db"], "login": c["login"],
                "api_key_env": "ODOO_TEST_API_KEY", "time_scale": 1000.0, **extra}
    dest = make_destination("odoo", settings, tmp_path)
    assert isinstance(dest, OdooDestination)
    return dest


def schema(accounting: bool) -> list[SchemaItem]:
    items = [SchemaItem("custom_field", obj, "ferry_source_id", "Ferry source id", Kind.TEXT,
                        external_id=True)
             for obj in ("res.partner", "crm.lead", "mail.activity", "ir.attachment")]
    items += [
        SchemaItem("custom_field", "res.partner", "studio_date_of_birth", "Date of birth",
                   Kind.DATE),
        SchemaItem("custom_field", "res.partner", "studio_blood_group", "Blood group",
                   Kind.ENUM, options=BLOOD),
        SchemaItem("custom_field", "res.partner", "studio_allergy_notes", "Allergies",
                   Kind.LONG_TEXT),
        SchemaItem("custom_field", "res.partner", "languages", "Languages", Kind.SET),
        SchemaItem("custom_field", "crm.lead", "visit_type", "Visit type", Kind.ENUM,
                   options=("New patient", "Follow-up")),
        SchemaItem("pipeline", "deal", "Appointments", "Appointments"),
        SchemaItem("stage", "deal", "Scheduled", "Scheduled", parent="Appointments", order=0),
        SchemaItem("stage", "deal", "Completed", "Completed", parent="Appointments", order=1),
        SchemaItem("activity_type", "activity", "Consultation", "Consultation"),
        SchemaItem("activity_type", "activity", "Call", "Call"),
    ]
    if not accounting:
        items += [SchemaItem("custom_field", "res.partner", "studio_billing_status",
                             "Billing status", Kind.ENUM, options=("Paid", "Due")),
                  SchemaItem("custom_field", "res.partner", "studio_outstanding_balance",
                             "Outstanding balance", Kind.MONEY)]
    return items


def stripped(state: dict[str, Any]) -> dict[str, Any]:
    return {m: {i: {k: v for k, v in r.items() if k not in TIMESTAMPS} for i, r in t.items()}
            for m, t in state["models"].items()} | {"custom": state["custom_fields"]}


def test_check_describe_and_users(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    for accounting in (False, True):
        dest = connect(odoo_factory(17, accounting=accounting), monkeypatch, tmp_path)
        checks = {c.name: c for c in dest.check()}
        assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
        assert ("account.move" in checks["accounting"].detail) is accounting
        objects = {o.name: o for o in dest.describe()}
        assert ("account.move" in objects) is accounting
        assert dest.accounting_installed() is accounting
        partner = objects["res.partner"]
        assert partner.field("country_id").kind is Kind.REF  # type: ignore[union-attr]
        assert partner.field("email").kind is Kind.EMAIL  # type: ignore[union-attr]
        assert partner.field("mobile") is not None
    emails = sorted(u.email for u in dest.users())
    assert emails == ["admin@example.com", "dr.grey@clinic.test", "dr.house@clinic.test"]


def test_check_reports_bad_login_without_the_secret(odoo_factory: Any,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    odoo = odoo_factory(17)
    monkeypatch.setenv("ODOO_BAD", "not-the-password-123")
    dest = make_destination("odoo", {"url": odoo.url, "db": "ferry", "login": "admin",
                                     "password_env": "ODOO_BAD", "time_scale": 1000}, tmp_path)
    checks = {c.name: c for c in dest.check()}
    assert checks["reachable"].ok and not checks["login"].ok
    assert "not-the-password-123" not in repr(checks) and "users" not in checks
    with pytest.raises(ValueError):
        make_destination("odoo", {"url": odoo.url, "db": "d", "login": "a"}, tmp_path)


def test_provision_is_idempotent(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    items = schema(accounting=False)
    first = dest.ensure(items)
    keys = {p.item.name: p.key for p in first if p.item.kind == "custom_field"}
    assert keys["studio_date_of_birth"] == "x_studio_date_of_birth"
    assert keys["ferry_source_id"] == "x_ferry_source_id"
    created = {(p.item.kind, p.item.name) for p in first if p.created}
    assert ("activity_type", "Call") not in created  # a standard type is reused
    assert ("activity_type", "Consultation") in created and ("stage", "Scheduled") in created
    blood = next(p for p in first if p.item.name == "studio_blood_group")
    assert blood.option_ids == {b: b for b in BLOOD}
    state = stripped(odoo.state())
    more = [*items[:-1], SchemaItem("custom_field", "crm.lead", "visit_type", "Visit type",
                                    Kind.ENUM, options=("New patient", "Follow-up", "Review"))]
    second = dest.ensure(more)
    assert not any(p.created for p in second)
    assert [p.key for p in second[:-1]] == [p.key for p in first[:len(more) - 1]]
    assert second[-1].option_ids["Review"] == "Review"
    after = stripped(odoo.state())
    assert after["crm.stage"] == state["crm.stage"] and after["custom"] == state["custom"]
    meta = dest.rpc.execute("crm.lead", "fields_get", ["x_visit_type"], attributes=["selection"])
    assert [v for v, _ in meta["x_visit_type"]["selection"]][-1] == "Review"


def test_round_trip_per_object_with_accounting(odoo_factory: Any,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    odoo = odoo_factory(17, accounting=True)
    dest = connect(odoo, monkeypatch, tmp_path)
    prov = {(p.item.kind, p.item.name): p.key for p in dest.ensure(schema(accounting=True))}
    grey = next(u.id for u in dest.users() if u.email.startswith("dr.grey"))
    gb = str(dest.rpc.execute("res.country", "search", [["code", "=", "GB"]])[0])
    # odoo's base data gives the UK its historic counties (Kent is O5), not the four nations
    kent = str(dest.rpc.execute("res.country.state", "search", [["code", "=", "O5"]])[0])
    patient = {"name": "Ada Byron", "email": "ada@example.test", "phone": "+44 20 7946 0000",
               "street": "1 Test Row", "city": "London", "zip": "N1 1AA", "country_id": "GB",
               "state_id": "Kent", "user_id": "dr.grey@clinic.test",
               "x_studio_date_of_birth": dt.date(1985, 12, 10), "x_studio_blood_group": "AB-",
               "x_studio_allergy_notes": "penicillin", "x_languages": ["English", "Welsh"],
               "comment": "prefers mornings", "x_ferry_source_id": "p-1"}
    [res] = dest.create("res.partner", [patient])
    assert res.ok and res.created
    pid = res.dest_id or ""
    back = dest.read("res.partner", [pid], list(patient))[pid]
    assert back == {**patient, "user_id": grey}  # lookups read back by code/name, users by id
    ids = dest.read("res.partner", [pid], ["country_id", "state_id"])[pid]
    assert dest.rpc.execute("res.partner", "read", [int(pid)], fields=["country_id", "state_id"],
                            load=None)[0] == {"id": int(pid), "country_id": int(gb),
                                              "state_id": int(kent)}
    assert ids == {"country_id": "GB", "state_id": "Kent"}
    assert dest.find("res.partner", "x_ferry_source_id", ["p-1", "p-404"]) == {"p-1": pid}

    lead = {"name": "Check-up", "partner_id": pid, "stage_id": prov[("stage", "Completed")],
            "team_id": prov[("pipeline", "Appointments")], "type": "opportunity",
            "user_id": grey, "date_deadline": dt.date(2026, 3, 1),
            "expected_revenue": Decimal("95.50"), "x_visit_type": "Follow-up",
            "x_ferry_source_id": "a-1"}
    activity = {"res_model": "res.partner", "res_id": int(pid), "summary": "Consultation",
                "activity_type_id": "Consultation", "user_id": grey,
                "date_deadline": dt.date(2026, 3, 2), "note": "bring x-rays",
                "x_ferry_source_id": "a-2"}
    message = {"model": "res.partner", "res_id": int(pid), "body": "Hello &amp; welcome<br>Dr G",
               "message_type": "comment", "subtype_xmlid": "mail.mt_note",
               "date": dt.datetime(2025, 5, 1, 9, 30, tzinfo=dt.UTC)}
    invoice = {"partner_id": pid, "invoice_date": dt.date(2026, 1, 31), "ref": "B-77",
               "amount_total": Decimal("120.50"), "move_type": "out_invoice",
               "currency_id": dest.resolve_value("account.move", "currency_id", "EUR"),
               "state": "posted"}
    for obj, row in (("crm.lead", lead), ("mail.activity", activity),
                     ("mail.message", message), ("account.move", invoice)):
        [r] = dest.create(obj, [row])
        assert r.ok, (obj, r.error)
        assert dest.read(obj, [r.dest_id or ""], list(row))[r.dest_id or ""] == row, obj
    [void] = dest.create("account.move", [{**invoice, "ref": "B-78", "state": "cancel",
                                           "currency_id": "eur"}])
    assert dest.read("account.move", [void.dest_id or ""], ["state", "currency_id"]) == {
        void.dest_id: {"state": "cancel", "currency_id": invoice["currency_id"]}}

    doc = tmp_path / "rx.pdf"
    doc.write_bytes(b"%PDF-1.4 prescription")
    up = dest.upload("res.partner", pid, doc, "rx-2026-01.pdf", "application/pdf",
                     {"x_ferry_source_id": "rx-1"})
    assert up.ok and up.created
    again = dest.upload("res.partner", pid, doc, "rx-2026-01.pdf", "application/pdf",
                        {"x_ferry_source_id": "rx-1"})
    assert again.dest_id == up.dest_id and not again.created  # retried upload finds it
    att = dest.read("ir.attachment", [up.dest_id or ""],
                    ["res_model", "res_id", "file_size", "name", "mimetype"])[up.dest_id or ""]
    assert att == {"res_model": "res.partner", "res_id": int(pid), "file_size": 21,
                   "name": "rx-2026-01.pdf", "mimetype": "application/pdf"}

    moved = dest.find("account.move", "ref", ["B-77"])["B-77"]  # posted: reset, write, repost
    [m] = dest.update("account.move", [(moved, {"amount_total": Decimal("99.90"),
                                                "invoice_date": dt.date(2026, 2, 1)})])
    assert m.ok, m.error
    assert dest.read("account.move", [moved], ["amount_total", "state", "invoice_date"]) == {
        moved: {"amount_total": Decimal("99.9"), "state": "posted",
                "invoice_date": dt.date(2026, 2, 1)}}
    [u] = dest.update("res.partner", [(pid, {"phone": None, "x_studio_blood_group": "O+"})])
    assert u.ok
    assert dest.read("res.partner", [pid], ["phone", "x_studio_blood_group"])[pid] == {
        "phone": None, "x_studio_blood_group": "O+"}
    assert list(dest.iter_ids("account.move")) == [
        dest.find("account.move", "ref", ["B-77"])["B-77"], void.dest_id]


def test_accounting_off_billing_goes_to_partner_fields(odoo_factory: Any,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    odoo = odoo_factory(18, accounting=False)
    dest = connect(odoo, monkeypatch, tmp_path)
    dest.ensure(schema(accounting=False))
    row = {"name": "Bill Payer", "x_studio_billing_status": "Due",
           "x_studio_outstanding_balance": Decimal("42.10"), "mobile": "+44 7700 900000"}
    [r] = dest.create("res.partner", [row])
    assert dest.read("res.partner", [r.dest_id or ""], list(row))[r.dest_id or ""] == row
    with pytest.raises(ConfigError):
        dest.create("account.move", [{"partner_id": r.dest_id, "amount_total": 1}])


def test_batches_bisect_bad_rows_without_leaking_values(odoo_factory: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, batch_size=50)
    dest.ensure(schema(accounting=False)[:1])
    rows = [{"name": f"Patient {i}", "email": f"p{i}@example.test", "x_ferry_source_id": f"s{i}"}
            for i in range(120)]
    rows[7] = {"email": "secret-nameless@example.test", "x_ferry_source_id": "s7"}
    rows[88]["x_studio_nope"] = "x"
    rows[88].pop("x_studio_nope")
    rows[88]["user_id"] = "nobody-here@example.test"  # (an unknown country loses only its field)
    results = dest.create("res.partner", rows)
    bad = {i: r.error for i, r in enumerate(results) if not r.ok}
    assert set(bad) == {7, 88}
    assert isinstance(bad[7], RecordError) and bad[7].ref == "odoo:res.partner:s7"
    assert "require a name" in bad[7].reason and "secret-nameless" not in str(bad[7])
    assert bad[88].field == "user_id" and "nobody-here" not in str(bad[88])  # type: ignore
    assert dest.rpc.calls["res.partner.create"] <= 3 + 2 * 6  # 3 batches + bisection
    assert len(dest.find("res.partner", "x_ferry_source_id", [f"s{i}" for i in range(120)])
               ) == 118


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_transport_faults_never_duplicate(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, protocol: str) -> None:
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, batch_size=20, protocol=protocol)
    dest.ensure(schema(accounting=False)[:1])
    odoo.faults("502=0.15,drop=0.1,truncate=0.15,lock=0.1,429=0.05", seed=3)
    rows = [{"name": f"P{i}", "x_ferry_source_id": f"t{i}"} for i in range(200)]
    results = dest.create("res.partner", rows)
    odoo.faults("")
    assert all(r.ok for r in results)
    ids = [r.dest_id for r in results]
    assert len(set(ids)) == 200
    tagged = dest.rpc.execute("res.partner", "search_count", [["x_ferry_source_id", "!=", False]])
    assert tagged == 200
    odoo.faults("502=0.1,drop=0.05,truncate=0.15,lock=0.05", seed=5)
    deleted = dest.delete("res.partner", [str(i) for i in ids])
    stage = dest.ensure([SchemaItem("stage", "deal", "Faulty", "Faulty")])
    odoo.faults("")
    assert all(r.ok for r in deleted), [r.error for r in deleted if not r.ok]
    assert dest.rpc.execute("res.partner", "search_count", [["x_ferry_source_id", "!=", False]]
                            ) == 0
    assert dest.rpc.execute("crm.stage", "search_count", [["name", "=", "Faulty"]]) == 1
    assert stage[0].created
    # an unlink retried after its first try committed meets MissingError: that is success
    three = [int(r.dest_id or 0) for r in dest.create("res.partner", [{"name": "x"}] * 3)]
    dest.rpc.execute("res.partner", "unlink", three[:1])
    failed: dict[int, Any] = {}
    dest._unlink("res.partner", three, failed)
    assert not failed and dest.rpc.execute("res.partner", "search", [["id", "in", three]]) == []


def test_version_drift_and_unknown_fields(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    dest = connect(odoo_factory(19), monkeypatch, tmp_path)
    assert "mobile" not in dest.fields_meta("res.partner")
    rows = [{"name": "A", "mobile": "+1 555 0100"},  # no mobile in 19: it becomes the phone
            {"name": "B", "mobile": "+1 555 0101", "phone": "+1 555 0199"},  # dropped
            {"name": "C", "country_id": "United Kingdom", "state_id": "England"}]  # no such state
    ids = [r.dest_id or "" for r in dest.create("res.partner", rows)]
    got = dest.read("res.partner", ids, ["phone", "mobile", "country_id", "state_id"])
    assert [got[i]["phone"] for i in ids] == ["+1 555 0100", "+1 555 0199", None]
    assert got[ids[0]]["mobile"] is None
    assert got[ids[2]]["country_id"] == dest.resolve_value("res.partner", "country_id", "GB")
    assert got[ids[2]]["state_id"] is None
    before = dest.rpc.calls["res.partner.create"]
    with pytest.raises(FatalError, match="no field x_unknown"):
        dest.create("res.partner", [{"name": "X", "x_unknown": 1}])
    assert dest.rpc.calls["res.partner.create"] == before  # refused before sending


def test_rollback_leaves_the_sandbox_as_before(odoo_factory: Any,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    odoo = odoo_factory(17, accounting=True)
    dest = connect(odoo, monkeypatch, tmp_path)
    before = stripped(odoo.state())
    provisioned = dest.ensure(schema(accounting=True))
    stage = next(p.key for p in provisioned if p.item.name == "Scheduled")
    people = dest.create("res.partner", [{"name": f"R{i}", "x_ferry_source_id": f"r{i}",
                                          "country_id": "AU", "state_id": "VIC"}
                                         for i in range(5)])
    pids = [r.dest_id or "" for r in people]
    leads = dest.create("crm.lead", [{"name": "Visit", "partner_id": p, "stage_id": stage}
                                     for p in pids])
    acts = dest.create("mail.activity", [{"res_model": "res.partner", "res_id": int(pids[0]),
                                          "summary": "Call back"}])
    moves = dest.create("account.move", [{"partner_id": pids[1], "amount_total": 10}])
    doc = tmp_path / "note.txt"
    doc.write_text("clinical note")
    att = dest.upload("res.partner", pids[2], doc, "note.txt", "text/plain")
    again = dest.upload("res.partner", pids[2], doc, "note.txt", "text/plain")
    assert again.dest_id == att.dest_id and not again.created  # same file, same record
    dest.update("res.partner", [(pids[3], {"city": "Melbourne"})])
    assert stripped(odoo.state()) != before
    # rollback: delete in reverse dependency order, then remove the schema Ferry created
    for obj, results in (("ir.attachment", [att]), ("account.move", moves),
                         ("mail.activity", acts), ("crm.lead", leads), ("res.partner", people)):
        assert all(r.ok for r in dest.delete(obj, [r.dest_id or "" for r in results]))
    assert all(r.ok for r in dest.delete("res.partner", pids[:1]))  # already gone: fine
    for p in reversed(provisioned):
        if p.created:
            dest.remove(p)
    assert stripped(odoo.state()) == before


def test_pace_follows_the_setting(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path, emulated_time: Any) -> None:
    """The pacer's clock is an emulated one that only its waits move, so the 5 intervals
    between 6 calls are exactly the waits it asked for. (On the real clock, timed from the
    first call's answer, a loaded machine's slow first round trip ate into the first
    interval: 0.2206 s for 0.225 beside four niced yes at load 17; and a broken pacer's 6
    slow round trips could pass.)"""
    from ferry.connectors import ratelimit
    from ferry.sandbox.clock import Clock

    clock = emulated_time(Clock(), ratelimit)
    dest = connect(odoo_factory(17), monkeypatch, tmp_path, time_scale=20.0,
                   requests_per_second=1.0)
    dest.rpc.version()
    start = clock.monotonic()
    for _ in range(5):
        dest.rpc.version()
    assert clock.monotonic() - start >= 5 * 0.05 * 0.9  # 1 call/s, scaled by 20
    assert dest.rate().requests_per_second == 1.0


def test_open_pick_list_gains_options_and_non_admin_check(odoo_factory: Any,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    [open_field] = dest.ensure([SchemaItem("custom_field", "res.partner", "referral_source",
                                           "Referral source", Kind.ENUM)])
    rows = [{"name": "A", "x_referral_source": "Google"},
            {"name": "B", "x_referral_source": "Friend"},
            {"name": "C", "x_referral_source": "Google"}]
    ids = [r.dest_id or "" for r in dest.create("res.partner", rows)]
    got = dest.read("res.partner", ids, ["x_referral_source"])
    assert [got[i]["x_referral_source"] for i in ids] == ["Google", "Friend", "Google"]
    meta = dest.rpc.execute("res.partner", "fields_get", ["x_referral_source"],
                            attributes=["type", "selection"])["x_referral_source"]
    assert meta["type"] == "selection" and meta["selection"] == [["Google", "Google"],
                                                                ["Friend", "Friend"]]
    assert open_field.created
    # a listed pick-list stays strict: a value outside it is a record error, not an option
    dest.ensure([SchemaItem("custom_field", "res.partner", "sex", "Sex", Kind.ENUM,
                            options=("Female", "Male"))])
    [bad] = dest.create("res.partner", [{"name": "D", "x_sex": "Robot"}])
    assert not bad.ok and bad.error.field == "x_sex"  # type: ignore[union-attr]
    # a non-admin login passes the login check and fails the rights check with a fix
    login, password = next(iter(odoo.creds["users"].items()))
    monkeypatch.setenv("ODOO_USER_PW", password)
    user = make_destination("odoo", {"url": odoo.url, "db": "ferry", "login": login,
                                     "password_env": "ODOO_USER_PW", "time_scale": 1000},
                            tmp_path)
    checks = {c.name: c for c in user.check()}
    assert checks["login"].ok and not checks["admin rights"].ok
    assert "administrator" in checks["admin rights"].fix
    with pytest.raises(FatalError, match="access rights"):
        user.ensure([SchemaItem("custom_field", "res.partner", "x_other", "Other", Kind.TEXT)])


def test_design_rules_name_what_odoo_does_on_purpose(odoo_factory: Any,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """An unsent Odoo number reads 0 and an unsent boolean False: the destination's design,
    named as such in the sample diff; a real difference is not excused (issue 15)."""
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure(schema(accounting=False))
    [r] = dest.create("res.partner", [{"name": "Only a name"}])
    got = dest.read("res.partner", [r.dest_id or ""],
                    ["x_studio_outstanding_balance", "is_company"])[r.dest_id or ""]
    assert got == {"x_studio_outstanding_balance": 0, "is_company": False}
    assert "reads 0" in str(dest.design_rule("res.partner", "x_studio_outstanding_balance",
                                             None, 0))
    assert "reads False" in str(dest.design_rule("res.partner", "is_company", None, False))
    assert dest.design_rule("res.partner", "x_studio_outstanding_balance", "12.5", 0) is None
    assert dest.design_rule("res.partner", "name", None, "x") is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_large_upload_streams_the_same_bytes(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path, protocol: str) -> None:
    # the file is read and base64-encoded a chunk at a time while the call is sent: chunk
    # boundaries (a multiple of 3 bytes) must join into exactly the file's base64
    import base64
    import os

    from ferry.destinations.odoo.rpc import FileB64

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, protocol=protocol)
    [p] = dest.create("res.partner", [{"name": "Big file"}])
    content = os.urandom(2 * FileB64.CHUNK + 7)
    doc = tmp_path / "scan.bin"
    doc.write_bytes(content)
    up = dest.upload("res.partner", p.dest_id or "", doc, "scan.bin", "application/octet-stream")
    assert up.ok and up.created
    [row] = dest.rpc.execute("ir.attachment", "read", [int(up.dest_id or 0)],
                             fields=["datas", "file_size"])
    assert row["file_size"] == len(content)
    assert base64.b64decode(row["datas"]) == content


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stored_file_uploads_decrypted_as_read_without_a_plain_copy(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        protocol: str, sealed_file: Any) -> None:
    """The engine hands Odoo an encrypted stored file as a ``PlainView`` (decrypted as it is
    read, chunk boundaries of the cipher and of base64 apart): the attachment holds the plain
    bytes, its checksum finds it again, and no plain file is written anywhere."""
    import base64

    from ferry.destinations.odoo.rpc import FileB64
    from ferry.model.crypto import FILE_CHUNK, PlainView

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path, protocol=protocol)
    assert dest.capabilities.upload_reads_view
    [p] = dest.create("res.partner", [{"name": "Stored file"}])
    content, stored, codec = sealed_file(FileB64.CHUNK + 3 * FILE_CHUNK + 11)
    before = set(tmp_path.rglob("*"))
    view = PlainView.of_file(stored, codec)
    assert view.stat().st_size == len(content)
    up = dest.upload("res.partner", p.dest_id or "", view, "scan.bin", "application/pdf")
    assert up.ok and up.created
    [row] = dest.rpc.execute("ir.attachment", "read", [int(up.dest_id or 0)],
                             fields=["datas", "file_size"])
    assert base64.b64decode(row["datas"]) == content
    again = dest.upload("res.partner", p.dest_id or "", PlainView.of_file(stored, codec),
                        "scan.bin", "application/pdf")  # found by name and checksum
    assert again.ok and not again.created and again.dest_id == up.dest_id
    text = dest.upload("res.partner", p.dest_id or "", PlainView.of_bytes(b"a rendered note",
                       "n.txt"), "n.txt", "text/plain")
    [row] = dest.rpc.execute("ir.attachment", "read", [int(text.dest_id or 0)], fields=["datas"])
    assert base64.b64decode(row["datas"]) == b"a rendered note"
    assert set(tmp_path.rglob("*")) == before


def test_updates_of_their_own_values_go_in_one_load_and_store_what_write_stores(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fold updates give every parent values of its own; ``write`` takes one dict, so they were
    one call each. ``load`` with a ``.id`` column takes them all, as text the import converter
    reads back: the stored values must be those ``write`` stores (a July datetime: the user's
    zone, Europe/London, is UTC+1 then, so a call that did not say UTC would shift it)."""
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    dest.ensure(schema(accounting=False) + [
        SchemaItem("custom_field", "res.partner", "reminder_due", "Reminder due", Kind.DATETIME),
        SchemaItem("custom_field", "res.partner", "insured", "Insured", Kind.BOOL),
        SchemaItem("custom_field", "res.partner", "visits", "Visits", Kind.INT)])
    made = dest.create("res.partner", [{"name": f"P{i}"} for i in range(24)])
    ids = [str(r.dest_id) for r in made]

    def seam(i: int) -> dict[str, Any]:
        return {"x_studio_date_of_birth": dt.date(1950 + i, 1 + i % 12, 1 + i),
                "x_reminder_due": dt.datetime(2024, 7, 1 + i, 9, i, 5, tzinfo=dt.UTC),
                "x_insured": i % 2 == 0, "x_visits": i, "comment": f"note {i}" if i % 3 else None,
                "x_studio_blood_group": BLOOD[i % 8],
                "x_studio_outstanding_balance": Decimal(f"{i}.25"),
                "x_studio_allergy_notes": f"line {i}\nline two & <b>"}

    a, b = ids[:12], ids[12:]
    dest.rpc.calls.clear()
    res = dest.update("res.partner", [(d, seam(i)) for i, d in enumerate(a)])
    assert all(r.ok for r in res) and dest.rpc.calls["res.partner.load"] == 1
    assert dest.rpc.calls["res.partner.write"] == 0
    for i, d in enumerate(b):  # the same values through ``write``, one call each
        vals, _ = dest._vals("res.partner", seam(i), update=True)
        dest.rpc.execute("res.partner", "write", [int(d)], vals)
    fields = sorted(seam(0))
    got = {r["id"]: r for r in dest.rpc.execute("res.partner", "read", [int(x) for x in ids],
                                                fields=fields)}
    for da, db in zip(a, b, strict=True):
        assert {f: got[int(da)][f] for f in fields} == {f: got[int(db)][f] for f in fields}

    # a row Odoo refuses rolls the call back: the rows are then written one by one, and only
    # the bad one fails
    rows = [(d, {"x_studio_date_of_birth": f"1990-01-{10 + i:02d}"}) for i, d in enumerate(a)]
    rows[3] = (a[3], {"x_studio_date_of_birth": "1990-02-31"})
    res = dest.update("res.partner", rows)
    assert [i for i, r in enumerate(res) if not r.ok] == [3]
    assert dest.read("res.partner", [a[4]], ["x_studio_date_of_birth"])[a[4]] == {
        "x_studio_date_of_birth": dt.date(1990, 1, 14)}


def test_an_upload_looks_for_its_file_once_by_tag_or_checksum(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Before each upload one search finds the file already there, by its source-id tag or by
    name and checksum (two searches per file before)."""
    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    [p] = dest.create("res.partner", [{"name": "Files"}])
    pid = p.dest_id or ""
    doc = tmp_path / "letter.txt"
    doc.write_bytes(b"referral letter")
    dest.rpc.calls.clear()
    first = dest.upload("res.partner", pid, doc, "letter.txt", "text/plain",
                        extra={"_source_id": "d1"})
    assert first.ok and first.created and dest.rpc.calls["ir.attachment.search_read"] == 1
    again = dest.upload("res.partner", pid, doc, "letter.txt", "text/plain",
                        extra={"_source_id": "d1"})  # by its tag
    assert (again.dest_id, again.created) == (first.dest_id, False)
    untagged = dest.upload("res.partner", pid, doc, "letter.txt", "text/plain")  # by checksum
    assert (untagged.dest_id, untagged.created) == (first.dest_id, False)
    other = dest.upload("res.partner", pid, doc, "letter.txt", "text/plain",
                        extra={"_source_id": "d2"})  # same bytes, another document's tag
    assert other.dest_id == first.dest_id and not other.created
    assert dest.rpc.calls["ir.attachment.search_read"] == 4
    assert dest.rpc.calls["ir.attachment.create"] == 1


def test_a_group_of_uploads_takes_one_search_and_one_create(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``upload_many``: a group's files are looked for in one search and sent in one create,
    each finding exactly what its own search before its upload found: a file already there by
    its tag or by name and checksum is not sent again, and a file the same as an earlier one of
    the group on the same record is that file (one attachment, as when sent one by one)."""
    import base64

    from ferry.connectors.base import FileUpload

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    [p, q] = dest.create("res.partner", [{"name": "Files"}, {"name": "Other"}])
    pid, qid = p.dest_id or "", q.dest_id or ""
    docs = {}
    for name, body in (("a.txt", b"alpha"), ("b.txt", b"beta"), ("c.txt", b"gamma")):
        docs[name] = tmp_path / name
        docs[name].write_bytes(body)
    there = dest.upload("res.partner", pid, docs["a.txt"], "a.txt", "text/plain",
                        extra={"_source_id": "d1"})
    dest.rpc.calls.clear()
    files = [
        FileUpload("res.partner", pid, docs["a.txt"], "a.txt", "text/plain",
                   {"_source_id": "d1"}),  # there, by its tag
        FileUpload("res.partner", pid, docs["a.txt"], "a.txt", "text/plain",
                   {"_source_id": "d9"}),  # there, by name and checksum
        FileUpload("res.partner", pid, docs["b.txt"], "b.txt", "text/plain",
                   {"_source_id": "d2"}),
        FileUpload("res.partner", pid, docs["b.txt"], "b.txt", "text/plain",
                   {"_source_id": "d3"}),  # the same file as d2, on the same record
        FileUpload("res.partner", qid, docs["b.txt"], "b.txt", "text/plain",
                   {"_source_id": "d4"}),  # the same bytes on another record: its own
        FileUpload("res.partner", qid, docs["c.txt"], "c.txt", "text/plain",
                   {"_source_id": "d5"}),
    ]
    res = dest.upload_many(files)
    assert dest.rpc.calls["ir.attachment.search_read"] == 1
    assert dest.rpc.calls["ir.attachment.create"] == 1
    assert [(r.ok, r.created) for r in res] == [(True, False), (True, False), (True, True),
                                                (True, False), (True, True), (True, True)]
    assert res[0].dest_id == res[1].dest_id == there.dest_id and res[3].dest_id == res[2].dest_id
    rows = dest.rpc.search_read("ir.attachment", [["res_model", "=", "res.partner"]],
                                ["name", "res_id", "description", "datas"], order="id")
    assert [(r["name"], r["res_id"], r["description"], base64.b64decode(r["datas"]))
            for r in rows] == [("a.txt", int(pid), "[ferry-id:d1]", b"alpha"),
                               ("b.txt", int(pid), "[ferry-id:d2]", b"beta"),
                               ("b.txt", int(qid), "[ferry-id:d4]", b"beta"),
                               ("c.txt", int(qid), "[ferry-id:d5]", b"gamma")]


def test_the_price_of_uploads_is_the_calls_a_group_sends(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``cost("upload")`` (what ``ferry estimate`` and the dry run price) counts a group's
    search and create, not two calls per file: it said 12 calls for 6 files sent in 2."""
    from ferry.connectors.base import FileUpload

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    [p] = dest.create("res.partner", [{"name": "Files"}])
    files = []
    for i in range(6):
        (tmp_path / f"{i}.txt").write_bytes(f"body {i}".encode())
        files.append(FileUpload("res.partner", p.dest_id or "", tmp_path / f"{i}.txt",
                                f"{i}.txt", "text/plain", {"_source_id": f"d{i}"}))
    dest.fields_meta("ir.attachment")  # once per model and process, priced per target
    dest.rpc.calls.clear()
    assert all(r.ok for r in dest.upload_many(files))
    assert dest.cost("upload", "ir.attachment", len(files)).calls == sum(
        dest.rpc.calls.values()) == 2, dest.rpc.calls


def test_a_group_of_uploads_retried_after_a_lost_answer_is_not_duplicated(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A group's create whose answer was lost after Odoo committed it (a cut-short body) is
    retried for only the files not found on their records by their tags: every file once."""
    from collections import Counter

    from ferry.connectors.base import FileUpload

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    for seed in range(8):  # each draws other requests to cut short, creates among them
        [p] = dest.create("res.partner", [{"name": "Files"}])
        pid = p.dest_id or ""
        files = []
        for i in range(12):
            doc = tmp_path / f"f{i}.txt"
            doc.write_bytes(f"file {i}".encode())
            files.append(FileUpload("res.partner", pid, doc, doc.name, "text/plain",
                                    {"_source_id": f"d{i}"}))
        odoo.faults("truncate=0.25", seed=seed)
        results = []
        for k in range(0, 12, 3):  # four groups
            results += dest.upload_many(files[k:k + 3])
        odoo.faults("")
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        rows = dest.rpc.search_read("ir.attachment", [["res_id", "=", int(pid)]],
                                    ["description"])
        assert Counter(r["description"] for r in rows) == {
            f"[ferry-id:d{i}]": 1 for i in range(12)}, seed
        assert {r.dest_id for r in results} == {str(r["id"]) for r in rows}


def test_references_resolve_by_index_as_by_the_first_matching_row(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Countries, states, users and tags resolve through an index of each table built once
    (they scanned every row per value): the id is the first row's whose code or name (any
    case) it is, a state within the row's country, and a tag made meanwhile is found."""
    from ferry.destinations.odoo.shape import Unresolved

    odoo = odoo_factory(17)
    dest = connect(odoo, monkeypatch, tmp_path)
    lk = dest.lookups
    countries = dest.rpc.search_read("res.country", [], ["name", "code"])
    states = dest.rpc.search_read("res.country.state", [], ["name", "code", "country_id"])

    def first(rows: list[dict[str, Any]], low: str, cid: int | None = None) -> list[int]:
        return [r["id"] for r in rows if low in ((r["code"] or "").lower(),
                                                 (r["name"] or "").lower())
                and (cid is None or (r.get("country_id") or [None])[0] == cid)]

    for c in countries[:40:7] + countries[-3:]:
        for text in (c["code"], c["name"].upper(), f"  {c['name']} "):
            assert lk.resolve("res.country", "country_id", text, {}) == \
                first(countries, text.strip().lower())[0]
    with pytest.raises(Unresolved):
        lk.resolve("res.country", "country_id", "Atlantis", {})
    for s in states[:60:9]:
        cid = s["country_id"][0]
        country = next(c for c in countries if c["id"] == cid)
        assert lk.resolve("res.country.state", "state_id", s["code"].lower(),
                          {"country_id": country["code"]}) == first(states, s["code"].lower(),
                                                                    cid)[0]
        if len(first(states, s["name"].lower())) == 1:
            assert lk.resolve("res.country.state", "state_id", s["name"], {}) == s["id"]
    user = dest.users()[0]
    assert lk.resolve("res.users", "user_id", user.email.upper(), {}) == int(user.id)
    tag = lk.resolve("res.partner.category", "category_id", "Index test tag", {})  # made
    assert lk.resolve("res.partner.category", "category_id", "index TEST tag ", {}) == tag
    [row] = dest.rpc.search_read("res.partner.category", [["id", "=", tag]], ["name"])
    assert row["name"] == "Index test tag"


# -- updates of different fields sharing one ``load`` (``OdooDestination._padded``): a row whose
# record holds the other rows' fields empty (as the read just before found them) is sent with
# empty cells for them, which store the same empty value; a record with one of those fields
# filled keeps its own columns

PAD_FIELDS = ["comment", "x_visits", "x_insured", "x_weight"]


def _pad_setup(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure(schema(accounting=False) + [
        SchemaItem("custom_field", "res.partner", "insured", "Insured", Kind.BOOL),
        SchemaItem("custom_field", "res.partner", "visits", "Visits", Kind.INT),
        SchemaItem("custom_field", "res.partner", "weight", "Weight", Kind.DECIMAL)])
    return dest


def _pad_rows(ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Fold-like updates: each record only the fields its children had values for."""
    return [(ids[0], {"comment": "a"}), (ids[1], {"comment": "b", "x_weight": 61.5}),
            (ids[2], {"x_visits": 3}), (ids[3], {"x_visits": 4, "x_insured": True}),
            (ids[4], {"x_insured": True}), (ids[5], {"comment": "f"})]


def _pad_stored(dest: Any, ids: list[str]) -> dict[int, dict[str, Any]]:
    return {r["id"]: {f: r[f] for f in PAD_FIELDS} for r in dest.rpc.execute(
        "res.partner", "read", [int(i) for i in ids], fields=PAD_FIELDS)}


def test_rows_of_different_fields_share_one_load_when_the_others_are_empty(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = _pad_setup(odoo_factory, monkeypatch, tmp_path)
    ids = [str(r.dest_id) for r in dest.create("res.partner", [{"name": f"P{i}"}
                                                              for i in range(12)])]
    a, b = ids[:6], ids[6:]
    # the last record of each half already has a visit count: its row must not blank it
    dest.rpc.execute("res.partner", "write", [int(a[5]), int(b[5])], {"x_visits": 7})
    dest.read("res.partner", a, PAD_FIELDS)  # the before-images, as ``Writer.update`` reads them
    dest.rpc.calls.clear()
    res = dest.update("res.partner", _pad_rows(a))
    assert all(r.ok for r in res)
    # five rows in one call (five column sets without the read), the record with a visit
    # count alone
    assert dest.rpc.calls["res.partner.load"] == 2 and dest.rpc.calls["res.partner.write"] == 0

    dest.read("res.partner", b, PAD_FIELDS)
    for d, fields in _pad_rows(b):  # the same updates one record at a time, through ``write``
        vals, _ = dest._vals("res.partner", fields, update=True)
        dest.rpc.execute("res.partner", "write", [int(d)], vals)
    got = _pad_stored(dest, ids)
    assert [got[int(x)] for x in a] == [got[int(x)] for x in b]
    assert got[int(a[5])]["x_visits"] == 7 and got[int(a[0])]["x_visits"] == 0


def test_without_a_read_just_before_each_column_set_keeps_its_own_call(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = _pad_setup(odoo_factory, monkeypatch, tmp_path)
    ids = [str(r.dest_id) for r in dest.create("res.partner", [{"name": f"P{i}"}
                                                              for i in range(6)])]
    dest.read("res.partner", ids, PAD_FIELDS)
    dest.create("res.partner", [{"name": "later"}])  # a write since: the read is forgotten
    dest.rpc.calls.clear()
    assert all(r.ok for r in dest.update("res.partner", _pad_rows(ids)))
    # one call per column set: comment (two rows); comment, weight; visits; visits, insured;
    # insured
    assert dest.rpc.calls["res.partner.load"] == 5
    dest.read("res.partner", ids, PAD_FIELDS)
    dest.update("res.partner", [(ids[0], {"comment": "again"})])
    dest.rpc.calls.clear()  # an update consumes its read: the next one pads nothing
    assert all(r.ok for r in dest.update("res.partner", _pad_rows(ids)))
    assert dest.rpc.calls["res.partner.load"] == 5
