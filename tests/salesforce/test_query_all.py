"""queryAll returns deleted (Recycle Bin) rows with IsDeleted true; query does not [doc REST API]."""

from __future__ import annotations

from typing import Any


def _contacts(raw: Any, prefix: str, n: int) -> list[str]:
    """``n`` Contacts named prefix0..prefix(n-1), made in one composite call; their ids."""
    made = raw.post("composite/sobjects", json={"records": [
        {"attributes": {"type": "Contact"}, "LastName": f"{prefix}{i}"} for i in range(n)]})
    return [r["id"] for r in made.json()]


def test_query_all_returns_deleted_rows(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    ids = _contacts(raw, "Q", 3)
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


def test_contact_describe_has_the_compound_mailing_address(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    fields = {f["name"]: f for f in raw.get("sobjects/Contact/describe").json()["fields"]}
    addr = fields["MailingAddress"]
    assert addr["type"] == "address" and not addr["createable"] and not addr["updateable"]
    rid = raw.post("composite/sobjects", json={"records": [
        {"attributes": {"type": "Contact"}, "LastName": "Addr", "MailingCity": "Perth",
         "MailingPostalCode": "6000"}]}).json()[0]["id"]
    row = raw.get("query", params={"q": f"SELECT MailingAddress FROM Contact WHERE Id = '{rid}'"}
                  ).json()["records"][0]
    assert row["MailingAddress"]["city"] == "Perth"
    assert row["MailingAddress"]["postalCode"] == "6000"


def test_where_id_in_reads_the_named_rows_and_their_other_conditions(sf: Any) -> None:
    # the emulator reads such rows by key (no scan per query): the same rows as a scan
    h = sf()
    raw = h.raw()
    ids = _contacts(raw, "K", 4)
    listed = ", ".join(f"'{i}'" for i in ids[:3])

    def got(where: str) -> set[str]:
        q = f"SELECT Id FROM Contact WHERE {where}"
        return {r["Id"] for r in raw.get("query", params={"q": q}).json()["records"]}

    assert got(f"Id IN ({listed})") == set(ids[:3])
    assert got(f"Id IN ({listed}) AND LastName != 'K1'") == {ids[0], ids[2]}
    assert got(f"LastName = 'K3' AND Id IN ({listed})") == set()
    assert got(f"Id IN ({listed}, '003000000000000AAA')") == set(ids[:3])  # unknown id: scanned
    assert raw.delete("composite/sobjects", params={"ids": ids[0]}).json()[0]["success"]
    assert got(f"Id IN ({listed})") == set(ids[1:3])  # deleted rows are not read back
