"""The declarative transform library: named functions with arguments, no eval of user strings.

Each transform is ``fn(value, args, ctx) -> value``. It raises ``TransformError`` with a reason
that never quotes the value. ``None`` means "empty": most transforms are skipped on an empty value;
those registered with ``on_empty=True`` (constant, default, owner, template …) still run.

Transforms that resolve things outside the record (``ref``, ``owner``, ``stage``, ``pipeline``,
templates naming another record) go through ``ctx.lookup`` / ``ctx.doc``. ``ctx.flags`` collects
words for the diff report ("truncated"); ``ctx.refs`` the references with no destination id yet.
A flag in ``UNEXPLAINED_FLAGS`` makes the diff call the field unexplained even when it was stored
as sent (a phone list that left an invalid number out).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from ferry.mapping.value_maps import TransformError, apply_value_map

if TYPE_CHECKING:
    from ferry.mapping.model import FieldMap, MappingDoc
    from ferry.model.entities import Record


class Lookup(Protocol):
    """What the engine knows about the destination while building payloads."""

    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None
                ) -> str | None: ...

    def owner(self, practitioner_source_id: str | None) -> str | None: ...

    # optional: ``gone(src_object, source_id)``, whether a record with no destination id is
    # not at the source at all (deleted there); a lookup without it says no (see ``t_ref``)


@dataclass
class RefNeed:
    """A reference with no destination id yet (its parent is not loaded)."""

    field: str
    object: str
    source_id: str


@dataclass(frozen=True)
class Lengths:
    """How long an appointment with no end and no length is assumed to be, where a destination
    refuses one without (a Salesforce Event): its type's default length (by type id, else by
    type name folded), else ``options.default_appointment_minutes``."""

    by_type: Mapping[str, int] = field(default_factory=dict)
    by_name: Mapping[str, int] = field(default_factory=dict)
    default: int | None = None


#: a trace flag with this start names a value the map assumed: the load lists the record and
#: field (skip file, stage ``transform-assumed``) and the sample diff shows it
ASSUMED = "assumed: "


@dataclass
class Ctx:
    record: Record
    lookup: Lookup
    doc: MappingDoc
    key: str
    fm: FieldMap | None = None
    region: str | None = None  # the practice's country (phone numbers without a country code)
    clinics: Mapping[str, str] | None = None  # clinic id → its country (records without one)
    lengths: Lengths | None = None  # appointment lengths assumed (``minutes_between``)
    #: a record's country may be read from its state and postcode (not when the practice's
    #: country is configured: ``options.phone_region`` wins over any inference)
    infer_country: bool = True
    flags: list[str] = field(default_factory=list)
    refs: list[RefNeed] = field(default_factory=list)
    #: references to records not at the source (deleted there): ``build`` empties an optional
    #: link to them and refuses the record for a required one
    gone: list[RefNeed] = field(default_factory=list)


Fn = Callable[[Any, dict[str, Any], Ctx], Any]

#: trace flags the sample diff never explains
UNEXPLAINED_FLAGS = frozenset({"invalid number left out"})


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
        from dateutil import parser as dateparser

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
            need = RefNeed(ctx.key, obj, str(sid))
            gone = getattr(ctx.lookup, "gone", None)
            (ctx.gone if gone is not None and gone(obj, str(sid)) else ctx.refs).append(need)
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


#: per record class: its field names and its (``<x>_name``, ``<x>_id``) labels, worked out
#: once (they were worked out for every template of every record)
_NS_PLANS: dict[type, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
#: the last record's namespace, one tuple (record, lookup, namespace) swapped whole (threads):
#: a record's several templates share it; ``CompiledMap.build`` forgets it for each record
_LAST_NS: list[tuple[Any, Any, dict[str, Any]]] = [(None, None, {})]


def forget_namespace() -> None:
    _LAST_NS[0] = (None, None, {})


def _ns_plan(model: type) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    plan = _NS_PLANS.get(model)
    if plan is None:
        fields = model.model_fields  # type: ignore[attr-defined]
        labels = tuple((f"{n[:-3]}_name", ref) for n in fields if n.endswith("_id")
                       and (ref := label_of(model, f"{n[:-3]}_name")) is not None)
        plan = _NS_PLANS[model] = (tuple(n for n in fields if n != "custom"), labels)
    return plan


def template_namespace(ctx: Ctx, *, copy: bool = True) -> dict[str, Any]:
    """A template's names over the record (a fresh dict: callers add ``value``; ``copy=False``:
    the record's shared one, for a caller that only reads it)."""
    rec = ctx.record
    last = _LAST_NS[0]
    if last[0] is rec and last[1] is ctx.lookup:
        return dict(last[2]) if copy else last[2]
    names, labels = _ns_plan(type(rec))
    ns: dict[str, Any] = {n: getattr(rec, n) for n in names}
    for k, cv in rec.custom.items():
        ns[f"custom_{k}"] = cv.value
    labeler = getattr(ctx.lookup, "label", None)
    for label, ref_field in labels:
        ns[label] = _Lazy(labeler, type(rec), ref_field, ns[ref_field])
    _LAST_NS[0] = (rec, ctx.lookup, ns)
    return dict(ns) if copy else ns


def label_of(model: Any, name: str) -> str | None:
    """The reference field ``<x>_id`` whose record's display name the template field
    ``<x>_name`` stands for; None when ``name`` is no such label (a field of its own)."""
    if not name.endswith("_name") or name in model.model_fields:
        return None
    ref_field = f"{name[:-5]}_id"
    return ref_field if ref_field in model.model_fields else None


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


#: template text → its (literal, field name, format spec) parts, or None for a template the
#: plain path does not take (anything but plain names: ``SafeFormatter`` formats and refuses it)
_PARSED: dict[str, tuple[tuple[str, str | None, str], ...] | None] = {}
_NO_VALUE = object()


def _parsed(template: str) -> tuple[tuple[str, str | None, str], ...] | None:
    if template in _PARSED:
        return _PARSED[template]
    parts: list[tuple[str, str | None, str]] | None = []
    try:
        for literal, name, spec, conversion in string.Formatter().parse(template):
            if name is None:
                parts.append((literal, None, ""))  # type: ignore[union-attr]
            elif not SafeFormatter.NAME.fullmatch(name) or conversion not in (None, "s") \
                    or "{" in (spec or ""):
                parts = None
                break
            else:
                parts.append((literal, name, spec or ""))  # type: ignore[union-attr]
    except ValueError:
        parts = None
    result = _PARSED[template] = None if parts is None else tuple(parts)
    return result


def format_template(template: str, ns: dict[str, Any], value: Any = _NO_VALUE) -> str:
    """``SafeFormatter().format(template, **ns)`` (with ``value`` as the name ``value``), the
    template parsed once: the same text and the same refusals, without ``string.Formatter``'s
    per-field calls or a copy of the namespace."""
    parts = _parsed(template)
    if parts is None:
        return SafeFormatter().format(template, **(
            ns if value is _NO_VALUE else {**ns, "value": value}))
    return _format_parts(parts, ns.get, value)


def format_record(template: str, ctx: Ctx, value: Any = _NO_VALUE) -> str:
    """``format_template(template, template_namespace(ctx), value)``, the names a plain
    template uses read from the record one at a time (``_record_name``): a namespace of every
    field, custom field and label was built per record for the one or two names a template
    reads (5 % of a 1k Odoo load's samples)."""
    parts = _parsed(template)
    if parts is None:
        return format_template(template, template_namespace(ctx, copy=False), value)
    rec, labeler = ctx.record, getattr(ctx.lookup, "label", None)
    return _format_parts(parts, lambda name, missing: _record_name(rec, labeler, name, missing),
                         value)


def _record_name(rec: Any, labeler: Any, name: str, missing: Any) -> Any:
    """``template_namespace(...).get(name, missing)`` for one name: a label (``<x>_name``)
    before a custom field (``custom_<key>``) before a field, as the namespace's later entries
    replace earlier ones."""
    names, labels = _ns_plan(type(rec))
    for label, ref_field in labels:
        if label == name:
            return _Lazy(labeler, type(rec), ref_field, getattr(rec, ref_field))
    if name.startswith("custom_"):
        cv = rec.custom.get(name[7:])
        if cv is not None:
            return cv.value
    if name in _ns_fields(type(rec), names):
        return getattr(rec, name)
    return missing


def _ns_fields(model: type, names: tuple[str, ...]) -> frozenset[str]:
    got = _NS_FIELDS.get(model)
    if got is None:
        got = _NS_FIELDS[model] = frozenset(names)
    return got


_NS_FIELDS: dict[type, frozenset[str]] = {}


def _format_parts(parts: tuple[tuple[str, str | None, str], ...], get: Any, value: Any) -> str:
    out = []
    for literal, name, spec in parts:
        out.append(literal)
        if name is None:
            continue
        if name == "value" and value is not _NO_VALUE:
            v = value
        else:
            v = get(name, _NO_VALUE)
            if v is _NO_VALUE:
                raise TransformError("template names a field the record does not have")
        if v is not None:
            try:
                out.append(format(_plain(v), spec))
            except (ValueError, TypeError):
                raise TransformError("template format does not fit the field") from None
    return "".join(out)


@transform("template", on_empty=True, required=("template",))
def t_template(value: Any, args: dict[str, Any], ctx: Ctx) -> Any:
    """``"{type_name} – {start:%Y-%m-%d}"`` over the record's fields (custom as ``custom_<key>``;
    ``<x>_name`` for a reference ``<x>_id`` when the engine can name it)."""
    out = format_record(str(args["template"]), ctx, value).strip()
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


# the value transforms (text, names, addresses, phones, emails, dates, numbers) register
# themselves on import
from ferry.mapping import transforms_lib as _lib  # noqa: E402,F401
