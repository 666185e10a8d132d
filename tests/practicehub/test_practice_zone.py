"""A PracticeHub account is set to its practice's zone: a US practice's appointment times are
American wall time (DST included), an Australian one's Sydney time. The sandbox served every
practice in Europe/London, so no run met an American or Australian zone unless a test asked."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from ferry.sandbox.synth import Practice

from .conftest import read_all


def test_each_practice_is_served_and_read_in_its_own_zone(make_box) -> None:  # type: ignore[no-untyped-def]
    for seed, country, zone in ((4, "US", "America/Los_Angeles"), (31, "AU", "Australia/Sydney")):
        practice = Practice(seed, 6)
        assert (practice.country, practice.timezone) == (country, zone)
        box = make_box(patients=6, seed=seed)
        assert box.creds["timezone"] == zone  # what ferry.yaml's source.timezone is given
        want = {a.source_id: a.start for a in practice.iter("appointment")}
        rows = [json.loads(r) for r in box.sandbox.state.tables["appointments"].rows.values()]
        assert rows
        for row in rows:  # the practice's wall time, no offset [code]
            local = want[str(row["id"])].astimezone(ZoneInfo(zone))
            assert row["start"] == local.strftime("%Y-%m-%d %H:%M:%S"), (seed, row["id"])
        recs, _ = read_all(box.source(), "appointment")
        assert recs and all(r.start == want[r.source_id] for r in recs)  # the same instants
