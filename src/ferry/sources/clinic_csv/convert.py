"""A row of cells → one canonical record, with unmapped columns kept in ``custom``.

The plan for a table is made once from its header and a sample of rows (column → field, each
column's inferred type and date formats), so converting a row is a loop over precomputed steps.
A cell that does not fit its field is a ``RowError`` naming file, line, column and field; the
value itself is never quoted. Row-width problems (a truncated file, a stray delimiter) are
caught here too, because only the header knows how wide a row must be.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ferry.errors import RecordError
from ferry.model.entities import ENTITIES, Record, parse_record
from ferry.model.fields import FieldInfo, Kind, fields_of
from ferry.sources.clinic_csv import values as V
from ferry.sources.clinic_csv.columns import norm
from ferry.sources.clinic_csv.rows import RawRow, RowError

PSEUDO = {"_full_name", "_ec_name", "_ec_phone", "_ec_relationship"}


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


class RowConverter:
    """Converts rows of one table into records of one object."""

    def __init__(self, *, system: str, object_name: str, table: str, header: list[str],
                 columns: dict[str, str | None], samples: list[list[str]],
                 timezone: str = "UTC", dayfirst: bool | None = None) -> None:
        self.system, self.object, self.table, self.header = system, object_name, table, header
        self.tz = ZoneInfo(timezone)
        model = ENTITIES[object_name]
        info = {f.name: f for f in fields_of(model)}
        cols = {c: [r[i] for r in samples if i < len(r)] for i, c in enumerate(header)}
        self.dates: dict[str, V.DateColumn] = {}
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
                self.steps.append(Step(i, col, None, self._custom(ctype, dcol), ctype))
        self.has_id = "source_id" in self.field_column

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
        if kind is Kind.ENUM and fi is not None and fi.options:
            opts = fi.options
            return lambda s: V.normalise_option(s, opts)
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
                return lambda s: V.as_date(s, dcol).isoformat()
            return lambda s: V.as_datetime(s, dcol, self.tz).isoformat()
        return str

    def _err(self, row: RawRow, column: int | None, reason: str,
             rid: str | None = None) -> RowError:
        name = self.header[column - 1] if column and 0 < column <= len(self.header) else None
        return RowError(self.system, self.object, self.table, row.line, column, name, reason,
                        rid)

    def convert(self, row: RawRow) -> Record | RowError:
        cells = row.fields
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
        for st in self.steps:
            text = cells[st.index].strip()
            if not text:
                continue
            if st.field in PSEUDO:
                pseudo[st.field] = text
                continue
            try:
                dc = self.dates.get(st.column) if st.field else None
                if dc is not None and dc.primary(text) is None:
                    value = st.convert(text, self._row_hint(cells))
                else:
                    value = st.convert(text)
            except V.BadValue as exc:
                if st.field is None:  # a custom cell off its column's type: keep it as text
                    custom[st.key] = {"type": "text", "value": text, "label": st.column}
                    continue
                return self._err(row, st.index + 1, f"{st.field}: {exc}",
                                 data.get("source_id"))
            if st.field is None:
                custom[st.key] = {"type": st.custom_type, "value": value, "label": st.column}
            else:
                data[st.field] = value
        _apply_pseudo(data, pseudo)
        if custom:
            data["custom"] = custom
        if "source_id" not in data:
            if self.has_id:
                return self._err(row, self._col("source_id"), "the record has no id")
            data["source_id"] = f"{self.table}#L{row.line}"
        try:
            return parse_record(self.object, data, system=self.system)
        except RecordError as exc:
            field = (exc.field or "").split(".")[0]
            return self._err(row, self._col(field), f"{exc.field}: {exc.reason}",
                             str(data["source_id"]))

    def _row_hint(self, cells: list[str]) -> bool | None:
        """Day/month order shown by this row's own date cells (a dirty row has one style)."""
        texts = [cells[self.steps[k].index] for k in self.date_steps
                 if self.steps[k].index < len(cells)]
        return V.row_order([t for t in texts if t.strip()])

    def _col(self, field: str) -> int | None:
        col = self.field_column.get(field)
        return self.header.index(col) + 1 if col else None


def _ref(s: str) -> str:
    s = s.strip()
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


def updated_of(record: Record) -> dt.datetime | None:
    return record.updated_at or record.created_at
