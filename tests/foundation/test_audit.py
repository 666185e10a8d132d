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


JSONABLE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=5),
                                                                inner, max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(seq=st.integers(1, 10**9), parts=st.lists(st.none() | st.text(TEXT) | st.integers(),
                                                 min_size=5, max_size=5),
       before=st.none() | st.dictionaries(st.text(TEXT, max_size=5), JSONABLE, max_size=4),
       detail=st.dictionaries(st.text(TEXT, max_size=5), JSONABLE, max_size=4))
def test_an_entry_composed_from_its_parts_is_its_canonical_json(
        seq: int, parts: list, before: dict | None, detail: dict) -> None:  # type: ignore[type-arg]
    """append_many hashes an entry made from pre-encoded parts (a batch's detail encoded once):
    byte for byte what ``verify`` recomputes with ``canonical_json`` of the whole row."""
    from ferry.model.audit import _canonical_entry, _json
    from ferry.model.staging import canonical_json

    run_id, kind, op, dest_object = "run-é", "done", "update", "crm.lead"
    dest_id, src_ref, intent_seq, at = parts[0], parts[1], parts[2], str(parts[3])
    row = {"seq": seq, "run_id": run_id, "at": at, "kind": kind, "op": op,
           "dest_object": dest_object, "dest_id": dest_id, "src_ref": src_ref,
           "intent_seq": intent_seq, "before": before, "detail": detail}
    assert _canonical_entry(seq, run_id, at, kind, op, dest_object, dest_id, src_ref,
                            intent_seq, _json(before), _json(detail)) == canonical_json(row)


def test_a_batch_sharing_one_detail_verifies(backend) -> None:  # type: ignore[no-untyped-def]
    """Entries of one batch share their detail dict (encoded once) and its time; each entry's
    own fields still reach its hash, and the stored detail reads back whole."""
    log = AuditLog(backend.open("b"))
    detail = {"map": "patients → contacts", "n": 2}
    seqs = log.append_many("run-1", [
        {"kind": "intent", "op": "create", "dest_object": "res.partner", "src_ref": f"s:p:{k}",
         "detail": detail, "before": {"x": k} if k % 2 else None} for k in range(4)])
    log.append_many("run-1", [
        {"kind": "done", "op": "create", "dest_object": "res.partner", "dest_id": str(k),
         "src_ref": f"s:p:{k}", "intent_seq": s, "detail": detail} for k, s in enumerate(seqs)]
        + [{"kind": "failed", "op": "create", "dest_object": "res.partner", "src_ref": "s:p:9",
            "intent_seq": seqs[0], "detail": {**detail, "reason": "refused"}}])
    assert log.verify()[0]
    got = list(log.entries("run-1"))
    assert [e.detail for e in got] == [detail] * 8 + [{**detail, "reason": "refused"}]
    assert [e.before for e in got[:4]] == [None, {"x": 1}, None, {"x": 3}]
    assert len({e.hash for e in got}) == 9
