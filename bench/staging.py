"""Benchmark: stage N generated patients with their appointments; print records/s and peak RSS.

    python bench/staging.py              # N = 10,000 and 100,000
    python bench/staging.py 5000 50000   # any sizes

It also times one full pass over the staged appointments in staging order (``iter_batches``).

Each N runs in its own subprocess so the peak RSS it reports belongs to that N alone; the claim
under test is that memory stays flat as N grows (generation and staging both stream in pages).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGE = 1000


def one(n: int) -> dict[str, float]:
    """Stage ``n`` patients and their appointments in pages, as an extract would."""
    from ferry.model.staging import StagingStore
    from ferry.sandbox.synth import Practice

    practice = Practice(seed=1, patients=n)
    with tempfile.TemporaryDirectory() as tmp:
        store = StagingStore(Path(tmp) / "bench.db")
        rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        total = 0
        for obj in ("patient", "appointment"):
            page: list = []
            pages = 0
            for rec in practice.iter(obj):
                page.append(rec)
                if len(page) == PAGE:
                    pages += 1
                    store.put_page(obj, page, f"extract:{obj}", str(pages))
                    total += len(page)
                    page = []
            if page:
                store.put_page(obj, page, f"extract:{obj}", str(pages + 1))
                total += len(page)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        staged = store.count("patient") + store.count("appointment")
        assert staged == total, (staged, total)
        # one full pass in staging order, as the load and the PHI scan read it: its cost per
        # record must not grow with the size of the object
        c1 = time.process_time()
        passed = sum(len(b) for b in store.iter_batches("appointment", 500))
        pass_cpu = time.process_time() - c1
        store.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"patients": n, "records": total, "seconds": round(elapsed, 2),
            "cpu_seconds": round(cpu, 2), "records_per_s": round(total / elapsed),
            "records_per_cpu_s": round(total / cpu), "patients_per_s": round(n / elapsed),
            "rss_start_mb": round(rss_start / 1024, 1),
            "pass_records": passed, "pass_cpu_seconds": round(pass_cpu, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1)}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(one(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    # records/CPU-s is the figure to compare across machines: on a busy box wall time also
    # counts the time this process waited for a core.
    print(f"{'patients':>10} {'records':>10} {'seconds':>8} {'records/s':>10} "
          f"{'records/CPU-s':>14} {'peak RSS MB':>12} {'pass CPU s':>10} {'pass rec/CPU-s':>14}")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                             text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['patients']:>10,} {r['records']:>10,} {r['seconds']:>8} "
              f"{r['records_per_s']:>10,} {r['records_per_cpu_s']:>14,} {r['peak_rss_mb']:>12}"
              f" {r['pass_cpu_seconds']:>10}"
              f" {round(r['pass_records'] / max(r['pass_cpu_seconds'], 1e-3)):>14,}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
