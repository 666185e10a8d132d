"""A clock time with no UTC offset, read in the practice's zone, and what it cannot tell.

Twice a year a zone with daylight time has clock times that do not name one instant: when the
clocks go back (America/Chicago, the first Sunday of November) 01:00-01:59 happens twice; when
they go forward 02:00-02:59 never happens. A source that gives an offset has said which instant
it means and is taken at its word; one that gives a bare clock time is read by a stated rule,
never silently:

* a time in the **repeated** hour is read as its first pass (still daylight time), the reading
  Python, Java and most systems take by default; it may be one hour later;
* a time in the **skipped** hour is read as if the clocks had not changed yet, which lands it
  on the new clock one hour on (02:30 → 03:30); the clock time written never existed.

Either way the reader lists the record and field (never the value), as it lists a date whose
day and month cannot be told apart. Where the record itself decides it (an appointment's start
in the repeated hour, with an end outside it and its length in minutes), no rule is needed:
``settle`` takes the pass the record's own values agree with, and nothing is listed.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["REPEATED", "SKIPPED", "Unsure", "reason", "reading", "settle", "unsure",
           "zone_name"]

Unsure = Literal["repeated", "skipped"]
REPEATED: Unsure = "repeated"
SKIPPED: Unsure = "skipped"


def zone_name(value: str | None) -> str | None:
    """``value`` when it names an IANA zone (``America/Chicago``), for a source's ``timezone``
    setting; ValueError with an example otherwise (``Australia`` is a folder, not a zone)."""
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as"
                             " Europe/London or America/Chicago)") from None
    return value


def unsure(wall: dt.datetime, tz: dt.tzinfo) -> Unsure | None:
    """Whether the clock time ``wall`` (naive) in ``tz`` is in a repeated or skipped hour."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    return REPEATED if back == wall else SKIPPED


def reading(wall: dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime, Unsure | None]:
    """``wall`` (naive) in ``tz`` by the stated rule, and whether it was unsure. An aware value
    is returned as it is: its offset says which instant it means."""
    if wall.tzinfo is not None:
        return wall, None
    got, kind = wall.replace(tzinfo=tz, fold=0), unsure(wall, tz)
    # PEP 495: an aware time whose offset depends on ``fold`` never compares equal to one in
    # another zone (not even the same instant), so an unsure one leaves as UTC
    return (got if kind is None else got.astimezone(dt.UTC)), kind


def reason(kind: Unsure) -> str:
    """Why a field is listed (no value in it: PHI)."""
    if kind == REPEATED:
        return ("a clock time in the hour the clocks went back (it happened twice) with no UTC"
                " offset: read as the first time round (daylight time); it may be one hour"
                " later")
    return ("a clock time in the hour the clocks went forward (it never happened) with no UTC"
            " offset: read as if the clocks had not changed yet (one hour on, on the new"
            " clock)")


def settle(start: dt.datetime, end: dt.datetime | None, minutes: int | None,
           unsure_fields: dict[str, Unsure], tz: dt.tzinfo
           ) -> tuple[dt.datetime, dt.datetime | None, str | None]:
    """An appointment's start and end (both read in the zone) when one of them is in a
    repeated hour and the other, with the length in minutes, says which pass it was; and the
    field so decided (None: as read, the rule stands). Every value here is UTC (``reading``)."""
    if end is None or minutes is None:
        return start, end, None
    span = dt.timedelta(minutes=minutes)
    if unsure_fields.get("start") == REPEATED and "end" not in unsure_fields:
        for fold in (0, 1):
            cand = _pass(start, fold, tz)
            if cand + span == end:
                return cand, end, "start"
    if unsure_fields.get("end") == REPEATED and "start" not in unsure_fields:
        for fold in (0, 1):
            cand = _pass(end, fold, tz)
            if start + span == cand:
                return start, cand, "end"
    return start, end, None


def _pass(read: dt.datetime, fold: int, tz: dt.tzinfo) -> dt.datetime:
    """The first (0) or second (1) pass, in UTC, of the repeated-hour time ``read`` (UTC)."""
    wall = read.astimezone(tz).replace(tzinfo=None)
    return wall.replace(tzinfo=tz, fold=fold).astimezone(dt.UTC)
