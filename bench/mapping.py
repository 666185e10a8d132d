"""Mapping benchmark on the user path: what a new user gets from `ferry init` + `ferry map`.

Each system in ``bench/data/exports/<system>.json`` is a labelled export: files with their real
column names (from the public document named in each file's ``from``), fake values, the object
each file holds and, per column, the canonical field it holds (``null``: no standard field — a
custom field or not migrated). Labels were written from the documents, never from the proposer.

For every system the bench writes the files as CSV into a fresh folder and runs the CLI as a
user would — ``ferry init --source clinic_csv --destination pipedrive --set source.path=DIR`` then
``ferry map --no-describe`` (objects are NOT given) — then reads what the source will extract:
which object each file became and which field each column lands in (the source's exact synonym
matcher plus the proposer's placements that ``ferry map`` wrote to ferry.yaml).

Split by system, decided before tuning (written here, not changed afterwards):
  TUNING   openemr, synthea, cliniko, simplepractice, fhir_flat (its columns were read while
           synonyms were added, so it cannot count as held out), athena (added 6 Dec),
           epic, canvas (added 7 Dec)
  HELD-OUT jane, pracsuite, omop (never looked at while tuning the matcher or the vocabulary),
           opendental, semble, hint (added 7 Dec, split written before the proposer first ran
           on them; their first-look figure is in bench/data/exports/README.md). Since the
           7 Dec afternoon rules (written from these systems' failure classes, on tuning data)
           this split is no longer clean.
  HELD-OUT-2 elation, metriport (added 7 Dec afternoon, labels committed before the proposer
           ran on them; never shown per column). TUNING also gained sf_ehrpatient, healthjump.
  HELD-OUT-3 drchrono, nookal, tebra (added 7 Dec evening, labels committed before the proposer
           ran on them; run only with --held-out-3, never shown per column).
  Both later held-out splits were measured once (first-look figures in the exports' README)
  and then moved to TUNING to examine their failures.
  HELD-OUT-4 healthie, intakeq (added 7 Dec late, labels committed before the proposer ran on it; run
           only with --held-out-4, never shown per column). Measured once, then moved to TUNING
           on 7 Dec night (hmap7) to examine its failures.
  HELD-OUT-5 mindbody, acuity (added 7 Dec night, session 16, labels committed before the proposer
           ran on them; run only with --held-out-5, never shown per column). Measured once, then moved
           to TUNING on 7 Dec night (hmap8) to examine its failures.
  HELD-OUT-6 square, msbookings (added 7 Dec night, session 16, labels committed before the proposer
           ran on them; run only with --held-out-6, never shown per column). Measured once, then
           moved to TUNING on 8 Dec, session 17 (hmap9) to examine its failures.
  HELD-OUT-7 nexhealth, setmore, zoho_bookings (added 7 Dec night, session 17, labels committed
           before the proposer ran on them; run only with --held-out-7, never shown per column).
           Measured once, at the end of session 17, then moved to TUNING on 8 Dec, session 17
           (hmap10) to examine its failures.
  HELD-OUT-8 zenoti, calcom (added 7 Dec night, session 17, labels committed before the proposer
           ran on them; run only with --held-out-8, never shown per column). Measured once, at the
           end of session 17, then moved to TUNING on 8 Dec, session 18 (hmap11) to examine its
           failures.
  HELD-OUT-9 muntra, vagaro, wellnessliving (added 8 Dec, session 18, labels committed before the
           proposer ran on them; run only with --held-out-9, never shown per column). Not to be
           tuned on.

Figures per system and per split: files whose object is right; top-1 on columns with a
standard field (the field the column finally lands in); wrong placements applied without review
(a column put in a field its label does not name — counted over every column); columns left
for review; files that yield records (read through the source as extract would).

    PYTHONPATH=src .venv/bin/python bench/mapping.py [--verbose] [--system NAME] [--held-out-2]
        [--held-out-3] [--held-out-4] [--held-out-5] [--held-out-6] [--held-out-7] [--held-out-8]
        [--held-out-9]
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.settings import load_settings
from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.columns import SKIP

DATA = Path(__file__).resolve().parent / "data" / "exports"
TUNING = ("openemr", "synthea", "cliniko", "simplepractice", "fhir_flat", "athena", "epic",
          "canvas", "sf_ehrpatient", "healthjump",
          # moved from held-out-2 and held-out-3 on 7 Dec evening, after their one measurement,
          # to examine their failures (hmap5): no longer held out
          "elation", "metriport", "drchrono", "nookal", "tebra",
          # moved from held-out-4 on 7 Dec night, after their one measurement, to examine their
          # failures (hmap7): no longer held out
          "healthie", "intakeq",
          # moved from held-out-5 on 7 Dec night, after its one measurement, to examine its
          # failures (hmap8: a whole file given the wrong object): no longer held out
          "mindbody", "acuity",
          # moved from held-out-6 on 8 Dec, session 17, after its one measurement, to examine its
          # failures (hmap9): no longer held out
          "square", "msbookings",
          # moved from held-out-7 on 8 Dec, session 17, after its one measurement, to examine its
          # failures (hmap10): no longer held out
          "nexhealth", "setmore", "zoho_bookings",
          # moved from held-out-8 on 8 Dec, session 18, after its one measurement, to examine its
          # failures (hmap11): no longer held out
          "zenoti", "calcom")
HELD_OUT = ("jane", "pracsuite", "omop", "opendental", "semble", "hint")
# added 7 Dec afternoon, labels committed before the proposer ran on them; measured once, at
# the end of the rule changes, and never shown per column (not even with --show-held-out)
HELD_OUT_2: tuple[str, ...] = ()  # elation, metriport: moved to tuning on 7 Dec evening
# added 7 Dec evening, the same way: labels committed first, measured once, never per column
HELD_OUT_3: tuple[str, ...] = ()  # drchrono, nookal, tebra: moved to tuning after first look
# added 7 Dec late (hmap6), the same way: labels committed first, measured once, never per column
HELD_OUT_4: tuple[str, ...] = ()  # healthie, intakeq: moved to tuning after first look
# added 7 Dec night (hmap7, session 16), the same way: labels committed first, measured once, never
# per column; next session's clean split
HELD_OUT_5: tuple[str, ...] = ()  # mindbody, acuity: moved to tuning after first look
# added 7 Dec night (hmap8, session 16), the same way: labels committed first, measured once,
# never per column; the next clean split
HELD_OUT_6: tuple[str, ...] = ()  # square, msbookings: moved to tuning after first look
# added 7 Dec night (hlab7, session 17), the same way: labels committed first, measured once (at
# the end of session 17), never per column
HELD_OUT_7: tuple[str, ...] = ()  # nexhealth, setmore, zoho_bookings: moved to tuning (hmap10)
# added 7 Dec night (hlab8, session 17), the same way: labels committed first, measured once (at
# the end of session 17), never per column
HELD_OUT_8: tuple[str, ...] = ()  # zenoti, calcom: moved to tuning (hmap11)
# added 8 Dec (hlab9, session 18), the same way: labels committed first, measured once, never per
# column
HELD_OUT_9 = ("muntra", "vagaro", "wellnessliving")
# a person's whole name in one column: the source splits it into first and last name
ACCEPT_AS = {"_full_name": {"_full_name"}}


def write_export(system: dict[str, Any], folder: Path) -> None:
    for f in system["files"]:
        cols = f["columns"]
        rows = max((len(c[2]) for c in cols), default=0)
        with (folder / f["file"]).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([c[0] for c in cols])
            for i in range(rows):
                w.writerow([c[2][i] if i < len(c[2]) else "" for c in cols])


def run_user_path(system: dict[str, Any], root: Path) -> tuple[dict[str, Any], str]:
    export, project = root / "export", root / "project"
    export.mkdir()
    write_export(system, export)
    runner = CliRunner()
    env = {"FERRY_PIPEDRIVE_TOKEN": "bench-not-used",
           "FERRY_TEST_KEY": base64.urlsafe_b64encode(b"k" * 32).decode()}
    r = runner.invoke(app, ["init", str(project), "--source", "clinic_csv", "--destination",
                            "pipedrive", "--set", f"source.path={export}", "--set",
                            "options.encryption_key_env=FERRY_TEST_KEY"], env=env)
    assert r.exit_code == 0, (r.output, r.exception)
    r = runner.invoke(app, ["map", "--project", str(project), "--no-describe"], env=env)
    assert r.exit_code == 0, (r.output, r.exception)
    opts = load_settings(project / "ferry.yaml").source.options()
    return opts, r.output


def read_back(opts: dict[str, Any], workdir: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """What the source will extract: {file: (object, {column: field})} and records per file."""
    src = create({k: v for k, v in opts.items() if k != "kind"}, workdir)
    plans = {p.table.name: (p.object, dict(p.columns)) for p in src.plans()}

    async def count() -> dict[str, int]:
        out: dict[str, int] = {}
        for obj in {p.object for p in src.plans()}:
            async for page in src.read(obj):
                for rec in page.records:
                    sid = rec.source_id
                    file = next((p.table.name for p in src.tables_of(obj)
                                 if sid.startswith(p.table.name + "#")), None)
                    out[file or f"{obj}"] = out.get(file or f"{obj}", 0) + 1
        return out

    got = asyncio.run(count())
    # records of a file with an id column are not named by file: count them per object/file
    per_file: dict[str, int] = {}
    for name, (obj, _) in plans.items():
        tables = [p for p in src.tables_of(obj)]
        if len(tables) == 1:
            per_file[name] = got.get(obj, 0) + got.get(name, 0)
        else:
            per_file[name] = got.get(name, 0) or -1  # several files of one object: unknown
    return plans, per_file


def score(system: dict[str, Any], plans: dict[str, Any], per_file: dict[str, int],
          proposals: dict[tuple[str, str], str], verbose: bool) -> dict[str, Any]:
    s = {"files": 0, "object_ok": 0, "std": 0, "top1": 0, "wrong_applied": 0, "review": 0,
         "yield_files": 0, "yield_ok": 0, "columns": 0}
    for f in system["files"]:
        s["files"] += 1
        want_obj = f["object"]
        got_obj, cols = plans.get(f["file"], (None, {}))
        s["object_ok"] += got_obj == want_obj
        if want_obj is not None:
            s["yield_files"] += 1
            s["yield_ok"] += per_file.get(f["file"], 0) != 0
        if verbose and got_obj != want_obj:
            print(f"  {system['system']}/{f['file']}: object {got_obj} (want {want_obj})")
        for col, label, _ in f["columns"]:
            s["columns"] += 1
            got = cols.get(col) if got_obj == want_obj else ("<wrong object>" if got_obj
                                                              else None)
            if got == SKIP:  # not migrated, with its reason: no standard field
                got = None
            ok = got == label or (label in ACCEPT_AS and got in ACCEPT_AS[label])
            if label is not None:
                s["std"] += 1
                s["top1"] += ok
            if got is not None and not ok:
                s["wrong_applied"] += 1
            if (got_obj, col) in proposals:
                s["review"] += 1
            if verbose and not ok and (label is not None or got is not None):
                hint = proposals.get((got_obj, col), "")
                print(f"  {system['system']}/{f['file']}: {col!r:34} got={got!s:22} "
                      f"want={label!s:22} {hint}")
    return s


def review_lines(output: str) -> dict[tuple[str, str], str]:
    """(object, column) `ferry map` left for review (not applied), from its printed lines."""
    out: dict[tuple[str, str], str] = {}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("review column:"):
            rest = line[len("review column:"):].strip()
            file, _, tail = rest.partition(": ")
            col = tail.split("'")[1] if "'" in tail else tail
            out[(file, col)] = "review"
    return out


def main() -> None:
    verbose = "--verbose" in sys.argv
    only = sys.argv[sys.argv.index("--system") + 1] if "--system" in sys.argv else None
    systems = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    for s in systems:  # the split is decided here, once: a file cannot move itself
        want = "tuning" if s["system"] in TUNING else "held-out" if s["system"] in HELD_OUT \
            else "held-out-2" if s["system"] in HELD_OUT_2 \
            else "held-out-3" if s["system"] in HELD_OUT_3 \
            else "held-out-4" if s["system"] in HELD_OUT_4 \
            else "held-out-5" if s["system"] in HELD_OUT_5 \
            else "held-out-6" if s["system"] in HELD_OUT_6 \
            else "held-out-7" if s["system"] in HELD_OUT_7 \
            else "held-out-8" if s["system"] in HELD_OUT_8 \
            else "held-out-9" if s["system"] in HELD_OUT_9 else None
        assert s["split"] == want, f"{s['system']}: split {s['split']!r}, bench says {want!r}"
    if only:
        systems = [s for s in systems if s["system"] == only]
    else:  # the later held-out splits are measured on purpose, never by the way
        systems = [s for s in systems if s["split"] not in ("held-out-2", "held-out-3",
                                                            "held-out-4", "held-out-5",
                                                            "held-out-6", "held-out-7",
                                                            "held-out-8", "held-out-9")
                   or f"--{s['split']}" in sys.argv]
    rows: list[tuple[str, str, dict[str, Any]]] = []
    t0 = time.perf_counter()
    for system in systems:
        with tempfile.TemporaryDirectory() as d:
            opts, output = run_user_path(system, Path(d))
            plans, per_file = read_back(opts, Path(d))
        # held-out systems print no per-column detail: they are never looked at while tuning
        detail = verbose and (system["split"] == "tuning" or (
            system["split"] == "held-out" and "--show-held-out" in sys.argv))
        s = score(system, plans, per_file, review_lines(output), detail)
        rows.append((system["system"], system["split"], s))
    secs = time.perf_counter() - t0
    print(f"{len(systems)} systems, {sum(r[2]['files'] for r in rows)} files, "
          f"{sum(r[2]['columns'] for r in rows)} columns; user path (init + map, objects not "
          f"given); {secs:.1f} s")
    print(f"{'system':16}{'split':10}{'objects':>9}{'top-1':>14}{'wrong applied':>15}"
          f"{'review':>8}{'files w/ records':>18}")
    for name, split, s in rows:
        print(f"{name:16}{split:10}{s['object_ok']:>4}/{s['files']:<4}"
              f"{s['top1']:>6}/{s['std']:<3}{s['top1'] / max(s['std'], 1):>5.0%}"
              f"{s['wrong_applied']:>15}{s['review']:>8}{s['yield_ok']:>12}/{s['yield_files']}")
    for split in ("tuning", "held-out", "held-out-2", "held-out-3", "held-out-4", "held-out-5",
                  "held-out-6", "held-out-7", "held-out-8", "held-out-9"):
        part = [s for _, sp, s in rows if sp == split]
        if not part:
            continue
        tot = {k: sum(p[k] for p in part) for k in part[0]}
        print(f"{split.upper():26}top-1 {tot['top1']}/{tot['std']} = "
              f"{tot['top1'] / max(tot['std'], 1):.1%}; objects {tot['object_ok']}/{tot['files']};"
              f" wrong applied {tot['wrong_applied']}; files with records "
              f"{tot['yield_ok']}/{tot['yield_files']}")


if __name__ == "__main__":
    main()
