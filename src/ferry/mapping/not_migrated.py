"""Columns an export holds that should not reach the CRM: the third outcome of a column.

A column with no standard field becomes a custom field — unless it is the source system's own
bookkeeping: an internal id (``location_id`` of a table not in the export, a UUID), a geocode
(latitude / longitude), or an audit column (``created_by``, ``updated_by``). Those are left out
with a reason a person can read in mapping.yaml and overrule in ferry.yaml ``source.columns``.
Name and values both count: a UUID is known by its values whatever the header says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

AUDIT_VERBS = {"created", "updated", "modified", "deleted", "changed", "entered", "edited",
               "last", "inserted", "archived", "approved", "locked", "signed", "reviewed"}
AUDIT_TAILS = ("by", "by_id", "user", "user_id", "userid", "by_user", "by_user_id")
GEO_WORDS = {"lat", "latitude", "lon", "lng", "long", "longitude", "geocode", "geo",
             "coordinates", "geolocation"}
ID_TAILS = {"id", "uid", "guid", "uuid"}
UUID = re.compile(r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$",
                  re.I)
DECIMAL = re.compile(r"^[+-]?\d{1,3}(\.\d+)?$")


def _words(header: str) -> list[str]:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return [w for w in re.split(r"[^A-Za-z0-9]+", s.lower()) if w]


def _share(samples: Sequence[str], rx: re.Pattern[str]) -> float:
    vals = [v.strip() for v in samples if v and v.strip()]
    return sum(1 for v in vals if rx.match(v)) / len(vals) if vals else 0.0


def why_not_migrated(header: str, samples: Sequence[str], *, named_only: bool = False
                     ) -> str | None:
    """The reason a column with no standard field is left out, or None (a custom field).
    ``named_only``: only what the column is beyond doubt (audit, geocode, UUID values), not
    an id by its name alone (a proposer's guess for it then goes to review instead)."""
    words = _words(header)
    if not words:
        return None
    joined = "_".join(words)
    if len(words) >= 2 and words[0] in AUDIT_VERBS and any(joined.endswith("_" + t)
                                                           for t in AUDIT_TAILS):
        return "audit column of the source system (who changed the record): not migrated"
    if set(words) & GEO_WORDS and (not samples or _share(samples, DECIMAL) >= 0.8):
        return "geocode (latitude / longitude) of an address: not migrated"
    if samples and _share(samples, UUID) >= 0.9:
        return "an internal identifier of the source system (UUID): not migrated"
    if named_only:
        return None
    if words[-1] in ID_TAILS or (len(words) > 1 and words[-2:] == ["source", "key"]):
        return ("an internal id of the source system that no file of the export is keyed "
                "by: not migrated")
    return None
