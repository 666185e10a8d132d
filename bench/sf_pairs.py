"""Interleaved before/after CPU of the Salesforce run and reconcile, and what each tree wrote.

The Salesforce counterpart of ``load_pairs.py``: this stages one practice once (extract,
prepare, the PHI review's scan and bulk approval, each with this tree's code), keeps a copy of
the project folder and of the sandbox's org, and then, for each round, runs the run verb
(``reviewed``: the load honouring the review's decisions, as ``engine.py --e2e`` does) and the
reconcile once per code tree, each from the same copies, the trees alternating (their order
flips every round). Every run is also checked for what it wrote: a digest of the Bulk API 2.0
CSV bodies the sandbox received, in order, and one of the audit log and id map (timestamps and
the hash chain, which covers them, left out); every tree must give the same digests.

    .venv/bin/python bench/sf_pairs.py --patients 1000 --rounds 3 /tmp/old/src src
    # --profile FILE: the last tree's run and reconcile once more under cProfile

Each tree is a ``src`` folder (e.g. another worktree's); the driver is this tree's
``tests/engine/driver.py``. Prints one row per verb: Ferry's CPU s, per 10k records, load.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))


class CaptureBulk:
    """ASGI middleware: a digest of every Bulk API 2.0 ingest upload (``PUT …/batches``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT" or \
                not scope["path"].endswith("/batches"):
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256()
        size = 0

        async def tee() -> Any:
            nonlocal size
            msg = await receive()
            if msg["type"] == "http.request":
                digest.update(msg.get("body", b""))
                size += len(msg.get("body", b""))
                if not msg.get("more_body"):
                    self.bodies.append(f"{size}:{digest.hexdigest()[:16]}")
            return msg

        await self.app(scope, tee, send)


def written(root: Path) -> tuple[str, int]:
    """A digest of the audit log and the id map (no timestamps, run ids or chain hashes; the
    before-images decrypted), and the number of audit entries."""
    from ferry.engine.project import Project

    project = Project.at(root)
    h = hashlib.sha256()
    n = 0
    for e in project.audit.entries():
        n += 1
        h.update(json.dumps([e.seq, e.kind, e.op, e.dest_object, e.dest_id, e.src_ref,
                             e.intent_seq, e.before, e.detail], sort_keys=True,
                            default=str).encode())
    db = project.store.conn
    for row in db.execute("SELECT src_object, source_id, dest_object, dest_id, created,"
                          " payload_hash FROM idmap ORDER BY 1, 2, 3"):
        h.update(repr(row).encode())
    for row in db.execute("SELECT ref, field, reason, stage FROM skips ORDER BY seq"):
        h.update(repr(row).encode())
    project.store.close()
    return h.hexdigest()[:16], n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", help="src folders to compare (the first is 'before')")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--fast-scale", type=float, default=1e6)
    ap.add_argument("--big-files", type=int, default=0)
    ap.add_argument("--doc-size-scale", type=float, default=0.15)
    ap.add_argument("--oversize", type=int, default=1)
    ap.add_argument("--verbs", nargs="+", default=["reviewed", "reconcile"],
                    choices=["reviewed", "reconcile"])
    ap.add_argument("--profile", default="", metavar="PREFIX",
                    help="also run the last tree's verbs once under cProfile (CPU clock; stats"
                         " written to PREFIX.VERB, the top functions printed)")
    ap.add_argument("--top", type=int, default=40, help="functions printed with --profile")
    ap.add_argument("--py-spy", default="", metavar="PREFIX",
                    help="also run the last tree's verbs once under py-spy (samples holding the"
                         " GIL, raw folded stacks written to PREFIX.VERB; py-spy on PATH or"
                         " beside this Python)")
    ap.add_argument("--work-dir", default="", help="where the project goes (default: /tmp)")
    args = ap.parse_args()

    from setup_pair import subprocess_env

    import ferry.sandbox.registry as registry
    from engine import new_pair, run_child, top_functions

    built: list[Any] = []
    captures: list[CaptureBulk] = []
    real_build = registry.build

    def keep(kind: str, options: Any) -> Any:  # the sandboxes: their state copied, uploads seen
        sb = real_build(kind, options)
        built.append(sb)
        if kind == "salesforce":
            sb.app = CaptureBulk(sb.app)
            captures.append(sb.app)
        return sb

    registry.build = keep  # type: ignore[assignment]
    work = Path(tempfile.mkdtemp(prefix="ferry-sf-pairs-", dir=args.work_dir or None))
    pair = new_pair(work, "p", "salesforce", args.patients, args.fast_scale, args.seed,
                    args.big_files, 5000, args.doc_size_scale, args.oversize)
    try:
        env = subprocess_env(pair)
        records = 0
        for verb in ("extract", "prepare", "review"):
            r = run_child(verb, pair.project.root, env)
            if verb == "extract":
                records = int(r["out"].get("records", 0))
            print(f"{verb}: CPU {r['cpu']:.1f} s", flush=True)
        sf = next(sb for sb in built if hasattr(sb, "org") and hasattr(sb, "api"))
        capture = captures[0]
        org = sf.org
        keep_refs = {id(org.clock): org.clock}
        org0 = copy.deepcopy(org.__dict__, dict(keep_refs))

        def fresh() -> None:  # in place: the routes, the gate and the token endpoint hold it
            org.__dict__.update(copy.deepcopy(org0, dict(keep_refs)))
            sf.api.queries.cursors.clear()
            capture.bodies.clear()

        root = pair.project.root
        kept = work / "staged"
        shutil.copytree(root, kept)

        def restore() -> None:
            shutil.rmtree(root)
            shutil.copytree(kept, root, copy_function=lambda a, b: os.link(a, b)
                            if Path(a).parent.name == "files" else shutil.copy2(a, b))

        trees = [str(Path(t).resolve()) for t in args.trees]
        print(f"{args.patients} patients, {records} records; trees: {trees}", flush=True)
        cpu: dict[tuple[str, str], list[float]] = {}
        seen: dict[str, set[tuple[str, ...]]] = {}
        for rnd in range(args.rounds):
            order = trees if rnd % 2 == 0 else trees[::-1]
            for tree in order:
                restore()
                fresh()
                tenv = dict(env, PYTHONPATH=tree)
                for verb in args.verbs:
                    r = run_child(verb, root, tenv)
                    cpu.setdefault((tree, verb), []).append(r["cpu"])
                    note = ""
                    if verb == "reviewed":
                        os.environ.update(pair.env)  # the project's key, to read the log
                        digest, n = written(root)
                        bulk = hashlib.sha256("|".join(capture.bodies).encode()).hexdigest()[:16]
                        seen.setdefault(verb, set()).add((digest, bulk))
                        t = r["out"].get("totals", {})
                        note = (f" audit/idmap/skips {digest} ({n} entries), {len(capture.bodies)}"
                                f" Bulk uploads {bulk}; uploaded {t.get('uploaded')}, skipped"
                                f" {t.get('skipped')}, failed {t.get('failed')}")
                    else:
                        out = r["out"]
                        seen.setdefault(verb, set()).add((str(out.get("balanced")),
                                                          str(out.get("discrepancies"))))
                        note = (f" balanced {out.get('balanced')}, {out.get('discrepancies')}"
                                " discrepancy lines")
                    print(f"round {rnd} {verb:<9} {tree}: CPU {r['cpu']:.2f} s,"
                          f" {r['cpu'] * 10_000 / records:.3f} per 10k, wall {r['wall']:.1f} s,"
                          f" emu {r['emu']:.1f}, load {os.getloadavg()[0]:.1f};{note}",
                          flush=True)
        for verb in args.verbs if args.rounds else []:
            meds = [statistics.median(cpu[(t, verb)]) for t in trees]
            print(f"median {verb}: " + ", ".join(
                f"{m:.2f} s ({m * 10_000 / records:.3f} per 10k)" for m in meds)
                + (f"; last/first {meds[-1] / meds[0] - 1:+.1%}" if len(meds) > 1 else ""))
            print(f"  what was written, {verb}: {'the same for every run' if len(seen[verb]) == 1 else 'DIFFERS: ' + repr(seen[verb])}")
        if args.profile:
            restore()
            fresh()
            tenv = dict(env, PYTHONPATH=trees[-1])
            for verb in args.verbs:
                prof = Path(f"{args.profile}.{verb}").resolve()
                r = run_child(verb, root, tenv, profile=prof)
                print(f"cProfile {verb} ({trees[-1]}): CPU {r['cpu']:.2f} s (profiler included)")
                print("\n".join(top_functions(prof, args.top)), flush=True)
        if args.py_spy:
            restore()
            fresh()
            tenv = dict(env, PYTHONPATH=trees[-1])
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            for verb in args.verbs:
                out = Path(f"{args.py_spy}.{verb}").resolve()
                subprocess.run([spy, "record", "--gil", "-r", "250", "-f", "raw", "-o", str(out),
                                "--", sys.executable, str(ROOT / "tests" / "engine" / "driver.py"),
                                verb, str(root)], env=tenv, check=True,
                               stdout=subprocess.DEVNULL)
                print(f"py-spy {verb}: {out}", flush=True)
    finally:
        pair.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
