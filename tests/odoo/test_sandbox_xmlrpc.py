"""The Odoo sandbox driven as a user's own script would: stdlib xmlrpc.client and raw JSON-RPC."""

from __future__ import annotations

import hashlib
import xmlrpc.client
from typing import Any

import httpx
import pytest


class Client:
    def __init__(self, url: str, db: str, login: str, password: str) -> None:
        self.common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
        self.db, self.password = db, password
        self.uid = self.common.authenticate(db, login, password, {})

    def __call__(self, model: str, method: str, *args: Any, **kw: Any) -> Any:
        return self.models.execute_kw(self.db, self.uid, self.password, model, method,
                                      list(args), kw)


def admin(odoo: Any) -> Client:
    c = odoo.creds
    return Client(odoo.url, c["db"], c["login"], c["password"])


def fault(fn: Any, *args: Any, **kw: Any) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as info:
        fn(*args, **kw)
    return info.value


def test_common_service_version_and_authenticate(odoo_factory: Any) -> None:
    odoo = odoo_factory(17)
    c = odoo.creds
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    v = common.version()
    assert v["server_version"] == "17.0" and v["server_version_info"][:2] == [17, 0]
    assert v["protocol_version"] == 1
    assert common.authenticate(c["db"], "admin", c["password"], {}) == 2
    assert common.authenticate(c["db"], "admin", c["api_key"], {}) == 2  # API key as password
    assert common.authenticate(c["db"], "admin", "wrong", {}) is False
    assert common.login(c["db"], "admin", c["password"]) == 2
    assert fault(common.nope).faultCode == 1
    models = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")
    f = fault(models.execute_kw, c["db"], 2, "wrong", "res.partner", "search", [[]])
    assert (f.faultCode, f.faultString) == (3, "Access Denied")


def test_fields_get_differs_by_version(odoo_factory: Any) -> None:
    for version, has_mobile in ((17, True), (18, True), (19, False)):
        cli = admin(odoo_factory(version))
        fields = cli("res.partner", "fields_get", attributes=["type", "string", "required"])
        assert ("mobile" in fields) is has_mobile
        assert fields["name"]["type"] == "char" and fields["state_id"]["type"] == "many2one"
        assert set(fields["email"]) == {"type", "string", "required"}
        users = cli("res.users", "fields_get", attributes=["type"])
        assert ("group_ids" if version >= 19 else "groups_id") in users
    # 19: a full fields_get carries a None attribute that XML-RPC cannot marshal
    f = fault(cli, "res.partner", "fields_get")
    assert f.faultCode == 1 and "cannot marshal None" in f.faultString


def test_search_read_with_domains(odoo_factory: Any) -> None:
    cli = admin(odoo_factory(17))
    gb = cli("res.country", "search", [["code", "=", "GB"]])[0]
    company = cli("res.partner", "create", {"name": "Harbour Clinic", "is_company": True})
    ids = cli("res.partner", "create", [
        {"name": "Ann Lee", "email": "ann@x.test", "country_id": gb, "parent_id": company},
        {"name": "Bob Stone", "email": "bob@y.test", "city": "Leeds"},
        {"name": "Cy Lee", "active": False}])
    assert isinstance(ids, list) and len(ids) == 3 and isinstance(company, int)

    def names(domain: list[Any], **kw: Any) -> list[str]:
        return sorted(r["name"] for r in cli("res.partner", "search_read", domain,
                                             fields=["name"], **kw))

    assert names([["name", "ilike", "lee"]]) == ["Ann Lee"]  # archived hidden
    assert names([["name", "ilike", "lee"]], context={"active_test": False}) == ["Ann Lee",
                                                                                  "Cy Lee"]
    assert names(["|", ["email", "=like", "%@x.test"], ["city", "=", "Leeds"]]) == [
        "Ann Lee", "Bob Stone"]
    assert names(["!", ["name", "in", ["Ann Lee", "Bob Stone"]], ["id", "in", ids]]) == []
    assert names([["country_id.code", "=", "GB"]]) == ["Ann Lee"]
    assert names([["country_id", "=", "United Kingdom"]]) == ["Ann Lee"]
    assert names([["id", "child_of", company]]) == ["Ann Lee", "Harbour Clinic"]
    assert names([["email", "=", False], ["id", "in", ids + [company]]]) == ["Harbour Clinic"]
    assert names(["&", ["id", "in", ids], ["name", "not ilike", "ann"]]) == ["Bob Stone"]
    assert cli("res.partner", "search_count", [["id", "in", ids]]) == 2
    read = cli("res.partner", "read", [ids[0]], fields=["country_id", "parent_id"])[0]
    assert read["country_id"] == [gb, "United Kingdom"] and read["parent_id"][0] == company
    page = cli("res.partner", "search", [["id", "in", ids]], order="name desc", limit=1)
    assert page == [ids[1]]
    assert names([["email", "=?", False], ["id", "in", ids]]) == ["Ann Lee", "Bob Stone"]
    assert names([["id", "parent_of", ids[0]]]) == ["Ann Lee", "Harbour Clinic"]
    assert names([["parent_id", "any", [["name", "=like", "Harbour%"]]]]) == ["Ann Lee"]
    assert names(["!", "|", ["name", "=ilike", "ann lee"], ["city", "!=", False],
                  ["id", "in", ids]]) == []
    assert fault(cli, "res.partner", "search", [["nope", "=", 1]]).faultCode == 1
    assert fault(cli, "res.partner", "search", [["name", "~", 1]]).faultCode == 1


def test_create_write_unlink_rules_and_fault_codes(odoo_factory: Any) -> None:
    cli = admin(odoo_factory(17))
    f = fault(cli, "crm.lead", "create", {"description": "no name"})
    assert f.faultCode == 2 and "mandatory field is not set" in f.faultString
    assert "crm.lead" in f.faultString and "(name)" in f.faultString
    f = fault(cli, "res.partner", "create", {"name": "X", "type": "bogus"})
    assert f.faultCode == 1 and "Wrong value for res.partner.type" in f.faultString
    f = fault(cli, "res.partner", "create", {"name": "X", "state_id": 99999})
    assert f.faultCode == 2 and "foreign key" in f.faultString
    f = fault(cli, "res.partner", "create", {"name": "X", "favourite": 1})
    assert f.faultCode == 1 and "Invalid field 'favourite'" in f.faultString
    assert fault(cli, "res.partner", "write", [99999], {"name": "Y"}).faultCode == 2
    assert fault(cli, "res.partner", "_private", []).faultCode == 4
    assert fault(cli, "no.such.model", "search", []).faultCode == 2
    assert fault(cli, "res.partner", "no_such_method", []).faultCode == 1
    f = fault(cli.models.execute_kw, cli.db, cli.uid, cli.password, "res.partner", "create", [],
              {"vals_list": [{"name": "kw"}]})  # vals must be positional
    assert f.faultCode == 1 and "IndexError" in f.faultString
    pid = cli("res.partner", "create", {"name": "Bin"})
    att = cli("ir.attachment", "create", {"name": "b.bin", "res_model": "res.partner",
                                          "res_id": pid, "datas": xmlrpc.client.Binary(b"\x00\x01")})
    assert cli("ir.attachment", "read", [att], fields=["datas", "file_size"])[0]["file_size"] == 2
    # one call is one transaction: a bad row leaves none of the batch behind
    before = cli("res.partner", "search_count", [])
    fault(cli, "res.partner", "create", [{"name": "Good"}, {"email": "nameless@x.test"}])
    assert cli("res.partner", "search_count", []) == before
    pid = cli("res.partner", "create", {"name": "Kay"})
    assert cli("res.partner", "write", [pid], {"phone": "+44 1"}) is True
    lead = cli("crm.lead", "create", {"name": "Visit", "partner_id": pid})
    stage = cli("crm.lead", "read", [lead], fields=["stage_id", "type"])[0]
    assert stage["stage_id"][1] == "New" and stage["type"] == "opportunity"
    assert cli("res.partner", "unlink", [pid]) is True
    assert cli("crm.lead", "read", [lead], fields=["partner_id"])[0]["partner_id"] is False
    assert cli("res.partner", "read", [pid], fields=["name"]) == []  # gone ids are dropped


def test_non_admin_user_gets_access_error(odoo_factory: Any) -> None:
    odoo = odoo_factory(17)
    c = odoo.creds
    login, password = next(iter(c["users"].items()))
    user = Client(odoo.url, c["db"], login, password)
    assert user.uid > 2
    assert user("res.partner", "create", {"name": "Allowed"}) > 0
    mid = user("ir.model", "search", [["model", "=", "res.partner"]])[0]
    f = fault(user, "ir.model.fields", "create", {"model_id": mid, "name": "x_a",
                                                  "field_description": "A", "ttype": "char"})
    assert f.faultCode == 4 and "ir.model.fields" in f.faultString
    assert user("ir.model.fields", "check_access_rights", "create", False) is False


def test_custom_fields_through_ir_model_fields(odoo_factory: Any) -> None:
    cli = admin(odoo_factory(18))
    mid = cli("ir.model", "search", [["model", "=", "res.partner"]])[0]
    f = fault(cli, "ir.model.fields", "create", {"model_id": mid, "name": "blood_group",
                                                 "field_description": "Blood", "ttype": "char"})
    assert f.faultCode == 2 and "x_" in f.faultString
    fid = cli("ir.model.fields", "create", {
        "model_id": mid, "name": "x_blood_group", "field_description": "Blood group",
        "ttype": "selection", "state": "manual",
        "selection_ids": [[0, 0, {"value": v, "name": v, "sequence": i}]
                          for i, v in enumerate(["A+", "O-"])]})
    cli("ir.model.fields", "create", {"model_id": mid, "name": "x_dob",
                                      "field_description": "DOB", "ttype": "date",
                                      "selection": False})
    meta = cli("res.partner", "fields_get", ["x_blood_group", "x_dob"],
               attributes=["type", "selection", "manual"])
    assert meta["x_blood_group"] == {"type": "selection", "selection": [["A+", "A+"],
                                                                        ["O-", "O-"]],
                                     "manual": True}
    pid = cli("res.partner", "create", {"name": "P", "x_blood_group": "O-",
                                        "x_dob": "1980-02-29"})
    assert cli("res.partner", "read", [pid], fields=["x_dob"])[0]["x_dob"] == "1980-02-29"
    assert fault(cli, "res.partner", "write", [pid], {"x_blood_group": "Z"}).faultCode == 1
    assert fault(cli, "ir.model.fields", "create", {
        "model_id": mid, "name": "x_dob", "field_description": "again",
        "ttype": "date"}).faultCode == 2
    assert fault(cli, "ir.model.fields", "write", [fid], {"ttype": "char"}).faultCode == 2
    cli("ir.model.fields", "unlink", [fid])
    assert "x_blood_group" not in cli("res.partner", "fields_get", attributes=["type"])


def test_modules_activities_messages_attachments(odoo_factory: Any) -> None:
    odoo = odoo_factory(19, accounting=True, max_request_bytes=4096)
    cli = admin(odoo)
    account = cli("ir.module.module", "search_read", [["name", "=", "account"]],
                  fields=["state"])
    assert account[0]["state"] == "installed"
    pid = cli("res.partner", "create", {"name": "Pat"})
    mid = cli("ir.model", "search", [["model", "=", "res.partner"]])[0]
    call = cli("mail.activity.type", "search", [["name", "=", "Call"]])[0]
    act = cli("mail.activity", "create", {"res_model_id": mid, "res_id": pid,
                                          "activity_type_id": call, "summary": "Consult",
                                          "date_deadline": "2026-01-05"})
    row = cli("mail.activity", "read", [act], fields=["res_model", "user_id"])[0]
    assert row["res_model"] == "res.partner" and row["user_id"][0] == cli.uid
    posted = cli("res.partner", "message_post", [pid], body="<b>hi</b>")
    assert isinstance(posted, list)  # 19 returns ids for every recordset
    body = cli("mail.message", "read", posted, fields=["body"])[0]["body"]
    assert body == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"  # escaped unless body_is_html
    att = cli("ir.attachment", "create", {"name": "rx.txt", "datas": "aGVsbG8=",
                                          "res_model": "res.partner", "res_id": pid})
    meta = cli("ir.attachment", "read", [att], fields=["file_size", "mimetype", "checksum"])[0]
    assert meta == {"id": att, "file_size": 5, "mimetype": "text/plain",
                    "checksum": hashlib.sha1(b"hello").hexdigest()}  # noqa: S324 - Odoo's
    for bad in ("aGVsbG8", "aGVs bG8=", "aGVsbG8=\n", "ä"):  # not strict base64: refused
        assert fault(cli, "ir.attachment", "create", {"name": "bad", "datas": bad}).faultCode == 1
    with pytest.raises(xmlrpc.client.ProtocolError) as big:
        cli("ir.attachment", "create", {"name": "big", "datas": "QUFB" * 2000})
    assert big.value.errcode == 413
    inv = cli("account.move", "create", {"move_type": "out_invoice", "partner_id": pid,
                                         "invoice_line_ids": [[0, 0, {"name": "Visit",
                                                                      "price_unit": 80.0}]]})
    assert cli("account.move", "read", [inv], fields=["amount_total"])[0]["amount_total"] == 80
    assert cli("account.move", "action_post", [inv]) is False
    f = fault(cli, "account.move", "write", [inv], {"invoice_line_ids": [[5, 0, 0]]})
    assert f.faultCode == 2 and "posted" in f.faultString
    f = fault(cli, "account.move", "button_draft", [inv])  # returns None: XML-RPC can't carry it
    assert f.faultCode == 1 and "cannot marshal None" in f.faultString
    assert cli("account.move", "read", [inv], fields=["state"])[0]["state"] == "draft"
    assert cli("account.move", "action_post", [inv]) is False
    f = fault(cli, "res.partner", "unlink", [pid])  # the invoice restricts deletion
    assert f.faultCode == 2 and "another model requires" in f.faultString
    cli("account.move", "unlink", [inv])
    cli("res.partner", "unlink", [pid])
    for model in ("mail.activity", "mail.message", "ir.attachment"):  # cascaded with the partner
        assert cli(model, "search", [["res_id", "=", pid]]) == []


def test_no_accounting_means_no_account_move(odoo_factory: Any) -> None:
    cli = admin(odoo_factory(17, accounting=False))
    assert fault(cli, "account.move", "search", []).faultCode == 2
    state = cli("ir.module.module", "search_read", [["name", "=", "account"]], fields=["state"])
    assert state[0]["state"] == "uninstalled"


def test_legacy_endpoint_string_codes_and_jsonrpc_errors(odoo_factory: Any) -> None:
    odoo = odoo_factory(17)
    c = odoo.creds
    legacy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/object")
    f = fault(legacy.execute_kw, c["db"], 2, c["password"], "res.partner", "write",
              [[424242], {"name": "x"}])
    assert f.faultCode.startswith("warning -- MissingError\n\n")
    f = fault(legacy.execute_kw, c["db"], 2, "bad", "res.partner", "search", [[]])
    assert f.faultCode == "AccessDenied"
    body = {"jsonrpc": "2.0", "method": "call", "id": 9, "params": {
        "service": "object", "method": "execute_kw",
        "args": [c["db"], 2, c["password"], "crm.lead", "create", [{}]]}}
    out = httpx.post(f"{odoo.url}/jsonrpc", json=body, timeout=60).json()
    assert out["id"] == 9 and out["error"]["message"] == "Odoo Server Error"
    assert out["error"]["data"]["name"] == "odoo.exceptions.ValidationError"
    body["params"]["args"] = [c["db"], 2, c["password"], "res.partner", "search_count", [[]]]
    assert httpx.post(f"{odoo.url}/jsonrpc", json=body, timeout=60).json()["result"] >= 3


def test_fault_mode(odoo_factory: Any) -> None:
    odoo = odoo_factory(17)
    cli = admin(odoo)
    odoo.faults("lock=1")
    f = fault(cli, "res.partner", "search", [])
    assert f.faultCode == 1 and "SerializationFailure" in f.faultString
    odoo.faults("429=1")
    with pytest.raises(xmlrpc.client.ProtocolError) as err:
        cli("res.partner", "search", [])
    assert err.value.errcode == 429
    odoo.faults("")
    assert cli("res.partner", "search_count", []) >= 3


def test_searches_bounded_by_id_find_what_a_full_read_finds(odoo_factory: Any) -> None:
    """A search whose AND-ed ``id`` leaves bound the rows (``id in``, ``=``, ``>``, ``>=``)
    reads only those rows, and stops early when ordered by id with a limit (reconcile pages
    every table by ``id > last``; each page read and sorted every row). The answers are those
    of a full read: the same domain behind ``id = -1 OR …``, which every row is read for."""
    cli = admin(odoo_factory(17))
    made = cli("res.partner", "create", [{"name": f"P{i}", "active": i % 5 != 0,
                                          "email": f"p{i}@x.test" if i % 3 else False}
                                         for i in range(40)])
    cli("res.partner", "unlink", made[7:9])
    lo, some = made[10], [made[3], made[8], made[12], made[30], 999999]
    domains = [[["id", ">", lo]], [["id", ">=", lo], ["email", "!=", False]],
               [["id", "in", some]], [["id", "=", made[4]]], [["id", "in", []]],
               [["id", ">", lo], ["id", "in", some]], [["id", ">", made[5] + 0.5]],
               [["id", "in", some], ["active", "in", [True, False]]]]

    def same() -> None:
        for dom in domains:
            for kw in ({}, {"limit": 4}, {"limit": 3, "offset": 2, "order": "id"},
                       {"limit": 5, "order": "id desc"}, {"order": "name desc"},
                       {"limit": 2, "order": "id asc", "context": {"active_test": False}}):
                full = cli("res.partner", "search", ["|", ["id", "=", -1], *dom], **kw)
                assert cli("res.partner", "search", dom, **kw) == full, (dom, kw)

    same()
    # the ids kept sorted for ``id >`` follow rows made, unlinked and a rolled-back call
    cli("res.partner", "create", [{"name": "Q1", "email": "q1@x.test"}])
    cli("res.partner", "unlink", [made[12], made[20]])
    fault(cli, "res.partner", "create", [{"name": "Q2"}, {"name": "Q2b", "no_such_field": 1}])
    cli("res.partner", "create", [{"name": "Q3", "email": "q3@x.test"}])
    same()


def test_attachment_searches_by_record_find_what_a_full_read_finds(odoo_factory: Any) -> None:
    """``res_id in [...]`` on attachments (the upload's duplicate check, a search per group of
    files) reads an index kept by create, write, unlink and a rolled-back call, not every
    attachment; the answers are a full read's (the domain behind ``id = -1 OR …``)."""
    cli = admin(odoo_factory(17))
    people = cli("res.partner", "create", [{"name": f"P{i}"} for i in range(6)])

    def att(i: int, pid: int) -> dict[str, Any]:
        return {"name": f"f{i}.txt", "datas": "aGVsbG8=", "res_model": "res.partner",
                "res_id": pid, "description": f"tag{i}"}

    made = cli("ir.attachment", "create", [att(i, people[i % 6]) for i in range(18)])

    def same() -> None:
        for dom in ([["res_id", "in", people[:3]]], [["res_id", "=", people[5]]],
                    [["res_model", "in", ["res.partner"]], ["res_id", "in", people[2:5]], "|",
                     ["description", "in", ["tag2", "tag9"]], ["name", "in", ["f8.txt"]]],
                    ["!", ["res_id", "in", people[:2]]], [["res_id", "in", []]]):
            full = cli("ir.attachment", "search", ["|", ["id", "=", -1], *dom], order="id")
            assert cli("ir.attachment", "search", dom, order="id") == full, dom

    same()
    cli("ir.attachment", "write", made[:4], {"res_id": people[5]})  # moved to another record
    cli("ir.attachment", "unlink", made[4:6])
    fault(cli, "ir.attachment", "create", [att(50, people[0]), {"name": "bad", "datas": "x"}])
    cli("res.partner", "unlink", [people[1]])  # its attachments go with it
    same()
    assert cli("ir.attachment", "search_count", [["res_id", "=", people[1]]]) == 0
