"""The audit log's hash chain: intact logs verify; edits, deletions and cut tails do not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferry.errors import IntegrityError
from ferry.model.audit import AuditLog


def _log(backend, name: str, n: int = 6) -> AuditLog:  # type: ignore[no-untyped-def]
    log = AuditLog(backend.open(name))
    for k in range(n // 2):
        seq = log.append("run-1", kind="intent", op="update", dest_object="person",
                         dest_id=str(k), src_ref=f"practicehub:patient:{k}",
                         before={"name": f"old {k}", "amount": 1.5})
        log.append("run-1", kind="done", op="update", dest_object="person", dest_id=str(k),
                   src_ref=f"practicehub:patient:{k}", intent_seq=seq, detail={"status": 200})
    return log


def test_append_and_verify(backend) -> None:  # type: ignore[no-untyped-def]
    log = _log(backend, "a")
    ok, msg = log.verify()
    assert ok, msg
    entries = list(log.entries("run-1"))
    assert [e.seq for e in entries] == list(range(1, 7))
    assert entries[0].before == {"name": "old 0", "amount": 1.5}
    assert entries[1].prev_hash == entries[0].hash
    assert [e.seq for e in log.entries(reverse=True)][0] == 6
    assert set(log.outcomes("run-1")) == {1, 3, 5}
    seq = log.append("run-1", kind="intent", op="create", dest_object="person")
    assert [e.seq for e in log.open_intents()] == [seq]
    log.require_intact()
    with pytest.raises(ValueError):
        log.append("run-1", kind="maybe", op="create", dest_object="person")


def test_empty_log_verifies(backend) -> None:  # type: ignore[no-untyped-def]
    assert AuditLog(backend.open("e")).verify()[0]


@pytest.mark.parametrize(("sql", "found"), [
    ("UPDATE audit SET dest_id='999' WHERE seq=3", "entry 3 was altered"),
    ("UPDATE audit SET detail='{\"status\":500}' WHERE seq=2", "entry 2 was altered"),
    ("UPDATE audit SET before=CAST('{\"name\":\"x\"}' AS BLOB) WHERE seq=1", "entry 1 was altered"),
    ("UPDATE audit SET at='2020-01-01T00:00:00+00:00' WHERE seq=6", "entry 6 was altered"),
    ("DELETE FROM audit WHERE seq=2", "entry 2 is missing"),
    ("DELETE FROM audit WHERE seq=6", "log ends at entry 5"),
    ("DELETE FROM audit WHERE seq>=4", "log ends at entry 3"),
    ("DELETE FROM kv WHERE key='audit_head'", "head record missing"),
    ("UPDATE audit SET detail='{not json' WHERE seq=4", "entry 4 is unreadable"),
    ("UPDATE audit SET seq=seq+100 WHERE seq=6", "entry 6 is missing"),
])
def test_tampering_is_detected(backend, sql: str, found: str) -> None:  # type: ignore[no-untyped-def]
    _log(backend, "t").store.close()
    backend.sql("t", sql)
    log = AuditLog(backend.open("t"))
    ok, msg = log.verify()
    assert not ok and found in msg, msg
    with pytest.raises(IntegrityError):
        log.require_intact()


def test_no_append_past_a_cut_tail(backend) -> None:  # type: ignore[no-untyped-def]
    """Appending after the tail was cut would re-anchor the head and hide the cut."""
    _log(backend, "c").store.close()
    backend.sql("c", "DELETE FROM audit WHERE seq>=5")
    log = AuditLog(backend.open("c"))
    with pytest.raises(IntegrityError):
        log.append("run-2", kind="intent", op="create", dest_object="person")
    assert not log.verify()[0]


COLUMNS = ("run_id", "kind", "op", "dest_object", "dest_id", "src_ref", "detail", "at",
           "prev_hash", "hash")


#: PostgreSQL text cannot hold NUL (and no destination id or ref carries one)
TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 12), data=st.data())
def test_any_single_edit_is_detected(backend, n: int,  # type: ignore[no-untyped-def]
                                     data: st.DataObject) -> None:
    name = "p"
    log = AuditLog(backend.open(name))
    backend.sql(name, "DELETE FROM audit")  # each example starts from an empty log
    backend.sql(name, "DELETE FROM kv")
    for _ in range(n):
        log.append("r", kind=data.draw(st.sampled_from(["intent", "done", "failed"])),
                   op=data.draw(st.sampled_from(["create", "update", "delete"])),
                   dest_object="person", dest_id=data.draw(st.text(TEXT, max_size=8)),
                   detail={"k": data.draw(st.integers())})
    assert log.verify()[0]
    log.store.close()
    seq = data.draw(st.integers(1, n))
    col = data.draw(st.sampled_from(COLUMNS))
    new = data.draw(st.text(TEXT, min_size=1, max_size=10))
    old = backend.sql(name, f"SELECT {col} FROM audit WHERE seq=?", seq)[0][0]
    if col == "detail":
        new = '{"k": "' + new.replace('"', "") + '"}'
    if new == old:
        return
    backend.sql(name, f"UPDATE audit SET {col}=? WHERE seq=?", new, seq)
    assert not AuditLog(backend.open(name)).verify()[0]
