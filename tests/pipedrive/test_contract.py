"""The sandbox and the connector against the official OpenAPI documents."""

from __future__ import annotations

from ferry.destinations.pipedrive.client import COSTS
from ferry.sandbox.pipedrive import spec


def test_connector_costs_equal_the_specs_x_token_cost() -> None:
    documented = spec.costs()
    assert COSTS, "cost table is empty"
    for key, cost in COSTS.items():
        assert documented.get(key) == cost, key


def test_validator_is_live_and_flags_an_undocumented_request(pd) -> None:
    h = pd()
    h.allow_violations = True
    with h.raw() as c:
        r = c.post("/api/v2/persons", json={"name": "X", "owner_id": "1"})
        assert r.status_code == 400
        assert r.json() == {"success": False, "data": None, "additional_data": None,
                            "error": "provided dataset is not valid",
                            "error_info": '"owner_id" must be a number'}
        assert c.get("/api/v2/persons").status_code == 200
    found = [v for v in h.sb.violations if v["where"] == "request"]
    assert len(found) == 1 and found[0]["path"] == "/persons"
    assert h.state()["contract"]["checked"] >= 2


def test_a_repeated_undocumented_request_is_flagged_each_time(pd) -> None:
    """Request findings are kept by the request's bytes (``contract._REQUEST_FINDINGS``): the
    same bad request, sent again, is a finding again, with the same words; a valid one is not."""
    h = pd()
    h.allow_violations = True
    with h.raw() as c:
        for _ in range(3):
            assert c.post("/api/v2/persons", json={"name": "X", "owner_id": "1"}
                          ).status_code == 400
            assert c.get("/api/v2/persons").status_code == 200
    found = [v for v in h.sb.violations if v["where"] == "request"]
    assert len(found) == 3 and len({v["error"] for v in found}) == 1
    assert {(v["method"], v["path"]) for v in found} == {("POST", "/persons")}
    assert h.state()["contract"]["checked"] == 6


def test_envelopes_pagination_and_headers(pd) -> None:
    h = pd()
    with h.raw() as c:
        for i in range(3):
            assert c.post("/api/v2/organizations", json={"name": f"Clinic {i}"}).is_success
        page = c.get("/api/v2/organizations", params={"limit": 2})
        body = page.json()
        assert body["success"] is True and len(body["data"]) == 2
        cursor = body["additional_data"]["next_cursor"]
        rest = c.get("/api/v2/organizations", params={"limit": 2, "cursor": cursor}).json()
        assert [o["name"] for o in rest["data"]] == ["Clinic 2"]
        assert rest["additional_data"]["next_cursor"] is None
        assert c.get("/api/v2/organizations", params={"limit": 501}).status_code == 400
        assert page.headers["x-ratelimit-limit"] == "40"
        assert {"x-ratelimit-remaining", "x-ratelimit-reset", "x-daily-requests-left"} <= set(
            page.headers)
        notes = c.get("/api/v1/notes", params={"limit": 900}).json()
        assert notes["additional_data"]["pagination"]["limit"] == 500
        files = c.get("/v1/files", params={"limit": 900}).json()  # v1 also answers on /v1
        assert files["additional_data"]["pagination"]["limit"] == 100
    with httpx_client(h.base_url) as anon:
        r = anon.get("/api/v2/persons")
        assert r.status_code == 401
        assert r.json() == {"success": False, "error": "unauthorized access", "errorCode": 401}
    h.allow_violations = True  # the over-limit and anonymous calls above are off-contract
    assert {(v["path"], v["status"]) for v in h.sb.violations} <= {
        ("/notes", 200), ("/files", 200), ("/persons", 401)}
    tokens = h.state()["tokens"]
    assert tokens["by_operation"]["addOrganization"] == 15  # 3 x 5 tokens (x-token-cost)
    assert tokens["daily_budget"] == 60_000  # 30,000 x growth multiplier 2 x 1 seat


def httpx_client(base_url: str):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(base_url=base_url, timeout=60)


def test_users_are_the_configured_list_plus_the_owner(pd) -> None:
    h = pd()
    users = h.dest().users()
    assert [u.email for u in users] == ["owner@ferry-sandbox.example", "dr.ada@clinic.example",
                                        "frontdesk@clinic.example"]
    assert all(u.active and u.id.isdigit() for u in users)


def test_search_semantics_and_search_burst(pd) -> None:
    h = pd(time_scale=1)
    with h.raw() as c:
        key = c.post("/api/v2/personFields", json={"field_name": "Ext id",
                                                   "field_type": "varchar"}).json()["data"][
            "field_code"]
        c.post("/api/v2/persons", json={"name": "Ann Lee", "emails": [{"value": "ann@x.example"}],
                                        "custom_fields": {key: "AbC-1"}})
        hits = c.get("/api/v2/persons/search", params={"term": "ANN@X.EXAMPLE",
                                                       "exact_match": "true"}).json()
        assert [i["item"]["name"] for i in hits["data"]["items"]] == ["Ann Lee"]
        assert c.get("/api/v2/persons/search", params={"term": "a"}).status_code == 400
        exact = {"entity_type": "person", "field": key, "match": "exact"}
        assert c.get("/api/v2/itemSearch/field", params={**exact, "term": "AbC-1"}).json()[
            "data"] == [{"id": 1, "name": "AbC-1"}]
        assert c.get("/api/v2/itemSearch/field", params={**exact, "term": "abc-1"}).json()[
            "data"] == []  # case-sensitive, as documented
        h.sb.clock.freeze()  # the 12 in one instant of the 2 s window, however slow the box
        statuses = [c.get("/api/v2/itemSearch/field", params={**exact, "term": "x"}).status_code
                    for _ in range(12)]
        assert statuses.count(429) >= 1  # 10 searches per 2 s on every plan
    assert h.state()["tokens"]["refusals"]["search_burst"] >= 1


def test_hammering_after_429_gets_the_cloudflare_403(pd) -> None:
    h = pd(time_scale=1, burst=2, hammer_after=3)
    h.sb.clock.freeze()  # all in one 2 s window, however slow the box: the 429s in a row
    with h.raw() as c:
        codes = [c.get("/api/v1/users/me").status_code for _ in range(7)]
    assert codes[:2] == [200, 200] and codes[2:5] == [429, 429, 429] and codes[5] == 403
    from ferry.destinations.pipedrive.errors import to_error
    from ferry.errors import FatalError

    with h.raw() as c:
        r = c.get("/api/v1/users/me")
    err = to_error(r, "pipedrive:user:me")
    assert isinstance(err, FatalError) and "429" in str(err)
