"""Phone numbers stored per destination: the demo practice (seed 1: an Australian practice, AU
phones, the usual dirt) migrated through each default recipe, then every phone the CRM holds is
read back through ``/_sandbox/state`` and parsed with phonenumbers.

    .venv/bin/python bench/phones.py [--patients 200] [--seed 1] [--dest pipedrive salesforce odoo]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from setup_pair import approve_phi, make_pair  # noqa: E402
from stored_phones import count, stored_phones  # noqa: E402

from ferry.engine import pipeline as P  # noqa: E402


def one(dest: str, patients: int, seed: int, work: Path) -> None:
    with make_pair(work / dest, destination=dest, seed=seed, patients=patients,
                   env_prefix=f"FERRY_BPH_{dest.upper()}_", time_scale=2000.0) as pair:
        proj = pair.project
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        P.load(proj)
        state = httpx.get(pair.dest_info["base_url"] + "/_sandbox/state", verify=False,
                          timeout=300).json()
        stored, invalid = count(state)
        codes = Counter(n[:3] for n in stored_phones(state))
        bad_src = len(pair.practice.ledger.ids("invalid_phone"))
        left = sum(1 for s in proj.store.skips() if "phone number" in s.reason)
        print(f"{dest:10s} practice region {proj.phone_region}: {stored} phones stored,"
              f" {len(invalid)} invalid; by prefix {dict(codes.most_common(4))};"
              f" {bad_src} patients with an invalid source number, {left} phone fields left"
              " empty with a reason", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dest", nargs="+", default=["pipedrive", "salesforce", "odoo"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for dest in a.dest:
            one(dest, a.patients, a.seed, Path(d))


if __name__ == "__main__":
    main()
