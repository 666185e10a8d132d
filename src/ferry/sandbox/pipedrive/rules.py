"""What the real API refuses: v2 strict typing, custom-field value shapes, limits.

Each check raises ``Invalid(field, message)``; the app turns it into the documented 400 body
``{"success": false, "error": "provided dataset is not valid", "error_info": "\"owner_id\" must be
a number"}``. Messages name the field, never the value.
"""

from __future__ import annotations

import re
from typing import Any

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
V1_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


class Invalid(Exception):
    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


# Standard writable fields of the v2 objects (NOTES.md section 5 and the request schemas).
# kinds: int, str, bool, number, date, datetime, time, contacts (emails/phones/im), address,
# ids (int array), participants, attendees
STANDARD: dict[str, dict[str, str]] = {
    "person": {"name": "str", "owner_id": "int", "org_id": "int", "add_time": "datetime",
               "emails": "contacts", "phones": "contacts", "im": "contacts",
               "visible_to": "int", "label_ids": "ids", "postal_address": "address",
               "notes": "str", "birthday": "date", "job_title": "str",
               "marketing_status": "str"},
    "organization": {"name": "str", "owner_id": "int", "add_time": "datetime",
                     "visible_to": "int", "label_ids": "ids", "address": "address",
                     "website": "str", "linkedin": "str", "industry": "int",
                     "annual_revenue": "int", "employee_count": "int"},
    "deal": {"title": "str", "owner_id": "int", "person_id": "int", "org_id": "int",
             "pipeline_id": "int", "stage_id": "int", "value": "number", "currency": "str",
             "is_deleted": "bool", "is_archived": "bool", "archive_time": "datetime",
             "status": "str", "probability": "number", "lost_reason": "str",
             "visible_to": "int", "close_time": "datetime", "won_time": "datetime",
             "lost_time": "datetime", "expected_close_date": "date", "label_ids": "ids"},
    "activity": {"subject": "str", "type": "str", "owner_id": "int", "deal_id": "int",
                 "lead_id": "str", "person_id": "int", "org_id": "int", "project_id": "int",
                 "due_date": "date", "due_time": "time", "duration": "time", "busy": "bool",
                 "done": "bool", "location": "address", "participants": "participants",
                 "attendees": "attendees", "public_description": "str", "priority": "int",
                 "note": "str"},
}
#: [doc] v2 person fields present "only if contact sync is enabled" (off on most accounts)
CONTACT_SYNC: frozenset[str] = frozenset({"birthday", "postal_address", "job_title", "notes",
                                          "im"})
REQUIRED = {"person": ("name",), "organization": ("name",), "deal": ("title",), "activity": ()}
NULLABLE = {"website", "linkedin", "industry", "annual_revenue", "employee_count", "probability",
            "lost_reason", "close_time"}
MARKETING = {"no_consent", "unsubscribed", "subscribed", "archived"}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_value(name: str, kind: str, v: Any) -> None:
    """One v2 standard field: strict typing as the v2 API enforces it."""
    if v is None:
        if name in NULLABLE:
            return
        raise Invalid(name, f'"{name}" must not be null')
    if kind == "int" and not _is_int(v):
        raise Invalid(name, f'"{name}" must be a number')
    if kind == "number" and not _is_num(v):
        raise Invalid(name, f'"{name}" must be a number')
    if kind == "bool" and not isinstance(v, bool):
        raise Invalid(name, f'"{name}" must be a boolean')
    if kind == "str" and not isinstance(v, str):
        raise Invalid(name, f'"{name}" must be a string')
    if kind == "date" and not (isinstance(v, str) and DATE.match(v)):
        raise Invalid(name, f'"{name}" must be a date in format YYYY-MM-DD')
    if kind == "datetime" and not (isinstance(v, str) and RFC3339.match(v)):
        raise Invalid(name, f'"{name}" must be a valid RFC 3339 date-time')
    if kind == "time" and not (isinstance(v, str) and TIME.match(v)):
        raise Invalid(name, f'"{name}" must be in format HH:MM')
    if kind == "ids" and not (isinstance(v, list) and all(_is_int(i) for i in v)):
        raise Invalid(name, f'"{name}" must be an array of numbers')
    if kind == "address" and not (isinstance(v, dict) and isinstance(v.get("value"), str)):
        raise Invalid(name, f'"{name}.value" is required')
    if kind == "contacts":
        _contacts(name, v)
    if kind == "participants" and not (
            isinstance(v, list) and all(isinstance(p, dict) and _is_int(p.get("person_id"))
                                        for p in v)):
        raise Invalid(name, f'"{name}[].person_id" must be a number')
    if kind == "str" and len(v) > 65_535:
        raise Invalid(name, f'"{name}" is too long')


def _contacts(name: str, v: Any) -> None:
    if not isinstance(v, list):
        raise Invalid(name, f'"{name}" must be an array')
    primaries = 0
    for item in v:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise Invalid(name, f'"{name}[].value" is required')
        if "primary" in item and not isinstance(item["primary"], bool):
            raise Invalid(name, f'"{name}[].primary" must be a boolean')
        if "label" in item and not isinstance(item["label"], str):
            raise Invalid(name, f'"{name}[].label" must be a string')
        primaries += bool(item.get("primary"))
    if primaries > 1:
        raise Invalid(name, f'"{name}" can have only one primary value')


def standard(obj: str, contact_sync: bool = True) -> dict[str, str]:
    """The standard fields of ``obj`` on an account with or without contact sync."""
    if obj != "person" or contact_sync:
        return STANDARD[obj]
    return {k: v for k, v in STANDARD[obj].items() if k not in CONTACT_SYNC}


def check_body(obj: str, body: Any, *, creating: bool, contact_sync: bool = True) -> None:
    if not isinstance(body, dict):
        raise Invalid("body", "request body must be a JSON object")
    known = standard(obj, contact_sync)
    for key, value in body.items():
        if key == "custom_fields":
            if obj == "activity":
                raise Invalid(key, f'"{key}" is not allowed')
            if not isinstance(value, dict):
                raise Invalid(key, f'"{key}" must be an object')
            continue
        if key not in known:
            raise Invalid(key, f'"{key}" is not allowed')
        check_value(key, known[key], value)
    if creating:
        for key in REQUIRED[obj]:
            if not body.get(key):
                raise Invalid(key, f'"{key}" is required')
    if body.get("marketing_status") is not None and body["marketing_status"] not in MARKETING:
        raise Invalid("marketing_status", '"marketing_status" must be one of the allowed values')
    if obj == "deal" and body.get("status") not in (None, "open", "won", "lost"):
        raise Invalid("status", '"status" must be one of [open, won, lost]')
    if obj == "deal" and body.get("currency") is not None and not CURRENCY.match(body["currency"]):
        raise Invalid("currency", '"currency" must be a 3-letter ISO 4217 code')


SEARCHABLE = {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}


def check_custom(field: dict[str, Any], v: Any, exists: Any) -> Any:
    """One custom-field value in v2 shape; returns it as stored. ``exists(kind, id)`` checks refs."""
    key, t = field["field_code"], field["field_type"]
    name = f"custom_fields.{key}"
    if v is None:
        return None
    if t in {"varchar", "varchar_auto", "phone", "text"}:
        if not isinstance(v, str):
            raise Invalid(name, f'"{name}" must be a string')
        if t != "text" and len(v) > 255:
            raise Invalid(name, f'"{name}" must be at most 255 characters')
    elif t == "double":
        if not _is_num(v):
            raise Invalid(name, f'"{name}" must be a number')
        if abs(v) >= 1e14:
            raise Invalid(name, f'"{name}" has more than 14 digits')
    elif t == "monetary":
        if not (isinstance(v, dict) and _is_num(v.get("value"))
                and CURRENCY.match(str(v.get("currency", "")))):
            raise Invalid(name, f'"{name}" must be an object with a numeric value and a currency')
    elif t == "date":
        if not (isinstance(v, str) and DATE.match(v)):
            raise Invalid(name, f'"{name}" must be a date in format YYYY-MM-DD')
    elif t in {"daterange", "timerange"}:
        if not (isinstance(v, dict) and isinstance(v.get("value"), str)
                and isinstance(v.get("until"), str)):
            raise Invalid(name, f'"{name}" must have value and until')
    elif t == "time":
        if not (isinstance(v, dict) and isinstance(v.get("value"), str)
                and TIME.match(v["value"])):
            raise Invalid(name, f'"{name}" must be an object with a time value')
    elif t == "enum":
        if not _is_int(v):
            raise Invalid(name, f'"{name}" must be a number')
        if v not in {o["id"] for o in field.get("options") or []}:
            raise Invalid(name, f'"{name}" is not a valid option')
    elif t == "set":
        if not isinstance(v, list) or not v or not all(_is_int(i) for i in v):
            raise Invalid(name, f'"{name}" must be a non-empty array of option ids (null clears)')
        if not set(v) <= {o["id"] for o in field.get("options") or []}:
            raise Invalid(name, f'"{name}" contains an invalid option')
    elif t in {"user", "org", "people"}:
        if not _is_int(v):
            raise Invalid(name, f'"{name}" must be a number')
        if not exists(t, v):
            raise Invalid(name, f'"{name}" refers to an item that does not exist')
    elif t == "address":
        if not (isinstance(v, dict) and isinstance(v.get("value"), str)):
            raise Invalid(name, f'"{name}.value" is required')
    return v
