"""The PHI scan's CPU work, in a module light enough for a worker process: a batch of texts in,
their spans out. ``queue.scan`` runs it in this process or, for a large practice, in a pool of
processes (one per core), so the scan's wall time falls with the cores."""

from __future__ import annotations

import os

from ferry.phi.detect import DEFAULT_REGIONS, Known, detect

#: one unit of work: a text and what its record says about its patient
Work = tuple[str, Known]

#: scans with fewer text fields than this run in this process: starting workers (about 0.2
#: CPU-s each) would cost more than they save
POOL_MIN_FIELDS = 3_000


def detect_all(work: list[Work], regions: tuple[str, ...] = DEFAULT_REGIONS
               ) -> list[list[tuple[int, int, str]]]:
    """Spans (start, end, type) of each unit, in order; phone numbers read in ``regions``
    (``detect.regions_for``: the practice's own among them)."""
    return [[(s.start, s.end, s.type) for s in detect(text, known, regions)] if text else []
            for text, known in work]


def workers_for(fields: int) -> int:
    """Processes for a scan of ``fields`` text fields: 0 (this process) for a small scan, else
    one per core. ``FERRY_PHI_WORKERS`` sets it (0: never a pool)."""
    env = os.environ.get("FERRY_PHI_WORKERS")
    if env is not None and env.strip().isdigit():
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if fields < POOL_MIN_FIELDS or (cores or 1) < 2 else min(cores or 1, 8)


def warm() -> None:
    """Worker start: the name lists and phone metadata loaded once, not in the first batch."""
    detect("Dr Jane Smith, 07700 900123, 12/03/1980", Known())
