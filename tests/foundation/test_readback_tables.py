"""Reconcile's read-back tables on both stores: what reconcile compares, kept in the store
instead of in memory (``ferry.engine.readback_tables``)."""

from __future__ import annotations

import os

from ferry.engine import readback_tables
from ferry.engine.readback_tables import ReadBack
from ferry.model.crypto import AesGcmCodec


def test_live_expected_and_rows_answer_what_reconcile_asks(backend, monkeypatch) -> None:
    monkeypatch.setattr(readback_tables, "CHUNK", 3)  # keyset pages and insert chunks cross
    store = backend.open("s", codec=AesGcmCodec(os.urandom(32)))
    rb = ReadBack(store)
    rb.add_live("person", ["p1", "p2", "p2", "p3", "p4", "p5", "p6", "p7"])  # a repeat
    rb.add_live("deal", ["d1", "d2", "d3"])
    assert rb.count("person") == 7 and "deal" in rb and "note" not in rb
    assert [i for batch in rb.iter_live("person") for i in batch] == \
        ["p1", "p2", "p3", "p4", "p5", "p6", "p7"]
    rb.add_expected([("person", "p1", "patient", "a", True), ("person", "p9", "patient", "b", True),
                     ("person", "p2", "patient", "c", False), ("deal", "d1", "invoice", "i1", True),
                     ("deal", "d2", "appointment", "x1", True)])
    assert list(rb.missing("person")) == [("p9", "patient", "b")]
    assert rb.expected_counts("person") == (3, 2, 2)  # in the id map, of them live, created
    assert rb.has("person", "p3") and not rb.has("person", "p9")
    assert rb.live_among(["person", "deal"], ["p1", "d3", "zz"]) == {"p1", "d3"}

    rb.add_rows("deal", {"d1": {"sid": "i1", "person_id": "p1", "value": 12.5},
                         "d2": {"sid": "x1", "person_id": ["p2", "p9"], "value": None},
                         "d3": {"sid": "i1", "person_id": "", "value": "7"}},
                id_keys=["sid"], ref_keys=["person_id"], sum_keys=["value"])
    # one source id on two records: a double write, and which one the id map knows
    dups = [(k, sid, dids) for k, sid, dids in rb.source_ids("deal", ["sid"]) if len(dids) > 1]
    assert dups == [("sid", "i1", ["d1", "d3"])]
    assert rb.expected_among("deal", ["d1", "d3"]) == {"d1"}
    # references: p9 is not live (an orphan); d1 was written by invoices, d2 by appointments
    assert list(rb.refs("deal", "person_id", ["person"], "invoice")) == [
        ("d1", "p1", True, True), ("d2", "p2", True, False), ("d2", "p9", False, False)]
    assert rb.rows("deal", ["d1", "d2", "d3", "d4"], ["value"]) == {
        "d1": {"value": 12.5}, "d2": {"value": None}, "d3": {"value": "7"}}
    assert rb.rows("person", ["p1"], []) == {}  # live, but never read back
    # the summed values (PHI) are stored through the store's codec, not in clear
    stored = backend.sql("s", "SELECT value FROM readback_val WHERE key='s:value' AND did='d1'")
    assert stored and b"12.5" not in bytes(stored[0][0])

    other = ReadBack(store)  # a second reconcile of the project does not see these rows
    other.add_live("person", ["q1"])
    assert other.count("person") == 1 and not other.has("person", "p1")
    rb.close()
    assert backend.sql("s", "SELECT count(*) FROM readback_live WHERE did LIKE 'p%'")[0][0] == 0
    assert backend.sql("s", "SELECT count(*) FROM readback_val")[0][0] == 0
    assert other.has("person", "q1")
    other.close()  # the last reconcile's rows: each table emptied whole
    for t in readback_tables.TABLES:
        assert backend.sql("s", f"SELECT count(*) FROM {t}")[0][0] == 0  # noqa: S608


def test_the_old_read_back_tables_are_dropped(backend) -> None:
    """Stores reconciled before the read-back tables were keyed by their primary key (WITHOUT
    ROWID) kept the first tables, empty: they go when the next reconcile starts."""
    store = backend.open("s")
    with store.tx() as c:
        c.execute("CREATE TABLE recon_live (tag TEXT NOT NULL, target TEXT NOT NULL,"
                  " did TEXT NOT NULL, got INTEGER NOT NULL, PRIMARY KEY (tag, target, did))")
    listed = ("SELECT name FROM sqlite_master WHERE name='recon_live'" if backend.url is None
              else "SELECT table_name FROM information_schema.tables WHERE"
                   " table_name='recon_live' AND table_schema=current_schema()")
    assert backend.sql("s", listed)
    ReadBack(store).close()
    assert not backend.sql("s", listed)
