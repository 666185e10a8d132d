"""PHI detector benchmark on generated clinical notes and chat messages.

The generator plants every PHI span and records it (``Practice.phi_spans``), so recall and
precision per PHI type are exact. A planted span counts as found when a detected span covers
it; a detected span is a true positive when it overlaps a planted one. Recall of names, dates,
identifiers and contact data must be at least 0.98 (a miss leaks PHI); every miss is listed.

Caveat: the generator draws names from faker's locale lists, and the detector's name net uses
the same lists, so name recall here is an upper bound of what free-form real notes would give.

    python bench/phi.py [PATIENTS] [--seed N]      # seed 21 by default; another seed is a
                                                   # held-out practice (names, notes, numbers)
                        [--region CODE]            # scan as for a practice in CODE too (its
                                                   # options.phone_region: what one more
                                                   # region costs in precision)
    python bench/phi.py --scan PATIENTS [WORKERS]  # the review queue's pre-scan: fields per
                                                   # CPU-second (workers' CPU included)

``--scan`` stages every object with text fields of a generated practice and times
``phi.queue.scan`` over it (CPU of this process; the figure the load waits for when no review
has run).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ferry.mapping.phones import practice_region, staged_clinic_countries
from ferry.model.staging import StagingStore
from ferry.phi.detect import detect, regions_for
from ferry.phi.queue import known_for
from ferry.sandbox.synth import Practice

MUST = {"name": "names", "person": "names", "dob": "dates", "mrn": "identifiers",
        "phone": "contact", "email": "contact"}


def main(patients: int = 400, seed: int = 21, region: str | None = None) -> int:
    practice = Practice(seed=seed, patients=patients)
    with tempfile.TemporaryDirectory() as tmp:
        store = StagingStore(Path(tmp) / "s.db")
        store.put_records("patient", practice.iter("patient"))
        # the regions the review's scan reads numbers in (Project.scan_regions: the practice's
        # own too, as its addresses name it)
        regions = regions_for(region or practice_region(store),
                              *staged_clinic_countries(store, infer=True).values())
        planted: Counter[str] = Counter()
        found: Counter[str] = Counter()
        detected: Counter[str] = Counter()
        true_pos: Counter[str] = Counter()
        misses: list[str] = []
        texts = chars = 0
        t0, c0 = time.perf_counter(), time.process_time()
        detect_cpu = 0.0
        for obj in ("clinical_note", "message"):
            for rec in practice.iter(obj):
                text = rec.body
                texts += 1
                chars += len(text)
                known = known_for(store, rec)
                c1 = time.process_time()
                spans = detect(text, known, regions)
                detect_cpu += time.process_time() - c1
                gold = practice.phi_spans(rec.source_id, obj)
                for start, end, kind in gold:
                    planted[kind] += 1
                    if any(s.start <= start and s.end >= end for s in spans):
                        found[kind] += 1
                    else:
                        misses.append(f"{obj}:{rec.source_id} {kind} at {start}-{end}")
                for s in spans:
                    detected[s.type] += 1
                    if any(s.start < e and s.end > b for b, e, _ in gold):
                        true_pos[s.type] += 1
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"regions {' '.join(regions)}")
    print(f"seed {seed}: texts {texts}, {chars / 1e6:.2f} M chars, {secs:.1f} s ({texts / secs:.0f} texts/s);"
          f" detect {detect_cpu:.1f} CPU-s ({texts / detect_cpu:.0f} texts per CPU-second),"
          f" whole loop {cpu:.1f} CPU-s")
    print(f"{'type':<12}{'planted':>9}{'found':>8}{'recall':>8}   {'detected':>9}{'precision':>10}")
    for kind in sorted(set(planted) | set(detected)):
        rec = found[kind] / planted[kind] if planted[kind] else float("nan")
        prec = true_pos[kind] / detected[kind] if detected[kind] else float("nan")
        print(f"{kind:<12}{planted[kind]:>9}{found[kind]:>8}{rec:>8.3f}   {detected[kind]:>9}"
              f"{prec:>10.3f}")
    groups: dict[str, list[int]] = {}
    for kind, group in MUST.items():
        g = groups.setdefault(group, [0, 0])
        g[0] += planted[kind]
        g[1] += found[kind]
    ok = True
    for group, (p, f) in sorted(groups.items()):
        r = f / p if p else 1.0
        ok &= r >= 0.98
        print(f"recall {group:<12} {r:.4f} {'ok' if r >= 0.98 else 'BELOW 0.98'}")
    print(f"misses: {len(misses)}")
    for m in misses[:200]:
        print("  miss", m)
    return 0 if ok else 1


def scan_bench(patients: int, workers: int | None = None) -> int:
    from ferry.phi import queue
    from ferry.phi.work import workers_for

    practice = Practice(seed=3, patients=patients)
    with tempfile.TemporaryDirectory() as tmp:
        store = StagingStore(Path(tmp) / "s.db")
        for obj in queue.TEXT_FIELDS:
            if obj in practice.objects():
                store.put_records(obj, practice.iter(obj))
        fields = sum(store.count(o) * len(f) for o, f in queue.TEXT_FIELDS.items())
        workers = workers_for(fields) if workers is None else workers
        c0, k0, t0 = time.process_time(), _children_cpu(), time.perf_counter()
        flagged = queue.scan(store, workers=workers)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0 + _children_cpu() - k0  # the workers' CPU too
    print(f"scan of {patients} patients: {fields} text fields, {workers} worker processes,"
          f" {cpu:.1f} CPU-s (workers included), {fields / cpu:.0f} fields per CPU-second,"
          f" wall {wall:.1f} s; flagged records {sum(flagged.values())}")
    return 0


def _children_cpu() -> float:
    """CPU of this process's finished children (the scan's worker processes)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


if __name__ == "__main__":
    if sys.argv[1:2] == ["--scan"]:
        sys.exit(scan_bench(int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
                            int(sys.argv[3]) if len(sys.argv) > 3 else None))
    args = sys.argv[1:]
    seed = 21
    if "--seed" in args:
        at = args.index("--seed")
        seed = int(args[at + 1])
        del args[at:at + 2]
    region = None
    if "--region" in args:
        at = args.index("--region")
        region = args[at + 1].upper()
        del args[at:at + 2]
    sys.exit(main(int(args[0]) if args else 400, seed, region))
