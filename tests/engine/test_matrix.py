"""Every source × destination pair, end to end, as ``ferry demo`` runs it (issue 15).

Each of the 12 pairs starts its sandboxes (or, for clinic_csv, writes a generated export
folder), then goes extract → map (proposed, review lines settled the demo's way) → confirm →
prepare → sample → run → reconcile → rollback through the same engine functions the verbs call,
without a BAA (as a new user's first run: clinical fields withheld). It asserts what the demo
promises: the sample verdict PASS, reconcile balanced with no duplicate, the rollback verified
and the destination back to its count before the run.

On the documented surface, as the demo: sandboxes serve what the services document.
Small on purpose (6 patients, clock 2000x): the matrix guards the wiring between connectors,
recipes and engine; volume lives in bench/. Six is the smallest practice (seed 5) with a record
of every object (five has no patient relationship), which the first test checks. 12 pairs, one
test each, so xdist spreads them. Most of a file source's pair is the column proposer's
embeddings (a few hundred texts, each once per process), which the practice's size does not
change.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ferry.cli.commands.demo import _dest_counts
from ferry.engine import mapflow
from ferry.engine import pipeline as P
from ferry.engine.readback import run_sample
from ferry.engine.reconcile import run_reconcile
from ferry.mapping import mapping_file
from ferry.mapping.review import leave_out_invalid, settle_reviews
from ferry.sandbox.harness import start_pair

SOURCES = ("practicehub", "pulse", "clinic_csv", "fhir")
DESTINATIONS = ("pipedrive", "salesforce", "odoo")
_n = itertools.count()
PATIENTS = 6


def test_the_practice_has_every_object() -> None:
    from ferry.sandbox.synth import Practice

    practice = Practice(seed=5, patients=PATIENTS)
    assert all(practice.count(obj) for obj in practice.objects())


@pytest.mark.parametrize(("source", "destination"),
                         list(itertools.product(SOURCES, DESTINATIONS)))
def test_pair_end_to_end(source: str, destination: str, tmp_path: Path) -> None:
    dest_extra = {"plan": "ultimate", "seats": 10} if destination == "pipedrive" else {}
    # the documented surface (start_pair's default, as the demo's): PracticeHub has no way to
    # renew a file link there; start_pair lets a link live 10 real minutes at any time scale
    with start_pair(tmp_path / "project", source=source, destination=destination,
                    patients=PATIENTS, seed=5, time_scale=2000.0, dest_extra=dest_extra,
                    env_prefix=f"FERRY_MATRIX_{next(_n)}_") as pair:
        project = pair.project
        P.run_extract(project)
        mapflow.place_columns(project)
        schema, _ = mapflow.destination_schema(project)
        mapflow.propose(project, schema=schema)
        doc = mapping_file.load(project.mapping_path)
        if settle_reviews(doc) + leave_out_invalid(doc):  # as the demo's reviewer decides
            mapping_file.save(doc, project.mapping_path)
        mapflow.confirm(project, "matrix test", schema=schema)
        baseline = _dest_counts(project)  # what the destination held before Ferry wrote
        P.run_prepare(project)
        _, diff, _ = run_sample(project, 40)
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained][
            :5] + [s for s in diff.unexplained_skips][:5] + diff.not_found[:5]
        P.load(project)
        rec = run_reconcile(project)
        assert rec.balanced, rec.as_dict().get("discrepancies", [])[:5]
        assert all(row["duplicates"] == 0 for row in rec.destination)
        written = sum(row["created_by_ferry"] for row in rec.destination)
        assert written > PATIENTS
        result = P.run_rollback(project)
        assert result.verified, result.failures[:5]
        assert _dest_counts(project) == baseline

