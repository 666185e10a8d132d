"""The scan keeps the first ``KNOWN_BOUND`` patients' identifiers for the whole scan: past the
bound, emptying the cache when full (as it was) made every object read each patient again;
now the patients kept are read once and only the rest again. The findings do not depend on
the bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.sandbox.synth import Practice

OBJECTS = ("patient", "clinical_note", "message", "treatment_record", "appointment")


def _scan(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, bound: int
          ) -> tuple[list[tuple[Any, ...]], int]:
    """The queue's rows after a scan with ``bound``, and the patients read for it."""
    practice = Practice(seed=7, patients=120)
    store = StagingStore(tmp_path / f"{name}.db")
    for obj in OBJECTS:
        store.put_records(obj, practice.iter(obj))
    read = 0
    get_many_json = store.get_many_json

    def counting(obj: str, ids: Any) -> Any:
        nonlocal read
        ids = list(ids)
        if obj == "patient":
            read += len(ids)
        return get_many_json(obj, ids)

    monkeypatch.setattr(store, "get_many_json", counting)
    monkeypatch.setattr(queue, "KNOWN_BOUND", bound)
    queue.scan(store, workers=0)
    rows = store.conn.execute("SELECT object, source_id, field, spans, types, status,"
                              " content_hash FROM phi_queue ORDER BY 1, 2, 3").fetchall()
    return rows, read


def test_the_bound_changes_the_reads_not_the_findings(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    whole, read_whole = _scan(tmp_path, "whole", monkeypatch, 10**9)
    bounded, read_bounded = _scan(tmp_path, "bounded", monkeypatch, 60)
    assert bounded == whole
    assert any(r[5] != "clean" for r in whole)
    assert read_whole <= 120  # each patient once
    # half the patients kept: the objects after the first read only the other half again
    assert read_whole < read_bounded < 2 * read_whole
