"""The sample's field-level diff: what the map meant to write vs what the destination holds.

For every sampled record the payload is rebuilt through the confirmed map (``CompiledMap.build``,
with the id map now complete, so it is what was sent) and compared, key by key, with what
``Destination.read`` returns. Each field lands in one category:

* ``equal``          destination value == source value
* ``transformed``    differs from the source as the map says (value map / transforms in
                     ``Built.trace``): explained; a value that differs from the built payload in
                     any other way is ``transformed`` *unexplained*
* ``truncated``      by a ``truncate`` transform (explained) or silently by the destination
                     (the stored value is a prefix of what was sent: unexplained)
* ``format_changed`` same value after normalisation (case, spacing, phone digits, number or
                     instant equality), or the same record of a lookup table in the spelling the
                     destination reads back (``Destination.stored_form``: Odoo stores a country
                     sent as ``Spain`` and reads ``ES``): the destination's own form, explained
* ``kept_as_text``   the destination could not take the value in this field (a region its list
                     lacks) and kept it as written in another field of the record
                     (``connectors.base.KeptAsText``, skip stage ``load-kept``); counted so only
                     when that field, read back, holds the text (else ``missing``, unexplained)
* ``missing``        sent but not stored (unexplained), or left empty because a transform
                     refused the value, or because the destination could not take it and said
                     so field by field (``WriteResult.field_errors``), and the skip file says
                     so (explained) — except a value that is not valid for its kind (a phone
                     number no numbering plan accepts, ``InvalidValueError``): never guessed,
                     never explained, so the verdict fails until the source is fixed, or
                     until the person confirming the map sets ``on_invalid: leave_out`` on the
                     field (invalid values are then left out by that named, confirmed rule)
* ``unexpected``     a mapped destination field holds a value the map did not send
                     (explained when the destination's rule says why, or when it is the
                     owner the map left empty: no user for the practitioner, no fallback)

Dates, date-times and amounts are also compared by meaning (``meaning_note``): the stored value
read under the destination's documented semantics (``Destination.stored_meaning``: Pipedrive's
activity ``due_date`` + ``due_time`` are one UTC instant, Odoo's datetimes naive UTC, ...) against
the source's staged value, whatever the map's transforms say. A transform explains a change of
form (an offset, a format, a cent rounding), never of meaning: a stored instant, day (of a
date-only field: the day in the practice's zone, the staged offset) or amount and currency that
differs from the source's is ``transformed`` *unexplained*, even when stored as sent.

The verdict passes only when every difference is explained. Values are masked by the source
field's PHI class (shape only: ``Xxxx``, ``99/99/9999``) unless ``show_phi`` — masking keeps
format problems visible without showing the value.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ferry.engine.masking import mask, plain
from ferry.mapping.compile import CompiledMap, Lookup
from ferry.mapping.model import FieldMap
from ferry.mapping.transforms import UNEXPLAINED_FLAGS, get_value
from ferry.model.fields import Kind, PhiClass, field_info

__all__ = ["CATEGORIES", "EXPLAINED_SKIPS", "FORM_ONLY", "FieldDiff", "SampleDiff", "as_number",
           "classify", "diff_record", "mask", "meaning_kind", "meaning_note", "phi_of", "plain",
           "run_sample", "same"]

CATEGORIES = ("equal", "transformed", "truncated", "format_changed", "kept_as_text", "missing",
              "unexpected")
#: skip stages the confirmed map (and its PHI decisions) account for: owner fallback, PHI hold or
#: exclusion, transform refusals; a child skipped because such a parent is absent inherits it
EXPLAINED_SKIPS = {"owners", "hold", "excluded", "transform", "transform-field", "load-field",
                   "load-kept", "transform-assumed", "link-emptied"}
_UNSET: Any = object()


# -- comparing -----------------------------------------------------------------------------------

def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def as_number(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v))
    if isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v.strip()):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            return None
    return None


def _instant(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC) if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and re.match(r"\d{4}-\d\d-\d\d", v):
        try:
            if len(v) == 10:
                return dt.date.fromisoformat(v)
            d = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace(" ", "T", 1))
            return d.astimezone(dt.UTC) if d.tzinfo else d.replace(tzinfo=dt.UTC)
        except ValueError:
            return None
    return None


def same(a: Any, b: Any) -> bool:
    """Equal as values: numbers numerically, dates/instants as instants, sets unordered, and a
    one-element list as its element (a connector may read ``["x"]`` back as ``"x"``)."""
    if _empty(a) and _empty(b):
        return True
    if isinstance(a, list | tuple) and len(a) == 1 and not isinstance(b, list | tuple):
        a = a[0]
    if isinstance(b, list | tuple) and len(b) == 1 and not isinstance(a, list | tuple):
        b = b[0]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, plain(list(a)))) == sorted(map(str, plain(list(b))))
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    ia, ib = _instant(a), _instant(b)
    if ia is not None and ib is not None:
        return bool(ia == ib)
    return bool(plain(a) == plain(b))


def _loose(v: Any) -> str:
    text = json.dumps(plain(v), sort_keys=True, default=str) if not isinstance(v, str) else v
    text = re.sub(r"<[^>]+>", " ", text)  # HTML the destination wrapped around text
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"[\d\s()+\-./]+", text.strip()) and len(digits) >= 6:
        return digits[-9:]
    return re.sub(r"[\s\W_]+", "", text.casefold())


# -- meaning: the instant, day or amount, whatever the transforms did ------------------------------

#: transforms that change only the form of a date, a date-time or an amount: an offset (``tz``),
#: a format, text, a rounding to the cent. The meaning check applies through them: a
#: ``date``/``time``/``strftime`` that writes a wall time where the destination reads UTC moves
#: the instant and fails. ``date`` truncates a date-time to its day on purpose: the stored day is
#: compared with the source's day in its staged offset (the practice's zone). Any other transform
#: (a value map, a constant, a template, minutes between, a whole number, ``money`` ``as: int``)
#: changes the meaning by the confirmed map: the check stays out, the trace explains it.
FORM_ONLY = frozenset({"datetime", "date", "time", "strftime", "money", "text", "strip"})
_MEANING_KINDS = {Kind.DATETIME: "datetime", Kind.DATE: "date", Kind.MONEY: "money"}
_KINDS: dict[tuple[type, str], str | None] = {}
_CENT = Decimal("0.01")


def meaning_kind(model: type, fm: FieldMap) -> str | None:
    """``datetime``, ``date`` or ``money`` when ``fm`` carries one source field of that canonical
    kind through form-only transforms (``FORM_ONLY``) and no value map; else None."""
    src = fm.source
    if not isinstance(src, str) or "." in src or fm.value_map is not None:
        return None
    if any(t.name not in FORM_ONLY or (t.name == "money" and t.args.get("as") == "int")
           for t in fm.transform):
        return None
    got = _KINDS.get((model, src), _UNSET)
    if got is _UNSET:
        got = _KINDS[(model, src)] = _MEANING_KINDS.get(field_info(model, src).kind) \
            if src in getattr(model, "model_fields", {}) else None
    return got


def _cents(a: Decimal) -> Decimal:
    return a.quantize(_CENT, rounding=ROUND_HALF_UP)


def meaning_note(kind: str, source: Any, got: tuple[Any, str] | None,
                 currency: Any = None) -> str | None:
    """Why the stored value's meaning (``got``: ``(meaning, how it was read)`` from
    ``Destination.stored_meaning``) is not the source value's, or None when it is (or when no
    meaning could be read). Names no value: the note reaches reports for any reader."""
    if got is None or _empty(source):
        return None
    value, how = got
    if kind == "money":
        from ferry.connectors.meaning import amount

        want = amount(source, currency)
        if want is None or not isinstance(value, tuple):
            return None
        if _cents(want[0]) != _cents(value[0]):
            return f"the stored amount (read as {how}) is not the source's amount"
        if want[1] and value[1] and want[1] != value[1]:
            return f"the stored currency (read as {how}) is not the source's currency"
        return None
    if isinstance(source, dt.datetime):
        s = source if source.tzinfo else source.replace(tzinfo=dt.UTC)
        if isinstance(value, dt.datetime):
            a, b = s.astimezone(dt.UTC).replace(microsecond=0), value.replace(microsecond=0)
            if b.second == 0:  # stored to the minute (an HH:MM time of day)
                a = a.replace(second=0)
            return None if a == b else (
                f"the stored instant (read as {how}) is not the source's instant: an offset"
                " lost or added (wall time sent as UTC?)")
        if isinstance(value, dt.date):
            return None if s.date() == value else (
                f"the stored day (read as {how}) is not the source's day in the practice's"
                " zone (its staged offset)")
        return None
    if isinstance(source, dt.date):
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).date()
        if isinstance(value, dt.date) and value != source:
            return f"the stored day (read as {how}) is not the source's day"
    return None


@dataclass
class FieldDiff:
    ref: str  # source:object:id
    map: str
    dest: str  # object:id in the destination
    field: str  # logical target (as in mapping.yaml)
    key: str  # physical key
    category: str
    explained: bool
    source: Any = None
    sent: Any = None
    stored: Any = None
    note: str = ""


def classify(source_value: Any, sent: Any, stored: Any, trace: list[str], *,
             field_error: str | None = None, dest_error: str | None = None,
             as_stored: Any = _UNSET, rule: Callable[[Any, Any], str | None] | None = None,
             bad_value: bool = False, owner: bool = False) -> tuple[str, bool, str]:
    """(category, explained, note) of one field. ``dest_error``: the destination wrote the
    record but left this field empty, with this reason (in the skip file); ``as_stored``: the
    sent value in the form the destination reads it back (``Destination.stored_form``);
    ``rule(sent, stored)``: the destination's documented rule for a difference
    (``Destination.design_rule``), which explains it by name. ``owner``: the field is the
    record's owner (the ``owner`` transform), sent empty when its practitioner has no
    destination user and no fallback owner is set."""
    if _empty(sent):
        if not _empty(stored):
            why = rule(sent, stored) if rule is not None else None
            if why:
                return "unexpected", True, f"by the destination's rule: {why}"
            if owner:  # the same on a create and an update: the map sent no owner
                return "unexpected", True, (
                    "no owner sent: the practitioner has no destination user (the owner"
                    " report lists it) and options.fallback_owner_email is not set, so the"
                    " destination gave the record its default owner")
            return "unexpected", False, "the destination holds a value the map did not send"
        if field_error and not _empty(source_value):
            if bad_value:  # never guessed, never explained: the source value needs fixing
                return "missing", False, (f"left empty: {field_error}; fix it at the source"
                                          " (in the skip file and the audit)")
            return "missing", True, f"left empty by the map: {field_error} (in the skip file)"
        return "equal", True, ""
    if _empty(stored):
        if dest_error:
            return "missing", True, (f"left empty by the destination: {dest_error}"
                                     " (in the skip file)")
        return "missing", False, "sent but not stored by the destination"
    if dest_error and not same(sent, stored):  # refused, and the record keeps the default
        return "missing", True, (f"left out by the destination: {dest_error} (in the skip"
                                 " file); it holds its own default")
    steps = [t for t in trace if t not in ("truncated",)]
    bad = [t for t in trace if t in UNEXPLAINED_FLAGS]
    if bad and same(sent, stored):
        return "missing", False, f"{', '.join(bad)}: not a valid value; fix it at the source"
    if same(sent, stored):
        if "truncated" in trace:
            return "truncated", True, "cut by the map's truncate transform"
        if same(source_value, stored):
            return "equal", True, ""
        if steps:
            return "transformed", True, "as mapped: " + ", ".join(steps)
        return "transformed", True, "as mapped"
    if as_stored is not _UNSET and not _empty(as_stored) and same(as_stored, stored):
        return "format_changed", True, ("the same value in the destination's own form (a code"
                                        " for a name, a linked record's key)")
    cut = isinstance(sent, str) and isinstance(stored, str) and len(stored) < len(sent) \
        and sent.startswith(stored)
    why = rule(sent, stored) if rule is not None else None
    if why:
        return ("truncated" if cut else "format_changed"), True, \
            f"by the destination's rule: {why}"
    if cut:
        return "truncated", False, (f"the destination cut the value from {len(sent)} to"
                                    f" {len(stored)} characters without an error")
    if _loose(sent) == _loose(stored):
        return "format_changed", True, "same value in the destination's format"
    return "transformed", False, "the stored value differs from what the map sent"


@dataclass
class SampleDiff:
    fields: list[FieldDiff] = field(default_factory=list)
    records: int = 0
    not_found: list[str] = field(default_factory=list)  # written but not readable back
    skips: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)  # fields kept back (no BAA)

    @property
    def unexplained(self) -> list[FieldDiff]:
        return [f for f in self.fields if not f.explained]

    @property
    def unexplained_skips(self) -> list[dict[str, Any]]:
        return [s for s in self.skips if not s.get("explained", s["stage"] in EXPLAINED_SKIPS)]

    @property
    def passed(self) -> bool:
        return not self.unexplained and not self.not_found and not self.unexplained_skips

    def categories(self) -> dict[str, int]:
        c = Counter(f.category for f in self.fields)
        return {k: c.get(k, 0) for k in CATEGORIES}

    def as_dict(self, *, limit: int = 5000) -> dict[str, Any]:
        differences = [asdict(f) for f in self.fields if f.category != "equal"]
        by_map: dict[str, Counter[str]] = {}
        for f in self.fields:
            by_map.setdefault(f.map, Counter())[f.category] += 1
        return {"verdict": "pass" if self.passed else "fail", "records": self.records,
                "fields_compared": len(self.fields), "categories": self.categories(),
                "unexplained": len(self.unexplained), "by_map": [
                    {"map": m, **{k: c.get(k, 0) for k in CATEGORIES}} for m, c in by_map.items()],
                "not_found": self.not_found, "skips": self.skips, "withheld": self.withheld,
                "differences": differences[:limit],
                "unexplained_differences": [asdict(f) for f in self.unexplained][:limit]}


def phi_of(cm: CompiledMap, fm: FieldMap) -> PhiClass:
    """The PHI class that governs a field map's values (the same rule the BAA gate uses:
    the user's override, else the most sensitive source or template field; custom fields by
    their name)."""
    from ferry.phi.classify import effective

    return effective(cm.om.source, fm)


def diff_record(cm: CompiledMap, rec: Any, lookup: Lookup, stored: dict[str, Any], *,
                dest: str, show_phi: bool = False, original: Any = None,
                stored_form: Callable[[str, Any, dict[str, Any]], Any] | None = None,
                dest_errors: dict[str, str] | None = None,
                design_rule: Callable[[str, Any, Any, dict[str, Any]], str | None] | None = None,
                meaning: Callable[[str, str, dict[str, Any]], tuple[Any, str] | None]
                | None = None, dest_kept: dict[str, tuple[str, str]] | None = None
                ) -> list[FieldDiff]:
    """One record's field diffs (every mapped field, equal ones included). ``rec`` is the record
    as written (after the PHI gate); ``original`` the staged one when the gate changed it.
    ``stored_form(key, sent, payload)`` is the destination's ``Destination.stored_form`` for
    the map's target; ``dest_errors`` {physical key: reason} the fields the destination left
    empty while writing this record (its ``load-field`` skip lines); ``design_rule(key, sent,
    stored, stored row)`` the destination's ``Destination.design_rule`` for the map's target;
    ``meaning(key, kind, stored row)`` its ``Destination.stored_meaning``: a date, date-time or
    amount whose stored meaning is not the source's is unexplained (``meaning_note``).
    ``dest_kept`` {physical key: (reason, field)}: the fields the destination kept as written in
    another ``field`` of the record (its ``load-kept`` skip lines), which ``stored`` holds."""
    built = cm.build(rec, lookup)
    original = original if original is not None else rec
    ref = f"source:{cm.om.source}:{rec.source_id}"
    errors = {e.field: e.reason for e in built.field_errors}
    out: list[FieldDiff] = []
    if cm.id_key:
        sent = built.payload.get(cm.id_key)
        cat, ok, note = classify(rec.source_id, sent, stored.get(cm.id_key), [])
        out.append(FieldDiff(ref, cm.om.name, dest, cm.om.id_field or cm.id_key, cm.id_key,
                             cat, ok, rec.source_id, sent, stored.get(cm.id_key), note))
    seen = {cm.id_key}
    for f in cm.fields:
        if f.key in seen:
            continue
        seen.add(f.key)
        fm = f.fm
        names = [] if fm.source is None else fm.source if isinstance(fm.source, list) \
            else [fm.source]
        values = [get_value(original, n) for n in names]
        src = values if isinstance(fm.source, list) else (values[0] if values else None)
        trace = list(built.trace.get(f.key, []))
        if any(get_value(rec, n) != v for n, v in zip(names, values, strict=True)):
            trace.insert(0, "PHI review (redacted or withheld)")
        sent, got = built.payload.get(f.key), stored.get(f.key)
        as_stored = _UNSET if stored_form is None or _empty(sent) else \
            stored_form(f.key, sent, built.payload)
        rule = None if design_rule is None else \
            (lambda a, b, k=f.key: design_rule(k, a, b, stored))  # type: ignore[misc]
        bad = f.label in built.unexplained or any(t in UNEXPLAINED_FLAGS for t in trace)
        accepted = bad and fm.on_invalid == "leave_out"
        if accepted:  # the person who confirmed the map chose to leave invalid values out
            trace = [f"{t} (on_invalid: leave_out)" if t in UNEXPLAINED_FLAGS else t
                     for t in trace]
        cat, ok, note = classify(src, sent, got, trace, field_error=errors.get(f.label),
                                 dest_error=(dest_errors or {}).get(f.key), as_stored=as_stored,
                                 rule=rule, bad_value=f.label in built.unexplained
                                 and not accepted,
                                 owner=any(t.name == "owner" for t in fm.transform))
        if accepted and ok:
            note = f"{note}; left out by the confirmed rule on_invalid: leave_out (in the audit)"
        if (kept := (dest_kept or {}).get(f.key)) and not _empty(sent) and _empty(got):
            cat, ok, note = _kept(sent, stored, *kept)
        kind = None if meaning is None or not ok or _empty(sent) or _empty(got) or \
            trace[:1] == ["PHI review (redacted or withheld)"] else meaning_kind(type(rec), fm)
        if kind is not None:
            why = meaning_note(kind, src, meaning(f.key, kind, stored),
                               getattr(original, "currency", None) if kind == "money" else None)
            if why:
                steps = [t for t in trace if t != "truncated"]
                cat, ok, note = "transformed", False, why + (
                    f"; the map's {', '.join(steps)} explains a change of form, not of meaning"
                    if steps else "")
        phi = phi_of(cm, fm)
        # Destination ids and constants are not PHI; what came from a PHI field is.
        out.append(FieldDiff(ref, cm.om.name, dest, f.label, f.key, cat, ok,
                             mask(src, phi, show_phi=show_phi),
                             mask(sent, phi, show_phi=show_phi),
                             mask(got, phi, show_phi=show_phi), note))
    return out


def _kept(sent: Any, stored: dict[str, Any], reason: str, holder: str) -> tuple[str, bool, str]:
    """(category, explained, note) of a field the destination said it kept as written in
    ``holder``: ``kept_as_text`` when the holder, read back, holds the sent text."""
    def words(v: Any) -> str:
        text = v if isinstance(v, str) else "" if v is None else str(v)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).casefold().split())

    if words(sent) and words(sent) in words(stored.get(holder)):
        return "kept_as_text", True, (f"not taken by the destination: {reason}; read back"
                                      f" there ({holder}), in the skip file")
    return "missing", False, (f"left empty by the destination, which said: {reason}; but"
                              f" {holder} read back does not hold it")


def run_sample(project: Any, size: int, **kwargs: Any) -> tuple[Any, SampleDiff, dict[str, int]]:
    """``ferry sample`` as a function; see ``ferry.engine.readback.run_sample`` (kept here for
    callers that import it from ``diff``)."""
    from ferry.engine.readback import run_sample as _run

    return _run(project, size, **kwargs)
