"""A FHIR export whose date-times carry a clock time but no UTC offset (R4 requires one when a
time of day is given; some exporters leave it off), hand-written. Before, the reader took such
a value as UTC without a word: a Chicago clinic's 09:00 visit was staged at 09:00 UTC, five
hours early, and sample and reconcile compare with what was staged, so none showed it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ferry.sources.fhir_bulk import create

UTC = dt.UTC


def _appointment(id_: str, start: str, end: str) -> dict:
    return {"resourceType": "Appointment", "id": id_, "status": "booked", "start": start,
            "end": end, "participant": [{"actor": {"reference": "Patient/pat-1"},
                                         "status": "accepted"}]}


def _folder(tmp_path: Path) -> Path:
    rows = [_appointment("with-offset", "2025-06-03T09:00:00-05:00", "2025-06-03T09:30:00-05:00"),
            _appointment("no-offset", "2025-06-03T09:00:00", "2025-06-03T09:30:00"),
            # 01:30 on 2 Nov 2025 happened twice in Chicago (the clocks went back at 02:00)
            _appointment("repeated-hour", "2025-11-02T01:30:00", "2025-11-02T01:50:00")]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Appointment.000.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_without_a_zone_a_clock_time_is_left_out_and_listed_never_read_as_utc(
        h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = create({"mode": "folder", "path": str(_folder(tmp_path))}, tmp_path / "work")
    recs, errs, _ = h.read_all(src, "appointment")
    got = {r.source_id: r for r in recs}
    assert got["with-offset"].start == dt.datetime(2025, 6, 3, 14, 0, tzinfo=UTC)
    assert all(r.start is None or r.start.tzinfo for r in recs)
    # an appointment cannot lack its start: refused, one line naming the field and the fix
    assert "no-offset" not in got and "repeated-hour" not in got
    listed = {(e.ref.rsplit(":", 1)[-1], e.field, getattr(e, "kept", False)) for e in errs}
    assert ("no-offset", "start", False) in listed and ("no-offset", "end", True) in listed
    assert len(errs) == 4  # start and end of each, nothing else
    assert all("no UTC offset" in e.reason and "source.timezone" in e.reason
               and "09:00" not in str(e) for e in errs)


def test_with_the_practice_zone_a_clock_time_is_read_on_the_practice_clock(
        h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = create({"mode": "folder", "path": str(_folder(tmp_path)),
                  "timezone": "America/Chicago"}, tmp_path / "work")
    recs, errs, _ = h.read_all(src, "appointment")
    got = {r.source_id: r for r in recs}
    assert got["no-offset"].start == dt.datetime(2025, 6, 3, 14, 0, tzinfo=UTC)
    assert got["no-offset"].end == dt.datetime(2025, 6, 3, 14, 30, tzinfo=UTC)
    # the repeated hour: read as its first pass (daylight time, UTC-5) and listed, kept
    assert got["repeated-hour"].start == dt.datetime(2025, 11, 2, 6, 30, tzinfo=UTC)
    unsure = [e for e in errs if e.ref.endswith(":repeated-hour")]
    assert {e.field for e in unsure} == {"start", "end"}
    assert all(getattr(e, "kept", False) for e in unsure)
    assert not [e for e in errs if not e.ref.endswith(":repeated-hour")]
