"""A scan runs the cyclic collector less often (a third of a 1k scan's collector time was
full passes over every object of the process) and gives the threshold back when it ends,
also when scans overlap in threads."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.phi.work import Work, detect_all
from ferry.sandbox.synth import Practice


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(123, 7, 9)
    try:
        yield (123, 7, 9)
    finally:
        gc.set_threshold(*saved)


class _Done:
    def __init__(self, spans: list[list[tuple[int, int, str]]]) -> None:
        self._spans = spans

    def result(self) -> list[list[tuple[int, int, str]]]:
        return self._spans


class _SeeingPool:
    """A pool that screens in this process and notes the collector's threshold as it does."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def screen(self, work: list[Work], routes: list[Any], regions: tuple[str, ...]) -> _Done:
        self.seen.append(gc.get_threshold())
        return _Done(detect_all(work, regions))


def test_a_scan_raises_the_threshold_and_gives_it_back(tmp_path: Path,
                                                       threshold: tuple[int, int, int]) -> None:
    practice = Practice(seed=5, patients=6)
    store = StagingStore(tmp_path / "s.db")
    for obj in ("patient", "clinical_note"):
        store.put_records(obj, practice.iter(obj))
    pool = _SeeingPool()
    flagged = queue.scan(store, pool=pool)
    assert flagged.get("clinical_note", 0) > 0
    assert pool.seen and set(pool.seen) == {(queue.SCAN_GC_THRESHOLD, 7, 9)}
    assert gc.get_threshold() == threshold


def test_overlapping_scans_restore_only_when_the_last_ends(
        threshold: tuple[int, int, int]) -> None:
    first, second = queue._fewer_collections(), queue._fewer_collections()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold()[0] == queue.SCAN_GC_THRESHOLD
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == queue.SCAN_GC_THRESHOLD  # the second scan still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == threshold
    with pytest.raises(RuntimeError), queue._fewer_collections():
        raise RuntimeError("a scan that fails")
    assert gc.get_threshold() == threshold


def test_a_higher_threshold_set_by_the_process_is_kept(threshold: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 7, 9)
    with queue._fewer_collections():
        assert gc.get_threshold() == (50_000, 7, 9)
    assert gc.get_threshold() == (50_000, 7, 9)
