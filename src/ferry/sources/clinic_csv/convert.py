"""A row of cells → one canonical record, with unmapped columns kept in ``custom``.

The plan for a table is made once from its header and a sample of rows (column → field, each
column's inferred type and date formats), so converting a row is a loop over precomputed steps.
A cell that does not fit its field never loses the record: the field is left empty and a
``FieldIssue`` (file, line, column, reason; never the value) is kept in ``issues`` for the caller.
A required field the file lacks is derived where the rest of the row says it (an appointment's
status from its start time); only a record that still cannot stand is a ``RowError``. Row-width problems (a truncated file, a stray delimiter) are
caught here too, because only the header knows how wide a row must be.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ferry.connectors import walltime
from ferry.errors import RecordError
from ferry.model.entities import ENTITIES, Record, parse_record
from ferry.model.fields import FieldInfo, Kind, fields_of
from ferry.sources.clinic_csv import values as V
from ferry.sources.clinic_csv.columns import SKIP, TIME_OF, norm
from ferry.sources.clinic_csv.rows import RawRow, RowError

PSEUDO = {"_full_name", "_ec_name", "_ec_phone", "_ec_relationship", *TIME_OF}


@dataclass
class Step:
    index: int
    column: str
    field: str | None  # canonical field, pseudo-field, or None (custom)
    convert: Callable[[str], Any]
    custom_type: str = "text"
    key: str = ""  # the custom-bag key (normalised column name)

    def __post_init__(self) -> None:
        self.key = norm(self.column) or self.column


#: what to do with a date nothing settles when the export writes dates in both orders (one
#: order for all, source.dayfirst, would misread the rows written the other way)
BOTH_ORDERS = ("the export writes dates both day-first and month-first, so source.dayfirst"
               " would misread the rows written the other way: check this date in the source"
               " system and enter it in the CRM")


class RowConverter:
    """Converts rows of one table into records of one object."""

    def __init__(self, *, system: str, object_name: str, table: str, header: list[str],
                 columns: dict[str, str | None], samples: list[list[str]],
                 timezone: str = "UTC", dayfirst: bool | None = None,
                 evidence: Callable[[], V.Evidence] | None = None) -> None:
        self.system, self.object, self.table, self.header = system, object_name, table, header
        self.tz = ZoneInfo(timezone)
        model = ENTITIES[object_name]
        info = {f.name: f for f in fields_of(model)}
        cols = {c: [r[i] for r in samples if i < len(r)] for i, c in enumerate(header)}
        self.dates: dict[str, V.DateColumn] = {}
        self.custom_dates: dict[str, V.DateColumn] = {}
        self.explicit = dayfirst  # source.dayfirst: the user's word beats every inference
        if evidence is None:  # no export around this table: its own cells
            def evidence() -> V.Evidence:
                ev = V.Evidence()
                for c in cols.values():
                    for cell in c:
                        ev.add(cell.strip())
                return ev
        self._evidence = evidence  # asked only when a cell needs it (most exports never do)
        self._wide: tuple[bool | None, str] | None = None
        self._both_wide = False  # the export holds dates in both orders (``_wide``'s evidence)
        evidence = [V.infer_dates(v, True).dayfirst for c, v in cols.items()
                    if columns.get(c) in info and info[columns[c] or ""].kind in
                    (Kind.DATE, Kind.DATETIME)]
        seen = [e for e in evidence if e is not None]
        default = dayfirst if dayfirst is not None else (seen[0] if seen else True)
        self.steps: list[Step] = []
        self.date_steps: list[int] = []
        self.field_column: dict[str, str] = {}
        for i, col in enumerate(header):
            field = columns.get(col)
            if field == SKIP:  # not migrated, by the confirmed map (with its reason there)
                continue
            if field is not None and field not in info and field not in PSEUDO \
                    and field != "source_id":
                field = None
            if field:
                self.field_column.setdefault(field, col)
                kind = info[field].kind if field in info else Kind.TEXT
                self.steps.append(Step(i, col, field, self._converter(col, kind, info.get(field),
                                                                      cols[col], default)))
            else:
                ctype, dcol = V.infer_type(cols[col], default)
                if dcol is not None:
                    self.custom_dates[col] = dcol
                    self.date_steps.append(len(self.steps))
                self.steps.append(Step(i, col, None, self._custom(ctype, dcol), ctype))
        self.has_id = "source_id" in self.field_column
        #: no currency column: the currency an amount's sign or its column's name gives
        #: ("120,00 €", "Total (€)"), by column; {} when the file has a currency column
        self.currency_of: dict[str, str | None] = {} if "currency" not in info \
            or "currency" in self.field_column else {
                st.field: V.currency_in(st.column) for st in self.steps
                if st.field in info and info[st.field].kind is Kind.MONEY}
        self.issues: list[RowError] = []  # field-level problems of the last converted row
        self.cleaned = 0  # control characters removed from the rows converted so far
        self.cleaned_rows = 0
        self._keys: set[str] = set()  # content keys given (id-less file): duplicates numbered
        self._dups: dict[str, int] = {}

    def key_of(self, cells: list[str]) -> str | None:
        """The id in a row's key cell, if it has one and it reads (a row refused for another
        reason is still listed by it: its record is not gone from the export)."""
        st = next((st for st in self.steps if st.field == "source_id"), None)
        if st is None or st.index >= len(cells) or not cells[st.index].strip():
            return None
        try:
            return str(st.convert(cells[st.index].strip()))
        except V.BadValue:
            return None

    def _converter(self, col: str, kind: Kind, fi: FieldInfo | None, sample: list[str],
                   dayfirst: bool) -> Callable[[str], Any]:
        if kind in (Kind.DATE, Kind.DATETIME):
            dc = V.infer_dates(sample, dayfirst)
            if dc.dayfirst is None:
                dc.dayfirst = dayfirst
            self.dates[col] = dc
            self.date_steps.append(len(self.steps))
            if kind is Kind.DATE:
                return lambda s, hint=None: V.as_date(s, dc, hint)
            return lambda s, hint=None: V.as_datetime(s, dc, self.tz, hint)
        if kind in (Kind.MONEY, Kind.DECIMAL):
            return V.as_decimal
        if kind is Kind.INT and fi is not None and fi.name == "duration_minutes":
            return V.as_minutes  # "1h 30m", "90 min", "1:30"
        if kind is Kind.INT:
            return V.as_int
        if kind is Kind.BOOL:
            return V.as_bool
        if kind is Kind.SET:
            return V.as_set
        if kind is Kind.REF:
            return _ref
        if kind is Kind.JSON:
            return _contact
        if fi is not None and fi.name == "sex":
            codes = V.sex_codes(sample, col)
            return lambda s: V.as_sex(s, codes)
        if kind is Kind.ENUM and fi is not None and fi.options:
            opts = fi.options
            return lambda s: V.normalise_option(s, opts)
        if fi is not None and fi.name in V.CODE_FIELDS:
            return V.as_code  # an NHS number Excel wrote as 9.43477E+09: listed, not kept
        return str

    def _custom(self, ctype: str, dcol: V.DateColumn | None) -> Callable[[str], Any]:
        if ctype == "int":
            return V.as_int
        if ctype == "decimal":
            return V.as_decimal
        if ctype == "bool":
            return V.as_bool
        if ctype in ("date", "datetime") and dcol is not None:
            if ctype == "date":
                return lambda s, hint=None: V.as_date(s, dcol, hint).isoformat()
            return lambda s, hint=None: V.as_datetime(s, dcol, self.tz, hint).isoformat()
        return str

    def _err(self, row: RawRow, column: int | None, reason: str,
             rid: str | None = None) -> RowError:
        name = self.header[column - 1] if column and 0 < column <= len(self.header) else None
        return RowError(self.system, self.object, self.table, row.line, column, name, reason,
                        rid)

    def convert(self, row: RawRow) -> Record | RowError:
        self.issues = []
        cells = row.fields
        if row.cleaned:
            self.cleaned += row.cleaned
            self.cleaned_rows += 1
        width = len(self.header)
        if len(cells) < width:
            why = ("row cut short: the file ends mid-row (truncated)" if not row.terminated
                   else f"row has {len(cells)} cells, the header has {width} columns")
            return self._err(row, len(cells) + 1, why)
        if len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                return self._err(row, width + 1,
                                 f"row has {len(cells)} cells, the header has {width} columns")
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        pseudo: dict[str, str] = {}
        at_col: dict[str, int] = {}  # a pseudo-field's column (1-based)
        for st in self.steps:
            text = cells[st.index].strip()
            if not text:
                continue
            if st.field in PSEUDO:
                pseudo[st.field], at_col[st.field] = text, st.index + 1
                continue
            try:
                dc = self.dates.get(st.column) if st.field else self.custom_dates.get(st.column)
                if dc is not None and V.ambiguous(text):
                    order, why = self._order(dc, cells)
                    if order is None:  # never a guess: left out, and said where
                        reason = f"day and month cannot be told apart ({why})"
                        # an export in both orders: source.dayfirst would misread the others
                        fix = (BOTH_ORDERS if self._both_orders(dc) else
                               "set source.dayfirst to read it" + (" as a date" if st.field
                                                                   is None else ""))
                        if st.field is None:
                            custom[st.key] = {"type": "text", "value": text, "label": st.column}
                            self.issues.append(self._issue(
                                row, st.index + 1, f"custom.{st.key}", reason,
                                f"kept as the text exported ({fix})"))
                        else:
                            self.issues.append(self._issue(
                                row, st.index + 1, st.field, reason,
                                f"the field is left empty ({fix})"))
                        continue
                    value = st.convert(text, order)
                elif dc is not None and dc.primary(text) is None:
                    value = st.convert(text, self._row_hint(cells))
                else:
                    value = st.convert(text)
            except V.BadValue as exc:
                if st.field is None:  # a custom cell off its column's type: keep it as text
                    custom[st.key] = {"type": "text", "value": text, "label": st.column}
                    continue
                if st.field == "end" and "_end_time" not in pseudo and \
                        _time_of_day(text) is not None:  # an End placed by hand: 15:15
                    pseudo["_end_time"], at_col["_end_time"] = text, st.index + 1
                    continue
                self.issues.append(self._issue(row, st.index + 1, st.field, str(exc)))
                continue
            if st.field is None:
                custom[st.key] = {"type": st.custom_type, "value": value, "label": st.column}
            else:
                data[st.field] = value
                if st.field in self.currency_of and "currency" not in data:
                    code = V.currency_in(text) or self.currency_of[st.field]
                    if code:
                        data["currency"] = code
        _apply_pseudo(data, pseudo)
        for name, field in TIME_OF.items():
            if name not in pseudo:
                continue
            column = at_col[name]
            at = _time_of_day(pseudo[name])
            if isinstance(data.get(field), dt.datetime):
                if at is None:
                    self.issues.append(self._issue(row, column, field,
                                                   "time of day not understood",
                                                   "the date alone is kept"))
                else:
                    data[field] = data[field].replace(hour=at.hour, minute=at.minute,
                                                      second=at.second)
            elif field == "end" and isinstance(data.get("start"), dt.datetime):
                self._end_on_start_day(row, column, data, at)
            else:  # a time with no date for it: never dropped unsaid
                self.issues.append(self._issue(row, column, field, "a time of day with no date"
                                               if at else "time of day not understood"))
        self._clock_changes(row, data)
        if custom:
            data["custom"] = custom
        if "source_id" not in data:
            if self.has_id:
                return self._err(row, self._col("source_id"), "the record has no id")
            data["source_id"] = self._content_key(cells)
        for f, value in derive(self.object, data).items():
            data[f] = value
        return self.convert_data(row, data)

    def _end_on_start_day(self, row: RawRow, column: int, data: dict[str, Any],
                          at: dt.time | None) -> None:
        """An end written as a time of day only (``Date``, ``Start``, ``End`` columns: the
        visit's one date is the start's): the end is that time on the start's day, in the
        practice's zone. One at or before the start (past midnight?) is not guessed: listed."""
        start = data["start"]
        day = start if start.tzinfo is self.tz else start.astimezone(self.tz)
        end = day.replace(hour=at.hour, minute=at.minute, second=at.second, tzinfo=self.tz) \
            if at is not None else None
        if end is None or end <= day:
            self.issues.append(self._issue(
                row, column, "end", "time of day not understood" if end is None else
                "the end's time of day is not after the start's and the export gives no end"
                " date"))
            return
        data["end"] = end

    def convert_data(self, row: RawRow, data: dict[str, Any]) -> Record | RowError:
        try:
            rec = parse_record(self.object, data, system=self.system)
        except RecordError as exc:
            field = (exc.field or "").split(".")[0]
            if field in data and field not in ("source_id", "custom") \
                    and not self._required(field):
                # an optional value the model refuses (an option off its list …): keep the record
                del data[field]
                self.issues.append(self._issue(row, self._col(field), field, exc.reason))
                return self.convert_data(row, data)
            return self._err(row, self._col(field), f"{exc.field}: {exc.reason}",
                             str(data["source_id"]))
        for issue in self.issues:
            issue.ref = f"{self.system}:{self.object}:{rec.source_id}"
        return rec

    def _clock_changes(self, row: RawRow, data: dict[str, Any]) -> None:
        """Clock times read in the zone (no offset in the cell) that fall in the hour the
        clocks repeat or skip: read by ``walltime``'s stated rule, or by the appointment's
        own end and length where they say which pass, and listed (record and field)."""
        unsure: dict[str, walltime.Unsure] = {}
        for name, value in data.items():
            if isinstance(value, dt.datetime) and value.tzinfo is self.tz:
                got, kind = walltime.reading(value.replace(tzinfo=None), self.tz)
                if kind is not None:
                    data[name], unsure[name] = got, kind
        if not unsure:
            return
        if self.object == "appointment" and isinstance(data.get("start"), dt.datetime):
            minutes = data.get("duration_minutes")
            data["start"], end, decided = walltime.settle(
                data["start"], data.get("end"), minutes if isinstance(minutes, int) else None,
                unsure, self.tz)
            if end is not None:
                data["end"] = end
            unsure.pop(decided or "", None)
        for name, kind in unsure.items():
            self.issues.append(self._issue(row, self._col(name), name, walltime.reason(kind),
                                           "the export gives no offset: check it in the CRM"))

    def _content_key(self, cells: list[str]) -> str:
        """The id of a row in a file with no id column: a hash of its cells, so a later export
        with rows added or reordered gives the same row the same id (a line number would shift
        every id). An edited row gets a new id: the file verdict says delta is unsafe."""
        digest = hashlib.sha256("\x1f".join(c.strip() for c in cells).encode()).hexdigest()[:16]
        if digest in self._keys:
            n = self._dups[digest] = self._dups.get(digest, 1) + 1
            return f"{self.table}#{digest}-{n}"
        self._keys.add(digest)
        return f"{self.table}#{digest}"

    def _required(self, field: str) -> bool:
        fi = ENTITIES[self.object].model_fields.get(field)
        return fi is not None and fi.is_required()

    def _issue(self, row: RawRow, column: int | None, field: str, reason: str,
               kept: str = "the field is left empty") -> RowError:
        name = self.header[column - 1] if column and 0 < column <= len(self.header) else None
        issue = RowError(self.system, self.object, self.table, row.line, column, name,
                         f"{field}: {reason}; {kept}, the record is kept")
        issue.field = field
        issue.kept = True  # type: ignore[attr-defined]
        return issue

    def _order(self, dc: V.DateColumn, cells: list[str]) -> tuple[bool | None, str]:
        """How an ambiguous cell (``07/12/2026``) of a column reads, and if it cannot be told,
        why. In turn: ``source.dayfirst``; the column's unambiguous cells, when the column's
        own style is local and they agree; the row's other dates (a dirty row has one style);
        the whole export with the practice's country and the system's documented order,
        when all of those that say anything agree."""
        if self.explicit is not None:
            return self.explicit, ""
        if dc.local and bool(dc.day) != bool(dc.month):
            return bool(dc.day), ""
        row = self._row_hint(cells)
        if row is not None:
            return row, ""
        if dc.local and dc.day and dc.month:
            return None, ("the column holds dates in both orders and the row's other dates do"
                          " not settle it")
        if self._wide is None:
            ev = self._evidence()
            self._wide, self._both_wide = ev.decide(), bool(ev.day and ev.month)
        order, why = self._wide
        if order is None:
            return None, "the row's other dates do not settle it; " + why
        return order, ""

    def _both_orders(self, dc: V.DateColumn) -> bool:
        """Whether the column, or the export, holds dates only day-first reads and dates only
        month-first reads: no one order reads every row."""
        return bool(dc.local and dc.day and dc.month) or self._both_wide

    def _row_hint(self, cells: list[str]) -> bool | None:
        """Day/month order shown by this row's own date cells (a dirty row has one style)."""
        texts = [cells[self.steps[k].index] for k in self.date_steps
                 if self.steps[k].index < len(cells)]
        return V.row_order([t for t in texts if t.strip()])

    def _col(self, field: str) -> int | None:
        col = self.field_column.get(field)
        return self.header.index(col) + 1 if col else None


#: a French desk's ``14h30``, ``14 h 30``, ``9h``
FRENCH_TIME = re.compile(r"^(\d{1,2})\s?[hH]\s?(\d{2})?$")


def _time_of_day(s: str) -> dt.time | None:
    """``09:30``, ``9:30:15``, ``2:05 PM``, ``2 PM``, ``14h30`` → a time; None when it is not
    one."""
    t = s.strip()
    if m := FRENCH_TIME.match(t):
        t = f"{m.group(1)}:{m.group(2) or '00'}"
    for fmt in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p", "%I %p", "%I%p"):
        try:
            return dt.datetime.strptime(t.upper().replace(".", ""), fmt).time()  # noqa: DTZ007 - a time of day only
        except ValueError:
            continue
    return None


def _ref(s: str) -> str:
    """A reference as the id it names: ``12.0`` (a spreadsheet's number) → ``12``; an API's
    link to the related record (``https://…/patients/12``, ``Patient/12``) → ``12``."""
    s = s.strip()
    if "/" in s and (s.startswith(("http://", "https://", "/")) or re.match(r"^[A-Za-z]+/", s)):
        path = re.split(r"[?#]", s.split("://", 1)[-1])[0]
        tail = [p for p in path.split("/") if p]
        s = tail[-1] if len(tail) > 1 else s
    return s[:-2] if s.endswith(".0") and s[:-2].isdigit() else s


def _contact(s: str) -> dict[str, Any]:
    t = s.strip()
    if t.startswith("{"):
        try:
            got = json.loads(t)
            if isinstance(got, dict):
                keys = ("name", "phone", "relationship")
                return {k: (str(got[k]) if got.get(k) is not None else None)
                        for k in keys if k in got}
        except ValueError:
            pass
    return {"name": t}


def _apply_pseudo(data: dict[str, Any], pseudo: dict[str, str]) -> None:
    full = pseudo.get("_full_name")
    if full and not (data.get("first_name") or data.get("last_name")):
        parts = full.split()
        if len(parts) == 1:
            data["last_name"] = parts[0]
        else:
            data["first_name"], data["last_name"] = " ".join(parts[:-1]), parts[-1]
    ec = {k[4:]: v for k, v in pseudo.items() if k.startswith("_ec_")}
    if ec and "emergency_contact" not in data:
        data["emergency_contact"] = ec


def derive(obj: str, data: dict[str, Any]) -> dict[str, Any]:
    """Required fields a file may lack, derived from the rest of the row (a real export rarely
    has every column): an appointment with no status is completed when it started in the past,
    else scheduled; one with no start starts its length before its end; an invoice with no
    status is paid when nothing is owed (or a paid date is given), else pending or overdue;
    a no-show's flag is set when no column gives it;
    a treatment with no status is completed once its end date has passed; a
    prescription with a drug code and no drug name is named by its code."""
    out: dict[str, Any] = {}
    now = dt.datetime.now(dt.UTC)
    if obj == "appointment" and not data.get("status") and isinstance(data.get("start"),
                                                                     dt.datetime):
        start = data["start"]
        out["status"] = "completed" if (start if start.tzinfo else start.replace(
            tzinfo=dt.UTC)) < now else "scheduled"
    if obj == "appointment" and not data.get("start") and isinstance(data.get("end"),
                                                                    dt.datetime) \
            and isinstance(data.get("duration_minutes"), int):
        start = data["end"] - dt.timedelta(minutes=data["duration_minutes"])
        out["start"] = start  # an export giving the end and the length
        if not data.get("status"):
            out["status"] = "completed" if (start if start.tzinfo else start.replace(
                tzinfo=dt.UTC)) < now else "scheduled"
    if obj == "appointment" and "no_show" not in data and data.get("status") == "no_show":
        out["no_show"] = True  # the status says it, where no column gives the flag
    if obj == "invoice" and not data.get("status"):
        # paid once nothing is owed or a paid date is given; else pending (or overdue)
        bal, due = data.get("balance"), data.get("due_date")
        out["status"] = "paid" if data.get("paid_date") or (bal is not None and bal <= 0) \
            else "overdue" if isinstance(due, dt.date) and due < now.date() else "pending"
    if obj == "prescription" and not data.get("medication") and data.get("medication_code"):
        out["medication"] = str(data["medication_code"])  # the code names the drug
    if obj == "treatment_record" and not data.get("status"):
        end = data.get("end_date")
        out["status"] = "completed" if isinstance(end, dt.date) and end < now.date() \
            else "active"
    return out
