"""JSON-RPC (the default) and XML-RPC give Ferry the same results and the same errors.

Odoo's ``/jsonrpc`` reports an exception by its dotted name (NOTES 1.5) where ``/xmlrpc/2`` gives
an integer fault code (NOTES 1.4); the connector reads the JSON error back as the fault XML-RPC
carries for the same exception, so every error path (a refused record, an unknown field, missing
records, rights, a bad login, a lock Odoo gave up on) ends in the same Ferry error either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.connectors.registry import make_destination
from ferry.destinations.odoo.rpc import PROTOCOLS, fault_of
from ferry.destinations.odoo.writer import OdooDestination
from ferry.errors import FerryError
from ferry.model.fields import Kind


def connect(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, protocol: str,
            login: str | None = None, password: str | None = None) -> OdooDestination:
    c = odoo.creds
    monkeypatch.setenv("ODOO_PROTO_SECRET", password or c["api_key"])
    dest = make_destination("odoo", {
        "url": odoo.url, "db": c["db"], "login": login or c["login"], "protocol": protocol,
        "api_key_env": "ODOO_PROTO_SECRET", "time_scale": 1000.0}, tmp_path)
    assert isinstance(dest, OdooDestination) and dest.rpc.protocol == protocol
    return dest


def outcome(call: Any) -> tuple[str, str]:
    try:
        return "ok", repr(call())
    except FerryError as exc:
        return type(exc).__name__, str(exc)


def scenario(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, protocol: str
             ) -> list[Any]:
    odoo.reset()
    dest = connect(odoo, monkeypatch, tmp_path, protocol)
    rpc = dest.rpc
    out: list[Any] = [rpc.version()["server_serie"]]
    rows = [{"name": "Ann", "email": "ann@example.test"}, {"email": "nameless@example.test"},
            {"name": "Bob", "user_id": "nobody@example.test"}, {"name": "Cy", "comment": "a & <b>"}]
    made = dest.create("res.partner", rows)
    out.append([(r.ok, r.error.reason if r.error else None,
                 getattr(r.error, "field", None)) for r in made])
    ids = [int(r.dest_id or 0) for r in made if r.ok]
    out.append(dest.read("res.partner", [str(i) for i in ids], ["name", "email", "comment"]))
    out.append(outcome(lambda: rpc.execute("res.partner", "create", [{"name": "X",
                                                                       "x_nope": 1}])))
    out.append(outcome(lambda: rpc.execute("res.partner", "write", [999999], {"name": "Z"})))
    out.append(outcome(lambda: rpc.execute("res.partner", "create", [{"email": "e@x.test"}])))
    out.append(outcome(lambda: rpc.execute("res.partner", "no_such_method", [])))
    out.append(outcome(lambda: rpc.execute("res.partner", "_private", [])))
    odoo.faults("lock=1")
    out.append(outcome(lambda: rpc.execute("res.partner", "search_count", [])))
    odoo.faults("")
    login, password = next(iter(odoo.creds["users"].items()))
    user = connect(odoo, monkeypatch, tmp_path, protocol, login=login, password=password)
    out.append(outcome(lambda: user.ensure([SchemaItem("custom_field", "res.partner", "other",
                                                       "Other", Kind.TEXT)])))
    bad = connect(odoo, monkeypatch, tmp_path, protocol, password="not-the-key")
    out.append(outcome(bad.rpc.authenticate))
    bad.rpc.uid = 2  # a call with a uid and a wrong key: Odoo's AccessDenied (fault 3)
    out.append(outcome(lambda: bad.rpc.execute("res.partner", "search_count", [])))
    return out


def test_both_protocols_give_the_same_results_and_errors(
        odoo_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    odoo = odoo_factory(17)
    got = {p: scenario(odoo, monkeypatch, tmp_path, p) for p in PROTOCOLS}
    assert got["jsonrpc"] == got["xmlrpc"]
    out = got["jsonrpc"]
    assert out[0] == "17.0"
    assert [ok for ok, _, _ in out[1]] == [True, False, False, True]
    assert out[1][2][2] == "user_id" and "name" in str(out[1][1][1])
    assert sorted(v["comment"] for v in out[2].values() if v["comment"]) == ["a & <b>"]
    kinds = [k for k, _ in out[3:]]
    assert kinds == ["OdooSchemaError", "OdooUserError", "OdooUserError", "OdooServerError",
                     "FatalError", "FatalError", "FatalError", "FatalError", "FatalError"]
    assert "(x_nope)" in out[3][1] and "does not exist" in out[4][1]
    assert "Contacts require a name" in out[5][1] and "AttributeError" in out[6][1]
    assert "denied _private" in out[7][1] and "database lock" in out[8][1]
    assert "access rights" in out[9][1] and "refused the login:" in out[10][1]
    assert "Access Denied" in out[11][1]
    assert "nameless" not in repr(out) and "not-the-key" not in repr(out)


def test_a_json_error_is_read_as_the_fault_xmlrpc_gives() -> None:
    """Odoo's JSON-RPC error objects (NOTES 1.5) → the ``/xmlrpc/2`` fault for the same
    exception (NOTES 1.4): codes 2-4 carry the message, anything else the traceback."""
    def err(name: str) -> dict[str, Any]:
        return {"code": 200, "message": "Odoo Server Error",
                "data": {"name": name, "message": "msg", "arguments": ["msg"], "context": {},
                         "debug": "Traceback ...\nValueError: msg\n"}}

    got = {n: (f.faultCode, f.faultString) for n in (
        "odoo.exceptions.ValidationError", "odoo.exceptions.MissingError",
        "odoo.exceptions.UserError", "odoo.exceptions.AccessError",
        "odoo.exceptions.AccessDenied", "builtins.ValueError",
        "psycopg2.errors.SerializationFailure") for f in [fault_of(err(n))]}
    assert got == {"odoo.exceptions.ValidationError": (2, "msg"),
                   "odoo.exceptions.MissingError": (2, "msg"),
                   "odoo.exceptions.UserError": (2, "msg"),
                   "odoo.exceptions.AccessError": (4, "msg"),
                   "odoo.exceptions.AccessDenied": (3, "msg"),
                   "builtins.ValueError": (1, "Traceback ...\nValueError: msg\n"),
                   "psycopg2.errors.SerializationFailure": (
                       1, "Traceback ...\nValueError: msg\n")}
    assert fault_of({"code": 404, "message": "404: Not Found"}).faultCode == 1
