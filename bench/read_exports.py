"""Benchmark: rows/second and peak RSS reading a large CSV export and a large NDJSON export.

    .venv/bin/python bench/read_exports.py [--rows 1000000] [--keep DIR]

Generates the files first (in a temporary folder unless ``--keep``), then reads each in a fresh
child process through the real source (``clinic_csv`` / ``fhir_bulk`` folder mode, pages of
1,000 canonical records), so the peak RSS printed is that reader's alone. Flat memory means the
peak does not grow with ``--rows``: compare a run at 100,000 with one at 1,000,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Ann", "Bob", "Chloé", "Dev", "Esi", "Farah", "Gus", "Hana", "Ivan", "José"]
LAST = ["Lee", "Singh", "O'Neil", "Müller", "Khan", "Silva", "Ng", "Rossi", "Kaur", "Smith"]
BLOOD = ["A+", "A-", "B+", "O+", "O-", "AB+"]


def write_csv(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Patient ID,First Name,Last Name,Date of Birth,Email ID,Mobile No,City,Pincode,"
                "Blood Group,Allergies,Created On,Notes\r\n")
        for i in range(rows):
            fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
            note = '"Follow-up, review in 2 weeks"' if i % 7 == 0 else "none"
            f.write(f"{100000 + i},{fn},{ln},{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/"
                    f"{rnd.randint(1940, 2015)},{fn.lower()}.{i}@example.org,"
                    f"+91 98{i % 100000000:08d},Pune,4110{i % 100:02d},{rnd.choice(BLOOD)},"
                    f"{'Penicillin (rash)' if i % 5 == 0 else ''},2024-0{1 + i % 9}-1{i % 10} "
                    f"10:{i % 60:02d}:00,{note}\r\n")


def write_ndjson(path: Path, rows: int) -> None:
    rnd = random.Random(2)
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
            res = {"resourceType": "Patient", "id": str(100000 + i),
                   "meta": {"lastUpdated": "2025-01-02T03:04:05Z"},
                   "identifier": [{"type": {"coding": [{"code": "MR"}]},
                                   "system": "urn:mrn", "value": f"MRN{i:08d}"}],
                   "name": [{"use": "official", "family": ln, "given": [fn]}],
                   "telecom": [{"system": "email", "value": f"{fn.lower()}.{i}@example.org"},
                               {"system": "phone", "use": "mobile", "value": f"+9198{i:08d}"}],
                   "gender": rnd.choice(["male", "female"]),
                   "birthDate": f"{rnd.randint(1940, 2015)}-0{rnd.randint(1, 9)}-1{i % 10}",
                   "address": [{"line": [f"{i % 300} MG Road"], "city": "Pune",
                                "postalCode": f"4110{i % 100:02d}", "country": "IN"}],
                   "managingOrganization": {"reference": "Organization/1"},
                   "generalPractitioner": [{"reference": f"Practitioner/{200 + i % 40}"}]}
            f.write(json.dumps(res, separators=(",", ":")) + "\n")


def _read(kind: str, folder: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from ferry.sources.clinic_csv import create as csv_source
    from ferry.sources.fhir_bulk import create as fhir_source

    work = Path(folder) / f"work-{kind}"
    src = (csv_source({"path": str(Path(folder) / "csv")}, work) if kind == "csv"
           else fhir_source({"mode": "folder", "path": str(Path(folder) / "ndjson")}, work))

    async def go() -> tuple[int, int]:
        n = e = 0
        async for page in src.read("patient"):
            n += len(page.records)
            e += len(page.errors)
        return n, e

    t0 = time.perf_counter()
    n, e = asyncio.run(go())
    dt = time.perf_counter() - t0
    out.put((n, e, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def measure(kind: str, folder: Path) -> tuple[int, int, float, int]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    p = ctx.Process(target=_read, args=(kind, str(folder), q))
    p.start()
    result = q.get()
    p.join()
    return result  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    try:
        (folder / "csv").mkdir(parents=True, exist_ok=True)
        (folder / "ndjson").mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        write_csv(folder / "csv" / "patients.csv", args.rows)
        write_ndjson(folder / "ndjson" / "Patient.000.ndjson", args.rows)
        sizes = {k: (folder / k / n).stat().st_size / 1e6 for k, n in
                 (("csv", "patients.csv"), ("ndjson", "Patient.000.ndjson"))}
        print(f"generated {args.rows:,} rows each in {time.perf_counter() - t0:.1f}s "
              f"(CSV {sizes['csv']:.0f} MB, NDJSON {sizes['ndjson']:.0f} MB) in {folder}")
        for kind in ("csv", "ndjson"):
            n, e, secs, rss_kb = measure(kind, folder)
            print(f"{kind:6s}: {n:,} records, {e} errors, {secs:.1f}s, "
                  f"{n / secs:,.0f} rows/s, peak RSS {rss_kb / 1024:.0f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
