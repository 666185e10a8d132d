"""kill -9 an extraction at random points, resume: the staged set is identical, no page refetched.

The extraction runs in a subprocess (``extract_driver.py``, the engine's own extract loop); the
sandbox runs here, so its page log shows every list request the killed runs made. Before each
run the checkpoints the killed one left are read: no page a run fetches may be one an earlier run
had already staged. A kill loses only pages fetched but not yet staged (the one in flight and the
one prefetched), so repeats in the log are at most (1 + prefetch) per kill.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ferry.engine.extract import aextract
from ferry.model.staging import StagingStore
from ferry.sources.practicehub.wire import RESOURCES

DRIVER = Path(__file__).with_name("extract_driver.py")
OBJECT_OF = {resource: obj for obj, resource in RESOURCES.items()}


def staged(store: StagingStore, objects: tuple[str, ...]) -> dict[tuple[str, str], str]:
    return {(o, s.source_id): s.hash for o in objects for b in store.iter_batches(o) for s in b}


def page_keys(log: list[dict]) -> Counter:
    return Counter((e["resource"], e["page"], e["updated"]) for e in log if e["page"])


def test_kill_9_at_random_points_then_resume(make_box, tmp_path):
    box = make_box(patients=120, seed=9, time_scale=100.0)
    settings = box.settings()
    src = box.source()
    objects = src.objects
    ref_store = StagingStore(tmp_path / "ref.db")
    asyncio.run(aextract(src, ref_store, run_id="ref"))
    reference = staged(ref_store, objects)
    ref_pages = page_keys(box.pages())
    assert all(n == 1 for n in ref_pages.values())
    box.sandbox.api.page_log.clear()

    db = tmp_path / "killed.db"
    env = {**os.environ, "PH_TEST_KEY": box.creds["api_key"]}
    rng = random.Random(20261121)
    kills = 0
    segments: list[tuple[int, dict[str, str]]] = []
    for _ in range(4):
        segments.append((len(box.pages()), StagingStore(db).checkpoints("extract:")
                         if db.exists() else {}))
        proc = subprocess.Popen([sys.executable, str(DRIVER), str(db), json.dumps(settings)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        target = rng.randint(1, 25)
        for line in proc.stdout:
            if line.startswith("done") or int(line.split()[1]) >= target:
                break
        time.sleep(rng.uniform(0, 0.02))  # land inside a request or a transaction
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    segments.append((len(box.pages()), StagingStore(db).checkpoints("extract:")))
    final = subprocess.run([sys.executable, str(DRIVER), str(db), json.dumps(settings)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert final.returncode == 0, final.stderr[-2000:]
    assert kills >= 3

    assert staged(StagingStore(db), objects) == reference
    pages = page_keys(box.pages())
    assert set(pages) == set(ref_pages)  # every page was fetched
    repeats = sum(n - 1 for n in pages.values())
    assert repeats <= 2 * kills, f"{repeats} pages fetched twice over {kills} kills"
    log = box.pages()
    bounds = [start for start, _ in segments] + [len(log)]
    for (start, checkpoints), end in zip(segments, bounds[1:], strict=True):
        for entry in log[start:end]:
            if entry["resource"] == "payment_methods":  # names read before payments' pages
                continue
            obj = OBJECT_OF[entry["resource"]]
            token = checkpoints.get(f"extract:{obj}")
            assert token != "done", f"{obj} was refetched after it was complete"
            if token:
                assert entry["page"] >= json.loads(token)["page"], (
                    f"{obj} page {entry['page']} was refetched after it was staged")
