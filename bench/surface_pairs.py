"""Every source × destination pair on the documented surface: extract → run → reconcile → delta
→ rollback, each through ``ferry demo --surface documented --delta --rollback``.

Usage: ``python bench/surface_pairs.py [PATIENTS] [PARALLEL] [SRC-DST,...]`` (20, 3, all). Prints one line per
pair: its time and the steps that were not ok, then the load average and a summary. Sandboxes serve only what the services document (or,
for PracticeHub, public client code shows); see docs/ENDPOINTS.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SOURCES = ("practicehub", "pulse", "fhir", "clinic_csv")
DESTINATIONS = ("pipedrive", "salesforce", "odoo")
#: the steps the documented-surface check requires (sample and audit verdicts are reported too)
MUST = ("extract", "run", "reconcile", "delta", "delta with deletions", "reconcile after delta",
        "rollback", "restored")
ROW = re.compile(r"│ (\S[^│]*?)\s+│ (\S[^│]*?)\s+│")


def run(pair: tuple[str, str], patients: int, root: Path) -> tuple[str, str, dict[str, str], float]:
    src, dst = pair
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "ferry", "demo", "--source", src, "--destination", dst,
         "--patients", str(patients), "--surface", "documented", "--delta", "--rollback",
         "--dir", str(root / f"{src}-{dst}")], capture_output=True, text=True, timeout=1800)
    (root / f"{src}-{dst}.log").write_text(out.stdout + out.stderr)
    return src, dst, summary(out.stdout), time.monotonic() - start


def summary(text: str) -> dict[str, str]:
    """The demo's summary table (step → result), plus whether rollback restored the account."""
    table = text.split("ferry demo summary", 1)[-1] if "ferry demo summary" in text else ""
    steps = {m.group(1): m.group(2) for m in ROW.finditer(table) if m.group(1) != "step"}
    if "rollback" in steps:
        restored = "held before the run" in " ".join(text.split()) or "empty again" in text
        steps["restored"] = "ok" if restored else "no"
    return steps


def main() -> None:
    patients = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    parallel = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    root = Path(tempfile.mkdtemp(prefix="ferry-pairs-"))
    only = sys.argv[3].split(",") if len(sys.argv) > 3 else None
    pairs = [(s, d) for s in SOURCES for d in DESTINATIONS if not only or f"{s}-{d}" in only]
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda p: run(p, patients, root), pairs))
    green = 0
    for src, dst, steps, seconds in results:
        bad = {k: v for k, v in steps.items() if v != "ok"}
        ok = bool(steps) and not any(k in MUST for k in bad) and all(k in steps for k in MUST)
        green += ok
        missing = [k for k in MUST if k not in steps]
        print(f"{src:>12} → {dst:<10} {'PASS' if ok else 'FAIL'} {seconds:6.0f}s  "  # noqa: T201
              + ", ".join(f"{k}: {v}" for k, v in bad.items())
              + (f" missing: {', '.join(missing)}" if missing else ""))
    print(f"load average at the end: {os.getloadavg()}")  # noqa: T201
    print(f"{green}/{len(results)} pairs pass {', '.join(MUST)}; logs in {root}")  # noqa: T201


if __name__ == "__main__":
    main()
