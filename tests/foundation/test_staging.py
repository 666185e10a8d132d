"""The staging store: records, pages with their checkpoint, skips, id map, runs, key/values."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.model.entities import Patient
from ferry.model.staging import StagingStore, content_hash

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def pt(i: int, name: str = "Ann") -> Patient:
    return Patient(source_id=str(i), first_name=name, created_at=T0, updated_at=T0)


@pytest.fixture
def store(backend) -> StagingStore:  # type: ignore[no-untyped-def]
    """A fresh store on each backend (SQLite file, PostgreSQL schema)."""
    return backend.open("s")


def test_put_get_iter_count(store: StagingStore) -> None:
    st = store.put_records("patient", [pt(i) for i in range(1, 6)], watermark="w1")
    assert (st.inserted, st.updated, st.unchanged) == (5, 0, 0)
    st = store.put_records("patient", [pt(1), pt(2, "Bea"), pt(9)])
    assert (st.inserted, st.updated, st.unchanged) == (1, 1, 1)
    assert store.count("patient") == 6 and store.counts() == {"patient": 6}
    got = store.get("patient", "2")
    assert got is not None and got.record.first_name == "Bea"
    assert got.hash == content_hash(pt(2, "Bea"))
    assert store.get("patient", "404") is None
    order = [r.source_id for r in store.iter_records("patient", batch_size=2)]
    assert order == ["1", "2", "3", "4", "5", "9"]  # first-staged order, updates keep their place
    assert [len(b) for b in store.iter_batches("patient", batch_size=4)] == [4, 2]
    assert list(store.iter_id_batches("patient", 4)) == [["1", "2", "3", "4"], ["5", "9"]]


def test_deleted_and_changed_since(store: StagingStore) -> None:
    store.put_records("patient", [pt(i) for i in range(1, 4)])
    mark = store.conn.execute("SELECT max(staged_at) FROM records").fetchone()[0]
    time.sleep(0.002)
    assert store.mark_deleted("patient", ["2", "404"]) == 1
    assert store.count("patient") == 2 and store.count("patient", include_deleted=True) == 3
    assert [r.source_id for r in store.iter_records("patient")] == ["1", "3"]
    assert list(store.iter_id_batches("patient", 1)) == [["1"], ["3"]]  # the live ones
    many = store.get_many("patient", ["3", "2", "404", "3"])
    assert sorted(many) == ["2", "3"] and many["2"].deleted and not many["3"].deleted
    assert many["3"] == store.get("patient", "3")
    changed = [s.source_id for b in store.iter_batches("patient", include_deleted=True,
                                                        changed_since=mark) for s in b]
    assert changed == ["2"]
    store.put_records("patient", [pt(2)])  # re-staged: alive again
    assert store.count("patient") == 3


def test_checkpoints_and_kv(store: StagingStore) -> None:
    assert store.get_checkpoint("extract:patient") is None
    store.set_checkpoint("extract:patient", "page=3")
    store.set_checkpoint("extract:patient", "page=4")
    store.set_checkpoint("extract:appointment", "page=1")
    store.set_checkpoint("load:patient", "done")
    assert store.get_checkpoint("extract:patient") == "page=4"
    assert store.checkpoints("extract:") == {"extract:appointment": "page=1",
                                             "extract:patient": "page=4"}
    store.clear_checkpoints("extract:")
    assert store.checkpoints() == {"load:patient": "done"}
    store.set_value("k", {"a": [1, 2]})
    assert store.get_value("k") == {"a": [1, 2]} and store.get_value("nope") is None


class Exploding:
    """A codec that fails on its n-th encode: a crash halfway through a page."""

    def __init__(self, n: int) -> None:
        self.n = n

    def encode(self, data: bytes) -> bytes:
        self.n -= 1
        if self.n == 0:
            raise OSError("disk full")
        return data

    def decode(self, data: bytes) -> bytes:
        return data


def test_put_page_is_all_or_nothing(backend) -> None:  # type: ignore[no-untyped-def]
    store = backend.open("s", codec=Exploding(7))
    store.put_page("patient", [pt(i) for i in range(5)], "extract:patient", "1")
    with pytest.raises(OSError):
        store.put_page("patient", [pt(i) for i in range(5, 10)], "extract:patient", "2")
    assert store.count("patient") == 5
    assert store.get_checkpoint("extract:patient") == "1"
    assert store.get("patient", "5") is None


CHILD = textwrap.dedent("""
    import datetime as dt, sys
    from ferry.model.entities import Patient
    from ferry.model.stores import open_store
    s = open_store(sys.argv[1], schema=sys.argv[2] if len(sys.argv) > 2 else None)
    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    page = int(s.get_checkpoint("p") or 0)
    print("ready", flush=True)
    while True:
        page += 1
        s.put_page("patient", [Patient(source_id=str(page * 100 + k), created_at=t,
                                       updated_at=t) for k in range(100)], "p", str(page))
""")


def _committed_page(backend) -> int:  # type: ignore[no-untyped-def]
    """The child's last committed page, read through a connection of our own."""
    try:
        rows = backend.sql("k", "SELECT value FROM checkpoints WHERE scope='p'")
    except Exception:  # not created yet
        return 0
    return int(rows[0][0]) if rows else 0


def test_kill_9_mid_extract_leaves_pages_whole(backend) -> None:  # type: ignore[no-untyped-def]
    before = 0
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, *backend.args("k")],
                                stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        # kill mid-stream once it has committed a few pages, however slow the machine is
        deadline = time.monotonic() + 60
        while _committed_page(backend) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        store = backend.open("k")
        page = int(store.get_checkpoint("p") or 0)
        assert page > before
        before = page
        assert store.count("patient") == page * 100  # every committed page whole, no others
        store.close()


def test_skips_idmap_runs(store: StagingStore) -> None:
    run = store.start_run("run", {"batch": 100})
    assert store.runs()[0].status == "running" and store.run(run).params == {"batch": 100}
    store.skip(run, "practicehub:patient:7", "email", "not an email address", "load")
    store.skip("other", "practicehub:patient:8", None, "duplicate", "dedup")
    assert [s.ref for s in store.skips(run)] == ["practicehub:patient:7"]
    assert len(store.skips()) == 2
    store.map_id("patient", "7", "person", "P-1", run, created=True)
    store.map_id("patient", "7", "lead", "L-1", run, created=False)
    store.map_id("patient", "8", "person", "P-2", "other", created=True)
    assert store.dest_id("patient", "7", "person") == "P-1"
    assert store.dest_id("patient", "7") == "L-1"  # first by destination object name
    assert {m.dest_id for m in store.iter_idmap(run_id=run)} == {"P-1", "L-1"}
    store.map_id("patient", "7", "person", "P-1b", run, created=True)  # re-map moves the id
    assert store.dest_id("patient", "7", "person") == "P-1b"
    store.unmap_id("patient", "7", "person")
    assert store.dest_id("patient", "7", "person") is None
    store.finish_run(run, "done", {"loaded": 1})
    info = store.run(run)
    assert info and info.status == "done" and info.stats == {"loaded": 1} and info.finished_at
    assert [r.run_id for r in store.runs("run")] == [run]
    assert store.start_run("run", run_id=run) == run and store.run(run).status == "running"


def test_threads_write_and_read_at_once(store: StagingStore) -> None:
    def writer(base: int) -> None:
        for k in range(20):
            store.put_page("patient", [pt(base + k * 10 + j) for j in range(10)],
                           f"w{base}", str(k))

    threads = [threading.Thread(target=writer, args=(b,)) for b in (0, 100_000, 200_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count("patient") == 600
    assert sum(1 for _ in store.iter_records("patient")) == 600


def test_owner_counts_come_from_the_index_and_follow_changes(store: StagingStore) -> None:
    from ferry.model.entities import Appointment

    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def appt(i: int, pr: str | None) -> Appointment:
        return Appointment(source_id=str(i), patient_id="p1", practitioner_id=pr, start=t,
                           status="booked",
                           created_at=t, updated_at=t)

    store.put_records("appointment", [appt(i, "a" if i < 6 else "b") for i in range(10)])
    store.put_records("appointment", [appt(0, "b"), appt(1, None)])  # re-staged: owner moves
    store.mark_deleted("appointment", ["9"])
    want = {"a": 4, "b": 4}
    assert store.owner_counts("appointment", {"a", "b", "c"}) == want
    # a store staged before the index existed is counted by decoding, with the same answer
    with store.tx() as c:
        c.execute("DELETE FROM record_owner")
    assert store.owner_counts("appointment", {"a", "b"}) == want
    assert store.owner_counts("appointment", {"a"}) == {"a": 4}


def test_batch_reads_walk_an_index_also_in_a_store_staged_before_it(tmp_path: Path) -> None:
    """A batch read once read and sorted every row of its object (a pass grew with the square of
    the object's size); a store staged by that version gets the index when it is opened."""
    import sqlite3

    from ferry.model.staging import BATCH_SQL

    path = tmp_path / "old.db"
    old = StagingStore(path)
    old.put_records("patient", [pt(i) for i in range(50)])
    old.close()
    with sqlite3.connect(path) as c:  # the store as that version left it
        for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type='index' AND"
                                 " tbl_name='record_order' AND sql IS NOT NULL").fetchall():
            c.execute(f"DROP INDEX {name}")
    store = StagingStore(path)
    plan = " ".join(r[3] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN " + BATCH_SQL, ("patient", 0, 0, None, None, 10)))
    assert "TEMP B-TREE" not in plan, plan
    assert [s.source_id for b in store.iter_batches("patient", 20) for s in b] == \
        [str(i) for i in range(50)]


def test_encrypted_at_rest_on_each_backend(backend) -> None:  # type: ignore[no-untyped-def]
    """Staged payloads and audit before-images are ciphertext in the database itself."""
    from ferry.errors import IntegrityError
    from ferry.model.audit import AuditLog
    from ferry.model.crypto import AesGcmCodec, new_key, parse_key

    codec = AesGcmCodec(parse_key(new_key()))
    store = backend.open("enc", codec=codec)
    store.put_records("patient", [pt(1, "Zebulonia")])
    AuditLog(store).append("r", kind="intent", op="update", dest_object="person", dest_id="9",
                           before={"first_name": "Zebulonia"})
    raw = [bytes(r[0]) for r in backend.sql("enc", "SELECT payload FROM records")]
    raw += [bytes(r[0]) for r in backend.sql("enc", "SELECT before FROM audit")]
    assert len(raw) == 2 and not any(b"Zebulonia" in b for b in raw)
    again = backend.open("enc", codec=codec)
    got = again.get("patient", "1")
    assert got is not None and got.record.first_name == "Zebulonia"
    assert next(AuditLog(again).entries()).before == {"first_name": "Zebulonia"}
    with pytest.raises(IntegrityError, match="wrong key"):  # another key cannot read it
        backend.open("enc", codec=AesGcmCodec(parse_key(new_key()))).get("patient", "1")


def test_generated_practice_round_trips_on_each_backend(backend) -> None:  # type: ignore[no-untyped-def]
    from ferry.sandbox.synth import Practice

    store = backend.open("p")
    p = Practice(seed=3, patients=15)
    for obj in p.objects():
        recs = list(p.iter(obj))
        assert store.put_records(obj, recs).inserted == len(recs)
        assert list(store.iter_records(obj)) == recs
        assert store.put_records(obj, recs).unchanged == len(recs)


def test_store_url_must_not_hold_a_password() -> None:
    from ferry.settings import Settings

    base = {"project": "p", "source": {"kind": "practicehub"},
            "destination": {"kind": "pipedrive"}}
    assert Settings.model_validate({**base, "store": "postgresql://ferry@db:5432/f"}).store
    with pytest.raises(Exception, match="password"):
        Settings.model_validate({**base, "store": "postgresql://ferry:hunter2@db:5432/f"})
    with pytest.raises(Exception, match="postgresql"):
        Settings.model_validate({**base, "store": "mysql://db/f"})


_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
           | st.dates() | st.datetimes() | st.decimals(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=6) | st.integers(), inner, max_size=4), max_leaves=12))
def test_canonical_json_is_json_dumps_sorted_and_compact(data: object) -> None:
    """``canonical_json`` runs one C encoder made once (``json.dumps`` makes one per call):
    the bytes every stored hash was taken over must not change."""
    import json

    from ferry.model.staging import canonical_json
    try:
        want = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    except TypeError:  # keys of mixed types cannot be sorted: neither can sort them
        with pytest.raises(TypeError):
            canonical_json(data)
        return
    assert canonical_json(data) == want
