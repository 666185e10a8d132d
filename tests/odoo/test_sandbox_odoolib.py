"""The Odoo sandbox driven by Odoo SA's own client library (odoo-client-lib / ``odoolib``).

odoolib speaks the legacy ``/xmlrpc/<service>`` endpoints (string fault codes) and ``/jsonrpc``,
calls ``common.login`` and passes ``search``/``read`` arguments positionally — a different path
through the sandbox than a hand-written ``/xmlrpc/2`` script.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any
from urllib.parse import urlparse

import odoolib
import pytest
from odoolib.tools import AuthenticationError, JsonRPCException


def connect(odoo: Any, protocol: str, password: str | None = None) -> Any:
    c = odoo.creds
    port = urlparse(odoo.url).port
    return odoolib.get_connection(hostname="127.0.0.1", port=port, protocol=protocol,
                                  database=c["db"], login=c["login"],
                                  password=password or c["password"])


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_odoolib_script(odoo_factory: Any, protocol: str) -> None:
    odoo = odoo_factory(18)
    conn = connect(odoo, protocol)
    conn.check_login()
    assert conn.user_id == 2
    partners = conn.get_model("res.partner")
    fields = partners.fields_get(attributes=["type", "string", "required"])
    assert fields["mobile"]["type"] == "char"  # still there in 18
    countries = conn.get_model("res.country").search_read([["code", "in", ["NL", "ES"]]],
                                                          ["code"])
    by_code = {c["code"]: c["id"] for c in countries}
    ids = partners.create([{"name": "Eva de Vries", "country_id": by_code["NL"]},
                           {"name": "Pau Vidal", "country_id": by_code["ES"],
                            "is_company": False}])
    assert len(ids) == 2
    rows = partners.search_read(["|", ["country_id.code", "=", "NL"],
                                 ["name", "=ilike", "pau%"]], ["name", "country_id"])
    assert sorted(r["name"] for r in rows) == ["Eva de Vries", "Pau Vidal"]
    assert partners.read(ids[0], ["name"])["name"] == "Eva de Vries"
    assert partners.search_count([["id", "in", ids]]) == 2
    assert conn.get_model("res.users").context_get()["uid"] == 2


def test_odoolib_faults_xmlrpc(odoo_factory: Any) -> None:
    odoo = odoo_factory(17)
    partners = connect(odoo, "xmlrpc").get_model("res.partner")
    with pytest.raises(xmlrpc.client.Fault) as info:
        partners.create({"email": "no-name@x.test"})
    assert info.value.faultCode.startswith("warning -- UserError\n\n")
    assert "Contacts require a name" in info.value.faultCode
    with pytest.raises(xmlrpc.client.Fault) as info:
        partners.write([987654], {"name": "x"})
    assert info.value.faultCode.startswith("warning -- MissingError")
    with pytest.raises(xmlrpc.client.Fault) as info:
        partners.create({"name": "x", "type": "nope"})
    assert "Wrong value" in info.value.faultCode and "Traceback" in info.value.faultString
    with pytest.raises(AuthenticationError):
        connect(odoo, "xmlrpc", password="wrong").check_login()


def test_odoolib_faults_jsonrpc(odoo_factory: Any) -> None:
    odoo = odoo_factory(19)
    conn = connect(odoo, "jsonrpc")
    with pytest.raises(JsonRPCException) as info:
        conn.get_model("res.partner").create({"name": "x", "mobile": "+31 6"})
    assert info.value.error["data"]["name"] == "builtins.ValueError"  # no mobile in 19
    assert "Invalid field 'mobile'" in info.value.error["data"]["message"]
    meta = conn.get_model("res.partner").fields_get()  # a full fields_get is fine over JSON
    assert "mobile" not in meta and "name" in meta
    user = conn.get_model("ir.model.fields")
    with pytest.raises(JsonRPCException) as info:
        user.create({"model_id": 1, "name": "nox", "field_description": "N", "ttype": "char"})
    assert info.value.error["data"]["name"] == "odoo.exceptions.ValidationError"


def test_odoolib_json2_on_19(odoo_factory: Any) -> None:
    """JSON-2 (19 only): bearer API key, named arguments, ids for every recordset, HTTP errors."""
    import httpx

    odoo = odoo_factory(19)
    c = odoo.creds
    port = urlparse(odoo.url).port
    conn = odoolib.get_connection(hostname="127.0.0.1", port=port, protocol="json2",
                                  database=c["db"], password=c["api_key"])
    assert conn.check_login() is True
    partners = conn.get_model("res.partner")
    ids = partners.create(vals_list=[{"name": "Noor"}, {"name": "Ivo"}])
    assert len(ids) == 2
    one = partners.create(vals_list={"name": "Solo"})
    assert isinstance(one, list) and len(one) == 1  # create always answers a list
    rows = partners.search_read([["name", "in", ["Noor", "Ivo"]]], ["name"])  # positional
    assert sorted(r["name"] for r in rows) == ["Ivo", "Noor"]
    assert partners.read(ids[0], ["name"])["name"] == "Noor"
    with pytest.raises(ValueError, match="Invalid request.*ValidationError"):  # 422
        partners.create(vals_list={"email": "nameless@x.test"})  # UserError → 422
    with pytest.raises(AuthenticationError):
        odoolib.get_connection(hostname="127.0.0.1", port=port, protocol="json2",
                               database=c["db"], password=c["password"]
                               ).get_model("res.partner").search_count(domain=[])
    url = f"{odoo.url}/json/2/res.partner/search"
    headers = {"Authorization": f"bearer {c['api_key']}"}
    assert httpx.post(url, headers=headers, json={"ids": [1], "domain": []},
                      timeout=60).status_code == 422
    assert httpx.post(f"{odoo.url}/json/2/nope/search", headers=headers,
                      json={}, timeout=60).status_code == 404
    old = odoo_factory(18)
    assert httpx.post(f"{old.url}/json/2/res.partner/search", headers=headers,
                      json={"domain": []}, timeout=60).status_code == 404  # no JSON-2 before 19
