"""Pulse's REST API (ASSUMED: nothing public describes it) shows no deletion: no deleted list, no
status or archived flag, no changes filter said to include them. So a patient deleted at Pulse
during the cutover stays in the CRM after ``ferry delta`` (bench/truth.py --source pulse).
Nothing is invented to see it; instead:

* the delta says plainly, per object, that it cannot see deletions and how to catch them;
* reading everything again (``ferry extract --since 1970-01-01``) lists every id, and the
  engine marks the staged records it no longer names as deleted (the path an export's absent
  rows take);
* ``ferry reconcile`` then names each record still in the CRM whose source record is gone.

Before: the delta said "0 deleted", the full re-read marked nothing, reconcile said balanced."""

from __future__ import annotations

import datetime as dt

from ferry.cli.app import build_app
from ferry.cli.commands.demo import _invoke, _settle_reviews
from ferry.engine import pipeline as P
from ferry.engine.project import Project
from ferry.engine.reconcile import run_reconcile
from ferry.sandbox.synth import Practice

from .setup_pair import make_pair

SEED, PATIENTS = 3, 10


class _Without(Practice):
    """The practice after staff deleted one patient at Pulse."""

    gone = ""

    def iter(self, obj: str):  # type: ignore[no-untyped-def]
        for rec in super().iter(obj):
            if not (obj == "patient" and rec.source_id == self.gone):
                yield rec


def test_a_deletion_at_pulse_rest_is_named_not_silently_kept(tmp_path) -> None:
    with make_pair(tmp_path / "proj", destination="pipedrive", source="pulse", seed=SEED,
                   patients=PATIENTS, env_prefix="FERRY_PDEL_") as pair:
        proj = pair.project
        assert proj.settings.source.options()["mode"] == "rest"
        P.run_extract(proj)
        # Pulse serves no clinics: the map proposed from the staged rows, as a user confirms it
        cli, root = build_app(), str(proj.root)
        assert _invoke(cli, ["map", "--force", "-p", root]) == 0
        _settle_reviews(proj.mapping_path)
        assert _invoke(cli, ["map", "--confirm", "--by", "test", "-p", root]) == 0
        assert _invoke(cli, ["prepare", "-p", root]) == 0
        assert _invoke(cli, ["run", "-p", root]) == 0  # reads again under the confirmed map
        proj = Project.at(proj.root)  # ferry.yaml as the verbs left it
        assert run_reconcile(proj).balanced
        gone = sorted(m.source_id for m in proj.store.iter_idmap(src_object="patient"))[2]
        after = _Without(pair.practice.seed, pair.practice.patients, pair.practice.dirt)
        after.gone = gone
        pair.source_sandbox.state.use(after)

        stats, report, deleted = P.delta(proj)
        # the delta cannot see it, and says so for every object it read through REST
        assert deleted == 0 and not stats.deleted
        why = stats.deletions_unseen["patient"]
        assert "cannot see a record deleted at Pulse" in why
        assert "ferry extract --since 1970-01-01" in why and "ferry reconcile" in why
        assert set(stats.deletions_unseen) >= {"patient", "appointment", "invoice"}

        # reading everything again lists every id: the gone patient is marked deleted
        _, full = P.run_extract(proj, since=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        assert {o: n for o, n in full.deleted.items() if n} == {"patient": 1}
        assert not full.deletions_unseen
        staged = proj.store.get("patient", gone)
        assert staged is not None and staged.deleted

        # and reconcile names the record the CRM still holds
        rec = run_reconcile(proj)
        assert not rec.balanced
        problem = next(p for p in rec.problems if p["problem"] == "gone_at_source:patient")
        assert problem["refs"] == [f"source:patient:{gone}"]
        assert "deleted at the source are still in the destination" in problem["what"]
