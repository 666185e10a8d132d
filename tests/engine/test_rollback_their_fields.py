"""A pick-list field the account already had (a clinic's own "Sex" field in Pipedrive, an Odoo
Studio selection) is reused by ``prepare``, which adds the options the migration needs. A
rollback must give the account back as it was: the field stays, with exactly the options it
had, and the account's own record keeps its value. Before, the added options stayed behind
(the provision was logged as not created, so the rollback left the whole field alone).

Real connector code over HTTP against the sandboxes; the account's own field and record are
made through the destination's API, as its users made them.
"""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.engine import pipeline as P

from .setup_pair import approve_phi, make_pair

THEIRS = "Prefer not to say"


def _pd_field(state: dict[str, Any]) -> dict[str, Any]:
    [f] = [f for f in state["fields"]["person"] if f["field_name"] == "Sex"
           and not f["is_deleted"]]
    return f


def _odoo(pair: Any) -> Any:
    c = pair.dest_info["credentials"]
    common = xmlrpc.client.ServerProxy(f"{c['url']}/xmlrpc/2/common", allow_none=True)
    obj = xmlrpc.client.ServerProxy(f"{c['url']}/xmlrpc/2/object", allow_none=True)
    uid = common.authenticate(c["db"], c["login"], c["api_key"], {})

    def call(model: str, method: str, *args: Any, **kw: Any) -> Any:
        return obj.execute_kw(c["db"], uid, c["api_key"], model, method, list(args), kw)
    return call


def _theirs(pair: Any, destination: str) -> tuple[Any, Any]:
    """Make the account's own pick-list and a record using it; return (options, value) readers."""
    if destination == "pipedrive":
        info = pair.dest_info
        with httpx.Client(base_url=info["base_url"], timeout=60,
                          headers={"x-api-token": info["credentials"]["api_token"]}) as c:
            r = c.post("/api/v2/personFields", json={
                "field_name": "Sex", "field_type": "enum", "options": [{"label": THEIRS}]})
            r.raise_for_status()
            f = r.json()["data"]
            r = c.post("/api/v2/persons", json={"name": "Their own contact", "custom_fields": {
                f["field_code"]: f["options"][0]["id"]}})
            r.raise_for_status()
            pid = r.json()["data"]["id"]

        def state() -> dict[str, Any]:
            return httpx.get(info["base_url"] + "/_sandbox/state", timeout=60).json()

        def options() -> list[str]:
            return sorted(o["label"] for o in _pd_field(state())["options"])

        def value() -> Any:
            [p] = [p for p in state()["records"]["person"] if p["id"] == pid]
            return p["custom_fields"].get(f["field_code"])
        return options, value
    call = _odoo(pair)
    [mid] = call("ir.model", "search", [["model", "=", "res.partner"]])
    fid = call("ir.model.fields", "create", [{
        "model_id": mid, "name": "x_sex", "field_description": "Sex", "state": "manual",
        "ttype": "selection", "selection_ids": [[0, 0, {"value": "pnts", "name": THEIRS}]]}])[0]
    partner = call("res.partner", "create", {"name": "Their own contact", "x_sex": "pnts"})

    def options() -> list[str]:
        rows = call("ir.model.fields.selection", "search_read", [["field_id", "=", fid]],
                    fields=["name"])
        return sorted(r["name"] for r in rows)

    def value() -> Any:
        return call("res.partner", "read", [partner], fields=["x_sex"])[0]["x_sex"]
    return options, value


@pytest.mark.parametrize("destination", ["pipedrive", "odoo"])
def test_rollback_leaves_their_pick_list_as_it_was(tmp_path: Path, destination: str) -> None:
    with make_pair(tmp_path / "proj", destination=destination, seed=5, patients=8,
                   env_prefix="FERRY_THEIRF_") as pair:
        options, value = _theirs(pair, destination)
        before = (options(), value())
        assert before[0] == [THEIRS] and before[1] not in (None, False, "")
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        added = options()
        assert THEIRS in added and len(added) > 1  # the map's labels were added to theirs
        approve_phi(pair.project)
        P.load(pair.project)
        result = P.run_rollback(pair.project)
        assert result.verified, result.failures
        assert (options(), value()) == before
