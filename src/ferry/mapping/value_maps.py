"""Value maps: source value → destination value (pick-list labels, stages, statuses).

A ``FieldMap.value_map`` is applied with ``apply_value_map``. Matching is exact first, then on a
normalised key (case, spaces, ``-``/``_`` folded), so ``No-Show``, ``no_show`` and ``no show`` hit
the same row. A value missing from the map is handled by ``value_map_default``:

* ``"keep"``  keep the source value as is (free text, open pick-lists);
* ``None``    the value is not mapped: a ``TransformError`` (the field is flagged for review, and
              ``ferry map --confirm`` reports such values when the data profile shows them);
* ``"flag"``  the same error at run time, chosen on purpose: such values are expected, flagged
              for manual review and kept elsewhere (blood group → its free-text fallback), so
              ``--confirm`` does not ask for rows for them;
* anything else: that constant.

A map row whose value is ``null`` maps the source value to *empty* (used by the blood-group
free-text fallback: standard groups map to null there, anything else is kept).

The standard maps the recipes use live here, so every recipe writes the same rows.
"""

from __future__ import annotations

import re
from typing import Any

KEEP = "keep"
FLAG = "flag"


class TransformError(ValueError):
    """A value could not be transformed; the message never quotes the value. ``explained``:
    leaving the field empty is what the confirmed map says to do (the sample diff accepts it)."""

    explained = True


class InvalidValueError(TransformError):
    """The source value is not valid for its kind (a phone number no numbering plan accepts):
    the field is left empty, and the sample diff never calls that explained."""

    explained = False


def norm_key(value: Any) -> str:
    return re.sub(r"[\s_\-]+", " ", str(value)).strip().casefold()


def _lookup(value: Any, mapping: dict[str, Any]) -> tuple[bool, Any]:
    key = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    if key in mapping:
        return True, mapping[key]
    nk = norm_key(key)
    for k, v in mapping.items():
        if norm_key(k) == nk:
            return True, v
    return False, None


def apply_value_map(value: Any, mapping: dict[str, Any], default: Any = None) -> Any:
    """Map one value (or each element of a list); see the module docstring for the rules."""
    if value is None:
        return None
    if isinstance(value, list):
        out = [apply_value_map(v, mapping, default) for v in value]
        return [v for v in out if v is not None]
    hit, mapped = _lookup(value, mapping)
    if hit:
        return mapped
    if default == KEEP:
        return value
    if default is None:
        raise TransformError("value is not in the value map")
    if default == FLAG:
        raise TransformError("value is not in the pick-list: flagged for manual review")
    return default


def missing_values(values: list[Any], mapping: dict[str, Any], default: Any = None) -> list[str]:
    """Distinct values the map would refuse (for ``confirm`` against the data profile)."""
    if default is not None:
        return []
    out: list[str] = []
    for v in values:
        for item in v if isinstance(v, list) else [v]:
            if item is None or item == "":
                continue
            if not _lookup(item, mapping)[0] and str(item) not in out:
                out.append(str(item))
    return out


# ----------------------------------------------------------------------------------------------
# Standard maps (canonical value → destination label); recipes copy them into mapping.yaml.

BLOOD_GROUPS = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]


def blood_group_map() -> dict[str, str]:
    """Every common spelling of the eight groups → the pick-list label (A+, O-, …)."""
    m: dict[str, str] = {}
    for g in BLOOD_GROUPS:
        base, sign = g[:-1], g[-1]
        word = "positive" if sign == "+" else "negative"
        short = "pos" if sign == "+" else "neg"
        # matching ignores case and spacing, so one spelling per form is enough
        m[f"{base}{sign}"] = g
        m[f"{base} {word}"] = g
        m[f"{base} {short}"] = g
        m[f"{base} Rh{sign}"] = g
        if base == "O":
            m[f"0{sign}"] = g
    return m


def blood_group_fallback_map() -> dict[str, None]:
    """The free-text fallback: standard groups → empty, anything else kept (default "keep")."""
    return {k: None for k in blood_group_map()}


APPOINTMENT_STATUS_TO_DEAL_STATUS = {
    "scheduled": "open", "completed": "won", "cancelled": "lost", "no_show": "lost",
}
APPOINTMENT_STATUS_TO_STAGE = {
    "scheduled": "Scheduled", "completed": "Completed", "cancelled": "Cancelled",
    "no_show": "No-show",
}
APPOINTMENT_STATUS_LABEL = {
    "scheduled": "Scheduled", "completed": "Completed", "cancelled": "Cancelled",
    "no_show": "No-Show",
}
APPOINTMENT_STATUS_TO_SF_TASK = {  # seed 002: Task Status Open / Completed / Deferred
    "scheduled": "Not Started", "completed": "Completed", "cancelled": "Deferred",
    "no_show": "Deferred",
}
APPOINTMENT_STATUS_TO_ODOO_LEAD_STAGE = {  # seed 004: New, In Progress, Completed, Cancelled
    "scheduled": "New", "completed": "Completed", "cancelled": "Cancelled", "no_show": "Cancelled",
}
APPOINTMENT_STATUS_DONE = {"scheduled": False, "completed": True, "cancelled": False,
                           "no_show": False}
#: what an activity's subject adds for a visit that did not happen
APPOINTMENT_STATUS_SUBJECT = {"scheduled": "", "completed": "", "cancelled": " (cancelled)",
                              "no_show": " (no-show)"}

# Pipedrive activity types are key strings ("call", "meeting", "task" exist in every account).
APPOINTMENT_TYPE_TO_PIPEDRIVE_ACTIVITY = {
    "New Patient": "meeting", "Initial Consultation": "meeting", "Consultation": "meeting",
    "Follow-up": "meeting", "Procedure": "meeting", "Treatment": "meeting", "Review": "meeting",
    "Telehealth": "call", "Phone Consultation": "call", "Phone Call": "call", "Check-in Call": "call",
    "Billing Discussion": "call",
}
# Odoo mail.activity.type names (seed 003: Consultation → Call, Follow-up → Meeting, Procedure → To Do)
APPOINTMENT_TYPE_TO_ODOO_ACTIVITY = {
    "Consultation": "Call", "Follow-up": "Meeting", "Procedure": "To-Do", "New Patient": "Meeting",
    "Initial Consultation": "Call", "Telehealth": "Call", "Review": "Meeting",
    "Treatment": "To-Do",
}
# Salesforce: clinical visits with start/end → Event; administrative ones stay Task (seed 002).
ADMIN_APPOINTMENT_TYPES = ["Check-in Call", "Billing Discussion", "Phone Call", "Admin",
                           "Administrative"]

COVERAGE_TYPE = {"medical": "Medical", "dental": "Dental", "vision": "Vision", "other": "Other"}
INSURANCE_PRIORITY = {"primary": "Primary", "secondary": "Secondary"}
INVOICE_STATUS = {"paid": "Paid", "pending": "Pending", "overdue": "Overdue",
                  "cancelled": "Cancelled"}
INVOICE_STATUS_TO_DEAL_STATUS = {"paid": "won", "pending": "open", "overdue": "open",
                                 "cancelled": "lost"}
INVOICE_STATUS_TO_ODOO_MOVE_STATE = {"paid": "posted", "pending": "posted", "overdue": "posted",
                                     "cancelled": "cancel"}
TREATMENT_STATUS_TO_DEAL_STATUS = {"active": "open", "completed": "won", "cancelled": "lost"}
TREATMENT_STATUS_TO_STAGE = {"active": "In treatment", "completed": "Completed",
                             "cancelled": "Cancelled"}
RELATIONSHIP = {"spouse": "Spouse", "parent": "Parent", "child": "Child",
                "guarantor": "Guarantor", "sibling": "Sibling", "other": "Other"}
SEX = {"female": "Female", "male": "Male", "f": "Female", "m": "Male", "other": "Other",
       "unknown": "Unknown", "intersex": "Other"}
REMINDER_DONE = {"true": True, "false": False}
