"""A bulk decision (``decide_rule``) reads the pending queue a page at a time: the whole queue
in one list was 814 MB at 100k patients. Pages that cut through a record's flagged fields must
decide the same records, and count each entry once, on both store backends (the first paging
by SQLite's rowid failed on PostgreSQL, which has none)."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.sandbox.synth import Practice


def _store(backend: Any) -> StagingStore:
    practice = Practice(seed=5, patients=40)
    notes = list(practice.iter("clinical_note"))
    # every third note with a phone in its title too: records with two flagged fields
    notes = [n.model_copy(update={"title": f"Call 020 7946 {i:04d}"}) if i % 3 == 0 else n
             for i, n in enumerate(notes)]
    store = backend.open()
    store.put_records("patient", practice.iter("patient"))
    store.put_records("clinical_note", notes)
    store.put_records("message", practice.iter("message"))
    queue.scan(store, workers=0)
    return store


def _statuses(store: StagingStore) -> dict[tuple[str, str, str], str]:
    return {(o, s, f): st for o, s, f, st in store.conn.execute(
        "SELECT object, source_id, field, status FROM phi_queue")}


def _expected(store: StagingStore, types: set[str] | None, only: set[str] | None
              ) -> tuple[dict[tuple[str, str, str], str], int]:
    """What the rule must do, worked out from the whole queue at once: every non-clean entry
    of a record with a matching pending entry is approved."""
    before = _statuses(store)
    chosen = set()
    for it in queue.items(store, "pending"):
        kinds = {s.type for s in it.spans}
        if (not types or kinds & types) and (not only or kinds <= only):
            chosen.add((it.object, it.source_id))
    after = {k: ("approve" if k[:2] in chosen and st != "clean" else st)
             for k, st in before.items()}
    return after, sum(1 for k, st in before.items() if k[:2] in chosen and st != "clean")


@pytest.mark.parametrize("types,only", [(None, None), ({"phone"}, None),
                                        (None, {"dob", "icd10", "medication", "mrn", "name"})])
def test_paged_bulk_rule_decides_what_the_whole_queue_says(
        backend: Any, monkeypatch: pytest.MonkeyPatch, types: set[str] | None,
        only: set[str] | None) -> None:
    store = _store(backend)
    two_fields = store.conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM phi_queue WHERE status='pending'"
        " GROUP BY object, source_id HAVING count(*) > 1) AS two").fetchone()[0]
    assert two_fields > 5  # the case the pages must get right
    want, decided = _expected(store, types, only)
    assert 0 < decided
    monkeypatch.setattr(queue, "_RULE_PAGE", 3)  # pages cut through records' fields
    n = queue.decide_rule(store, "approve", "nurse", types=types, only_types=only)
    assert _statuses(store) == want
    assert n == decided
    if types or only:  # the records the rule did not choose still wait
        assert queue.count_items(store, "pending") > 0


def test_bulk_rule_refuses_an_unknown_decision(backend: Any) -> None:
    store = _store(backend)
    with pytest.raises(ValueError, match="decision must be one of"):
        queue.decide_rule(store, "ship", "nurse")
    assert queue.count_items(store, "pending") > 0
