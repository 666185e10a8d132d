"""Pipedrive strips ``<script>`` from note bodies, as the service does; documented sort_by works."""

from __future__ import annotations

import time


def test_note_bodies_lose_scripts_and_keep_the_rest(pd):
    h = pd()
    with h.raw() as c:
        pid = c.post("/api/v2/persons", json={"name": "A Person"}).json()["data"]["id"]
        r = c.post("/api/v1/notes", json={
            "person_id": pid, "content": "<p>Seen today</p><script>alert(1)</script>"
                                         "<a href=\"javascript:x()\" onclick=\"y()\">link</a>"})
        assert r.status_code == 201 or r.status_code == 200, r.text
        content = c.get(f"/api/v1/notes/{r.json()['data']['id']}").json()["data"]["content"]
    assert "<script" not in content and "alert" not in content and "onclick" not in content
    assert "javascript:" not in content and "<p>Seen today</p>" in content


def test_documented_sort_by_update_time_and_add_time(pd):
    h = pd()
    with h.raw() as c:
        ids = [c.post("/api/v2/persons", json={"name": f"P{i}"}).json()["data"]["id"]
               for i in range(3)]
        time.sleep(1.1)  # update_time has one-second resolution
        c.patch(f"/api/v2/persons/{ids[0]}", json={"name": "P0 changed"})
        for key in ("update_time", "add_time", "id"):
            r = c.get("/api/v2/persons", params={"sort_by": key, "sort_direction": "desc"})
            assert r.status_code == 200, (key, r.text)
        got = [p["id"] for p in c.get("/api/v2/persons", params={
            "sort_by": "update_time", "sort_direction": "desc"}).json()["data"]]
        assert got[0] == ids[0]
