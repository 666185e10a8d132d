"""One table of an export: a CSV file or one XLSX sheet, opened lazily, read as a stream.

A ``Table`` knows its layout (encoding, delimiter, header line) and reads rows from a
``Position`` (a byte offset and line number for CSV, a row number for XLSX) so the reader's
checkpoint is a place in the file, not a count of records held in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.sources.clinic_csv.rows import RawRow, RowError, RowReader, iter_lines
from ferry.sources.clinic_csv.sniff import (
    SAMPLE,
    Encoding,
    dedupe_header,
    detect_delimiter,
    detect_encoding,
    detect_header,
    sample_lines,
)

SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}


@dataclass
class Position:
    offset: int
    line: int


@dataclass
class Table:
    path: Path
    name: str  # file name, ``book.xlsx#Sheet`` for a sheet
    kind: str  # csv | xlsx
    header: list[str] = field(default_factory=list)
    header_line: int = 1
    start: Position = field(default_factory=lambda: Position(0, 1))
    encoding: Encoding | None = None
    delimiter: str = ","
    sheet: str | None = None
    header_errors: list[tuple[int, str]] = field(default_factory=list)  # duplicate columns


@dataclass(frozen=True)
class Layout:
    """Overrides of the guesses (from Settings)."""

    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based line of the header


def discover(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("~$"))


def open_tables(path: Path, layout: Layout = Layout()) -> list[Table]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_tables(path, layout)
    return [_csv_table(path, layout)]


def _csv_table(path: Path, layout: Layout) -> Table:
    with path.open("rb") as f:
        sample = f.read(SAMPLE)
    enc = detect_encoding(sample)
    if layout.encoding:
        enc = Encoding(layout.encoding, enc.bom if layout.encoding.startswith("utf") else 0)
    lines = sample_lines(sample, enc)
    delim = layout.delimiter or (detect_delimiter(lines) if lines else ",")
    hidx = layout.header_row - 1 if layout.header_row else detect_header(lines, delim)
    t = Table(path, path.name, "csv", encoding=enc, delimiter=delim)
    with path.open("rb") as f:
        reader = RowReader(f, encoding=enc.name, delimiter=delim, system="", object_name="",
                           file=path.name)
        unit = reader.unit
        skipped = 0
        for pl in iter_lines(f, unit=unit, big_endian=reader.big_endian, start=enc.bom):
            if skipped < hidx:
                skipped += 1
                continue
            f.seek(pl.start)
            for row in reader.rows(pl.start, pl.number):
                if isinstance(row, RawRow):
                    t.header, dups = dedupe_header(row.fields)
                    t.header_errors = dups
                    t.header_line = row.line
                    t.start = Position(row.end, row.last_line + 1)
                break
            break
    return t


def csv_rows(t: Table, pos: Position, *, system: str, object_name: str, max_lines: int,
             fallback: str | None) -> Iterator[tuple[Position, RawRow | RowError]]:
    """Rows after ``pos``, each with the position just past it (the resume point)."""
    assert t.encoding is not None
    with t.path.open("rb") as f:
        reader = RowReader(f, encoding=t.encoding.name, delimiter=t.delimiter, system=system,
                           object_name=object_name, file=t.name, header=t.header,
                           max_lines=max_lines, fallback_encoding=fallback,
                           utf8_first=t.encoding.utf8_first)
        last = pos
        for row in reader.rows(pos.offset, pos.line):
            if isinstance(row, RawRow):
                last = Position(row.end, row.last_line + 1)
            yield last, row  # after a bad row: resume re-reads (and re-reports) it


def _xlsx_tables(path: Path, layout: Layout) -> list[Table]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    try:
        for ws in wb.worksheets:
            head: list[list[str]] = []
            for row in ws.iter_rows(min_row=1, max_row=40, values_only=True):
                head.append(["" if v is None else _cell_text(v) for v in row])
            if not any(any(c for c in r) for r in head):
                continue
            while head and head[-1] and not any(head[-1]):
                head.pop()
            lines = [",".join(c.replace(",", " ") for c in r) for r in head]
            hidx = layout.header_row - 1 if layout.header_row else detect_header(lines, ",")
            header, dups = dedupe_header(_trim(head[hidx]))
            name = path.name if len(wb.worksheets) == 1 else f"{path.name}#{ws.title}"
            out.append(Table(path, name, "xlsx", header=header, header_line=hidx + 1,
                             start=Position(hidx + 2, hidx + 2), sheet=ws.title,
                             header_errors=dups))
    finally:
        wb.close()
    return out


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _cell_text(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def xlsx_rows(t: Table, pos: Position) -> Iterator[tuple[Position, RawRow]]:
    """Sheet rows from row ``pos.line`` (1-based), cells as text (dates as ISO)."""
    import openpyxl

    wb = openpyxl.load_workbook(t.path, read_only=True, data_only=True)
    try:
        ws = wb[t.sheet] if t.sheet else wb.worksheets[0]
        for i, row in enumerate(ws.iter_rows(min_row=pos.line, values_only=True), pos.line):
            cells = ["" if v is None else _cell_text(v) for v in row]
            if not any(c.strip() for c in cells):
                continue
            yield Position(i + 1, i + 1), RawRow(cells, i, i + 1, i, True)
    finally:
        wb.close()
