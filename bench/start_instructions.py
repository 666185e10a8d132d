"""The reconcile's fixed start in instructions, step by step: a count that the machine's load
does not move, where its CPU-seconds spread by 10-20 % on a shared machine.

Builds one 3-patient project (bench/engine.py's practice and flags, as ``--fixed-start`` does),
takes it through extract, prepare, review and the load, then counts the instructions
(valgrind's cachegrind, ``I refs``) of one process per step, each doing every step before it:

* imports, in the order the verb makes them: the interpreter alone, pydantic, the canonical
  model (``ferry.model``: entities, staging, audit), encryption, the pipeline, the reconcile's
  own modules and the map's compiler, the HTTP client, the destination's connector;
* the verb's set-up and work, after ``runtime.started`` as in the CLI: the settings, the
  confirmed map, its keys (and the store opened), the destination opened, the maps compiled,
  the lookup (owners), the reconcile;
* the reconcile as bench/engine.py runs it (``tests/engine/driver.py reconcile``).

Each step's row gives the instructions it adds and its share of the driver's total. One run per
step: a second gives the same count within ~0.1 %. With two ``--tree`` folders (a before and an
after checkout: ``src/`` and ``tests/engine/driver.py``), both are counted on the same project.
Instructions are not CPU-seconds (a cache miss costs more than an add), but a change's share
of them has matched its share of the CPU-seconds measured quiet to within a few points.

    .venv/bin/python bench/start_instructions.py [--dest odoo] [--tree /tmp/before --tree .]
        [--total-only]

Needs ``valgrind`` on the PATH. A 3-patient reconcile is ~1.1e9 instructions, ~30-60 s each
under valgrind; all steps for one tree take ~10 minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from engine import compile_bytecode, new_pair  # noqa: E402

#: (label, statement) run with the collector paused, as the CLI imports a verb's modules
IMPORTS = [
    ("interpreter", "pass"),
    ("pydantic", "from pydantic import BaseModel, Field, field_validator"),
    ("canonical model (ferry.model)", "import ferry.model"),
    ("encryption (ferry.model.crypto)", "import ferry.model.crypto"),
    ("pipeline", "import ferry.engine.pipeline"),
    ("reconcile, prepare, map compiler",
     "import ferry.engine.reconcile, ferry.engine.prepare, ferry.mapping.compile,"
     " ferry.mapping.mapping_file"),
    ("HTTP client (connectors.http, http.client)", "import ferry.connectors.http, http.client"),
    ("destination connector (its writer)", "from ferry.connectors import registry;"
     " import importlib; importlib.import_module(registry.DESTINATIONS[DEST] + '.writer')"),
]
#: (label, statement) after ``runtime.started``
WORK = [
    ("settings", "project.settings"),
    ("confirmed map", "doc = P.confirmed_mapping(project)"),
    ("map keys (store opened)", "doc = apply_keys(doc, project.store)"),
    ("destination opened", "dest = P.open_destination(project)"),
    ("maps compiled", "cms = project.compile(doc)"),
    ("lookup (owners)", "lk = project_lookup(project, dest)"),
    ("reconcile", "reconcile(project.store, project.audit, doc, cms, dest, lk); dest.close()"),
]


def child_code(upto: int, dest: str, root: str) -> str:
    """A program doing the first ``upto`` steps (imports, then work). Every one calls
    ``runtime.started`` after its imports, so each ends as a verb does (the imports' objects
    frozen, not walked again at exit)."""
    lines = [f"DEST = {dest!r}", "from ferry import runtime", "runtime.importing()"]
    lines += [stmt for _, stmt in IMPORTS[:upto]]
    work = upto - len(IMPORTS)
    if work > 0:
        lines += ["from ferry.engine import pipeline as P",
                  "from ferry.engine.prepare import apply_keys",
                  "from ferry.engine.project import Project",
                  "from ferry.engine.reconcile import project_lookup, reconcile"]
    lines.append("runtime.started()")
    if work > 0:
        lines.append(f"project = Project.at({root!r})")
        lines += [stmt for _, stmt in WORK[:work]]
        if 4 <= work < len(WORK):  # opened and not yet closed by the reconcile step
            lines.append("dest.close()")
    return "\n".join(lines)


def instructions(cmd: list[str], env: dict[str, str]) -> int:
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null", *cmd],
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{cmd[-2:]} failed: {proc.stderr[-1500:]}")
    m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if not m:
        raise SystemExit(f"no instruction count in valgrind's output: {proc.stderr[-500:]}")
    return int(m.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default="odoo", choices=["odoo", "pipedrive", "salesforce"])
    ap.add_argument("--tree", type=Path, action="append", default=[])
    ap.add_argument("--total-only", action="store_true",
                    help="count only the driver's reconcile (one valgrind run per tree)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on the PATH (apt-get install valgrind)")
    trees = [t.resolve() for t in args.tree] or [ROOT]
    compile_bytecode()
    for t in trees:  # each tree's modules compiled, as an installed Ferry's are
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(t / "src/ferry"),
                        str(t / "tests/engine")], check=True, capture_output=True)
    from setup_pair import subprocess_env

    work = Path(tempfile.mkdtemp(prefix="ferry-bench-instr-"))
    pair = new_pair(work, "instr", args.dest, 3, 1e6, args.seed, 0, 0, 0.15, 0)
    try:
        env = subprocess_env(pair)
        root = str(pair.project.root)
        for verb in ("extract", "prepare", "review", "reviewed"):
            subprocess.run([sys.executable, str(ROOT / "tests/engine/driver.py"), verb, root],
                           env=env, check=True, capture_output=True)
        labels = [label for label, _ in IMPORTS + WORK]
        counts: dict[Path, list[int]] = {}
        for t in trees:
            tenv = {**env, "PYTHONPATH": str(t / "src")}
            steps = [] if args.total_only else [
                instructions([sys.executable, "-c", child_code(k, args.dest, root)], tenv)
                for k in range(1, len(labels) + 1)]
            total = instructions([sys.executable, str(t / "tests/engine/driver.py"),
                                  "reconcile", root], tenv)
            counts[t] = [*steps, total]
        print(f"== the reconcile's start in instructions (1e6), {args.dest}, 3 patients;"
              f" trees: {', '.join(str(t) for t in trees)}")
        for t in trees:
            *steps, total = counts[t]
            print(f"\n  {t}")
            prev = 0
            for label, n in zip(labels if steps else [], steps, strict=True):
                print(f"  {label:<44} {n / 1e6:9.1f}  +{(n - prev) / 1e6:7.1f}"
                      f"  {100 * (n - prev) / total:5.1f} %")
                prev = n
            print(f"  {'driver reconcile (total)':<44} {total / 1e6:9.1f}")
        if len(trees) == 2:
            a, b = (counts[t][-1] for t in trees)
            print(f"\n  total: {a / 1e6:.1f} -> {b / 1e6:.1f} ({100 * (b - a) / a:+.1f} %)")
    finally:
        pair.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
