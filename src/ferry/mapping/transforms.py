"""The declarative transform library: named functions with arguments, no eval of user strings.

Each transform is ``fn(value, args, ctx) -> value``. It raises ``TransformError`` with a reason
that never quotes the value. ``None`` means "empty": most transforms are skipped on an empty value;
those registered with ``on_empty=True`` (constant, default, owner, template …) still run.

Transforms that resolve things outside the record (``ref``, ``owner``, ``stage``, ``pipeline``,
templates naming another record) go through ``ctx.lookup`` / ``ctx.doc``. ``ctx.flags`` collects
words for the diff report ("truncated"); ``ctx.refs`` the references with no destination id yet.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dateutil import parser as dateparser
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel

from ferry.mapping.address import parse_address
from ferry.mapping.value_maps import TransformError, apply_value_map

if TYPE_CHECKING:
    from ferry.mapping.model import FieldMap, MappingDoc
    from ferry.model.entities import Record


class Lookup(Protocol):
    """What the engine knows about the destination while building payloads."""

    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None
                ) -> str | None: ...

    def owner(self, practitioner_source_id: str | None) -> str | None: ...


@dataclass
class RefNeed:
    """A reference with no destination id yet (its parent is not loaded)."""

    field: str
    object: str
    source_id: str


@dataclass
class Ctx:
    record: Record
    lookup: Lookup
    doc: MappingDoc
    key: str
    fm: FieldMap | None = None
    flags: list[str] = field(default_factory=list)
    refs: list[RefNeed] = field(default_factory=list)


Fn = Callable[[Any, dict[str, Any], Ctx], Any]


@dataclass(frozen=True)
class Spec:
    fn: Fn
    on_empty: bool = False
    required: tuple[str, ...] = ()
    doc: str = ""


TRANSFORMS: dict[str, Spec] = {}


def transform(name: str, *, on_empty: bool = False, required: tuple[str, ...] = ()
              ) -> Callable[[Fn], Fn]:
    def deco(fn: Fn) -> Fn:
        TRANSFORMS[name] = Spec(fn, on_empty, required, (fn.__doc__ or "").strip())
        return fn
    return deco


# ---------------------------------------------------------------------------------------------
# helpers

def _tz(args: dict[str, Any]) -> ZoneInfo:
    name = args.get("tz", "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TransformError("unknown time zone in the transform arguments") from None


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, str):
        try:
            d = dateparser.parse(value)
        except (ValueError, OverflowError):
            raise TransformError("not a recognisable date/time") from None
    else:
        raise TransformError("not a date/time")
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return value


def _text(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------
# text

@transform("text")
def t_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Any value as text (lists joined with ", ")."""
    return _text(value)


@transform("strip")
def t_strip(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).strip() or None


@transform("lower")
def t_lower(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).lower()


@transform("upper")
def t_upper(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    return _text(value).upper()


@transform("truncate", required=("max",))
def t_truncate(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Cut text to ``max`` characters; the trace says "truncated" when it did."""
    s, n = _text(value), int(args["max"])
    if len(s) > n:
        ctx.flags.append("truncated")
        suffix = str(args.get("suffix", ""))
        return s[: max(n - len(suffix), 0)] + suffix
    return s


@transform("join")
def t_join(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Join several values (multi-source field or a list) with ``sep`` (default a space)."""
    items = value if isinstance(value, list) else [value]
    parts = [_text(v).strip() for v in items if v not in (None, "", [])]
    return str(args.get("sep", " ")).join(p for p in parts if p) or None


@transform("list_text")
def t_list_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A list as one text, ``sep`` default ", "."""
    items = value if isinstance(value, list) else [value]
    return str(args.get("sep", ", ")).join(_text(v) for v in items if v is not None) or None


@transform("coalesce")
def t_coalesce(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """First non-empty of several source values."""
    items = value if isinstance(value, list) else [value]
    return next((v for v in items if v not in (None, "", [])), None)


@transform("html")
def t_html(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Plain text → safe HTML (escaped, line breaks kept) for note bodies."""
    return html.escape(_text(value)).replace("\r\n", "\n").replace("\n", "<br>")


@transform("json_text")
def t_json_text(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Flatten JSON (object, list or JSON text) to newline-delimited "key: value" text."""
    value = _plain(value)
    if isinstance(value, str):
        s = value.strip()
        if not s or s[0] not in "[{":
            return value
        try:
            value = json.loads(s)
        except json.JSONDecodeError:
            return value
    lines: list[str] = []

    def walk(v: Any, prefix: str) -> None:
        if isinstance(v, dict):
            if prefix and all(not isinstance(x, dict | list) for x in v.values()):
                inner = ", ".join(f"{k}: {_text(x)}" for k, x in v.items() if x not in (None, ""))
                lines.append(f"{prefix}: {inner}" if prefix else inner)
                return
            for k, x in v.items():
                walk(x, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    lines.append(", ".join(f"{k}: {_text(y)}" for k, y in x.items()
                                           if y not in (None, "")))
                else:
                    walk(x, prefix)
        elif v not in (None, ""):
            lines.append(f"{prefix}: {_text(v)}" if prefix else _text(v))

    walk(value, "")
    return "\n".join(lines) or None


@transform("json")
def t_json(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A value serialised as JSON text (structured data kept in a text field)."""
    return json.dumps(_plain(value), default=str, sort_keys=True, ensure_ascii=False)


@transform("labelled", required=("labels",))
def t_labelled(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Several sources → "Label: value" lines (empty label: the value alone; empties skipped)."""
    items = value if isinstance(value, list) else [value]
    labels = list(args["labels"])
    lines = []
    for i, v in enumerate(items):
        if v in (None, "", []):
            continue
        label = labels[i] if i < len(labels) else ""
        text = t_json_text(v, {}, ctx) if isinstance(_plain(v), dict) else _text(v)
        lines.append(f"{label}: {text}" if label else str(text))
    return "\n".join(lines) or None


@transform("record_json", required=("fields",))
def t_record_json(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """The named record fields as one JSON object (``<x>_name`` names a referenced record)."""
    ns = template_namespace(ctx)
    out = {}
    for name in args["fields"]:
        v = ns.get(str(name))
        v = format(v, "") if isinstance(v, _Lazy) else _plain(v)
        if v not in (None, "", []):
            out[str(name)] = v
    return json.dumps(out, default=str, ensure_ascii=False) if out else None


@transform("format", required=("fmt",))
def t_format(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """``fmt`` with ``{value}`` and the record's fields (safe formatter)."""
    ns = template_namespace(ctx)
    ns["value"] = value
    return SafeFormatter().format(str(args["fmt"]), **ns)


# ---------------------------------------------------------------------------------------------
# names, addresses, phones, emails

@transform("split_name", required=("part",))
def t_split_name(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Full name → ``part`` first|last ("Last, First" understood)."""
    s = _text(value).strip()
    if "," in s:
        last, first = (p.strip() for p in s.split(",", 1))
    else:
        words = s.split()
        first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", s)
    part = args["part"]
    if part not in ("first", "last"):
        raise TransformError("split_name part must be first or last")
    return (first if part == "first" else last) or None


@transform("join_name")
def t_join_name(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[first, last] (or [title, first, last]) → one display name."""
    return t_join(value, {"sep": " "}, ctx)


@transform("address", required=("part",))
def t_address(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """One address string → ``part``: street, street2, city, region, postcode, country.
    With several sources ``[structured part(s)…, one-line address]`` the structured values win
    (joined by a line break, e.g. street + street2 for ``part: street_lines``)."""
    if isinstance(value, list):
        parts = [_text(v) for v in value[:-1] if v not in (None, "")]
        if parts:
            return "\n".join(parts)
        value = value[-1] if value else None
        if value in (None, ""):
            return None
    try:
        return parse_address(_text(value)).part(str(args["part"]))
    except KeyError:
        raise TransformError("unknown address part in the transform arguments") from None


@transform("address_line")
def t_address_line(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[one-line address, street, street2, city, region, postcode, country] → one line: the
    one-line value when present, else the parts joined with ", "."""
    items = value if isinstance(value, list) else [value]
    if items and items[0] not in (None, ""):
        return _text(items[0]).replace("\n", ", ")
    return ", ".join(_text(v) for v in items[1:] if v not in (None, "")) or None


@transform("phone_e164")
def t_phone(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A phone number → E.164 (``region`` is the hint for national numbers, default US).
    A list (several sources) gives a list of the non-empty numbers, duplicates removed."""
    if isinstance(value, list):
        out = [t_phone(v, args, ctx) for v in value if v not in (None, "")]
        return list(dict.fromkeys(out)) or None
    try:
        num = phonenumbers.parse(_text(value), str(args.get("region", "US")))
    except phonenumbers.NumberParseException:
        raise TransformError("not a phone number") from None
    if not phonenumbers.is_possible_number(num):
        raise TransformError("not a valid phone number")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


@transform("email")
def t_email(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Validate and normalise an email address (no DNS lookups); lists element-wise."""
    if isinstance(value, list):
        out = [t_email(v, args, ctx) for v in value if v not in (None, "")]
        return list(dict.fromkeys(out)) or None
    try:
        return validate_email(_text(value).strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise TransformError("not a valid email address") from None


# ---------------------------------------------------------------------------------------------
# dates, times, numbers

@transform("date")
def t_date(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Date (from a date, a datetime converted to ``tz`` first, or text)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return _as_datetime(value).astimezone(_tz(args)).date()


@transform("datetime")
def t_datetime(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Aware datetime in ``tz`` (default UTC); naive input is taken as UTC."""
    return _as_datetime(value).astimezone(_tz(args))


@transform("time")
def t_time(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Time of day in ``tz`` as text, ``fmt`` default "%H:%M"."""
    return _as_datetime(value).astimezone(_tz(args)).strftime(str(args.get("fmt", "%H:%M")))


@transform("strftime", required=("fmt",))
def t_strftime(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A date/datetime as text in ``fmt`` (after converting to ``tz``)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime(str(args["fmt"]))
    return _as_datetime(value).astimezone(_tz(args)).strftime(str(args["fmt"]))


@transform("minutes_between")
def t_minutes_between(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """[start, end] → whole minutes between them; [minutes, start, end] prefers ``minutes``."""
    if isinstance(value, list) and len(value) == 3:
        if value[0] not in (None, ""):
            return int(value[0])
        value = value[1:]
    if not isinstance(value, list) or len(value) != 2 or None in value:
        return None
    delta = _as_datetime(value[1]) - _as_datetime(value[0])
    return max(int(delta.total_seconds() // 60), 0)


@transform("hhmm")
def t_hhmm(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Minutes → "HH:MM" (Pipedrive activity duration)."""
    try:
        m = int(value)
    except (TypeError, ValueError):
        raise TransformError("not a number of minutes") from None
    return f"{m // 60:02d}:{m % 60:02d}"


@transform("money")
def t_money(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Money (Decimal/number/text like "1,250.00") → ``as`` float (default), decimal or int."""
    try:
        if isinstance(value, str):
            value = re.sub(r"[^\d.\-]", "", value)
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise TransformError("not an amount of money") from None
    kind = args.get("as", "float")
    cents = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if kind == "decimal":
        return cents
    if kind == "int":
        return int(d)
    return float(cents)


@transform("int")
def t_int(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise TransformError("not a whole number") from None


TRUE = {"true", "yes", "y", "1", "t", "on", "x"}
FALSE = {"false", "no", "n", "0", "f", "off", ""}


@transform("bool")
def t_bool(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Yes/no, 1/0, true/false → bool."""
    if isinstance(value, bool):
        return value
    s = _text(value).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise TransformError("not a yes/no value")


# ---------------------------------------------------------------------------------------------
# constants, value maps, lookups

@transform("constant", on_empty=True)
def t_constant(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Always ``value``."""
    return args.get("value")


@transform("default", on_empty=True)
def t_default(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """``value`` when empty."""
    return args.get("value") if value in (None, "", []) else value


@transform("map")
def t_map(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Apply the field's value map here (otherwise it is applied before the transforms)."""
    if ctx.fm is None or ctx.fm.value_map is None:
        return value
    return apply_value_map(value, ctx.fm.value_map, ctx.fm.value_map_default)


@transform("ref")
def t_ref(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Source id(s) of ``object`` → destination id(s) through the id map (``dest_object``)."""
    obj = str(args.get("object") or "")
    if not obj:
        raise TransformError("ref needs the referenced object")
    many = isinstance(value, list)
    out = []
    for sid in value if many else [value]:
        got = ctx.lookup.dest_id(obj, str(sid), args.get("dest_object"))
        if got is None:
            ctx.refs.append(RefNeed(ctx.key, obj, str(sid)))
        else:
            out.append(got)
    if many:
        return out or None
    return out[0] if out else None


@transform("owner", on_empty=True)
def t_owner(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """Practitioner source id → destination user id (or the fallback owner)."""
    return ctx.lookup.owner(None if value in (None, "") else str(value))


def _pipeline_name(args: dict[str, Any], ctx: Ctx) -> str:
    by = args.get("pipeline_by")
    if isinstance(by, dict):
        v = get_value(ctx.record, str(by.get("field", "")))
        try:
            return str(apply_value_map(v, dict(by.get("map") or {}), by.get("default")))
        except TransformError:
            raise TransformError("no pipeline for this record's value") from None
    name = args.get("pipeline")
    if not name:
        raise TransformError("stage/pipeline needs pipeline or pipeline_by")
    return str(name)


@transform("pipeline", on_empty=True)
def t_pipeline(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """The destination key of the pipeline (``pipeline`` or ``pipeline_by`` {field, map, default})."""
    name = _pipeline_name(args, ctx)
    p = next((p for p in ctx.doc.pipelines if p.name == name), None)
    if p is None:
        raise TransformError("pipeline is not declared in the mapping")
    return p.key or p.name


@transform("stage")
def t_stage(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """A stage name (usually from the value map) → its destination key in the pipeline."""
    name = _pipeline_name(args, ctx)
    p = next((p for p in ctx.doc.pipelines if p.name == name), None)
    st = p and next((s for s in p.stages if s.name == str(value)), None)
    if st is None:
        raise TransformError("stage is not declared in the pipeline")
    return st.key or st.name


# ---------------------------------------------------------------------------------------------
# templates

class SafeFormatter(string.Formatter):
    """``str.format`` over a flat namespace: plain names only, no attribute or index access."""

    NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not self.NAME.fullmatch(field_name):
            raise TransformError("template fields must be plain field names")
        if field_name not in kwargs:
            raise TransformError("template names a field the record does not have")
        return kwargs[field_name], field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion not in (None, "s"):
            raise TransformError("template conversions are not allowed")
        return value

    def format_field(self, value: Any, format_spec: str) -> Any:
        if value is None:
            return ""
        try:
            return format(_plain(value), format_spec)
        except (ValueError, TypeError):
            raise TransformError("template format does not fit the field") from None


def template_namespace(ctx: Ctx) -> dict[str, Any]:
    rec = ctx.record
    ns: dict[str, Any] = {n: getattr(rec, n) for n in type(rec).model_fields if n != "custom"}
    for k, cv in rec.custom.items():
        ns[f"custom_{k}"] = cv.value
    labeler = getattr(ctx.lookup, "label", None)
    for n in list(ns):
        if n.endswith("_id") and f"{n[:-3]}_name" not in ns:
            ns[f"{n[:-3]}_name"] = _Lazy(labeler, type(rec), n, ns[n])
    return ns


class _Lazy:
    """A related record's display name, fetched only when a template uses it."""

    def __init__(self, labeler: Any, model: Any, field_name: str, sid: Any) -> None:
        self.args = (labeler, model, field_name, sid)

    def __format__(self, spec: str) -> str:
        labeler, model, name, sid = self.args
        extra = model.model_fields[name].json_schema_extra
        obj = extra.get("ref") if isinstance(extra, dict) else None
        if labeler is None or sid is None or not obj:
            return ""
        return format(labeler(str(obj), str(sid)) or "", spec)


@transform("template", on_empty=True, required=("template",))
def t_template(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """``"{type_name} – {start:%Y-%m-%d}"`` over the record's fields (custom as ``custom_<key>``;
    ``<x>_name`` for a reference ``<x>_id`` when the engine can name it)."""
    ns = template_namespace(ctx)
    ns["value"] = value
    out = SafeFormatter().format(str(args["template"]), **ns).strip()
    return out or None


# ---------------------------------------------------------------------------------------------
# reading source values

def get_value(record: Record, path: str) -> Any:
    """A source value by path: ``field``, ``custom.<key>`` or ``field.sub`` (JSON fields)."""
    if path.startswith("custom."):
        cv = record.custom.get(path[7:])
        return None if cv is None else cv.value
    head, _, rest = path.partition(".")
    value = getattr(record, head, None)
    while rest and value is not None:
        head, _, rest = rest.partition(".")
        value = value.get(head) if isinstance(value, dict) else getattr(value, head, None)
    return value
