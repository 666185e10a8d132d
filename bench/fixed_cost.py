"""Each verb's fixed CPU cost and its CPU per record, from a tiny and a larger practice.

Runs bench/engine.py's ``--e2e`` verbs (extract, prepare, review, reviewed, reconcile) in child
processes (tests/engine/driver.py, Ferry's CPU only, from ``wait4``) on a practice of each
``--patients`` size; the smallest run gives each verb's fixed cost (interpreter start, imports,
set-up) and the others its marginal CPU per record, ``(cpu_N - cpu_tiny) / (records_N -
records_tiny)``. An ``import`` row times ``python -c 'import ferry.engine.pipeline'`` alone.

``--big-files N`` (as bench/engine.py's) gives about N patients ~100 MB files at any size: the
smallest practice then carries them too, and the marginal part is the records' alone (at 100k
the same files are a fixed cost spread over 100 times the records).

With several ``--tree`` folders (each a checkout: ``src/`` and ``tests/engine/driver.py``),
each tree gets its own practice (same seed) and the trees take turns verb by verb, so a
before/after pair shares the machine's load of the moment.

    .venv/bin/python bench/fixed_cost.py --patients 3 1000 2000 [--repeat 5] [--repeat-large 3]
        [--big-files 2 --doc-size-scale 0.15 --oversize 0] [--tree /tmp/before --tree .]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from engine import E2E, compile_bytecode, new_pair  # noqa: E402

COUNTED = {"extract", "reviewed", "reconcile"}  # per staged record; review per text field


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    import json
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{cmd[2:4]} failed: {proc.stderr.decode(errors='replace')[-1500:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    lines = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("{")]
    return cpu, (json.loads(lines[-1]) if lines else {})


def tree_env(env: dict[str, str], tree: Path) -> dict[str, str]:
    env = dict(env)
    env["PYTHONPATH"] = str(tree / "src")
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[5, 1000])
    ap.add_argument("--dest", default="odoo", choices=["odoo", "pipedrive", "salesforce"])
    ap.add_argument("--tree", type=Path, action="append", default=[])
    ap.add_argument("--imports", type=int, default=3, help="import-only runs per tree")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs at the smallest size (its medians are the fixed costs)")
    ap.add_argument("--repeat-large", type=int, default=1,
                    help="runs at each larger size (medians)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--big-files", type=int, default=0, metavar="N",
                    help="as bench/engine.py's: about N patients get ~100 MB files (the same"
                         " few files at every size: a fixed cost of the run, not a per-record one)")
    ap.add_argument("--doc-size-scale", type=float, default=1.0, metavar="F")
    ap.add_argument("--oversize", type=int, default=-1, metavar="N")
    args = ap.parse_args()
    trees = [t.resolve() for t in args.tree] or [ROOT]
    compile_bytecode()
    for t in trees:  # each tree's modules compiled, as an installed Ferry's are
        subprocess.run([sys.executable, "-c", "import compileall, sys; [compileall.compile_dir("
                        "d, quiet=2) for d in sys.argv[1:]]", str(t / "src/ferry"),
                        str(t / "tests/engine")], check=True)
    names = [f"{i}:{t.name}" for i, t in enumerate(trees)]
    from setup_pair import subprocess_env

    print(f"== fixed cost per verb, {args.dest}; load average at start"
          f" {os.getloadavg()[0]:.2f}; trees: {', '.join(f'{n}={t}' for n, t in zip(names, trees, strict=True))}",
          flush=True)
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imp: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.imports):
        for n, t in zip(names, trees, strict=True):
            cpu, _ = run([sys.executable, "-c", "import ferry.engine.pipeline"],
                         tree_env(base_env, t))
            imp[n].append(cpu)
    for n in names if args.imports else ():
        print(f"  import ferry.engine.pipeline  {n:<24} median {statistics.median(imp[n]):.3f}"
              f" CPU-s  ({', '.join(f'{c:.3f}' for c in imp[n])})", flush=True)
    # cpu[tree][patients][verb] (the median of --repeat runs at the smallest size), units[patients]
    runs: dict[str, dict[int, dict[str, list[float]]]] = {n: {} for n in names}
    units: dict[int, dict[str, int]] = {}
    work = Path(tempfile.mkdtemp(prefix="ferry-bench-fixed-"))
    tiny = min(args.patients)
    try:
        for p in args.patients:
            for rep in range(args.repeat if p == tiny else args.repeat_large):
                pairs = {n: new_pair(work, f"f{i}_{p}_{rep}", args.dest, p, 1e6, args.seed,
                                     args.big_files, 0, args.doc_size_scale, args.oversize)
                         for i, n in enumerate(names)}
                try:
                    units[p] = {}
                    for verb in E2E:
                        for n, t in zip(names, trees, strict=True):
                            env = tree_env(subprocess_env(pairs[n]), t)
                            c, out = run([sys.executable, str(t / "tests/engine/driver.py"),
                                          verb, str(pairs[n].project.root)], env)
                            runs[n].setdefault(p, {}).setdefault(verb, []).append(c)
                            if verb == "extract":
                                units[p]["records"] = int(out.get("records", 0))
                            if verb == "review":
                                units[p]["fields"] = int(out.get("fields", 0))
                            print(f"  {p:>6} patients {verb:<9} {n:<24} {c:7.2f} CPU-s"
                                  f"  load {os.getloadavg()[0]:.2f}  {time.strftime('%H:%M:%S')}",
                                  flush=True)
                finally:
                    for pair in pairs.values():
                        pair.stop()
                        shutil.rmtree(pair.project.root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for n in names:
        for p, by in runs[n].items():
            print(f"  {n} {p} patients, every run: " + "; ".join(
                f"{v} {', '.join(f'{c:.2f}' for c in cs)}" for v, cs in by.items()))
    cpu = {n: {p: {v: statistics.median(c) for v, c in by.items()} for p, by in r.items()}
           for n, r in runs.items()}
    big = sorted(args.patients)[1:]
    print(f"\n  per verb: fixed = median CPU of {args.repeat} runs at {tiny} patients; marginal per 10k units (records;"
          " review: text fields) from each larger size; 'at N' = CPU per 10k units at N")
    for verb in E2E:
        key = "fields" if verb == "review" else "records"
        for n in names:
            row = f"  {verb:<9} {n:<24} fixed {cpu[n][tiny][verb]:5.2f} s"
            for p in big:
                u, u0 = units[p][key], units[tiny][key]
                if verb == "prepare" or not u:
                    row += f" | {p}: {cpu[n][p][verb]:5.2f} s"
                    continue
                marg = (cpu[n][p][verb] - cpu[n][tiny][verb]) * 1e4 / (u - u0)
                row += (f" | {p} ({u} {key}): {cpu[n][p][verb] * 1e4 / u:5.2f}/10k,"
                        f" marginal {marg:5.2f}/10k")
            print(row, flush=True)
    print(f"  load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
