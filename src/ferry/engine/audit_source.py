"""``ferry audit``: the source data dictionary and its data-quality findings.

Read from the staging store after ``extract`` (so the audit sees exactly what the load will see)
plus the source's ``describe()`` (API names, custom fields, counts) and, when a destination is
configured, its ``describe()`` for field lengths. One streaming pass per object: fill rates,
distinct values of small enumerations, masked examples, value lengths and the value checks; memory
is bounded by the number of fields, not records.

Findings name records by reference (``source:patient:123``) and never quote PHI.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ferry.connectors.base import ObjectInfo
from ferry.engine import dedup
from ferry.engine.masking import mask, plain
from ferry.mapping.compile import resolve_target
from ferry.mapping.model import MappingDoc
from ferry.mapping.phones import (
    practice_region,
    read_phone,
    record_plan,
    staged_clinic_countries,
)
from ferry.model.entities import ENTITIES, Record
from ferry.model.fields import Kind, PhiClass, fields_of
from ferry.model.staging import StagingStore
from ferry.phi.classify import classify_name

ENUM_LIMIT = 12  # a field with at most this many distinct values is shown as an enumeration
TRACK_LIMIT = 50  # distinct values tracked per field before giving up on it
REF_SAMPLE = 20  # record references listed per finding (the count is always complete)
ENUM_KINDS = (Kind.ENUM, Kind.BOOL, Kind.SET)


@dataclass
class _FieldAcc:
    name: str
    kind: Kind
    phi: PhiClass
    label: str
    custom: bool = False
    filled: int = 0
    max_len: int = 0
    values: Counter[str] = field(default_factory=Counter)
    many: bool = False
    examples: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> None:
        if value in (None, "", [], {}):
            return
        self.filled += 1
        text = value if isinstance(value, str) else str(plain(value))
        self.max_len = max(self.max_len, len(text))
        items = value if isinstance(value, list) else [value]
        for item in items:
            key = str(plain(item))
            if key not in self.values and len(self.values) >= TRACK_LIMIT:
                self.many = True
                continue
            self.values[key] += 1
        if len(self.examples) < 3 and value not in self.examples:
            self.examples.append(value)

    def as_dict(self, total: int, show_phi: bool) -> dict[str, Any]:
        # A custom field is classed by its name (``ferry.phi.classify``); when the name says
        # nothing, its class is unknown and its values are masked as if clinical.
        unknown = self.custom and self.phi == PhiClass.NONE
        phi = PhiClass.CLINICAL if unknown else self.phi
        distinct = None if self.many else len(self.values)
        enum = None
        repeats = self.filled >= 2 * len(self.values)  # values recur: an enumeration, not ids
        if not self.many and 0 < len(self.values) <= ENUM_LIMIT and (
                self.kind in ENUM_KINDS or (phi == PhiClass.NONE and repeats
                                            and self.kind in (Kind.TEXT, Kind.INT))):
            enum = dict(self.values.most_common())
        return {"field": self.name, "label": self.label, "kind": self.kind.value,
                "phi": "unknown (custom field)" if unknown else self.phi.value,
                "custom": self.custom, "filled": self.filled,
                "fill_rate": round(self.filled / total, 4) if total else 0.0,
                "distinct": distinct if distinct is not None else f">{TRACK_LIMIT}",
                "values": enum, "max_length": self.max_len,
                "examples": [mask(v, phi, show_phi=show_phi) for v in self.examples]}


@dataclass
class Finding:
    """One data-quality finding: a check, how many records fail it, and which (by reference)."""

    object: str
    field: str | None
    check: str
    detail: str
    count: int = 0
    refs: list[str] = field(default_factory=list)

    def hit(self, ref: str) -> None:
        self.count += 1
        if len(self.refs) < REF_SAMPLE:
            self.refs.append(ref)


class _Findings:
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str | None, str], Finding] = {}

    def hit(self, obj: str, fld: str | None, check: str, detail: str, ref: str) -> None:
        key = (obj, fld, check)
        if key not in self.by_key:
            self.by_key[key] = Finding(obj, fld, check, detail)
        self.by_key[key].hit(ref)

    def rows(self) -> list[dict[str, Any]]:
        return [f.__dict__ for f in self.by_key.values()]


def _email_ok(value: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _check_values(rec: Record, obj: str, findings: _Findings, region: str | None,
                  clinics: dict[str, str], today: dt.date, infer: bool = True) -> None:
    ref = f"source:{obj}:{rec.source_id}"
    plan = record_plan(rec, clinics, infer=infer)  # the record's address (or clinic's) decides
    country = plan.country
    for f in fields_of(type(rec)):
        v = getattr(rec, f.name)
        if v in (None, "", []):
            continue
        if f.kind == Kind.EMAIL and isinstance(v, str) and not _email_ok(v):
            findings.hit(obj, f.name, "invalid_email", "not a valid email address", ref)
        elif f.kind == Kind.PHONE and isinstance(v, str) and plan.conflict:
            findings.hit(obj, f.name, "phone_country_conflict", "not read: the state and"
                         " postcode of the record's address name different countries; the map"
                         " leaves it empty (set the record's country, or options.phone_region)",
                         ref)
        elif f.kind == Kind.PHONE and isinstance(v, str) and \
                read_phone(v, country=country, practice=region).e164 is None:
            findings.hit(obj, f.name, "invalid_phone", "not a valid phone number in the"
                         " numbering plan of the record's address country, else its clinic's, else the"
                         " practice's"
                         f" ({region or 'none known'}); the map leaves it empty", ref)
        elif f.kind == Kind.DATE and isinstance(v, dt.date):
            if v > today:
                if f.name == "date_of_birth":
                    findings.hit(obj, f.name, "invalid_date", "date of birth in the future", ref)
            elif v.year < 1900:
                findings.hit(obj, f.name, "invalid_date", "date before 1900", ref)
    said = getattr(rec, "country", None)
    if isinstance(said, str) and said.strip():
        from ferry.model.countries import read_country

        got = read_country(said, getattr(rec, "region", None), getattr(rec, "postcode", None))
        if got.ambiguous:
            findings.hit(obj, "country", "ambiguous_country", "not read as a country: the"
                         " name is also a state or province of another country, and the"
                         " record's state and postcode do not confirm it; written as"
                         " exported (Odoo resolves it by its name alone): set the record's"
                         " country as a code", ref)
        elif got.code is None:
            findings.hit(obj, "country", "unknown_country", "not read as a country in any"
                         " language ISO 3166 names it in (nor as a code or a common variant);"
                         " written as exported: a destination that keeps countries as records"
                         " (Odoo) leaves the field empty", ref)
    if obj == "patient" and (getattr(rec, "deceased_date", None) is not None
                             or str(getattr(rec, "status", "") or "").lower() == "deceased"):
        # no rule of the brief or the seeds turns a consent off: the flag is carried as
        # exported, and a person decides before a campaign of the CRM reaches the record
        for name in ("consent_email", "consent_sms"):
            if getattr(rec, name, None) is True:
                findings.hit(obj, name, "deceased_consent", "consent still given on a patient"
                             " recorded as deceased (status or date of death): migrated as"
                             " exported; turn it off at the source or in the CRM before any"
                             " campaign", ref)
    start, end = getattr(rec, "start", None), getattr(rec, "end", None)
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end < start:
        findings.hit(obj, "end", "invalid_date", "ends before it starts", ref)
    for key, cv in rec.custom.items():
        if cv.type in ("date", "datetime") and isinstance(cv.value, str):
            try:
                dt.date.fromisoformat(cv.value[:10])
            except ValueError:
                findings.hit(obj, f"custom.{key}", "invalid_date", "custom date field holds"
                             " text that is not a date", ref)


def _refs_of(obj: str) -> list[tuple[str, str]]:
    return [(f.name, f.ref) for f in fields_of(ENTITIES[obj]) if f.kind == Kind.REF and f.ref]


def _ids(store: StagingStore, obj: str, cache: dict[str, set[str]]) -> set[str]:
    if obj not in cache:
        cache[obj] = {r[0] for r in store.conn.execute(
            "SELECT source_id FROM records WHERE object=? AND deleted=0", (obj,))}
    return cache[obj]


def _overlong_limits(doc: MappingDoc | None, dest_info: list[ObjectInfo] | None
                     ) -> dict[str, list[tuple[str, str, int]]]:
    """source object → [(source field, destination field label, max length)]."""
    out: dict[str, list[tuple[str, str, int]]] = {}
    if doc is None or not dest_info:
        return out
    infos = {o.name: o for o in dest_info}
    for om in doc.objects:
        info = infos.get(om.target)
        if om.mode not in ("record", "fold") or info is None:
            continue
        for fm in om.fields:
            if fm.status != "mapped" or not isinstance(fm.source, str) or any(
                    t.name == "truncate" for t in fm.transform):
                continue  # a confirmed truncate explains the cut
            key = resolve_target(doc, om.target, fm.target, need_key=False)
            spec = info.field(key) or info.field(fm.target.removeprefix("custom:"))
            if spec is not None and spec.max_length:
                out.setdefault(om.source, []).append((fm.source, f"{om.target}.{spec.label}",
                                                      spec.max_length))
    return out


def audit(store: StagingStore, *, source_info: list[ObjectInfo] | None = None,
          dest_info: list[ObjectInfo] | None = None, doc: MappingDoc | None = None,
          region: str | None = None, show_phi: bool = False, today: dt.date | None = None,
          infer: bool = True) -> dict[str, Any]:
    """The data dictionary (objects → fields) and findings, as report data. ``region``: the
    practice's country when known (``options.phone_region``), else detected from the data.
    ``infer``: a record with no address country has the one its state and postcode name
    (``ferry.mapping.phones.record_plan``; off when the practice's country is configured)."""
    today = today or dt.datetime.now(dt.UTC).date()
    region = region or practice_region(store)
    clinics = staged_clinic_countries(store, infer=infer)
    findings = _Findings()
    described = {o.name: o for o in source_info or []}
    limits = _overlong_limits(doc, dest_info)
    id_cache: dict[str, set[str]] = {}
    objects: list[dict[str, Any]] = []
    counts = store.counts()
    for obj in [o for o in ENTITIES if o in counts or o in described]:
        model = ENTITIES[obj]
        accs = {f.name: _FieldAcc(f.name, f.kind, f.phi, f.label) for f in fields_of(model)}
        info = described.get(obj)
        total = 0
        refs = _refs_of(obj)
        for rec in store.iter_records(obj):
            total += 1
            for name, acc in accs.items():
                if not acc.custom:
                    acc.add(getattr(rec, name))
            for key, cv in rec.custom.items():
                name = f"custom.{key}"
                if name not in accs:
                    accs[name] = _FieldAcc(name, Kind(cv.type),
                                           classify_name(f"{key} {cv.label or ''}"),
                                           cv.label or key, custom=True)
                accs[name].add(cv.value)
            _check_values(rec, obj, findings, region, clinics, today, infer)
            ref = f"source:{obj}:{rec.source_id}"
            for fname, target in refs:
                pid = getattr(rec, fname)
                if not pid or str(pid) in _ids(store, target, id_cache):
                    continue
                if counts.get(target):
                    findings.hit(obj, fname, "orphan", f"refers to a {target} that is not in"
                                 " the source", ref)
                else:  # one cause for every such reference, not one orphan each
                    findings.hit(obj, fname, "not_exported", f"refers to {target} records, and"
                                 f" none were extracted (is the export's {target} file missing?)",
                                 ref)
            for src_field, label, n in limits.get(obj, []):
                v = getattr(rec, src_field, None) if not src_field.startswith("custom.") else (
                    rec.custom.get(src_field[7:]).value if src_field[7:] in rec.custom else None)
                if isinstance(v, str) and len(v) > n:
                    findings.hit(obj, src_field, "too_long", f"longer than {label} allows"
                                 f" ({n} characters)", ref)
        if info is not None:  # API field names and PHI classes of custom fields, per describe()
            for spec in info.fields:
                acc = accs.get(spec.name)
                if acc is not None and spec.custom and spec.phi != PhiClass.NONE:
                    acc.phi = spec.phi
        objects.append({
            "object": obj, "count": total, "count_at_source": info.count if info else None,
            "fields": [a.as_dict(total, show_phi) for a in accs.values()]})
    dups: dict[str, Any] = {}
    if counts.get("patient"):
        res = dedup.analyse(store)
        dups = {"groups": res.groups, "would_merge": res.merged, "probable": res.probable,
                "merges": dedup.merges(store)[:200],
                "probable_duplicates": list(dedup.probable_duplicates(store))[:200]}
        if res.merged:
            findings.by_key[("patient", "email", "duplicate")] = Finding(
                "patient", "email", "duplicate", "patients sharing an email (merged on load)",
                res.merged, [m["merged"] for m in dups["merges"][:REF_SAMPLE]])
        if res.probable:
            findings.by_key[("patient", None, "probable_duplicate")] = Finding(
                "patient", None, "probable_duplicate", "same name, date of birth and phone with"
                " different emails (review; never merged automatically)", res.probable,
                [p["patients"][0] for p in dups["probable_duplicates"][:REF_SAMPLE]])
    unreachable = [{"object": o.name, "note": o.note} for o in source_info or []
                   if not o.reachable]
    for u in unreachable:  # listed with the findings, so every report of them says so
        findings.by_key[(u["object"], None, "not_reachable")] = Finding(
            u["object"], None, "not_reachable", "not reachable by the source's API: "
            + (u["note"] or "bring these records another way"))
    extract_errors = [{"ref": s.ref, "field": s.field, "reason": s.reason}
                      for s in store.skips() if s.stage.startswith("extract")]
    return {"totals": {"objects": len(objects), "records": sum(o["count"] for o in objects),
                       "findings": sum(f.count for f in findings.by_key.values())},
            "phone_region": region, "findings": findings.rows(), "duplicates": dups,
            "unreachable": unreachable,
            "extract_errors": extract_errors[:2000], "objects": objects}
