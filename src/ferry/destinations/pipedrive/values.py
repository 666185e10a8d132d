"""Plain values at the seam <-> Pipedrive's JSON, per field shape.

Standard fields use the API's own v2 names (v1 for notes). Custom fields are addressed by their
40-hex key and typed by their Pipedrive ``field_type``; the Ferry kind chosen at ``ensure`` time is
kept as a hint (``kinds``) because Pipedrive has no boolean, integer or datetime custom type:
bool -> enum "Yes"/"No", int -> double, datetime -> varchar (RFC 3339). Reading applies the same
hint so what was written compares equal to what is read back.

Activities and notes cannot carry custom fields through the API, so a few values are *folded*
into their HTML text (``note`` / ``content``) as a trailer after ``<hr>``: one ``<p>Label:
value</p>`` per folded field and ``<p>[ferry-id:SOURCE_ID]</p>``, which is how ``find`` locates
them. Their physical keys start with ``~`` (``~id``, ``~<kind>:<label>``).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ferry.model.fields import Kind

#: person fields Pipedrive has "only if contact sync is enabled" [doc v2.yaml]; ``describe``
#: lists them only when the account's personFields does, and mapping drafts then keep DOB,
#: address and job title in custom fields instead
CONTACT_SYNC: frozenset[str] = frozenset({"birthday", "postal_address", "job_title", "notes",
                                          "im"})
# name -> (shape, Kind, required, ref)
STANDARD: dict[str, dict[str, tuple[str, Kind, bool, str | None]]] = {
    "person": {
        "name": ("text", Kind.TEXT, True, None), "first_name": ("text", Kind.TEXT, False, None),
        "last_name": ("text", Kind.TEXT, False, None), "owner_id": ("user", Kind.REF, False,
                                                                    "user"),
        "org_id": ("ref", Kind.REF, False, "organization"),
        "emails": ("contacts", Kind.EMAIL, False, None),
        "phones": ("contacts", Kind.PHONE, False, None),
        "visible_to": ("int", Kind.INT, False, None),
        "postal_address": ("address", Kind.ADDRESS, False, None),
        "notes": ("text", Kind.LONG_TEXT, False, None), "birthday": ("date", Kind.DATE, False,
                                                                     None),
        "job_title": ("text", Kind.TEXT, False, None),
        "marketing_status": ("text", Kind.ENUM, False, None),
        "add_time": ("datetime", Kind.DATETIME, False, None)},
    "organization": {
        "name": ("text", Kind.TEXT, True, None), "owner_id": ("user", Kind.REF, False, "user"),
        "address": ("address", Kind.ADDRESS, False, None),
        "website": ("text", Kind.TEXT, False, None), "linkedin": ("text", Kind.TEXT, False, None),
        "industry": ("option", Kind.ENUM, False, None), "annual_revenue": ("int", Kind.INT, False,
                                                                        None),
        "employee_count": ("int", Kind.INT, False, None),
        "visible_to": ("int", Kind.INT, False, None),
        "add_time": ("datetime", Kind.DATETIME, False, None)},
    "deal": {
        "title": ("text", Kind.TEXT, True, None), "owner_id": ("user", Kind.REF, False, "user"),
        "person_id": ("ref", Kind.REF, False, "person"),
        "org_id": ("ref", Kind.REF, False, "organization"),
        "pipeline_id": ("ref", Kind.REF, False, "pipeline"),
        "stage_id": ("ref", Kind.REF, False, "stage"),
        "value": ("decimal", Kind.MONEY, False, None), "currency": ("text", Kind.TEXT, False,
                                                                    None),
        "status": ("text", Kind.ENUM, False, None),
        "probability": ("decimal", Kind.DECIMAL, False, None),
        "lost_reason": ("text", Kind.TEXT, False, None),
        "expected_close_date": ("date", Kind.DATE, False, None),
        "won_time": ("datetime", Kind.DATETIME, False, None),
        "lost_time": ("datetime", Kind.DATETIME, False, None),
        "close_time": ("datetime", Kind.DATETIME, False, None),
        "visible_to": ("int", Kind.INT, False, None),
        "is_archived": ("bool", Kind.BOOL, False, None)},
    "activity": {
        "subject": ("text", Kind.TEXT, False, None), "type": ("text", Kind.ENUM, False, None),
        "owner_id": ("user", Kind.REF, False, "user"),
        "deal_id": ("ref", Kind.REF, False, "deal"),
        "person_id": ("ref", Kind.REF, False, "person"),
        "org_id": ("ref", Kind.REF, False, "organization"),
        "due_date": ("date", Kind.DATE, False, None), "due_time": ("time", Kind.TEXT, False, None),
        "duration": ("time", Kind.TEXT, False, None), "busy": ("bool", Kind.BOOL, False, None),
        "done": ("bool", Kind.BOOL, False, None),
        "location": ("address", Kind.ADDRESS, False, None),
        "public_description": ("text", Kind.LONG_TEXT, False, None),
        "priority": ("int", Kind.INT, False, None), "note": ("text", Kind.LONG_TEXT, False, None)},
    "note": {
        "content": ("text", Kind.LONG_TEXT, True, None),
        "person_id": ("ref", Kind.REF, False, "person"),
        "org_id": ("ref", Kind.REF, False, "organization"),
        "deal_id": ("ref", Kind.REF, False, "deal"), "user_id": ("user", Kind.REF, False, "user"),
        "add_time": ("datetime_v1", Kind.DATETIME, False, None),
        "pinned_to_person_flag": ("flag01", Kind.BOOL, False, None),
        "pinned_to_organization_flag": ("flag01", Kind.BOOL, False, None),
        "pinned_to_deal_flag": ("flag01", Kind.BOOL, False, None)},
}
READ_ONLY = {("person", "first_name"), ("person", "last_name")}
KIND_TO_TYPE = {Kind.TEXT: "varchar", Kind.LONG_TEXT: "text", Kind.INT: "double",
                Kind.DECIMAL: "double", Kind.MONEY: "monetary", Kind.BOOL: "enum",
                Kind.DATE: "date", Kind.DATETIME: "varchar", Kind.EMAIL: "varchar",
                Kind.PHONE: "phone", Kind.ENUM: "enum", Kind.SET: "set", Kind.JSON: "text",
                Kind.REF: "varchar", Kind.ADDRESS: "address"}
REF_TYPES = {"person": "people", "organization": "org", "user": "user"}
TYPE_TO_KIND = {"varchar": Kind.TEXT, "varchar_auto": Kind.TEXT, "text": Kind.LONG_TEXT,
                "double": Kind.DECIMAL, "monetary": Kind.MONEY, "date": Kind.DATE,
                "set": Kind.SET, "enum": Kind.ENUM, "user": Kind.REF, "org": Kind.REF,
                "people": Kind.REF, "phone": Kind.PHONE, "address": Kind.ADDRESS,
                "time": Kind.TEXT, "int": Kind.INT, "boolean": Kind.BOOL}
YES_NO = ("Yes", "No")
_DATETIME = Kind.DATETIME.value


class BadValue(ValueError):
    """A value that cannot be shaped for its field; the message never contains the value."""


def field_type_for(kind: Kind, ref: str | None) -> str:
    if kind == Kind.REF and ref in REF_TYPES:
        return REF_TYPES[ref]
    return KIND_TO_TYPE[kind]


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise BadValue("must be a whole number")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    if isinstance(v, float | Decimal) and v == int(v):
        return int(v)
    raise BadValue("must be a whole number")


def _number(v: Any) -> int | float:
    if isinstance(v, bool):
        raise BadValue("must be a number")
    if isinstance(v, int):
        return v
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise BadValue("must be a number") from None
    if not d.is_finite():  # JSON has no NaN or infinity (orjson would write null)
        raise BadValue("must be a finite number")
    return int(d) if d == d.to_integral_value() else float(d)


def _date(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return v
    raise BadValue("must be a date")


def _utc(v: Any) -> dt.datetime:
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise BadValue("must be a date-time") from None
    if not isinstance(v, dt.datetime):
        raise BadValue("must be a date-time")
    return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _utc_text(v: Any, sep: str = "T", suffix: str = "Z") -> str:
    """``_utc`` as the API writes it, to the second (``isoformat``: ``strftime`` took 2.5
    times as long, a few per cent of a Pipedrive load's CPU). A naive value is UTC as it is."""
    if isinstance(v, dt.datetime) and v.tzinfo is None:
        return v.isoformat(sep, "seconds") + suffix
    return _utc(v).isoformat(sep, "seconds")[:19] + suffix


def _time(v: Any) -> str:
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, str) and re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", v):
        return v[:5]
    raise BadValue("must be a time HH:MM")


def _list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v] if v.strip() else []
    if isinstance(v, list | tuple):
        return [str(x) for x in v if str(x).strip()]
    raise BadValue("must be a text or a list of texts")


#: how an update empties a standard field of these shapes: API v2 refuses ``null`` for them
#: ("job_title" must not be null) but takes the empty form
CLEARED: dict[str, Callable[[], Any]] = {"text": str, "contacts": list,
                                         "address": lambda: {"value": ""}}

def to_api(shape: str, v: Any) -> Any:
    """A standard field's plain value in the API's shape (None stays None: it clears)."""
    if v is None:
        return None
    if shape == "text":
        if not isinstance(v, str):
            raise BadValue("must be text")
        return v
    if shape in ("int", "ref", "user"):
        return _int(v)
    if shape == "decimal":
        return _number(v)
    if shape == "bool":
        if not isinstance(v, bool):
            raise BadValue("must be true or false")
        return v
    if shape == "flag01":
        return 1 if v else 0
    if shape == "date":
        return _date(v)
    if shape == "datetime":
        return _utc_text(v)
    if shape == "datetime_v1":
        return _utc_text(v, " ", "")
    if shape == "time":
        return _time(v)
    if shape == "contacts":
        items = _list(v)
        return [{"value": s, "label": "work", "primary": i == 0} for i, s in enumerate(items)]
    if shape == "address":
        return {"value": v if isinstance(v, str) else str(v)}
    raise BadValue("unsupported field shape")


def from_api(shape: str, v: Any) -> Any:
    if v is None:
        return None
    if shape in ("ref", "user"):
        return str(v)
    if shape == "decimal":
        return v if isinstance(v, int) else Decimal(str(v))
    if shape == "flag01":
        return bool(v)
    if shape == "date":
        return dt.date.fromisoformat(v[:10])
    if shape == "datetime":
        return _utc(v)
    if shape == "datetime_v1":
        return dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    if shape == "time":
        return v[:5]
    if shape == "contacts":
        values = [i["value"] for i in sorted(v, key=lambda i: not i.get("primary"))]
        return None if not values else values[0] if len(values) == 1 else values
    if shape == "address":
        return v.get("value") if isinstance(v, dict) else v
    return v


def custom_to_api(field: dict[str, Any], kind: str | None, v: Any, currency: str) -> Any:
    """A custom field's plain value in v2 shape (``field`` as listed by ``*Fields``)."""
    if v is None:
        return None
    t = field["field_type"]
    if (t == "varchar" or t == "text") and isinstance(v, str) and kind != _DATETIME:
        if t == "varchar" and len(v) > 255:  # (the common case first: text into a text field)
            raise BadValue("is longer than 255 characters")
        return v
    options = {o["label"]: o["id"] for o in field.get("options") or []} \
        if t in ("enum", "set") else {}
    if t == "enum":
        if isinstance(v, bool):
            v = YES_NO[0] if v else YES_NO[1]
        if str(v) not in options:
            raise BadValue("is not one of the field's options")
        return options[str(v)]
    if t == "set":
        labels = _list(v)
        if any(lbl not in options for lbl in labels):
            raise BadValue("contains a value that is not one of the field's options")
        return [options[lbl] for lbl in labels] or None  # [] is rejected; null clears
    if t == "double":
        return _int(v) if kind == Kind.INT.value else _number(v)
    if t == "monetary":
        return {"value": _number(v), "currency": currency}
    if t == "date":
        return _date(v)
    if t in ("user", "org", "people"):
        return _int(v)
    if t == "address":
        return {"value": str(v)}
    if t == "time":
        return {"value": _time(v) + ":00"}
    if kind == Kind.DATETIME.value:
        return _utc_text(v)
    if kind == Kind.JSON.value and not isinstance(v, str):
        import json

        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, bool | int | float | Decimal) and t in ("varchar", "text", "phone"):
        return str(v)
    if isinstance(v, dt.date) and t in ("varchar", "text"):  # a date read where text was
        return v.isoformat()  # mapped (a later read typed the column): its ISO text, not a refusal
    if not isinstance(v, str):
        raise BadValue("must be text")
    if t in ("varchar", "varchar_auto", "phone") and len(v) > 255:
        raise BadValue("is longer than 255 characters")
    return v


def custom_from_api(field: dict[str, Any], kind: str | None, v: Any) -> Any:
    if v is None:
        return None
    t = field["field_type"]
    labels = {o["id"]: o["label"] for o in field.get("options") or []}
    if isinstance(v, dict) and "id" in v and "label" in v:  # include_option_labels form
        v = v["id"]
    if t == "enum":
        label = labels.get(v, str(v))
        if kind == Kind.BOOL.value or (kind is None and set(labels.values()) == set(YES_NO)):
            return label == YES_NO[0]
        return label
    if t == "set":
        return [labels.get(i, str(i)) for i in v]
    if t == "double":
        if kind == Kind.INT.value:
            return int(v)
        return v if isinstance(v, int) else Decimal(str(v))
    if t == "monetary":
        value = v.get("value") if isinstance(v, dict) else v
        return None if value is None else value if isinstance(value, int) else Decimal(str(value))
    if t == "date":
        return dt.date.fromisoformat(v[:10])
    if t in ("user", "org", "people"):
        return str(v.get("value", v) if isinstance(v, dict) else v)
    if t in ("address", "time"):
        value = v.get("value") if isinstance(v, dict) else v
        return value[:5] if t == "time" and isinstance(value, str) else value
    if kind == Kind.DATETIME.value and isinstance(v, str):
        return _utc(v)
    return v


# -- folded values on activities and notes ---------------------------------------------------
ID_KEY = "~id"
_TRAILER = re.compile(r"<hr>((?:<p>[^<]*</p>)+)\s*$")
_LINE = re.compile(r"<p>([^<]*)</p>")
_ID = re.compile(r"^\[ferry-id:(?:([A-Za-z0-9_]+)=)?(.+)\]$")
#: the kinds of the trailer's values that are not text, in one line a person can skip:
#: ``[ferry-kinds:datetime=Start time;bool=Paid]`` (before 8 Dec each line read ``kind|label``)
_KINDS = re.compile(r"^\[ferry-kinds:(.*)\]$")
_KIND_NAMES = {k.value for k in Kind}


def is_id_key(key: str) -> bool:
    """``~id`` (the record's own source id) or ``~id:<name>`` (a second source object landing
    on the same activity/note type keeps its ids apart under its own name)."""
    return key == ID_KEY or key.startswith(ID_KEY + ":")


def folded_key(kind: Kind, label: str) -> str:
    return f"~{kind.value}:{label}"


def _fold_text(kind: str, v: Any) -> str:
    if isinstance(v, bool):
        return YES_NO[0] if v else YES_NO[1]
    if isinstance(v, dt.datetime):
        return _utc_text(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)


def _unfold(kind: str, s: str) -> Any:
    try:
        if kind == Kind.BOOL.value:
            return s == YES_NO[0]
        if kind == Kind.INT.value:
            return int(s)
        if kind in (Kind.DECIMAL.value, Kind.MONEY.value):
            return Decimal(s)
        if kind == Kind.DATE.value:
            return dt.date.fromisoformat(s)
        if kind == Kind.DATETIME.value:
            return _utc(s)
        if kind == Kind.SET.value:
            return [x.strip() for x in s.split(",") if x.strip()]
    except (ValueError, InvalidOperation, BadValue):
        return s
    return s


def split_trailer(text: str | None) -> tuple[str, dict[str, Any]]:
    """(text without the trailer, {folded key: value}) of an activity note or note content."""
    if not text:
        return text or "", {}
    m = _TRAILER.search(text)
    if not m:
        return text, {}
    lines = [html.unescape(line) for line in _LINE.findall(m.group(1))]
    kinds: dict[str, str] = {}
    for line in lines:
        km = _KINDS.match(line)
        if km:
            for item in km.group(1).split(";"):
                kind, sep, label = item.partition("=")
                if sep:
                    kinds[label] = kind
    values: dict[str, Any] = {}
    for line in lines:
        idm = _ID.match(line)
        if idm:
            values[f"{ID_KEY}:{idm.group(1)}" if idm.group(1) else ID_KEY] = idm.group(2)
            continue
        if _KINDS.match(line):
            continue
        label, sep, value = line.partition(": ")
        if sep:
            kind, bar, name = label.partition("|")
            if not (bar and kind in _KIND_NAMES):  # the form a person reads: the label alone
                kind, name = kinds.get(label, Kind.TEXT.value), label
            values[f"~{kind}:{name}"] = _unfold(kind, value)
    return text[:m.start()], values


def join_trailer(text: str, folded: dict[str, Any]) -> str:
    """``text`` with the folded values after a rule, one ``label: value`` line each, as a
    person reads them; the kinds of those that are not text go in one ``[ferry-kinds:…]``
    line so ``split_trailer`` reads them back typed, and the source ids last."""
    lines, kinds = [], []
    for key, value in folded.items():
        if is_id_key(key) or value is None:
            continue
        kind, _, label = key[1:].partition(":")
        lines.append(f"<p>{html.escape(label)}: {html.escape(_fold_text(kind, value))}</p>")
        if kind != Kind.TEXT.value:
            kinds.append(f"{kind}={label}")
    if kinds:
        lines.append(f"<p>{html.escape('[ferry-kinds:' + ';'.join(kinds) + ']')}</p>")
    for key, value in folded.items():
        if is_id_key(key) and value is not None:
            name = key[len(ID_KEY) + 1:]
            lines.append(f"<p>[ferry-id:{name + '=' if name else ''}"
                         f"{html.escape(str(value))}]</p>")
    return text + ("<hr>" + "".join(lines) if lines else "")
