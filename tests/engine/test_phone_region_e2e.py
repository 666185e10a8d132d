"""A practice in Australia (AU clinics, AU phones, some numbers that are no number at all) moves
to Pipedrive through the default recipe: every phone the CRM holds afterwards is a valid number,
and the Australian ones carry +61 (issue 21: 143 of 235 stored phones were invalid, Australian
numbers stored as +44)."""

from __future__ import annotations

import httpx

from ferry.engine import pipeline as P

from .setup_pair import approve_phi, make_pair
from .stored_phones import count

SEED, PATIENTS = 1, 24  # seed 1: the practice's home locale is en_AU


def test_au_practice_stores_only_valid_numbers(tmp_path) -> None:
    with make_pair(tmp_path / "proj", destination="pipedrive", seed=SEED, patients=PATIENTS,
                   env_prefix="FERRY_PHONE_") as pair:
        proj = pair.project
        P.run_extract(proj)
        assert proj.phone_region == "AU"
        P.run_prepare(proj)
        approve_phi(proj)
        report = P.load(proj)
        state = httpx.get(pair.dest_info["base_url"] + "/_sandbox/state", timeout=60).json()
        stored, invalid = count(state)
        assert stored > PATIENTS and invalid == []
        assert sum(1 for _ in _au(state)) > PATIENTS // 2
        # the invalid source numbers were left empty, each with a reason in the skip file
        bad = pair.practice.ledger.ids("invalid_phone")
        skipped = {s.ref.rsplit(":", 1)[-1] for s in proj.store.skips()
                   if "phone number" in s.reason}
        assert bad and bad <= skipped, (bad, skipped, report)


def _au(state):
    from .stored_phones import stored_phones

    return (n for n in stored_phones(state) if n.startswith("+61"))
