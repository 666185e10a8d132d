"""Turn a confirmed ``MappingDoc`` into payload builders the engine calls per record.

``compile_mapping(doc)`` checks everything that can be checked once (transform names and
arguments, custom-field keys filled in by ``prepare``) and returns one ``CompiledMap`` per
``ObjectMap``. ``CompiledMap.build(record, lookup)`` then turns one canonical record into a
destination payload ``{physical key: plain value}``:

1. read the source value(s) (``field``, ``custom.<key>``, ``a.b``; a list of sources gives a list);
2. apply the value map (unless a ``map`` transform places it later), then the transforms in order;
3. empty → ``FieldMap.default``; still empty → omitted (a required field → ``Built.error``);
4. a failure on an optional field → ``Built.field_errors`` (field omitted), on a required one →
   ``Built.error``; references with no destination id yet → ``Built.unresolved``.

Reasons name the record and field, never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ferry.errors import MappingError, RecordError
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap
from ferry.mapping.transforms import (
    ASSUMED,
    TRANSFORMS,
    Ctx,
    Lengths,
    Lookup,
    RefNeed,
    TransformError,
    forget_namespace,
    format_record,
    get_value,
)
from ferry.mapping.value_maps import apply_value_map, norm_key
from ferry.model.entities import Record, entity
from ferry.model.fields import Kind, fields_of

__all__ = ["Built", "CompiledMap", "Lookup", "RefNeed", "compile_mapping", "resolve_target"]


@dataclass
class Built:
    payload: dict[str, Any] = field(default_factory=dict)
    unresolved: list[RefNeed] = field(default_factory=list)
    #: optional links left out because the record they name is not at the source (deleted
    #: there): the record is written without them (``RefNeed.field`` is the map's target)
    emptied: list[RefNeed] = field(default_factory=list)
    field_errors: list[RecordError] = field(default_factory=list)
    error: RecordError | None = None
    trace: dict[str, list[str]] = field(default_factory=dict)
    unexplained: set[str] = field(default_factory=set)  # field labels left empty by bad values
    #: fields whose value the map assumed (``transforms.ASSUMED``): listed by the load
    assumed: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def required_refs(src_object: str) -> frozenset[str]:
    """The references a record of ``src_object`` cannot exist without, as the canonical model
    says (a reminder's appointment, a note's patient)."""
    try:
        model = entity(src_object)
    except KeyError:
        return frozenset()
    return frozenset(f.name for f in fields_of(model) if f.kind == Kind.REF and f.required)


def resolve_target(doc: MappingDoc, dest_object: str, target: str, *, need_key: bool = True
                   ) -> str:
    """The physical key of a target: a standard name as is, ``custom:<name>`` via its key."""
    if not target.startswith("custom:"):
        return target
    name = target[7:]
    cf = doc.custom_field(dest_object, name)
    if cf is None:
        raise MappingError(f"{dest_object}: target {target!r} is not declared under "
                           f"custom_fields.{dest_object}; add it there or use a standard field")
    if not cf.key:
        if need_key:
            raise MappingError(f"custom field {name!r} on {dest_object} has no key yet: "
                               f"run `ferry prepare` to create it (it records the key)")
        return target
    return cf.key


@dataclass
class _Field:
    fm: FieldMap
    key: str
    label: str  # logical target, for messages
    #: what ``build`` does per record, decided once: the transforms' specs, whether a ``map``
    #: transform places the value map, and the attribute a plain one-field source reads
    steps: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    placed: bool = False
    attr: str | None = None
    #: a plain attribute read as is (no value map, transform or default): ``build`` reads it
    #: without a transform context
    plain: bool = False
    #: the record cannot stand without what the field links to: the map requires the field,
    #: or the canonical model the reference it is written from (a reminder's appointment)
    needed: bool = False

    def __post_init__(self) -> None:
        self.steps = [(t.name, TRANSFORMS[t.name], t.args) for t in self.fm.transform]
        self.placed = any(t.name == "map" for t in self.fm.transform)
        src = self.fm.source
        if isinstance(src, str) and "." not in src:
            self.attr = src
            self.plain = not self.steps and self.fm.value_map is None and \
                self.fm.default is None


class CompiledMap:
    """One ObjectMap ready to build payloads."""

    def __init__(self, om: ObjectMap, doc: MappingDoc, *, need_keys: bool = True,
                 region: str | None = None, clinics: Mapping[str, str] | None = None,
                 lengths: Lengths | None = None, infer_country: bool = True) -> None:
        self.om = om
        self.lengths = lengths  # appointment lengths assumed where a destination needs one
        self.doc = doc
        self.region = region  # the practice's country, for phone numbers without a country code
        self.clinics = clinics  # clinic id → country, for records without an address country
        self.infer_country = infer_country  # a record's country from its state and postcode
        self.id_key: str | None = (
            resolve_target(doc, om.target, om.id_field, need_key=need_keys)
            if om.id_field and om.mode == "record" else None)
        self.fields: list[_Field] = []
        self._norm: dict[tuple[Any, ...], frozenset[Any]] = {}
        if om.mode in ("users", "none"):
            return
        seen: dict[str, str] = {}
        canonical = required_refs(om.source)
        for fm in om.fields:
            if fm.status != "mapped":
                continue
            for t in fm.transform:
                spec = TRANSFORMS.get(t.name)
                if spec is None:
                    raise MappingError(f"{om.name}: field {fm.target!r} uses unknown transform "
                                       f"{t.name!r}; known: {', '.join(sorted(TRANSFORMS))}")
                missing = [a for a in spec.required if a not in t.args]
                if missing:
                    raise MappingError(f"{om.name}: transform {t.name!r} on {fm.target!r} needs "
                                       f"argument(s) {', '.join(missing)}")
            key = resolve_target(doc, om.target, fm.target, need_key=need_keys)
            if key in seen and om.mode != "fold":
                raise MappingError(f"{om.name}: {fm.target!r} is mapped twice "
                                   f"(also from {seen[key]!r}); keep one or join the sources")
            seen[key] = str(fm.source)
            self.fields.append(_Field(fm, key, fm.target,
                                      needed=fm.required or (isinstance(fm.source, str)
                                                            and fm.source in canonical)))

    # -- conditions ----------------------------------------------------------------------------
    def accepts(self, record: Record) -> bool:
        """The ``when`` condition (no condition accepts every record)."""
        c = self.om.when
        if c is None:
            return True
        v = get_value(record, c.field)
        empty = v in (None, "", [])
        if c.empty is not None and empty != c.empty:
            return False
        nv = None if empty else norm_key(v)
        in_, not_in = self._lists(c.in_), self._lists(c.not_in)
        if in_ is not None and nv not in in_:
            return False
        return not (not_in is not None and nv in not_in)

    def _lists(self, values: list[Any] | None) -> frozenset[Any] | None:
        """A condition's list normalised once (it was per record), again if it changes."""
        if values is None:
            return None
        try:
            key = tuple(values)
            got = self._norm.get(key)
        except TypeError:  # an unhashable item: normalised each time, as before
            return frozenset(norm_key(x) for x in values)
        if got is None:
            got = self._norm[key] = frozenset(norm_key(x) for x in values)
        return got

    # -- building --------------------------------------------------------------------------------
    def ref(self, record: Record) -> str:
        return f"source:{record.OBJECT or self.om.source}:{record.source_id}"

    def build(self, record: Record, lookup: Lookup, only: frozenset[str] | None = None
              ) -> Built:
        """The record's payload. With ``only``, the payload's keys in ``only`` as the whole
        build gives them, the other fields left out unless required (an empty or failing
        required field ends the build, so it decides what the keys after it hold): reconcile
        needs the amounts sent, not every note rendered again."""
        out = Built()
        forget_namespace()  # a record changed in place since its last build is read afresh
        if self.id_key:
            out.payload[self.id_key] = record.source_id
        fold = self.om.mode == "fold"
        ctx: Ctx | None = None  # one per record, its field's parts set afresh for each field
        for f in self.fields:
            if only is not None and f.key not in only and not f.fm.required:
                continue
            if f.plain:  # what ``_value`` gives such a field, without its context
                value = getattr(record, f.attr, None)  # type: ignore[arg-type]
                if value in (None, "", []):
                    if f.fm.required:
                        out.error = RecordError(self.ref(record), f.label,
                                                f"required field is empty (from {f.fm.source})")
                        return out
                    continue
                if not (fold and f.key in out.payload):
                    out.payload[f.key] = value
                    out.trace[f.key] = []
                continue
            if ctx is None:
                ctx = Ctx(record=record, lookup=lookup, doc=self.doc, key=f.key, fm=f.fm,
                          region=self.region, clinics=self.clinics, lengths=self.lengths,
                          infer_country=self.infer_country)
            else:  # the lists afresh only when the last field filled them (few do)
                ctx.key, ctx.fm = f.key, f.fm
                if ctx.flags:
                    ctx.flags = []
                if ctx.refs:
                    ctx.refs = []
                if ctx.gone:
                    ctx.gone = []
            try:
                value, names = self._value(f.fm, ctx, f)
            except TransformError as exc:
                err = RecordError(self.ref(record), f.label,
                                  f"{exc} (from {f.fm.source or 'constant'})")
                if f.fm.required:
                    out.error = err
                    return out
                out.field_errors.append(err)
                if not exc.explained:
                    out.unexplained.add(f.label)
                continue
            if ctx.refs:
                out.unresolved.extend(ctx.refs)
            waits = bool(ctx.refs)
            if ctx.gone:  # links to records deleted at the source: an optional one is emptied
                if f.needed:
                    out.unresolved.extend(ctx.gone)
                    waits = True
                else:
                    out.emptied.extend(RefNeed(f.label, n.object, n.source_id)
                                       for n in ctx.gone)
            if value in (None, "", []):
                if f.fm.required and not waits:
                    out.error = RecordError(self.ref(record), f.label,
                                            f"required field is empty (from {f.fm.source})")
                    return out
                continue
            if fold and f.key in out.payload:
                continue  # first mapping of a folded key wins within one record
            out.payload[f.key] = value
            out.trace[f.key] = names + ctx.flags if ctx.flags else names
            for flag in ctx.flags:
                if flag.startswith(ASSUMED):
                    out.assumed.append(RecordError(self.ref(record), f.label, flag))
        return out

    def _value(self, fm: FieldMap, ctx: Ctx, f: _Field | None = None) -> tuple[Any, list[str]]:
        f = f or _Field(fm, ctx.key, fm.target)
        src = fm.source
        if f.attr is not None:
            value: Any = getattr(ctx.record, f.attr, None)
        elif src is None:
            value = None
        elif isinstance(src, list):
            value = [get_value(ctx.record, s) for s in src]
            if all(v in (None, "", []) for v in value):
                value = None
        else:
            value = get_value(ctx.record, src)
        if value == "":
            value = None
        names: list[str] = []
        if fm.value_map is not None and not f.placed and value is not None:
            value = apply_value_map(value, fm.value_map, fm.value_map_default)
            names.append("value_map")
        for name, spec, args in f.steps:
            if not spec.on_empty and value in (None, "", []):
                continue
            try:
                value = spec.fn(value, args, ctx)
            except TransformError:
                raise
            except (ValueError, TypeError, ArithmeticError, KeyError):
                raise TransformError(f"transform {name} failed") from None
            names.append(name)
        if value in (None, "", []) and fm.default is not None:
            value = fm.default
            names.append("default")
        return value, names

    # -- attach / fold helpers -----------------------------------------------------------------
    def attach_name(self, record: Record, lookup: Lookup) -> str:
        """The file name of an attach map (template over the record)."""
        tpl = self.om.attach.file_name if self.om.attach else "{file_name}"
        ctx = Ctx(record=record, lookup=lookup, doc=self.doc, key="file_name")
        try:
            name = format_record(tpl, ctx).strip()
        except TransformError:
            name = ""
        return name or f"{self.om.source}-{record.source_id}.txt"

    def render_text(self, record: Record, lookup: Lookup) -> str | None:
        """For ``attach.content: render``: the record as text (template, or field: value lines)."""
        if not self.om.attach or self.om.attach.content != "render":
            return None
        ctx = Ctx(record=record, lookup=lookup, doc=self.doc, key="content")
        if self.om.attach.template:
            return format_record(self.om.attach.template, ctx)
        lines = []
        for n in type(record).model_fields:
            v = getattr(record, n)
            if n in ("custom", "source_id") or v in (None, "", []):
                continue
            lines.append(f"{n}: {v.isoformat() if isinstance(v, dt.date) else v}")
        return "\n".join(lines)

    def merge_folded(self, items: list[tuple[Record, Built]]) -> dict[str, Any]:
        """Combine several children's fold payloads into the parent's fields (``fold.strategy``)."""
        fold = self.om.fold
        strategy = fold.strategy if fold else "latest"
        order_by = fold.order_by if fold else "updated_at"
        good = [(r, b) for r, b in items if b.error is None]

        def key(rb: tuple[Record, Built]) -> Any:
            v = get_value(rb[0], order_by)
            if isinstance(v, dt.datetime):
                return (1, v.timestamp())
            if isinstance(v, dt.date):
                return (1, dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC).timestamp())
            return (0, str(v or ""))

        good.sort(key=key)
        if not good:
            return {}
        if strategy == "latest":
            return dict(good[-1][1].payload)
        if strategy == "first":
            return dict(good[0][1].payload)
        merged: dict[str, Any] = {}
        for _, b in good:
            for k, v in b.payload.items():
                merged.setdefault(k, []).append(v)
        if strategy == "sum":
            return {k: _sum(v) for k, v in merged.items()}
        if strategy == "list":
            return {k: [str(x) for x in v] for k, v in merged.items()}
        sep = fold.separator if fold else "\n"
        return {k: sep.join(str(x) for x in v) if len(v) > 1 else v[0]
                for k, v in merged.items()}


def _sum(values: list[Any]) -> Any:
    nums = [v for v in values if isinstance(v, int | float | Decimal) and not isinstance(v, bool)]
    if not nums:
        return values[-1]
    total = sum(Decimal(str(v)) for v in nums)
    return float(total) if any(isinstance(v, float) for v in nums) else total


def compile_mapping(doc: MappingDoc, *, need_keys: bool = True, region: str | None = None,
                    clinics: Mapping[str, str] | None = None, lengths: Lengths | None = None,
                    infer_country: bool = True) -> list[CompiledMap]:
    """One CompiledMap per ObjectMap, in file order. A custom field without its key is a
    MappingError naming it (``need_keys=False`` compiles before ``prepare``, for previews).
    ``region`` and ``clinics``: the practice's country and each clinic's, the numbering plans
    of phones whose record names no country (``ferry.mapping.phones``); ``lengths``: what an
    appointment with no end and no length is assumed to last (``transforms.Lengths``);
    ``infer_country``: a record's state and postcode may name its country (off when the
    practice's is configured)."""
    names = [om.name for om in doc.objects]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise MappingError(f"object map name(s) used twice: {', '.join(sorted(dup))}")
    return [CompiledMap(om, doc, need_keys=need_keys, region=region, clinics=clinics,
                        lengths=lengths, infer_country=infer_country) for om in doc.objects]
