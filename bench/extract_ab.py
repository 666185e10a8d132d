"""Extract CPU of two source trees, interleaved on one practice (issue 20's extract figure).

The machine's load moves a verb's CPU-seconds by 20-35 %, so a before/after pair is only
worth comparing when the two run minutes apart under the same load. This starts one
PracticeHub + Odoo pair (limits divided away, file links living 10 real minutes), keeps the
unextracted project folder, and then runs ``tests/engine/driver.py extract`` in a child, on a
fresh copy of that folder each time, with ``PYTHONPATH`` at each tree's ``src`` in turn
(A B A B …). CPU is the child's (its rusage: user + sys, start-up included); the emulators run
here, in the parent. Each row carries the load average.

    .venv/bin/python bench/extract_ab.py --a /tmp/base/src --b src --patients 1000 --rounds 2
    # a tree of an older commit:  git archive COMMIT src | tar -x -C /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="the 'before' tree's src folder")
    ap.add_argument("--b", required=True, help="the 'after' tree's src folder")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--fast-scale", type=float, default=1e6)
    ap.add_argument("--bytecode", action="store_true",
                    help="let the children cache bytecode (a prefix per tree, filled by an"
                         " untimed first run of each), as an installed Ferry has its .pyc; by"
                         " default this machine's PYTHONDONTWRITEBYTECODE=1 makes every run"
                         " compile Ferry from source")
    ap.add_argument("--threads", action="store_true",
                    help="also print each thread's CPU (by thread name; a download thread's"
                         " as it ends)")
    ap.add_argument("--profile", default="", metavar="LABEL",
                    help="run this tree's extracts (a or b) under cProfile (the engine's"
                         " thread only; CPU inflated) and print the top functions")
    ap.add_argument("--py-spy", default="", metavar="LABEL",
                    help="record the runs of this tree (a or b) with py-spy, per thread")
    args = ap.parse_args()

    from setup_pair import subprocess_env

    from engine import new_pair, top_functions  # bench/engine.py: its extract row's pair

    work = Path(tempfile.mkdtemp(prefix="ferry-extract-ab-"))
    try:
        pair = new_pair(work, "ab", "odoo", args.patients, args.fast_scale, args.seed)
        template = work / "template"
        shutil.copytree(pair.project.root, template)
        env = subprocess_env(pair)
        print(f"extract, {args.patients} patients, seed {args.seed}: A={args.a} B={args.b}",
              flush=True)
        print(f"{'run':>4} {'tree':>4} {'records':>8} {'files':>6} {'wall s':>7} {'CPU s':>6}"
              f" {'rec/CPU-s':>9} {'load':>5}", flush=True)
        _child_cpu()  # from here on, the drivers' CPU alone
        for i in range(-1 if args.bytecode else 0, args.rounds):
            for label, src in (("a", args.a), ("b", args.b)):
                project = pair.project.root
                shutil.rmtree(project)
                shutil.copytree(template, project)
                child_env = {**env, "PYTHONPATH": str(Path(src).resolve())}
                if args.bytecode:
                    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
                    child_env["PYTHONPYCACHEPREFIX"] = str(work / f"pycache-{label}")
                cmd = [sys.executable, *([__file__, "--thread-cpu"] if args.threads else []),
                       str(ROOT / "tests" / "engine" / "driver.py"), "extract", str(project)]
                prof = work / f"{label}{i}.prof"
                if args.profile == label:
                    cmd.append(f"--profile={prof}")
                if args.py_spy == label:
                    cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--threads",
                           "-r", "200", "-f", "raw", "-o",
                           str(ROOT / f"extract-{label}{i}.txt"), "--", *cmd]
                t0 = time.monotonic()
                proc = subprocess.run(cmd, env=child_env, capture_output=True, check=False)
                wall = time.monotonic() - t0
                cpu = _child_cpu()  # with py-spy: py-spy's CPU too (it reaps the driver)
                if proc.returncode != 0:
                    raise SystemExit(proc.stderr.decode(errors="replace")[-2000:])
                line = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("{")]
                res = json.loads(line[-1])
                recs = int(res.get("records", 0))
                if i < 0:
                    continue  # the bytecode caches' first run: not counted
                print(f"{i + 1:>4} {label:>4} {recs:>8} {res.get('files', 0):>6} {wall:>7.1f}"
                      f" {cpu:>6.2f} {recs / cpu:>9.0f} {os.getloadavg()[0]:>5.1f}",
                      flush=True)
                if args.profile == label:
                    for ln in top_functions(prof, 30):
                        print(f"{'':>10}{ln}")
                for ln in proc.stderr.decode().splitlines():
                    if ln.startswith("THREADCPU"):
                        print(f"{'':>10}{ln}", flush=True)
        pair.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


_last = [0.0]


def _child_cpu() -> float:
    """CPU of the child just reaped: the growth of RUSAGE_CHILDREN since the last call."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = ru.ru_utime + ru.ru_stime
    cpu, _last[0] = total - _last[0], total
    return cpu


def thread_cpu(argv: list[str]) -> None:
    """Run the script ``argv`` names; at exit print each thread's CPU to stderr, summed by
    name (``asyncio_N`` threads as one), with the process's own."""
    import collections
    import runpy
    import threading

    cpu: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    run = threading.Thread.run

    def timed(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            name = "asyncio" if self.name.startswith("asyncio_") else self.name
            with lock:
                cpu[name] += time.thread_time()

    threading.Thread.run = timed  # type: ignore[method-assign]

    def report() -> None:
        cpu["main"] += time.thread_time()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        rows = " ".join(f"{k} {v:.2f}" for k, v in cpu.most_common())
        print(f"THREADCPU {rows}; process {ru.ru_utime + ru.ru_stime:.2f}", file=sys.stderr)

    import atexit

    atexit.register(report)
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--thread-cpu"]:
        thread_cpu(sys.argv[2:])
    else:
        main()
