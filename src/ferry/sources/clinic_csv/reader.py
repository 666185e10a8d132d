"""The generic clinic export source: a folder of CSV / XLSX files read as canonical records.

Every file is sniffed (encoding, delimiter, header line), assigned an object (by file name, then
by its headers, or by ``Settings.files``) and its columns matched to fields (``Settings.columns``
wins over our own matcher). Reading streams: a page holds ``page_size`` records and a checkpoint
naming the table and the byte offset (CSV) or row (XLSX) after the page, so memory stays flat
however large the file, and a killed extract resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ferry.connectors.base import CheckItem, FieldSpec, ObjectInfo, Page, Source
from ferry.errors import ConfigError, FerryError, RecordError
from ferry.model.entities import ENTITIES, Record
from ferry.model.fields import Kind, fields_of
from ferry.sources.clinic_csv import values as V
from ferry.sources.clinic_csv.columns import (
    TIME_OF,
    ObjectChoice,
    check_values,
    choose_object,
    link_keys,
    link_targets,
    match_details,
    pair_date_time,
    status_flag,
)
from ferry.sources.clinic_csv.convert import RowConverter
from ferry.sources.clinic_csv.rows import RawRow, RowError
from ferry.sources.clinic_csv.sniff import SAMPLE, not_a_table
from ferry.sources.clinic_csv.table import (
    Layout,
    Position,
    Table,
    csv_rows,
    discover,
    open_tables,
    xlsx_rows,
)

log = logging.getLogger("ferry.sources.clinic_csv")
SAMPLE_ROWS = 200
ORDER = ("clinic", "practitioner", "patient", "patient_relationship", "practitioner_patient",
         "appointment_type", "appointment", "appointment_reminder", "clinical_note",
         "treatment_record", "insurance_policy", "prescription", "invoice", "payment",
         "document", "campaign", "message")


PERSONS = ("patient", "practitioner")
# required fields a file may lack, and how the converter derives them (``convert.derive``)
DERIVED = {
    ("appointment", "status"): "status derived from the start (past: completed, else scheduled)",
    ("appointment", "start"): "start derived from the end and the length where both are given",
    ("invoice", "status"): "status derived from the balance, paid date and due date",
    ("treatment_record", "status"): "status derived from the end date (passed: completed)",
    ("prescription", "medication"): "the drug named by its code where the code is given",
}
IDENTITY = {"first_name", "last_name", "_full_name", "email", "phone", "mobile", "mrn",
            "patient_number", "national_id", "preferred_name"}


class RawColumn(NamedTuple):
    """A column as the export has it: header, a few non-empty sample cells, what this
    source's own matcher (with ``Settings.columns`` applied) makes of it (None: custom bag),
    the file it is in and how the matcher placed it (evidence for the proposer, which gives
    every placement its confidence: ``ferry map``)."""

    column: str
    samples: list[str]
    matched: str | None
    file: str = ""
    how: str = ""
    others: tuple[tuple[str, str], ...] = ()  # (field, how): every field its name reads as


@dataclass
class Plan:
    table: Table
    object: str
    columns: dict[str, str | None]
    converter: RowConverter | None = None
    fixed: frozenset[str] = frozenset()  # columns the confirmed map (Settings.columns) placed
    how: dict[str, str] = field(default_factory=dict)  # column → how the matcher placed it
    others: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # every exact read


class ExportSource(Source):
    """A folder of export files; subclasses set the system name and file-name hints."""

    name: ClassVar[str] = "clinic_csv"
    objects: ClassVar[tuple[str, ...]] = ORDER
    #: a generic clinic system's usual export files (any object can come in a file of its own)
    typical_objects: ClassVar[tuple[str, ...] | None] = (
        "clinic", "practitioner", "patient", "appointment", "prescription", "invoice", "payment")

    #: the day/month order the system's documentation gives its exports (None: not known)
    date_order: ClassVar[bool | None] = None

    def __init__(self, settings: Any, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.folder = Path(settings.path).expanduser()
        self._plans: list[Plan] | None = None
        self._evidence: V.Evidence | None = None
        self._refused: list[tuple[str, str]] = []  # (file, why): not read
        self._held: list[tuple[str, ObjectChoice]] = []  # object in doubt: not read
        self._binary: set[str] = set()  # of those, the files that are not tables at all
        self._empty: list[str] = []  # files (sheets) with nothing in them, not even a header

    # -- layout ------------------------------------------------------------------------------

    def file_hints(self) -> dict[str, str]:
        """Exact file stems → object, checked before the generic keywords (Pulse's names)."""
        return {}

    def plans(self) -> list[Plan]:
        if self._plans is not None:
            return self._plans
        if not self.folder.is_dir():
            raise ConfigError(f"{self.name}: export folder not found")
        s = self.settings
        layout = Layout(s.encoding, s.delimiter, s.header_row)
        hints = self.file_hints()
        plans = []
        self._refused, self._binary, self._held, self._empty = [], set(), [], []
        for path in discover(self.folder):
            if path.suffix.lower() not in (".xlsx", ".xlsm"):
                with path.open("rb") as f:
                    why = not_a_table(f.read(SAMPLE))
                if why:  # a binary file named .csv: refused and named, never read as rows
                    log.info("%s: %s refused (not a table)", self.name, path.name)
                    self._refused.append((path.name, why))
                    self._binary.add(path.name)
                    continue
            tables = open_tables(path, layout)
            if not tables:  # a workbook whose sheets are all empty
                self._empty.append(path.name)
            for t in tables:
                if not t.header:  # nothing in the file: no object to guess from its name
                    self._empty.append(t.name)
                    continue
                stem = t.name.split("#")[-1] if "#" in t.name else path.stem
                obj = (s.files.get(t.name) or s.files.get(path.name) or hints.get(stem.lower()))
                if obj is None:  # no one said: the file's name and columns decide, if they can
                    choice = choose_object(stem, t.header)
                    if choice.doubt:  # never read on a guess: a person names its object
                        log.info("%s: %s held (its object is in doubt)", self.name, t.name)
                        self._held.append((t.name, choice))
                        continue
                    obj = choice.object
                if obj is None or obj not in ENTITIES:
                    log.info("%s: no object recognised for %s", self.name, t.name)
                    self._refused.append((t.name, "" if obj is None else obj))
                    continue
                given = {**s.columns.get(obj, {}), **s.columns.get(path.name, {}),
                         **s.columns.get(t.name, {})}
                others: dict[str, list[tuple[str, str]]] = {}
                got = match_details(obj, t.header, given, stem, others)
                plans.append(Plan(t, obj, {h: f for h, (f, _) in got.items()},
                                  fixed=frozenset(given),
                                  how={h: how for h, (_, how) in got.items() if how},
                                  others=others))
        before = [dict(p.columns) for p in plans]
        link_keys([(p.table.name.rsplit(".", 1)[0].split("#")[-1], p.object, p.columns,
                    set(p.fixed)) for p in plans])
        self._plans = plans
        for p, was in zip(plans, before, strict=True):
            fields = {f.name for f in fields_of(ENTITIES[p.object])}
            for h, f in p.columns.items():
                if f != was[h]:
                    p.how[h] = "join key" if f and f != "source_id" else "the file's key"
            was = dict(p.columns)
            samples = self._samples(p, 20)
            check_values(p.columns, samples, set(p.fixed), fields)
            for h, f in p.columns.items():
                if f != was[h]:
                    p.how[h] = f"values (named like {was[h]})"
            for h in status_flag(p.columns, samples, set(p.fixed), fields):
                p.how[h] = "values (a state that is the record's flag)"
            for h in pair_date_time(p.columns, samples, set(p.fixed), fields):
                p.how[h] = "a time of day beside a date column"
            for h in link_targets(p.columns, samples, set(p.fixed), p.object):
                p.how[h] = "values (links to the referenced records)"
        return plans

    def _samples(self, p: Plan, limit: int) -> dict[str, list[str]]:
        """Up to ``limit`` non-empty cells per column from the first rows."""
        out: dict[str, list[str]] = {h: [] for h in p.table.header}
        for n, (_, row) in enumerate(self._rows(p, p.table.start)):
            if isinstance(row, RawRow):
                for h, cell in zip(p.table.header, row.fields, strict=False):
                    if cell.strip() and len(out[h]) < limit:
                        out[h].append(cell.strip())
            if n >= limit:
                break
        return out

    def no_rows(self, p: Plan) -> bool:
        """A header and nothing under it (reads one row at most)."""
        return next(iter(self._rows(p, p.table.start)), None) is None

    def tables_of(self, obj: str) -> list[Plan]:
        return [p for p in self.plans() if p.object == obj]

    def _rows(self, p: Plan, pos: Position) -> Iterator[tuple[Position, RawRow | RowError]]:
        if p.table.kind == "xlsx":
            yield from xlsx_rows(p.table, pos)
        else:
            yield from csv_rows(p.table, pos, system=self.name, object_name=p.object,
                                max_lines=self.settings.max_record_lines,
                                fallback=self.settings.encoding_fallback)

    def converter(self, p: Plan) -> RowConverter:
        if p.converter is None:
            samples: list[list[str]] = []
            for _, row in self._rows(p, p.table.start):
                if isinstance(row, RawRow):
                    samples.append(row.fields)
                if len(samples) >= SAMPLE_ROWS:
                    break
            p.converter = RowConverter(system=self.name, object_name=p.object, table=p.table.name,
                                       header=p.table.header, columns=p.columns, samples=samples,
                                       timezone=self.settings.timezone,
                                       dayfirst=self.settings.dayfirst,
                                       evidence=self.date_evidence)
        return p.converter

    def date_evidence(self) -> V.Evidence:
        """Day/month order evidence of the whole export: every date cell sampled from every
        file (an ambiguous ``07/12/2026`` in one file is settled by a ``25/03/2024`` in
        another), the practice's country (``options.phone_region``; unset, the one nearly all
        its addresses' states and postcodes name, else the one its phone numbers' codes name,
        if nearly all agree) and the system's own order."""
        if self._evidence is not None:
            return self._evidence
        ev = V.Evidence(system=self.date_order, system_name=self.name)
        if self.phone_region:  # configured: no guess from the numbers
            ev.region, ev.region_from = self.phone_region, "options.phone_region"
        elif (country := self._country_region()):  # Deutschland, UK, España...
            ev.region, ev.region_from = country, ("its addresses' country column; set"
                                                  " options.phone_region if wrong")
        else:  # a US front desk's City/State/ZIP: its local numbers name no country
            ev.region = self._address_region()
            if ev.region:
                ev.region_from = ("its addresses' states and postcodes; set"
                                  " options.phone_region if wrong")
        regions: Counter[str] = Counter()
        for p in self.plans():
            kinds = {f.name: f.kind for f in fields_of(ENTITIES[p.object])}
            for h, cells in self._samples(p, SAMPLE_ROWS).items():
                kind = kinds.get(p.columns.get(h) or "")
                # an untyped column counts when every cell reads as a date in some style: a
                # dirty row's compact 20250109 beside 12/28/2020 is still a column of dates
                if kind in (Kind.DATE, Kind.DATETIME) or (kind is None and cells and all(
                        V.DATEISH.match(c) or V.formats_of(c) for c in cells)):
                    for c in cells:
                        ev.add(c)
                elif kind is Kind.PHONE and not ev.region and sum(regions.values()) < 100:
                    regions.update(r for r in map(_region, cells[:50]) if r)
        top = regions.most_common(1)
        if not ev.region and top and top[0][1] >= 0.8 * sum(regions.values()):
            ev.region = top[0][0]  # the practice's country: nearly every number is from it
        self._evidence = ev
        return ev

    def _country_region(self) -> str | None:
        """The country nearly every sampled clinic (else patient) row's country column names,
        however written (``model.countries``: ``Deutschland``, ``UK``, ``DEU``): at least 90 %
        of the non-empty cells (one a country is not read in counts against), and 1 clinic
        or 3 patients."""
        from ferry.model.countries import country_code
        from ferry.model.postal import VOTE_LEAST, VOTE_SHARE

        for obj, least in (("clinic", 1), ("patient", VOTE_LEAST)):
            seen: Counter[str | None] = Counter()
            for p in self.tables_of(obj):
                at = next((i for i, h in enumerate(p.table.header)
                           if p.columns.get(h) == "country"), None)
                if at is None:
                    continue
                for n, (_, row) in enumerate(self._rows(p, p.table.start)):
                    if isinstance(row, RawRow) and at < len(row.fields) \
                            and (cell := row.fields[at].strip()):
                        seen[country_code(cell)] += 1
                    if n >= SAMPLE_ROWS:
                        break
            code, n = max(((c, k) for c, k in seen.items() if c), key=lambda x: x[1],
                          default=(None, 0))
            if code and n >= VOTE_SHARE * seen.total() and n >= least:
                return code
        return None

    def _address_region(self) -> str | None:
        """The country nearly every sampled clinic (else patient) address names by its state
        and postcode (``model.postal``), in a file with those columns and no country one."""
        from ferry.model.postal import postal_vote

        for obj in ("clinic", "patient"):
            pairs: list[tuple[str | None, str | None]] = []
            for p in self.tables_of(obj):
                at = {f: i for i, h in enumerate(p.table.header)
                      if (f := p.columns.get(h)) in ("region", "postcode", "country")}
                if "country" in at or not at:
                    continue
                for n, (_, row) in enumerate(self._rows(p, p.table.start)):
                    if isinstance(row, RawRow):
                        pairs.append(tuple(row.fields[at[f]].strip()  # type: ignore[misc]
                                           if f in at and at[f] < len(row.fields) else None
                                           for f in ("region", "postcode")))
                    if n >= SAMPLE_ROWS:
                        break
            code = postal_vote(pairs, least=1 if obj == "clinic" else 3)
            if code:
                return code
        return None

    def raw_columns(self, limit: int = 20) -> dict[str, list[RawColumn]]:
        """{object: [RawColumn]} for every table, headers in file order, up to ``limit``
        non-empty sample cells per column (read from the first rows only), each column named
        with its file. This is what the mapping proposer looks at (``ferry map``); sources
        cannot import it themselves."""
        out: dict[str, list[RawColumn]] = {}
        for p in self.plans():
            samples: list[list[str]] = [[] for _ in p.table.header]
            for n, (_, row) in enumerate(self._rows(p, p.table.start)):
                if isinstance(row, RawRow):
                    for i, cell in enumerate(row.fields[:len(samples)]):
                        if cell.strip() and len(samples[i]) < limit:
                            samples[i].append(cell.strip())
                if n >= SAMPLE_ROWS or all(len(s) >= limit for s in samples):
                    break
            cols = out.setdefault(p.object, [])
            seen = {c.column for c in cols if c.file == p.table.name}
            cols.extend(RawColumn(h, samples[i], p.columns.get(h), p.table.name,
                                  p.how.get(h, ""), tuple(p.others.get(h, ())))
                        for i, h in enumerate(p.table.header) if h not in seen)
        return out

    def placement(self) -> dict[str, str]:
        """{object: digest} of how its tables' columns are placed now (each header → field,
        after ``Settings.columns`` and the matcher): what shapes the records read now. The
        engine keeps it with the staged records, so records read under another placement
        are never loaded by a map read from these, nor mixed with them."""
        tables: dict[str, list[Any]] = {}
        for p in self.plans():
            tables.setdefault(p.object, []).append([p.table.name, sorted(p.columns.items())])
        return {obj: digest(sorted(t)) for obj, t in tables.items()}

    def header_errors(self, p: Plan) -> list[FerryError]:
        return [RowError(self.name, p.object, p.table.name, p.table.header_line, col, name,
                         "duplicate column name in the header (later one kept apart)")
                for col, name in p.table.header_errors]

    def held(self) -> list[tuple[str, str]]:
        """(file, why) for each file held for a person to decide its object: its name and
        columns do not settle which object it holds, so nothing is read from it (none of its
        columns placed) until ferry.yaml ``source.files`` names the object."""
        self.plans()
        out = []
        for file, c in self._held:
            other = f" (or {c.runner_up})" if c.runner_up else ""
            out.append((file, f"held for review, not read: which object it holds is in doubt "
                        f"({c.doubt}); set ferry.yaml source.files: {{{file}: {c.object}}}"
                        f"{other} to read it"))
        return out

    def verdicts(self) -> list[RecordError]:
        """What each file is worth as it stands: refused (not a table), no key column (how
        records are matched instead), no identity column for a person, characters cleaned."""
        out: list[RecordError] = []

        def say(file: str, why: str) -> None:
            out.append(RecordError(f"{self.name}:file:{file}", None, f"{file}: {why}"))

        self.plans()
        for file, what in self._refused:
            if file in self._binary:
                say(file, f"refused: not a table ({what}); nothing was read from it")
            else:
                say(file, "not read: its columns name no object Ferry migrates (a reference "
                    "list such as payers?); set ferry.yaml source.files: {file: object} to "
                    "read it")
        for file, why in self.held():
            say(file, why)
        for file in self._empty:
            say(file, "has no rows: the file is empty (not even a header); nothing was read "
                "from it")
        for p in self.plans():
            if self.no_rows(p):  # what its columns lack matters to no record
                say(p.table.name, f"has a header and no rows: no {p.object} records in it")
                continue
            mapped = {f for f in p.columns.values() if f}
            mapped |= {TIME_OF[f] for f in mapped if f in TIME_OF}
            if p.object in PERSONS:
                mapped |= {"first_name", "last_name"} if "_full_name" in mapped else set()
            for name, fi in ENTITIES[p.object].model_fields.items():
                if name == "source_id" or not fi.is_required() or name in mapped:
                    continue
                how = DERIVED.get((p.object, name))
                say(p.table.name, f"no {name} column: " + (
                    f"{how}; the records are kept" if how else
                    "each row is refused with that reason (place a column in ferry.yaml "
                    "source.columns)"))
            if "source_id" not in mapped:
                say(p.table.name, "no key column: records are matched across exports by a "
                    "content key (a hash of the row), so a row edited in the source becomes a "
                    "new record; delta is unsafe until a key column is chosen in the map "
                    "(ferry.yaml source.columns: {column: source_id})")
            if p.object in PERSONS and not mapped & IDENTITY:
                say(p.table.name, f"no identity column: no name, email, phone or record "
                    f"number was recognised, so its {p.object} records would be nameless; "
                    "place a name column in ferry.yaml source.columns")
            conv = p.converter
            if conv is not None and conv.cleaned:
                say(p.table.name, f"{conv.cleaned} control characters (NUL …) removed from "
                    f"{conv.cleaned_rows} rows")
        return out

    # -- Source ------------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        if not self.folder.is_dir():
            return [CheckItem("export folder", False, "folder not found",
                              "set source.path to the folder holding the export files")]
        items = [CheckItem("export folder", True, f"{len(discover(self.folder))} files")]
        plans = self.plans()
        items += [CheckItem(file, False, f"not a table ({what})",
                            "move it out of the export folder, or export the table again")
                  for file, what in self._refused if file in self._binary]
        items += [CheckItem(f"{file} → ?", False, why.partition("; set ")[0],
                            "set " + why.partition("; set ")[2])
                  for file, why in self.held()]
        items += [CheckItem(file, False, "has no rows: the file is empty (not even a header)",
                            "export the table again if the practice has such records; "
                            "nothing is read from this file", warn=True)
                  for file in self._empty]
        for p in plans:
            items.append(self._table_check(p))
        if "timezone" not in self.settings.model_fields_set and (naive := naive_times(
                {p.table.name: (p.object, p.columns, self._samples(p, 20)) for p in plans})):
            items.append(CheckItem(
                "practice time zone", False, f"not set: {', '.join(naive[:3])}"
                f"{' …' if len(naive) > 3 else ''} hold times of day without a UTC offset,"
                " which would be read as UTC (2:30 PM in New York would be stored as"
                " 2:30 PM UTC: hours early)", "set source.timezone in ferry.yaml to the"
                " practice's IANA zone (e.g. America/New_York, Australia/Sydney), or UTC if"
                " the export's times are UTC"))
        return items

    def _table_check(self, p: Plan) -> CheckItem:
        """One file's line: its columns; a repeated column name or no rows is a WARN saying
        what extract does (the later column kept apart under its own name, nothing read)."""
        said, fixes = [f"{len(p.table.header)} columns"], []
        for col, orig in p.table.header_errors:
            apart = p.table.header[col - 1]
            field = p.columns.get(apart)
            said.append(f"column {col} repeats {orig!r}: extract reads it as {apart!r}" +
                        (f" (placed as {field})" if field else
                         " (a column of its own, placed on no field)"))
        if p.table.header_errors:
            fixes.append("rename the repeated column in the export, or place it in ferry.yaml "
                         "source.columns under the name extract gives it")
        if self.no_rows(p):
            said.append("has a header and no rows")
            fixes.append(f"export the table again if the practice has {p.object} records; "
                         "nothing is read from this file")
        return CheckItem(f"{p.table.name} → {p.object}", len(said) == 1, "; ".join(said),
                         "; ".join(fixes), warn=len(said) > 1)

    def describe(self) -> list[ObjectInfo]:
        out = []
        for obj in self.objects:
            plans = self.tables_of(obj)
            if not plans:
                continue
            kinds = {f.name: f for f in fields_of(ENTITIES[obj])}
            specs: dict[str, FieldSpec] = {}
            count = 0
            for p in plans:
                conv = self.converter(p)
                for st in conv.steps:
                    if st.field and st.field in kinds:
                        fi = kinds[st.field]
                        specs.setdefault(st.field, FieldSpec(st.field, fi.kind, label=st.column,
                                                             ref=fi.ref, phi=fi.phi))
                    elif st.field is None:
                        key = f"custom.{st.column}"
                        specs.setdefault(key, FieldSpec(key, Kind(_kind(st.custom_type)),
                                                        label=st.column, custom=True))
                count += _count_rows(p.table)
            out.append(ObjectInfo(obj, obj.replace("_", " "), list(specs.values()), count=count))
        return out

    async def read(self, object_name: str, *, checkpoint: str | None = None,
                   since: dt.datetime | None = None) -> AsyncIterator[Page]:
        """Every row of the export, ``since`` or not: a newer export is compared with the staged
        records by content (``put_page`` counts the rows that did not change). A row's own
        "modified" stamp is the clinic system's clock, often naive local time (read in
        ``timezone``, UTC unless set) or to the minute; kept only when it was not before
        ``since``, a row changed after the last read was dropped when its stamp read earlier
        (a Pulse export's patient stamped ``07/12/2026 16:51``, changed after a read at
        16:51:40: its new email and address never reached the delta)."""
        plans = self.tables_of(object_name)
        cp = json.loads(checkpoint) if checkpoint else {}
        names = [p.table.name for p in plans]
        first = names.index(cp["table"]) if cp.get("table") in names else 0
        watermark = dt.datetime.now(dt.UTC).isoformat()
        size = self.settings.page_size
        # every row's id is listed, so a record the newer export no longer has is marked
        # deleted (an export has no deletions list): only for a read of the whole export
        # that parsed every row, since an unreadable row's record is not gone
        whole = not cp
        # a key on two rows (a row exported twice): the first row's record is staged, the
        # later ones reported with both lines. Kept per read, so every read stages the same
        # row: staging both made each read change the record twice (a delta never quiet)
        keyed: dict[str, tuple[str, int]] = {}
        for n, p in enumerate(plans[first:], first):
            fresh = not (cp and n == first)
            begin = p.table.start if fresh else Position(cp["offset"], cp["line"])
            conv = self.converter(p)
            records: list[Record] = []
            listed: list[str] = []
            errors: list[FerryError] = self.header_errors(p) if fresh else []
            for pos, row in self._rows(p, begin):
                rec = conv.convert(row) if isinstance(row, RawRow) else row
                if isinstance(row, RawRow):
                    errors.extend(conv.issues)  # fields left empty on a record that is kept
                if isinstance(rec, Record):
                    listed.append(rec.source_id)
                    line = getattr(row, "line", 0)
                    seen = keyed.setdefault(rec.source_id, (p.table.name, line)) \
                        if conv.has_id else None
                    if seen is None or seen == (p.table.name, line):
                        records.append(rec)
                    else:
                        errors.append(_twice(self.name, object_name, p.table.name, line, seen))
                else:
                    errors.append(rec)
                    # a refused last line with no newline: the file may be cut short there,
                    # the rows after it missing (nothing is deleted by absence then)
                    key = (conv.key_of(row.fields if isinstance(row, RawRow) else row.lead)
                           if not isinstance(row, RawRow) or row.terminated else None)
                    if key is None:
                        whole = False
                    else:
                        listed.append(key)
                if len(records) + len(errors) >= size:
                    yield Page(object_name, records, self._cp(p, pos), watermark=watermark,
                               errors=errors, listed_ids=listed)
                    records, errors, listed = [], [], []
                    await asyncio.sleep(0)
            last = n == len(plans) - 1
            if records or errors or listed or last:
                nxt = "" if last else json.dumps({"table": names[n + 1],
                                                  "offset": plans[n + 1].table.start.offset,
                                                  "line": plans[n + 1].table.start.line})
                yield Page(object_name, records, nxt, done=last, watermark=watermark,
                           errors=errors, listed_ids=listed,
                           complete_listing=last and whole, every_row=last and not cp)
        if not plans:
            yield Page(object_name, [], "", done=True, watermark=watermark)

    @staticmethod
    def _cp(p: Plan, pos: Position) -> str:
        return json.dumps({"table": p.table.name, "offset": pos.offset, "line": pos.line})


CLOCK = re.compile(r"\d{1,2}:\d{2}")
OFFSET = re.compile(r"(?:[zZ]|(?:UTC|GMT)?[+-]\d{2}:?\d{2}|\bUTC|\bGMT)$")


def naive_times(tables: dict[str, tuple[str, dict[str, str | None], dict[str, list[str]]]]
                ) -> list[str]:
    """``table: column`` of each column placed on a date-time field (or on a time of day beside
    a date column) whose sampled cells hold a clock time without a UTC offset: values the
    source's ``timezone`` decides. ``tables``: {table: (object, columns, sampled cells)}."""
    out = []
    for name, (obj, columns, samples) in tables.items():
        kinds = {f.name: f.kind for f in fields_of(ENTITIES[obj])}
        for col, placed in columns.items():
            if placed in TIME_OF or (placed and kinds.get(placed) == Kind.DATETIME):
                if any(CLOCK.search(c) and not OFFSET.search(c) for c in samples.get(col, [])):
                    out.append(f"{name}: {col}")
    return out


def digest(value: Any) -> str:
    """A short stable digest of a JSON-able value (a placement)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _kind(custom_type: str) -> str:
    return {"int": "int", "decimal": "decimal", "bool": "bool", "date": "date",
            "datetime": "datetime", "long_text": "long_text"}.get(custom_type, "text")


def _count_rows(t: Table) -> int:
    """Data lines after the header (a cheap upper bound: multi-line cells count extra)."""
    if t.kind == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(t.path, read_only=True)
        try:
            ws = wb[t.sheet] if t.sheet else wb.worksheets[0]
            return max(0, (ws.max_row or 0) - t.header_line)
        finally:
            wb.close()
    n = 0
    newline = b"\n\x00" if t.encoding and t.encoding.name.startswith("utf-16") else b"\n"
    with t.path.open("rb") as f:
        f.seek(t.start.offset)
        while chunk := f.read(1 << 20):
            n += chunk.count(newline)
        if t.path.stat().st_size > t.start.offset:
            f.seek(-1, 2)
            n += f.read(1) != b"\n"
    return n


def _twice(system: str, obj: str, file: str, line: int, first: tuple[str, int]) -> RowError:
    """A row whose key an earlier row of the read had: left out, saying which line is staged
    (``duplicate``: extract files it apart from the refused rows, the record is staged)."""
    at = f"line {first[1]}" if first[0] == file else f"{first[0]} line {first[1]}"
    err = RowError(system, obj, file, line, None, None,
                   f"the same key as {at} (a row exported twice): {at} is staged, this"
                   " row is left out")
    err.duplicate = True  # type: ignore[attr-defined]
    return err


def _region(cell: str) -> str | None:
    """The country a number with its +code belongs to (None without one)."""
    import phonenumbers

    if not cell.startswith("+"):
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(cell, None))
    except phonenumbers.NumberParseException:
        return None
