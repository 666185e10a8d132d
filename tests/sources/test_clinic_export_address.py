"""The generated clinic export keeps a patient's address that the practice holds as one line:
it lost it whole (only street, city, … were exported), so ``ferry demo --source clinic_csv``
migrated 25 of 500 patients with no address at all, their country unknown, and their phones
read in the practice's plan: an Australian mobile became a valid Dutch number in Odoo while
sample and reconcile passed (seed 7, hpairs, 7 December)."""

from __future__ import annotations

import csv
from pathlib import Path

from ferry.sandbox.clinic_export import write_clinic_export
from ferry.sandbox.synth import Practice


def test_one_line_addresses_are_exported(tmp_path: Path) -> None:
    practice = Practice(seed=7, patients=120)
    write_clinic_export(tmp_path / "export", practice)
    with (tmp_path / "export" / "patients.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["Patient ID"].strip(): r for r in csv.DictReader(fh)}
    one_line = {p.source_id: p.address for p in practice.iter("patient")  # type: ignore[attr-defined]
                if p.address}  # type: ignore[attr-defined]
    assert one_line
    for sid, address in one_line.items():
        assert rows[sid]["Address 1"].strip() == address, sid
