"""Interleaved before/after load CPU on one staged project: code trees take turns.

The machine's load moves CPU seconds by 20-35 %, so a before/after figure is only worth the
pair it comes from. This stages one practice once (extract, prepare, the PHI scan: each with
this tree's code), keeps a copy of the project folder and of the sandbox's state (the Odoo
database, or the Pipedrive account and its limits with ``--dest pipedrive``), and
then, for each round, runs ``load`` once per code tree, each from the same copies: the same
store, the same destination state, the trees alternating (their order flips every round).

    .venv/bin/python bench/load_pairs.py --patients 200 --rounds 3 /tmp/base-src src
    # --profile py-spy: the last tree's load also under py-spy (samples holding the GIL)

Each tree is a ``src`` folder (e.g. an older commit's, from ``git archive``); the driver is this
tree's ``tests/engine/driver.py``. Prints one row per load: CPU s, records per CPU-s, load
average.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", help="src folders to compare (the first is 'before')")
    ap.add_argument("--dest", default="odoo", choices=["odoo", "pipedrive"])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--fast-scale", type=float, default=1e6)
    ap.add_argument("--py-spy", default="", metavar="FILE",
                    help="also run the last tree's load once under py-spy (raw folded stacks)")
    ap.add_argument("--bytecode", action="store_true",
                    help="the loads read cached bytecode (a prefix per tree, filled by an untimed"
                         " first load), as an installed Ferry has its .pyc; by default"
                         " this machine's PYTHONDONTWRITEBYTECODE=1 makes every load compile"
                         " Ferry from source (9 %% of a 300-patient load's py-spy samples)")
    ap.add_argument("--profile", default="", metavar="FILE",
                    help="also run the last tree's load once under cProfile (CPU clock; stats"
                         " written to FILE, the top functions printed)")
    ap.add_argument("--top", type=int, default=30, help="functions printed with --profile")
    ap.add_argument("--cold", action="store_true",
                    help="each load starts with the staged files out of the page cache"
                         " (posix_fadvise DONTNEED on the project's files only), as the 100k"
                         " run's uploads found them an hour after the extract")
    ap.add_argument("--all-cpu", action="store_true",
                    help="py-spy samples C code that released the GIL too (not only GIL holders)")
    args = ap.parse_args()

    from setup_pair import subprocess_env

    import ferry.sandbox.registry as registry
    from engine import new_pair, run_child

    built: list[Any] = []
    real_build = registry.build

    def keep(kind: str, options: Any) -> Any:  # the sandboxes, so their state can be copied
        sb = real_build(kind, options)
        built.append(sb)
        return sb

    registry.build = keep  # type: ignore[assignment]
    work = Path(tempfile.mkdtemp(prefix="ferry-load-pairs-"))
    pair = new_pair(work, "p", args.dest, args.patients, args.fast_scale, args.seed)
    try:
        env = subprocess_env(pair)
        records = 0
        for verb in ("extract", "prepare", "scan"):
            r = run_child(verb, pair.project.root, env)
            if verb == "extract":
                records = int(r["out"].get("records", 0))
            print(f"{verb}: CPU {r['cpu']:.1f} s", flush=True)
        if args.dest == "odoo":
            odoo = next(sb for sb in built if hasattr(sb, "holder"))
            db0 = odoo.holder["db"]

            def fresh() -> None:  # the ORM's lock is shared, not copied (nothing holds it now)
                odoo.holder["db"] = copy.deepcopy(db0, {id(db0.orm.lock): db0.orm.lock})
        else:  # Pipedrive: its routes read the sandbox's current account and limits
            pd = next(sb for sb in built if hasattr(sb, "account") and hasattr(sb, "limits"))
            account0, limits0 = pd.account, pd.limits

            def fresh() -> None:
                pd.account, pd.limits = copy.deepcopy(account0), copy.deepcopy(limits0)

        fresh()
        root = pair.project.root
        kept = work / "staged"
        shutil.copytree(root, kept)
        files = sorted(p for p in (kept / ".ferry" / "files").rglob("*") if p.is_file())
        for p in files:  # on disk once, so that --cold can drop them from the cache
            with p.open("rb+") as fh:
                os.fsync(fh.fileno())

        def restore() -> None:
            """The staged project afresh: its store copied (a load writes it), its stored
            files linked (a load only reads them; a copy wrote 1 GB per load at 1k)."""
            shutil.rmtree(root)
            shutil.copytree(kept, root, copy_function=lambda a, b: os.link(a, b)
                            if Path(a).parent.name == "files" else shutil.copy2(a, b))
            if args.cold:
                for p in files:
                    fd = os.open(p, os.O_RDONLY)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    os.close(fd)
        trees = [str(Path(t).resolve()) for t in args.trees]
        print(f"{args.patients} patients, {records} records; trees: {trees}")

        def tree_env(i: int, tree: str) -> dict[str, str]:
            out = dict(env, PYTHONPATH=tree)
            if args.bytecode:
                out.pop("PYTHONDONTWRITEBYTECODE", None)
                out["PYTHONPYCACHEPREFIX"] = str(work / f"pycache-{i}")
            return out

        # --bytecode: an untimed load per tree first fills its cache (with a prefix set, the
        # standard library and the venv's packages are compiled into it too, not only Ferry)
        for rnd in range(-1 if args.bytecode else 0, args.rounds):
            order = trees if rnd % 2 == 0 else trees[::-1]
            for tree in order:
                restore()
                fresh()
                tenv = tree_env(trees.index(tree), tree)
                r = run_child("load", root, tenv)
                if rnd < 0:
                    print(f"warm-up {tree}: CPU {r['cpu']:.2f} s (compiling included)",
                          flush=True)
                    continue
                t = r["out"].get("totals", {})
                print(f"round {rnd} {tree}: CPU {r['cpu']:.2f} s, {records / r['cpu']:.0f}"
                      f" records per CPU-s, wall {r['wall']:.1f} s (emulator CPU"
                      f" {r['emu']:.1f}, idle {r['idle']:.1f}, queue F/E {r['ferry_wait']:.1f}"
                      f"/{r['emu_wait']:.1f}), load {os.getloadavg()[0]:.1f}"
                      f" (uploaded {t.get('uploaded')}, skipped {t.get('skipped')},"
                      f" failed {t.get('failed')})", flush=True)
        if args.profile:
            from engine import top_functions

            restore()
            fresh()
            r = run_child("load", root, tree_env(len(trees) - 1, trees[-1]),
                          profile=Path(args.profile).resolve())
            print(f"cProfile ({trees[-1]}): CPU {r['cpu']:.2f} s (profiler included)")
            print("\n".join(top_functions(Path(args.profile).resolve(), args.top)), flush=True)
        if args.py_spy:
            restore()
            fresh()
            tenv = tree_env(len(trees) - 1, trees[-1])
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            subprocess.run([spy, "record", *([] if args.all_cpu else ["--gil"]), "-r",
                            "200", "-f", "raw", "-o",
                            args.py_spy, "--", sys.executable,
                            str(ROOT / "tests" / "engine" / "driver.py"), "load", str(root)],
                           env=tenv, check=True, stdout=subprocess.DEVNULL)
            print(f"py-spy: {args.py_spy}")
    finally:
        pair.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
