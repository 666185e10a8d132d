"""A practice books visits in its own opening hours. The generator drew them between 08:00 and
17:45 on UTC's clock, so a Los Angeles practice's PracticeHub account showed visits from
midnight to 10:00 and a Sydney one's in the evening and night. Read over HTTP as Ferry reads
them: the ``start`` the account serves (its wall time, no offset: NOTES §1 [code]) and the
instant the connector stages are in the practice's zone's opening hours."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from .conftest import read_all

OPEN, CLOSE = dt.time(8, 0), dt.time(17, 45)


@pytest.mark.parametrize(("seed", "extra", "zone"), [
    (4, {}, "America/Los_Angeles"),  # the practice's own zone (seed % 5 == 4: US)
    (31, {}, "Australia/Sydney"),
    (2, {"region": "sydney"}, "Australia/Sydney"),  # a Dutch practice's account set to Sydney
])
def test_visits_are_in_the_practices_opening_hours(make_box, seed: int,  # type: ignore[no-untyped-def]
                                                  extra: dict[str, str], zone: str) -> None:
    box = make_box(patients=30, seed=seed, **extra)
    assert box.creds["timezone"] == zone
    rows = [json.loads(r) for r in box.sandbox.state.tables["appointments"].rows.values()]
    served = [dt.datetime.strptime(r["start"], "%Y-%m-%d %H:%M:%S") for r in rows]  # noqa: DTZ007
    assert len(served) > 30
    assert all(OPEN <= t.time() <= CLOSE for t in served), sorted(
        t.time() for t in served if not OPEN <= t.time() <= CLOSE)[:5]
    recs, _ = read_all(box.source(), "appointment")
    assert {r.source_id for r in recs} == {str(r["id"]) for r in rows}
    for rec in recs:  # the staged instant, on the practice's clock
        local = rec.start.astimezone(ZoneInfo(zone)).time()
        assert OPEN <= local <= CLOSE, (rec.source_id, local)
