"""Extract and load overlapped on one staging store (what ``ferry migrate`` does).

The extract thread commits pages while the load reads and writes on its own connection. A read
cursor the load keeps open across its own write transaction pins a snapshot; once the extract has
committed, that snapshot is stale and SQLite refuses the upgrade at once (``database is locked``,
no busy wait can help). Dedup did exactly that: it merged group by group while iterating the
groups' cursor.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ferry.engine import dedup
from ferry.model.staging import StagingStore
from ferry.sandbox.synth import Practice


def test_dedup_runs_while_extract_commits_pages(tmp_path: Path) -> None:
    practice = Practice(seed=7, patients=300)
    store = StagingStore(tmp_path / "staging.db")
    store.put_records("patient", practice.iter("patient"))
    appointments = list(practice.iter("appointment"))
    stop = threading.Event()
    pages = [0]

    def extract() -> None:  # the extract's write pattern: a page and its checkpoint per commit
        while not stop.is_set():
            i = pages[0] * 5 % len(appointments)
            store.put_page("appointment", appointments[i:i + 5], "extract:appointment",
                           str(pages[0]))
            pages[0] += 1

    thread = threading.Thread(target=extract, daemon=True)
    thread.start()
    try:
        results = [dedup.analyse(store) for _ in range(5)]
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()  # a failed BEGIN once left the write lock held: a deadlock
    assert pages[0] > 5  # the extract did commit while dedup ran
    groups = {r.groups for r in results}
    assert groups == {results[0].groups} and results[0].groups > 0
    assert len(dedup.merges(store)) == results[0].merged
