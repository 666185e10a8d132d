"""queryAll returns deleted (Recycle Bin) rows with IsDeleted true; query does not [doc REST API]."""

from __future__ import annotations

from typing import Any


def test_query_all_returns_deleted_rows(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    made = raw.post("composite/sobjects", json={"records": [
        {"attributes": {"type": "Contact"}, "LastName": f"Q{i}"} for i in range(3)]}).json()
    ids = [r["id"] for r in made]
    assert raw.delete("composite/sobjects", params={"ids": ids[0]}).json()[0]["success"]
    soql = "SELECT Id, LastName, IsDeleted FROM Contact WHERE LastName LIKE 'Q%'"
    live = raw.get("query", params={"q": soql}).json()["records"]
    assert {r["Id"] for r in live} == set(ids[1:])
    every = raw.get("queryAll", params={"q": soql}).json()["records"]
    assert {r["Id"] for r in every} == set(ids)
    gone = next(r for r in every if r["Id"] == ids[0])
    assert gone["IsDeleted"] is True and gone["LastName"] == "Q0"
    only = raw.get("queryAll", params={"q": soql + " AND IsDeleted = true"}).json()["records"]
    assert [r["Id"] for r in only] == [ids[0]]
