"""A delta pass accounts for every change the source shows (issue 21, item 4): 29 changes made
through the PracticeHub sandbox during cutover — creates, updates and deletes of patients,
appointments, clinical notes, invoices and payments — each appear in the delta report with an
outcome (applied, merged, held, excluded or refused with its reason). None may be absent from
both the destination and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ferry.engine import pipeline as P

from .setup_pair import approve_phi, make_pair

#: resource → (creates, updates, deletes): 29 changes in all
CHANGES = {"patients": (3, 4, 2), "appointments": (3, 3, 1), "clinical_notes": (3, 3, 0),
           "invoices": (2, 2, 0), "payments": (1, 1, 1)}
OBJECT = {"patients": "patient", "appointments": "appointment",
          "clinical_notes": "clinical_note", "invoices": "invoice", "payments": "payment"}


def _changes(pair: Any) -> dict[str, str]:
    """Make the changes at the source; ref → what the source did (created/updated/deleted)."""
    spec = {res: {"creates": c, "updates": u, "deletes": d, "seed": n}
            for n, (res, (c, u, d)) in enumerate(CHANGES.items())}
    r = httpx.post(pair.source_info["base_url"] + "/_sandbox/mutate",
                   json={"resources": spec}, timeout=60)
    r.raise_for_status()
    out: dict[str, str] = {}
    for res, done in r.json().items():
        for what, ids in done.items():
            for i in ids:
                out[f"source:{OBJECT[res]}:{i}"] = what
    return out


def test_delta_report_accounts_for_every_source_change(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="pipedrive", patients=20, seed=5,
                   env_prefix="FERRY_DACC_", options={"dedup_by_email": False}) as pair:
        project = pair.project
        P.run_extract(project)
        P.run_prepare(project)
        approve_phi(project)
        P.load(project)
        made = _changes(pair)
        assert len(made) == sum(sum(v) for v in CHANGES.values()) == 29
        _, report, _ = P.delta(project)
        changes = report.changes
        lines = {c["ref"]: c for c in changes["lines"]}
        assert changes["unaccounted"] == 0, [c for c in changes["lines"]
                                             if c["outcome"] == "unaccounted"]
        missing = set(made) - set(lines)
        assert not missing, f"changes the delta report does not list: {sorted(missing)}"
        store = project.store
        for ref, what in made.items():
            line = lines[ref]
            obj, sid = ref.split(":")[1:]
            in_dest = store.dest_id(obj, sid) is not None
            assert line["outcome"] in ("applied", "merged", "held", "excluded", "refused"), line
            assert line["detail"], line  # every outcome says what, or why not
            if what == "deleted":
                assert line["change"] == "deleted" and not in_dest, line
            elif line["outcome"] == "applied":
                assert in_dest, line
        figures = {k: sum(1 for r in made if lines[r]["outcome"] == k)
                   for k in ("applied", "merged", "held", "excluded", "refused")}
        print("29 source changes:", figures)  # noqa: T201 - the closing note's figures
        assert sum(figures.values()) == 29
