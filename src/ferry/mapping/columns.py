"""The one proposer for the columns of a CSV / XLSX export (Pulse, the generic clinic export).

File sources sit below ``ferry.mapping``; their exact synonym matcher is evidence here, not a
decision. ``ferry map`` asks the source for each file's header, a few sample cells and what its
matcher made of each column (``raw_columns()``), and places every column on one scale: an exact
name match (strength by how it matched, then checked against the values and against the
proposer's own vocabulary) or the proposer's guess (name + value profile + optional MiniLM
meaning); each field goes to one column, the strongest claim. Every column then has one of
four outcomes, each with a confidence and a reason: a standard field (at ``ACCEPT`` or
above), review (a guess below it: kept whole in the custom bag until a person decides), a
custom field (no field fits), or not migrated (an internal id, a geocode, an audit column).
All of it is written to ``ferry.yaml`` ``source.columns``, the key every file source reads
first, so nothing is placed that was not given a confidence; the user's own entries there are
never overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from ferry.connectors.base import Source
from ferry.mapping.embed import Embedder, load_embedder
from ferry.mapping.not_migrated import why_not_migrated
from ferry.mapping.profile import field_fit, kind_fit, sniff
from ferry.mapping.propose import (
    ACCEPT,
    REVIEW,
    Candidate,
    canonical_targets,
    joint,
    prefetch,
    rank,
)
from ferry.mapping.vocab import LINK_SUFFIXES, OBJECT_WORDS, entity_words, normalise, split_words
from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, fields_of
from ferry.sources.clinic_csv.columns import SKIP, TIME_OF
from ferry.sources.clinic_csv.reader import RawColumn

# a source pseudo-field fills these canonical fields, so they are not free for the proposer
PSEUDO_FILLS = {"_full_name": ("first_name", "last_name"), "_ec_name": ("emergency_contact",),
                "_ec_phone": ("emergency_contact",), "_ec_relationship": ("emergency_contact",)}
# (column, samples, what the source's matcher made of it) — ``RawColumn`` of the sources
RawColumns = Mapping[str, Sequence[tuple[str, Sequence[str], str | None]]]


@dataclass(frozen=True)
class ColumnProposal:
    object: str
    column: str
    target: str | None  # canonical field (proposed), best candidate (review), or None
    confidence: float
    reason: str
    # proposed: a standard field (applied) | review: kept whole in the custom bag until a
    # person decides (best guess in ``target``) | custom: no field fits, a custom field keeps it
    # | not_migrated: left out with its reason (an internal id, a geocode, an audit column)
    status: str
    file: str = ""  # the file the column is in ("" when the source has no files: REST)


def clean_header(header: str) -> str:
    """Dotted abbreviations read as one word (``D.O.B.`` → ``DOB``, ``Pt. D.O.B`` →
    ``Pt. DOB``), so the proposer's vocabulary sees the abbreviation it knows."""
    return re.sub(r"\b(?:[A-Za-z]\.\s?){1,}[A-Za-z]\b\.?",
                  lambda m: re.sub(r"[.\s]", "", m.group(0)), header).strip()


def supports_columns(source_module: Any) -> bool:
    """True when the source kind's Settings take a ``columns`` map (file sources)."""
    settings = getattr(source_module, "Settings", None)
    return settings is not None and "columns" in getattr(settings, "model_fields", {})


#: fields that hold words a person reads, never a number: an appointment type's name (an
#: integer in that column is a code for the type), a clinic's or a campaign's name
WORDS_ONLY = frozenset({"type_name", "name"})
#: how sure an exact name match of the source's matcher is, before the values are looked at
STRENGTH = {"own name": 0.97, "synonym": 0.93, "the file's key": 0.92, "join key": 0.9,
            "flattened key": 0.9, "last segment of a flattened key": 0.85}
#: the values overrule the name (a ``status`` column of marital words, an ``address`` column
#: of street lines, a drug column of RxNorm codes): the values' pattern is specific
VALUES_ONLY = 0.86
#: two columns this close for one field: neither is applied, a person decides
MARGIN = 0.03


def _strength(how: str) -> float:
    """A match by the name as written is strongest; each reading it needed (the file's name
    cut off, a qualifier dropped, a date-time read as a date) costs a little."""
    if how.startswith("synonym"):
        return STRENGTH["synonym"]
    if how.startswith("values"):
        return VALUES_ONLY
    if how in STRENGTH:
        return STRENGTH[how]
    return max(0.7, 0.9 - 0.05 * how.count(","))


def _fields(obj: str) -> dict[str, Any]:
    return {f.name: f for f in fields_of(ENTITIES[obj])}


def _kind_of(obj: str, target: str) -> Kind:
    info = _fields(obj)
    return info[target].kind if target in info else Kind.TEXT


def _exact(obj: str, col: RawColumn, sniffed: dict[str, float],
           vocab: list[Candidate], held: set[str]) -> Candidate:
    """The source matcher's exact placement, scored like any other: name strength, then the
    values (a contradiction sends it to review), then the proposer's own vocabulary (when it
    names another field exactly that no other column holds, the two disagree and a person
    decides)."""
    target = str(col.matched)
    conf = _strength(col.how)
    reasons = [f"exact name match ({col.how or 'synonym'})"]
    kind = _kind_of(obj, target)
    fit, why = kind_fit(kind, sniffed)
    if fit <= -1 and kind is Kind.ADDRESS and "street" not in _fields(obj):
        fit, why = 0.0, "a street line is all the address this object has"
    if fit > -1 and not field_fit(target, sniffed):
        fit, why = -1.0, f"values do not look like {target.replace('_', ' ')}"
    if fit > -1 and target in WORDS_ONLY and sniffed.get("int", 0) >= 0.9:
        fit, why = -1.0, (f"its values are numbers: a code for the "
                          f"{target.replace('_', ' ')}, not the words of it")
    if fit < 0 and col.how.startswith("values"):
        # the source placed it by its values (a status of Active / Inactive is the flag)
        fit, why = 0.0, "placed by its values"
    if not sniffed.get("_values"):
        conf -= 0.08  # an empty column: the name is all the evidence
        reasons.append("no values to check")
    elif fit <= -1:
        conf *= 0.6
    elif fit < 0:
        conf -= 0.1
    else:
        conf += 0.03 * fit
    if why:
        reasons.append(why)
    fills = set(PSEUDO_FILLS.get(target, ())) | {target} | (
        {TIME_OF[target]} if target in TIME_OF else set())  # End as _end_time is the end's
    # the values, or the other files linking by it (a British desk's Patient No), settled it
    other = None if col.how.startswith("values") or col.how == "the file's key" else next(
        (c for c in vocab if c.reason.startswith("name matches") and c.target not in fills
         and c.target not in held and c.confidence >= 0.9), None)
    if other is not None:
        conf = min(conf, 0.75)
        reasons.append(f"the vocabulary names it {other.target}: which one is for a person")
    # exact evidence ranks above any fuzzy guess, unless the values contradict it: then the
    # name alone is no better than another column's guess for the field
    return Candidate(target, round(max(0.0, min(1.0, conf)), 3), "; ".join(reasons),
                     round(conf, 4) + (1.0 if fit > -1 else 0.0))


#: fields that hold a number a person reads (a chart or account number, an NPI): never the
#: export's own row key, which is the record's source id
NUMBER_FIELDS = frozenset({"patient_number", "mrn", "national_id", "number", "member_id",
                           "group_number", "license_number", "npi"})


def _row_key(col: RawColumn, cols: Sequence[RawColumn], winner: Mapping[str, Candidate]
             ) -> bool:
    """The column's values are unique whole numbers, the file has no other key column, and
    the column comes first or its name is all key: it is the file's own row key."""
    vals = list(col.samples)
    if len(vals) < 3 or not all(v.isdigit() for v in vals) or len(set(vals)) != len(vals):
        return False
    if any(x.matched == "source_id" for x in cols) or any(
            w.target == "source_id" for w in winner.values()):
        return False
    return cols[0] is col or bool(re.search(r"(?i)(num|no|nbr|nr|id|key|ref)$", col.column))


def _keyed(col: RawColumn) -> str | None:
    """The object whose key the column's name is (``Client Ref`` → patient, ``Staff No`` →
    practitioner, ``Site No`` → clinic), or None."""
    words = split_words(col.column)
    if len(words) != 2 or words[1] not in LINK_SUFFIXES | {"id"}:
        return None
    return entity_words().get(words[0])


def own_key(obj: str, col: RawColumn, cols: Sequence[RawColumn], taken: set[str]
            ) -> ColumnProposal | None:
    """The file's own key named as the object's reference (``Client Ref`` in the clients,
    ``Booking Ref`` in the bookings, ``Staff No`` in the staff): every sample filled and
    none repeated, and no other column is the key. Placed as ``source_id`` so delta can tell
    an edited row from a new one and the other files' links find it."""
    if _keyed(col) != obj or "source_id" in taken or col.matched not in (None, SKIP) or \
            any(x.matched == "source_id" for x in cols if x is not col):
        return None
    vals = [v.strip() for v in col.samples]
    if len(vals) < 2 or not all(vals) or len(set(vals)) != len(vals):
        return None
    return ColumnProposal(obj, col.column, "source_id", 0.9,
                          f"its name is the {obj.replace('_', ' ')}'s own reference and its "
                          "values are unique: the file's key", "proposed", col.file)


def other_records_number(obj: str, col: RawColumn) -> ColumnProposal | None:
    """A column named as another object's key that this object has no link to (``Policy No``
    on a patient: the insurance policy's number) is that record's, never a number of this
    one (patient number, licence number): a custom field keeps it."""
    other = _keyed(col)
    if other is None or other == obj or col.matched not in (None, SKIP) or \
            {f"{other}_id", f"primary_{other}_id"} & set(_fields(obj)):
        return None
    return ColumnProposal(obj, col.column, None, 0.0,
                          f"its name is a {other.replace('_', ' ')}'s number, another record's "
                          f"key that the {obj.replace('_', ' ')} has no field for: a custom "
                          "field keeps it", "custom", col.file)


def _street_only(col: RawColumn, cols: Sequence[RawColumn],
                 winner: Mapping[str, Candidate]) -> bool:
    """An address column whose values never carry the city or the postcode that sibling
    columns hold: it is the street line of an address split over several columns."""
    def holders(field: str) -> list[RawColumn]:
        return [x for x in cols if x is not col and (x.matched == field or (
            x.column in winner and winner[x.column].target == field))]
    city, post = holders("city"), holders("postcode")
    if not city or not post or not col.samples:
        return False
    parts = {v.strip().lower() for x in city + post for v in x.samples if len(v.strip()) >= 2}
    if any(p in v.lower() for v in col.samples for p in parts):
        return False
    # the samples of each column are its first non-empty cells, not one row's: a whole address
    # names other towns than the city column's samples, but it carries a postcode's shape
    shapes = {_shape(v) for x in post for v in x.samples if len(v.strip()) >= 3}
    found = re.compile("|".join(rf"(?<![A9]){re.escape(s)}(?![A9])" for s in sorted(shapes)))
    return not shapes or sum(bool(found.search(_shape(v))) for v in col.samples) * 2 < len(
        col.samples)


def _shape(value: str) -> str:
    """Letters as A, digits as 9 (``LS1 4AP`` → ``AA9 9AA``)."""
    return re.sub(r"[^\W\d_]", "A", re.sub(r"\d", "9", value.strip()))


def _lookalike(header: str, obj: str, target: str) -> tuple[str, str] | None:
    """(header word, field word) when the name only resembles the field's because one of its
    words is spelt like one of the field's words without being it (``deleted date`` is not
    ``deceased date``): the same length give or take two letters, most letters shared, but
    neither the other's stem nor its abbreviation. None when every name of the field either
    has no such pair or is matched as written."""
    h = normalise(header, obj)
    phrases = next((t.phrases for t in canonical_targets(obj) if t.name == target), ())
    if h in phrases:
        return None
    hw = set(h.split())
    known = {w for p in phrases for w in p.split()}  # words some name of the field has
    for p in phrases:
        pw = set(p.split())
        for a in hw - known:
            for b in pw - hw:
                if len(a) < 4 or len(b) < 4 or abs(len(a) - len(b)) > 2 or a in b or b in a:
                    continue
                if a.startswith(b[:4]) or b.startswith(a[:4]):  # a stem or abbreviation
                    continue
                if fuzz.ratio(a, b) >= 60:
                    return a, b
    return None


#: words a system may use for the account an export came from (not a clinic of it)
ACCOUNT_WORDS = frozenset({"practice", "organization", "organisation", "org", "account",
                           "tenant", "company"})
#: words that make a person's name the way the record is shown (a display name)
SHOWN_WORDS = frozenset({"display", "notification", "screen", "public", "short"})
#: fields a record's metadata may fill: its own id and its time stamps
RECORD_FIELDS = frozenset({"source_id", "created_at", "updated_at"})
#: words that name a kind of party a row can be (Kareo's appointment ``Type``: Patient or Other;
#: Cliniko's ``invoice_default_to``: Patient or Contact): values made of them say what a row
#: is or whom it concerns, not a field's value
KIND_WORDS = frozenset(OBJECT_WORDS["patient"] | OBJECT_WORDS["practitioner"]
                       | {"patient", "practitioner", "contact", "provider", "doctor", "other"})


#: what a person may do in the system (Microsoft Bookings' administrator / scheduler / viewer /
#: guest, a team member; an owner, an editor): an account's permission, not a clinical role
PERMISSION_WORDS = frozenset({"admin", "administrator", "owner", "scheduler", "viewer", "guest",
                              "editor", "member", "team member", "read only", "user",
                              "super user", "superuser", "standard user", "full access",
                              "limited access", "super admin", "manager", "staff",
                              "staff member"})


def _permissions(samples: Sequence[str]) -> bool:
    vals = [" ".join(split_words(v)) for v in samples if v and v.strip()]
    return len(vals) >= 2 and sum(v in PERMISSION_WORDS for v in vals) / len(vals) >= 0.8


def _record_kind(samples: Sequence[str]) -> bool:
    vals = [v.strip().lower() for v in samples if v and v.strip()]
    return len(vals) >= 3 and sum(v in KIND_WORDS for v in vals) / len(vals) >= 0.9


#: how a visit is held rather than where (Acuity's and booking systems' ``location``: Video call,
#: Phone, an address typed in): never a clinic's reference
MEETING_WORDS = frozenset({"video", "video call", "phone", "phone call", "telephone", "call",
                           "telehealth", "telemedicine", "virtual", "online", "zoom",
                           "google meet", "teams", "in person", "home visit", "skype"})
#: a street line within a longer text (``Suite 210, 40 Main St``)
ADDRESS_TEXT = re.compile(r"\d+[A-Za-z]?\s+[A-Za-z]+.*,|,.*\d+[A-Za-z]?\s+[A-Za-z]+")


def _not_a_place(samples: Sequence[str]) -> bool:
    """The values say how a visit is held or give an address as text: a place written out,
    not a reference to a clinic record."""
    vals = [" ".join(split_words(v)) for v in samples if v and v.strip()]
    return len(vals) >= 2 and sum(v in MEETING_WORDS or bool(ADDRESS_TEXT.search(raw))
                                  for v, raw in zip(vals, [v for v in samples if v and v.strip()],
                                                    strict=True)) / len(vals) >= 0.5


def _other_owner(obj: str, header: str, target: str) -> str | None:
    """The object a resembled reference's header names besides the referenced one
    (``ClientServiceId`` on an appointment: the client's service, not the visit's type): the
    column points at something of that object's, not at what the field references."""
    ref = _fields(obj)[target].ref
    h = normalise(header, obj).split()
    phrases = next((t.phrases for t in canonical_targets(obj) if t.name == target), ())
    entity = entity_words()
    for p in phrases:
        pw = p.split()
        extra = [w for w in h if w not in pw]
        if len(extra) == len(h) - len(pw) and extra and all(w in h for w in pw):
            owners = {entity[w] for w in extra if w in entity} - {obj, ref}
            if owners:
                return sorted(owners)[0]
    return None


#: the parts of the emergency contact a column can hold, by the word that names the part
CONTACT_PARTS = {"relation": "_ec_relationship", "relationship": "_ec_relationship",
                 "phone": "_ec_phone", "mobile": "_ec_phone", "number": "_ec_phone",
                 "name": "_ec_name"}


def contact_part(obj: str, col: RawColumn, best: Candidate, cols: Sequence[RawColumn],
                 taken: set[str]) -> Candidate | None:
    """A column named for the emergency contact and one more word that names a part of it
    (``Emergency Contact Relation``): that part (``_ec_relationship``), which the source
    assembles into the contact, when no other column holds it. None otherwise."""
    if best.target != "emergency_contact":
        return None
    words = normalise(col.column, obj).split()
    phrases = next((t.phrases for t in canonical_targets(obj) if t.name == best.target), ())
    for p in phrases:
        n = len(p.split())
        if len(words) == n + 1 and " ".join(words[:n]) == p and words[n] in CONTACT_PARTS:
            part = CONTACT_PARTS[words[n]]
            if part in taken or any(x.matched == part for x in cols if x is not col):
                return None
            return Candidate(part, best.confidence, f"{best.reason}; {words[n]!r} names its "
                             f"{part[4:]} part", best.raw)
    return None


def contradiction(obj: str, col: RawColumn, target: str, cols: Sequence[RawColumn],
                  winner: Mapping[str, Candidate]) -> tuple[str, str] | None:
    """(field review should suggest, why) when the column's values or its siblings contradict
    the field its name reads as; None when the evidence agrees."""
    best = winner.get(col.column)
    kind = _kind_of(obj, target)
    if best is not None and best.reason.startswith("name resembles") and (
            pair := _lookalike(col.column, obj, target)) is not None:
        return target, (f"{pair[0]!r} is only spelt like {pair[1]!r}: the name resembles the "
                        "field's without naming it")
    words = split_words(col.column)
    if words and words[0] in ("meta", "metadata") and target not in RECORD_FIELDS:
        return target, ("its name says it is the record's metadata (where or how the source "
                        "system wrote it), not a field of the record")
    if kind is Kind.JSON and not any(
            {w.rstrip("s") for w in normalise(col.column, obj).split()}
            <= {w.rstrip("s") for w in p.split()}
            for p in next((t.phrases for t in canonical_targets(obj) if t.name == target), ())):
        return target, (f"the {target.replace('_', ' ')} is several values together: a column "
                        "named for more than it holds one part of it")
    vals = [v.strip() for v in col.samples if v and v.strip()]
    if target == "clinic_id" and not ACCOUNT_WORDS.isdisjoint(words) and len(vals) >= 3 and \
            len(set(vals)) == 1:
        # practice-management systems call the account a practice or an organisation
        # (athenaOne's practiceid, Kareo's PracticeID, an organization_id): one value in every
        # row is as likely the account as the clinic
        return target, ("every row names the same practice or organisation: it may be the "
                        "account the export came from rather than each record's clinic")
    if kind is Kind.REF and words and words[-1] == "ids" and any(
            re.search(r"[,;|]", v) or v.startswith("[") for v in vals):
        return target, ("its values list several ids in one cell: a reference holds one "
                        "record's")
    if kind is Kind.REF and best is not None and best.reason.startswith("name resembles") and (
            owner := _other_owner(obj, col.column, target)) is not None:
        return target, (f"its name also names a {owner.replace('_', ' ')}: it may point at "
                        f"something of the {owner.replace('_', ' ')}'s, not at the "
                        f"{target.replace('_id', '').replace('_', ' ')}")
    if target == "clinic_id" and _not_a_place(col.samples):
        return target, ("its values say how the visit is held (video call, phone) or give an "
                        "address as text: a place written out, not a clinic's reference")
    if target == "role" and _permissions(col.samples):
        return target, ("its values are what a person may do in the system (administrator, "
                        "viewer, …): an account's permission, not a clinical role")
    if kind is Kind.ENUM and _record_kind(col.samples):
        return target, ("its values name kinds of record (patient, contact, …): they say what "
                        "each row is, not its " + target.replace("_", " "))
    if target == "_full_name" and not SHOWN_WORDS.isdisjoint(words) and all(
            _held(f, col, cols, winner) for f in ("first_name", "last_name")):
        # a display or notification name beside the first and last names (``display_name``
        # 'Kim B.'): how the record is shown, not the name it is split from (a plain ``name``
        # beside them is the whole name)
        return target, ("the first and last names have columns of their own: a display "
                        "name beside them is how the record is shown")
    if target in NUMBER_FIELDS and _row_key(col, cols, winner):
        return target, ("its values are unique whole numbers and the file has no other key: "
                        "it looks like the record's own id, not a number a person reads")
    # (an object without a street field keeps its street line as its address)
    if _kind_of(obj, target) is Kind.ADDRESS and "street" in _fields(obj) and \
            _street_only(col, cols, winner):
        street = "street" if not any(
            w.target == "street" for k, w in winner.items() if k != col.column) else target
        return street, ("its values never carry the city or postcode that other columns "
                        "hold: it looks like the street line")
    return None


def _held(field: str, col: RawColumn, cols: Sequence[RawColumn],
          winner: Mapping[str, Candidate]) -> bool:
    """Another column of the file holds ``field`` (by the source's match or the proposer's)."""
    return any(x is not col and (x.matched == field or (
        x.column in winner and winner[x.column].target == field)) for x in cols)


def _group(raw: RawColumns) -> dict[tuple[str, str], list[Any]]:
    """(object, file) → its columns; a file's columns are placed together."""
    out: dict[tuple[str, str], list[Any]] = {}
    for obj in sorted(raw):
        for c in raw[obj]:
            col = c if isinstance(c, RawColumn) else RawColumn(*c)
            out.setdefault((obj, col.file), []).append(col)
    return out


def propose_export_columns(raw: RawColumns, given: Mapping[str, Mapping[str, str | None]],
                           *, embedder: Embedder | None = None,
                           threshold: float = ACCEPT) -> list[ColumnProposal]:
    """One proposal per column the user (``given``, keyed by object or file) has not placed:
    the source's exact matches and the proposer's guesses scored on one scale, each field
    given to one column (the strongest claim; two claims within ``MARGIN``: review), and
    the rest custom or not migrated. Deterministic: same headers and samples, same answer."""
    emb = embedder if embedder is not None else load_embedder()
    out: list[ColumnProposal] = []
    keys = export_keys(raw)
    for (obj, file), cols in _group(raw).items():
        if obj not in ENTITIES:
            continue
        mine = {**given.get(obj, {}), **(given.get(file, {}) if file else {})}
        taken = {f for f in mine.values() if f}
        taken |= {f for p in list(taken) for f in PSEUDO_FILLS.get(p, ())}
        open_cols = [c for c in cols if c.column not in mine]
        if open_cols:
            out += _place_file(obj, file, open_cols, taken, emb, threshold, keys)
    return out


#: sample cells ``ferry map`` reads per column (``propose_for_source``): a key column with fewer
#: is every key its file has
SAMPLES = 20
#: {object: keys} of objects whose files' keys were all read (``export_keys``)
COMPLETE = "_complete"


def export_keys(raw: RawColumns) -> dict[str, set[str]]:
    """{object: the sample values of its files' key columns}: what a link to it may hold.
    An object whose key columns each gave fewer than ``SAMPLES`` cells had all its keys read:
    it is also listed under ``COMPLETE`` (as ``{object}``)."""
    out: dict[str, set[str]] = {}
    short: dict[str, bool] = {}
    for obj, cols in raw.items():
        for c in cols:
            col = c if isinstance(c, RawColumn) else RawColumn(*c)
            if col.matched == "source_id":
                out.setdefault(obj, set()).update(v.strip() for v in col.samples if v.strip())
                short[obj] = short.get(obj, True) and 0 < len(col.samples) < SAMPLES
    out[COMPLETE] = {obj for obj, ok in short.items() if ok}
    return out


def _form(value: str) -> str:
    """Letters and digits as x, the rest kept: how long an id is and where its dashes are
    (a UUID's form whatever its hex digits)."""
    return re.sub(r"[A-Za-z0-9]", "x", value)


def dangling(obj: str, col: RawColumn, target: str, keys: Mapping[str, set[str]]
             ) -> str | None:
    """Why a link is in doubt: every key of the file it would point at was read, and none of
    the column's values is one of them or has their form (Mindbody's ``ProviderId``, ten
    digits, beside a staff file keyed by nine: a provider number, not a staff member). None
    when the values agree or cannot tell."""
    info = _fields(obj).get(target)
    ref = info.ref if info is not None and info.kind is Kind.REF else None
    if ref is None or ref == obj or ref not in keys.get(COMPLETE, set()):
        return None
    known = {k.lower() for k in keys.get(ref, set())}
    vals = {v.strip().lower() for v in col.samples if v.strip()}
    if len(vals) < 2 or not known or vals & known or {_form(v) for v in vals} & {
            _form(k) for k in known}:
        return None  # one is a key, or they are written as its keys are (made-up values)
    return (f"none of its values is the key of a {ref.replace('_', ' ')} in the export's "
            f"{ref.replace('_', ' ')} file (every key of it was read) nor written as they are: "
            "it may point elsewhere")


def linked_claims(obj: str, cands: dict[str, list[Candidate]], cols: Sequence[RawColumn],
                  keys: Mapping[str, set[str]]) -> None:
    """Two columns read as the same link (Mindbody's ``StaffId`` and ``ProviderId``, both a
    practitioner's id by name): when the export has the linked object's file and one column's
    values are its keys while the other's are none of them, the one whose values are keys
    holds the link (in place). Names alone do not decide between two names of one field."""
    by_col = {c.column: c for c in cols}
    for f in fields_of(ENTITIES[obj]):
        known = keys.get(f.ref or "") if f.kind is Kind.REF else None
        if not known:
            continue
        claims = [col for col, cs in cands.items() if any(x.target == f.name for x in cs)]
        if len(claims) < 2:
            continue
        share = {}
        for col in claims:
            vals = [v.strip() for v in by_col[col].samples if v.strip()]
            share[col] = sum(v in known for v in vals) / len(vals) if vals else -1.0
        inside = [col for col in claims if share[col] >= 0.5]
        outside = [col for col in claims if share[col] == 0.0]
        if not inside or not outside:
            continue
        what = f.ref.replace("_", " ") if f.ref else ""
        for col in outside:
            cands[col] = [x for x in cands[col] if x.target != f.name]
        for col in inside:
            cands[col] = sorted((Candidate(
                x.target, round(min(1.0, x.confidence + 0.1), 3),
                f"{x.reason}; its values are keys of the {what} file, those of "
                f"{', '.join(repr(o) for o in outside)} are none of them", x.raw + 0.1)
                if x.target == f.name else x for x in cands[col]), key=lambda x: -x.raw)


def _place_file(obj: str, file: str, cols: list[RawColumn], taken: set[str],
                emb: Embedder | None, threshold: float,
                keys: Mapping[str, set[str]] | None = None) -> list[ColumnProposal]:
    fixed: list[ColumnProposal] = []
    for c in list(cols):
        got = own_key(obj, c, cols, taken) or other_records_number(obj, c)
        if got is not None:
            fixed.append(got)
            taken = taken | ({got.target} if got.target else set())
    done = {p.column for p in fixed}
    rest = [c for c in cols if c.column not in done]
    out = fixed + (_place_rest(obj, file, rest, taken, emb, threshold, keys or {}) if rest
                   else [])
    order = {c.column: i for i, c in enumerate(cols)}
    return sorted(out, key=lambda p: order[p.column])  # in file order


def _place_rest(obj: str, file: str, cols: list[RawColumn], taken: set[str],
                emb: Embedder | None, threshold: float,
                keys: Mapping[str, set[str]]) -> list[ColumnProposal]:
    all_targets = list(canonical_targets(obj))
    targets = [t for t in all_targets if t.name not in taken and t.name != "source_id"]
    cleaned: dict[str, str] = {}
    for c in cols:  # a cleaned name that collides keeps the header as it was
        cc = clean_header(c.column) or c.column
        clash = cc in cleaned.values() or (cc != c.column and cc in {x.column for x in cols})
        cleaned[c.column] = c.column if clash else cc
    prefetch(emb, cleaned.values(), all_targets, obj)
    cands: dict[str, list[Candidate]] = {}
    spoilt: set[str] = set()  # fields whose exact holder the values contradict
    for c in cols:
        sn = sniff(c.samples)
        vocab = rank(cleaned[c.column], c.samples, all_targets, obj, top=len(all_targets),
                     embedder=emb)
        free = {t.name for t in targets}
        fuzzy = [x for x in vocab if x.target in free][:5]
        if c.matched and c.matched != SKIP and c.matched not in taken:
            held = {x.matched for x in cols if x.matched and x is not c}  # other columns
            exact = _exact(obj, c, sn, vocab[:3], {str(h) for h in held} | taken)
            if "values" in exact.reason and exact.confidence < REVIEW + 0.1:
                spoilt.add(exact.target)
            cands[c.column] = [exact] + [f for f in fuzzy if f.target != exact.target]
        else:
            cands[c.column] = fuzzy
    for c in cols:  # fields a column's name also reads as, lost to another column's name
        for field, how in c.others:
            if field in (c.matched, SKIP) or field in taken or field.startswith("_"):
                continue
            alt = _exact(obj, c._replace(matched=field, how=how), sniff(c.samples), [], set())
            if field not in spoilt:  # the other column's name is better and its values fit
                alt = Candidate(field, round(alt.confidence - 0.1, 3),
                                f"{alt.reason}; another column's name fits better",
                                alt.raw - 0.1)
            else:
                alt = Candidate(field, alt.confidence, f"{alt.reason}; the column named for "
                                "it holds other values", alt.raw)
            cands[c.column] = sorted([*cands[c.column], alt], key=lambda x: -x.raw)
    linked_claims(obj, cands, cols, keys)
    for c in cols:  # each part of the emergency contact is its own claim, not the whole's
        cands[c.column] = [part if x.target == "emergency_contact" and (
            part := contact_part(obj, c, x, cols, taken)) is not None else x
            for x in cands[c.column]]
    winner = joint(cands)
    out: list[ColumnProposal] = []
    for c in cols:
        best = winner.get(c.column)
        if best is not None and (part := contact_part(obj, c, best, cols, taken)) is not None:
            best = part
        if best is not None:
            rival = next((col for col, cs in cands.items() if col != c.column for x in cs
                          if x.target == best.target and x.raw >= best.raw - MARGIN
                          and (col not in winner or winner[col].raw <= x.raw + MARGIN)),
                         None)
            if rival is not None:
                best = Candidate(best.target, min(best.confidence, threshold - 0.01),
                                 f"{best.reason}; column {rival!r} could hold it too", best.raw)
        if best is not None and best.confidence >= threshold and (
                why := contradiction(obj, c, best.target, cols, winner)) is not None:
            # the name says one thing, the values or the sibling columns another: a person
            # decides (the better reading, when there is one, is what review suggests)
            target, why = why
            best = Candidate(target, threshold - 0.01, f"{best.reason}; {why}", best.raw)
        if best is not None and best.confidence >= threshold and (
                why := dangling(obj, c, best.target, keys)) is not None:
            best = Candidate(best.target, threshold - 0.01, f"{best.reason}; {why}", best.raw)
        if best is not None and best.confidence >= threshold:
            out.append(ColumnProposal(obj, c.column, best.target, best.confidence, best.reason,
                                      "proposed", file))
        elif (why := why_not_migrated(c.column, c.samples, named_only=bool(
                best and best.confidence >= REVIEW))) is not None:
            out.append(ColumnProposal(obj, c.column, None, 1.0, why, "not_migrated", file))
        elif best is not None and best.confidence >= REVIEW:
            out.append(ColumnProposal(obj, c.column, best.target, best.confidence, best.reason,
                                      "review", file))
        else:
            conf = best.confidence if best else 0.0
            why = f"no field fits well enough (best {best.target} {conf:.2f})" if best else \
                "no field fits"
            out.append(ColumnProposal(obj, c.column, None, conf, f"{why}: a custom field keeps "
                                      "it", "custom", file))
    return out


def merge_columns(given: Mapping[str, Mapping[str, str | None]],
                  proposals: Sequence[ColumnProposal]) -> dict[str, dict[str, str | None]]:
    """``source.columns`` with every decision written (the user's entries kept as they are):
    a proposed column → its field, a review or custom one → null (kept whole in the custom bag
    until a person places it), a not-migrated one → ``_not_migrated``. Written under the object
    when it comes from one file, else under each file, so the source reads exactly what the
    proposer decided and nothing is placed that no confidence was given for."""
    out = {k: dict(v) for k, v in given.items()}
    files: dict[str, set[str]] = {}
    for p in proposals:
        files.setdefault(p.object, set()).add(p.file)
    for p in proposals:
        key = p.file if p.file and len(files[p.object]) > 1 else p.object
        value = p.target if p.status == "proposed" else SKIP if p.status == "not_migrated" \
            else None
        out.setdefault(key, {}).setdefault(p.column, value)
    return out


def propose_for_source(source: Source, given: Mapping[str, Mapping[str, str | None]], *,
                       embedder: Embedder | None = None, limit: int = SAMPLES
                       ) -> list[ColumnProposal]:
    """Read the source's headers and samples (``raw_columns``) and propose; [] for a source
    with no columns of its own (an API)."""
    raw = source.raw_columns(limit)
    if raw is None:
        return []
    return propose_export_columns(raw, given, embedder=embedder)


def export_profile(raw: RawColumns) -> tuple[dict[str, dict[str, Any]],
                                             dict[str, list[tuple[str, str]]]]:
    """Before anything is staged, what each object's custom bag will hold (profiled from the
    sample cells: ``custom.<key>`` → FieldProfile) and the columns not migrated with their
    reason, so mapping.yaml lists every column of every file from the first ``ferry map``."""
    from ferry.mapping.validate import FieldProfile
    from ferry.sources.clinic_csv.columns import norm
    from ferry.sources.clinic_csv.reader import _kind
    from ferry.sources.clinic_csv.values import infer_type

    profile: dict[str, dict[str, Any]] = {}
    ignored: dict[str, list[tuple[str, str]]] = {}
    for obj, cols in raw.items():
        for c in cols:
            col = c if isinstance(c, RawColumn) else RawColumn(*c)
            key = f"custom.{norm(col.column) or col.column}"
            if col.matched == SKIP:
                why = why_not_migrated(col.column, col.samples) or "not migrated (ferry.yaml)"
                if key not in {k for k, _ in ignored.get(obj, [])}:
                    ignored.setdefault(obj, []).append((key, why))
            elif col.matched is None and key not in profile.get(obj, {}):
                ctype, _ = infer_type(list(col.samples), True)
                profile.setdefault(obj, {})[key] = FieldProfile(
                    values=list(dict.fromkeys(col.samples))[:50], samples=list(col.samples[:2]),
                    filled=len(col.samples), total=len(col.samples), kind=Kind(_kind(ctype)))
    return profile, ignored
