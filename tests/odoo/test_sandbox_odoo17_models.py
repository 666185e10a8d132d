"""The Odoo 17 standard fields and models a CRM migration meets (issue 17), driven over real
XML-RPC with ``xmlrpc.client`` and over JSON-RPC with Odoo SA's ``odoolib``.

Each behaviour is held to Odoo 17's own source (see ``ferry.sandbox.odoo.models``): partner tags
and titles, crm.tag unique names, the partner default order ``complete_name ASC, id DESC``,
``commercial_partner_id``, ``toggle_active`` returning None (Fault 1 over XML-RPC, the change
committed), calendar.event's computed stop, and HTML sanitised on read-back.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any
from urllib.parse import urlparse

import odoolib
import pytest


def rpc(odoo: Any) -> Any:
    c = odoo.creds
    obj = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object", allow_none=True)

    def call(model: str, method: str, *args: Any, **kw: Any) -> Any:
        return obj.execute_kw(c["db"], 2, c["api_key"], model, method, list(args), kw)
    return call


def test_partner_tags_titles_company_and_order(odoo_factory: Any) -> None:
    call = rpc(odoo_factory(17))
    meta = call("res.partner", "fields_get", attributes=["type", "relation", "readonly"])
    assert meta["category_id"] == {"type": "many2many", "relation": "res.partner.category",
                                   "readonly": False}
    assert meta["title"]["relation"] == "res.partner.title"
    assert meta["commercial_partner_id"]["readonly"] is True
    assert {"company_id", "industry_id", "tz"} <= set(meta)
    assert ["Australia/Sydney", "Australia/Sydney"] in call(
        "res.partner", "fields_get", ["tz"], attributes=["selection"])["tz"]["selection"]
    doctor = call("res.partner.title", "search", [["shortcut", "=", "Dr."]])
    assert len(doctor) == 1
    tags = call("res.partner.category", "create", [{"name": "Physiotherapy"},
                                                   {"name": "Chronic care"}])
    clinic = call("res.partner", "create", {"name": "Harbour Clinic", "is_company": True})
    ids = call("res.partner", "create", [
        {"name": "Zoe Adams", "title": doctor[0], "category_id": [[6, 0, tags]],
         "tz": "Australia/Sydney", "parent_id": clinic},
        {"name": "Abe Brown", "category_id": [[4, tags[0], 0]]},
        {"name": "Abe Brown"}])
    rows = call("res.partner", "read", ids[:1], ["title", "category_id", "tz",
                                                  "commercial_partner_id", "complete_name",
                                                  "display_name", "company_id"])
    assert rows[0]["title"] == [doctor[0], "Doctor"]
    assert sorted(rows[0]["category_id"]) == sorted(tags)
    assert rows[0]["commercial_partner_id"] == [clinic, "Harbour Clinic"]
    assert rows[0]["complete_name"] == rows[0]["display_name"] == "Harbour Clinic, Zoe Adams"
    assert rows[0]["company_id"] is False
    tagged = call("res.partner", "search", [["category_id", "in", [tags[0]]]])
    assert sorted(tagged) == sorted(ids[:2])
    # default order: complete_name ASC, then the newer of two equal names first (id DESC)
    order = call("res.partner", "search", [["id", "in", [clinic, *ids]]])
    assert order == [ids[2], ids[1], clinic, ids[0]]
    with pytest.raises(xmlrpc.client.Fault) as bad:
        call("res.partner", "write", [ids[1]], {"tz": "Mars/Olympus"})
    assert bad.value.faultCode == 1  # a selection value outside the list, as Odoo's ValueError


def test_lead_tags_lost_reason_and_toggle_active(odoo_factory: Any) -> None:
    call = rpc(odoo_factory(17))
    meta = call("crm.lead", "fields_get", ["tag_ids", "lost_reason_id", "company_id"],
                attributes=["type", "relation"])
    assert meta["tag_ids"] == {"type": "many2many", "relation": "crm.tag"}
    assert meta["lost_reason_id"]["relation"] == "crm.lost.reason"
    tags = call("crm.tag", "create", [{"name": "Initial consultation"}, {"name": "Follow-up"}])
    with pytest.raises(xmlrpc.client.Fault) as dup:
        call("crm.tag", "create", {"name": "Follow-up"})
    assert dup.value.faultCode == 2 and "Tag name already exists" in dup.value.faultString
    reason = call("crm.lost.reason", "search", [["name", "=", "Too expensive"]])
    lead = call("crm.lead", "create", {"name": "Knee rehab", "tag_ids": [[6, 0, tags]],
                                       "lost_reason_id": reason[0], "probability": 40})
    row = call("crm.lead", "read", [lead], ["tag_ids", "company_id", "lost_reason_id"])[0]
    assert sorted(row["tag_ids"]) == sorted(tags) and row["company_id"][1] == "My Company"
    # toggle_active returns None: XML-RPC cannot marshal it, yet the archive committed
    with pytest.raises(xmlrpc.client.Fault) as none:
        call("crm.lead", "toggle_active", [lead])
    assert none.value.faultCode == 1 and "cannot marshal None" in none.value.faultString
    assert call("crm.lead", "search", [["id", "=", lead]]) == []
    gone = call("crm.lead", "search_read", [["id", "=", lead], ["active", "=", False]],
                fields=["probability", "lost_reason_id"])
    assert gone[0]["probability"] == 0 and gone[0]["lost_reason_id"][0] == reason[0]
    with pytest.raises(xmlrpc.client.Fault) as restrict:
        call("crm.lost.reason", "unlink", reason)  # ondelete restrict while a lead uses it
    assert restrict.value.faultCode == 2
    with pytest.raises(xmlrpc.client.Fault):
        call("crm.lead", "action_unarchive", [lead])
    back = call("crm.lead", "read", [lead], ["active", "lost_reason_id"])[0]
    assert back["active"] is True and back["lost_reason_id"] is False
    assert call("crm.lost.reason", "unlink", reason) is True
    # a model without ``active`` has no toggle_active
    with pytest.raises(xmlrpc.client.Fault) as missing:
        call("crm.tag", "toggle_active", tags)
    assert missing.value.faultCode == 1
    # a contact linked to an active user cannot be archived
    admin_partner = call("res.users", "read", [2], ["partner_id"])[0]["partner_id"][0]
    with pytest.raises(xmlrpc.client.Fault) as linked:
        call("res.partner", "write", [admin_partner], {"active": False})
    assert linked.value.faultCode == 2 and "linked to an active user" in linked.value.faultString


def test_calendar_event_and_sanitised_html(odoo_factory: Any) -> None:
    call = rpc(odoo_factory(17))
    patient = call("res.partner", "create", {"name": "Mia Chen"})
    event = call("calendar.event", "create", {
        "name": "Assessment", "start": "2026-03-02 22:00:00", "duration": 0.75,
        "partner_ids": [[6, 0, [patient]]],
        "description": '<p onclick="x()">Bring scans</p><script>alert(1)</script>'})
    row = call("calendar.event", "read", [event], ["start", "stop", "partner_ids",
                                                   "description", "user_id"])[0]
    assert (row["start"], row["stop"]) == ("2026-03-02 22:00:00", "2026-03-02 22:45:00")
    assert row["partner_ids"] == [patient] and row["user_id"][0] == 2
    assert row["description"] == "<p>Bring scans</p>"
    with pytest.raises(xmlrpc.client.Fault) as early:
        call("calendar.event", "create", {"name": "Bad", "start": "2026-03-02 10:00:00",
                                          "stop": "2026-03-02 09:00:00"})
    assert early.value.faultCode == 2
    msg = call("res.partner", "message_post", [patient],
               body="<p>ok</p><script>steal()</script>", body_is_html=True)
    assert call("mail.message", "read", [msg], ["body"])[0]["body"] == "<p>ok</p>"
    # Odoo 17 tools/mail.py: kill_tags go with their content, html/body are unwrapped
    call("res.partner", "write", [patient], {"comment": (
        '<html><body><p>Seen <b>today</b></p><iframe src="x">frame</iframe>'
        '<object data="y">obj</object><embed src="z"><meta charset="x"><title>t</title>'
        '<noscript>n</noscript><a href="javascript:go()">link</a></body></html>')})
    assert call("res.partner", "read", [patient], ["comment"])[0]["comment"] == \
        '<p>Seen <b>today</b></p><a href="">link</a>'


def test_title_gone_in_19_and_tags_over_odoolib(odoo_factory: Any) -> None:
    assert "title" not in rpc(odoo_factory(19))("res.partner", "fields_get",
                                                 attributes=["type"])
    odoo = odoo_factory(17)
    c = odoo.creds
    conn = odoolib.get_connection(hostname="127.0.0.1", port=urlparse(odoo.url).port,
                                  protocol="jsonrpc", database=c["db"], login=c["login"],
                                  password=c["password"])
    tags = conn.get_model("res.partner.category")
    vip = tags.create({"name": "Wellness plan"})
    child = tags.create({"name": "Annual", "parent_id": vip})
    assert tags.read([child], ["display_name"])[0]["display_name"] == "Annual"
    partners = conn.get_model("res.partner")
    pid = partners.create({"name": "Noah Patel", "category_id": [[6, 0, [vip, child]]]})
    assert partners.toggle_active([pid]) is None  # JSON-RPC carries the None
    assert partners.search([["category_id", "=", child]]) == []  # archived: hidden
    tags.unlink([vip])  # ondelete cascade takes the child; the partner loses both tags
    row = partners.search_read([["id", "=", pid], ["active", "=", False]], ["category_id"])
    assert row[0]["category_id"] == []
