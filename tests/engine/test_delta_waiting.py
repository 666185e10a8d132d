"""A record the run could not link (an appointment naming a patient the source does not have)
is retried by every delta pass, in case its parent has arrived; retried with the parent still
missing it waits on. Each pass counted it as a new skip: ``ferry demo --delta``'s second pass
showed ``appointment_lead skip 1`` while its changes said "refused 0". It is now counted as
waiting, apart from the pass's skips, with no new skip line; reconcile still lists it as
skipped, and the next pass retries it again."""

from __future__ import annotations

from pathlib import Path

from ferry.engine import pipeline as P
from ferry.engine.reconcile import run_reconcile

from .setup_pair import approve_phi, make_pair


def test_an_unlinked_record_waits_on_and_is_no_skip_of_a_later_pass(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="odoo", patients=30, seed=1,
                   env_prefix="FERRY_WAIT_") as pair:
        project = pair.project
        patients = {p.source_id for p in pair.practice.iter("patient")}
        orphans = {a.source_id for a in pair.practice.iter("appointment")
                   if a.patient_id not in patients}
        assert orphans  # the generator's orphan appointment (its patient is absent)
        P.run_extract(project)
        P.run_prepare(project)
        approve_phi(project)
        run = P.load(project)
        assert run.stats["appointment_lead"].skipped == len(orphans)
        store = project.store
        lines = len(store.skips())
        for _ in range(2):  # nothing changed at the source; the orphan is retried each pass
            _, report, _ = P.delta(project)
            st = report.stats["appointment_lead"]
            assert st.skipped == 0, st  # before: 1, each pass
            assert st.waiting == len(orphans), st
            assert report.changes["refused"] == 0 and report.changes["unaccounted"] == 0
            assert len(store.skips()) == lines  # its skip line stands; none added
        rec = run_reconcile(project)
        row = next(o for o in rec.objects if o["object"] == "appointment")
        assert row["skipped"] == len(orphans) and rec.balanced, rec.discrepancies[:5]
