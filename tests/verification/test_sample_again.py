"""A second sample with nothing changed: a field the destination left empty, for a reason the run
that wrote the record recorded (Odoo: "no matching res.country.state", its text kept in the
contact's notes), is still explained on a
record the second sample does not send again; a new difference on the same record still fails.
Clinic CSV export → Odoo 17 without Accounting, as in docs/TRANSCRIPT-clinic_csv-odoo.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.engine import pipeline
from ferry.engine.readback import run_sample
from ferry.mapping.mapping_file import save
from ferry.mapping.recipes import load_recipe
from ferry.mapping.review import leave_out_invalid
from ferry.mapping.validate import confirm
from ferry.sandbox.harness import start_pair


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    with start_pair(tmp_path / "p", source="clinic_csv", destination="odoo", patients=12,
                    seed=3, time_scale=1000.0, dest_extra={"version": 17, "accounting": False},
                    env_prefix="FERRY_SAGAIN_") as p:
        doc = load_recipe("clinic_csv", "odoo", "no_accounting")
        leave_out_invalid(doc)
        doc = confirm(doc, by="tests")  # validated and stamped, as `map --confirm` does
        save(doc, p.project.mapping_path)
        pipeline.run_extract(p.project)
        pipeline.run_prepare(p.project)
        yield p


def _states(diff: Any) -> dict[str, Any]:
    return {f.ref: f for f in diff.fields if f.key == "state_id" and f.category == "kept_as_text"}


def test_second_sample_keeps_the_recorded_reason(pair: Any) -> None:
    first, diff1, _ = run_sample(pair.project, 12)
    states1 = _states(diff1)
    assert states1 and all(f.explained for f in states1.values()), states1
    assert diff1.passed, [(f.ref, f.key, f.note) for f in diff1.unexplained]

    second, diff2, _ = run_sample(pair.project, 12)
    assert second.totals()["created"] == 0  # nothing changed: nothing sent again
    states2 = _states(diff2)
    assert states2.keys() == states1.keys()
    for f in states2.values():
        assert f.explained, f.note
        assert "no matching res.country.state" in f.note and first.run_id in f.note, f.note
    assert diff2.passed, [(f.ref, f.key, f.note) for f in diff2.unexplained]


def test_a_new_difference_on_that_record_still_fails(pair: Any) -> None:
    _, diff1, _ = run_sample(pair.project, 12)
    ref = next(iter(_states(diff1)))
    other = next(f for f in diff1.fields if f.ref == ref and f.key == "city" and f.sent
                 and f.explained and f.category != "missing")
    # someone empties another field of that record in Odoo: not explained by any reason
    dest = pipeline.open_destination(pair.project)
    try:
        dest.update("res.partner", [(other.dest.split(":", 1)[1], {"city": None})])
    finally:
        dest.close()

    _, diff2, _ = run_sample(pair.project, 12)
    bad = [(f.ref, f.key, f.category) for f in diff2.unexplained]
    assert bad == [(ref, "city", "missing")], bad
    assert not diff2.passed
    assert _states(diff2)[ref].explained  # the recorded reason still covers state_id alone
