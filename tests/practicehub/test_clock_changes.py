"""PracticeHub gives appointment times as the practice's wall time with no offset [code]. When
the clocks go back an hour happens twice (America/Chicago: 01:00-01:59 on the first Sunday of
November); when they go forward an hour never happens. Before, the reader took every such time
as the first pass, silently: an appointment at 01:10 on the second pass was staged an hour
early, and a 02:30 that never existed was staged as 03:30 with nothing said. Now the record's own
end and length decide the pass where they can; otherwise the stated rule reads it and the record
and field are listed (never the value), the record kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ferry.errors import RecordError

from .conftest import read_all

#: seed 4 is a US practice (America/Los_Angeles); seed 31 an Australian one (Sydney)
SEEDS = ((4, "America/Los_Angeles"), (31, "Australia/Sydney"))


@pytest.mark.parametrize(("seed", "zone"), SEEDS)
def test_repeated_and_skipped_hours_are_read_by_rule_and_listed(  # type: ignore[no-untyped-def]
        make_box, seed: int, zone: str) -> None:
    box = make_box(patients=4, seed=seed, dst_edges=True)
    assert box.creds["timezone"] == zone
    edges = box.sandbox.state.edges
    assert set(edges) == {"resolvable", "repeated", "skipped"}, seed
    table = box.sandbox.state.tables["appointments"]
    shown = {w: json.loads(table.rows[rid]) for w, rid in edges.items()}
    # the sandbox shows them as a wall-time system would: no offset, the same clock hour
    assert shown["resolvable"]["start"][11:13] == shown["repeated"]["start"][11:13]
    assert all("+" not in row["start"] and "Z" not in row["start"] for row in shown.values())
    truth = {r["source_id"]: r for r in box.admin("GET", "records/appointments")["records"]}
    records, pages = read_all(box.source(), "appointment")
    got = {r.source_id: r for r in records}
    errors = [e for p in pages for e in p.errors]
    listed = {(e.ref, e.field) for e in errors if getattr(e, "kept", False)}

    def ref(what: str) -> str:
        return f"practicehub:appointment:{edges[what]}"

    def want(what: str, field: str) -> dt.datetime:
        return dt.datetime.fromisoformat(truth[str(edges[what])][field])

    # the end (after the repeated hour) and the 45 minutes say it was the second pass
    assert got[str(edges["resolvable"])].start == want("resolvable", "start"), seed
    assert (ref("resolvable"), "start") not in listed
    # nothing says which pass: the first, by the stated rule, and listed (start, end and
    # the created stamp); before, the first pass was taken and nothing was listed
    rep = got[str(edges["repeated"])]
    assert rep.start == want("repeated", "start") - dt.timedelta(hours=1), seed
    assert {(ref("repeated"), f) for f in ("start", "end", "created_at")} <= listed, seed
    # a clock time that never happened: read as if the clocks had not changed, listed
    assert got[str(edges["skipped"])].start == want("skipped", "start"), seed
    assert {(ref("skipped"), "start"), (ref("skipped"), "end")} <= listed, seed
    # every other appointment reads as before, with nothing listed
    others = set(got) - {str(v) for v in edges.values()}
    assert others and all(got[s].start == dt.datetime.fromisoformat(truth[s]["start"])
                          for s in others)
    assert not {r for r, _ in listed} - {ref(w) for w in edges}
    for e in errors:  # the record and the field, never the value
        assert isinstance(e, RecordError)
        assert shown["repeated"]["start"][11:16] not in str(e)
        assert shown["skipped"]["start"][:10] not in str(e)


def test_an_offset_the_source_gives_is_taken_at_its_word() -> None:
    """A value with an offset names its instant: no rule, nothing listed."""
    from ferry.sources.practicehub.wire import Decoder

    dec = Decoder("America/Chicago")
    issues: list[RecordError] = []
    rec = dec.record("appointment", {"id": 1, "start": "2024-11-03T01:30:00-06:00",
                                     "status": "booked"}, issues)
    assert rec.start == dt.datetime(2024, 11, 3, 7, 30, tzinfo=dt.UTC)
    assert not issues
    rec = dec.record("appointment", {"id": 2, "start": "2024-11-03 01:30:00",
                                     "status": "booked"}, issues)
    assert rec.start == dt.datetime(2024, 11, 3, 6, 30, tzinfo=dt.UTC)
    assert [(e.ref, e.field) for e in issues] == [("practicehub:appointment:2", "start")]
