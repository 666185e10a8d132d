"""Streaming CSV rows with their byte offsets, and errors that name file, line and column.

Why not ``csv.reader`` over a text stream: it cannot say where a row starts in bytes, so a killed
extract could only resume by re-reading the file from the top, and one bad byte sequence or stray
quote would end the whole file. Instead we split the *binary* file into physical lines (offsets
known), decode each line on its own (a wrongly encoded line fails alone), and join lines only
while a quoted field is open. A quote that never closes is given up on after ``max_lines``
physical lines (or at end of file): that row is reported and reading restarts on the line after
it, so every good row after a broken quote still loads.

Errors never quote a value: they carry the file name, the line, the 1-based column and the
column's header name.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ferry.errors import RecordError

CHUNK = 1 << 16
# control characters a text cell never holds (tab, newline and carriage return are kept)
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Clinical notes run past csv's default 128 KB cell limit (seed 003's long notes); memory is
# bounded by ``max_lines`` instead.
csv.field_size_limit(1 << 30)
#: Excel's guard for a cell it must keep as text (a leading zero, a long number, a postcode):
#: ``="00123"``, as exports meant to be opened in Excel write IDs, ZIP codes and phones. The
#: value is what the quotes hold; read as written, ``="00123"`` would be an id no other file
#: names and a postcode with an equals sign
GUARDED = re.compile(r'^\s*="((?:[^"]|"")*)"\s*$', re.S)


class RowError(RecordError):
    """A row (or header) of an export file that could not be read as it stands."""

    def __init__(self, system: str, object_name: str, file: str, line: int, column: int | None,
                 column_name: str | None, reason: str, record_id: str | None = None) -> None:
        where = f"{file} line {line}" + (f" column {column}" if column else "")
        rid = record_id or f"{file}#L{line}"
        super().__init__(f"{system}:{object_name}:{rid}", column_name, f"{where}: {reason}")
        self.file = file
        self.line = line
        self.column = column
        self.column_name = column_name
        #: the cells read whole before the bad column (a row's key cell among them still names
        #: its record: the record is in the export, only unreadable)
        self.lead: list[str] = []


def unguard(fields: list[str]) -> list[str]:
    """Cells with Excel's text guard (``="0123"``) as the text it guards (``0123``)."""
    return [m.group(1).replace('""', '"') if '="' in c and (m := GUARDED.match(c)) else c
            for c in fields]


@dataclass(frozen=True)
class PhysLine:
    data: bytes  # without the line terminator
    start: int  # byte offset of the line's first byte
    end: int  # byte offset just past its terminator
    number: int  # 1-based physical line number
    terminated: bool  # False for a last line with no newline (a truncated file, often)


@dataclass(frozen=True)
class RawRow:
    """One logical CSV record: its fields, first line, and the offset just past it."""

    fields: list[str]
    line: int
    end: int
    last_line: int
    terminated: bool
    cleaned: int = 0  # control characters (NUL …) removed from the row's text


def iter_lines(f: BinaryIO, *, unit: int = 1, big_endian: bool = False, start: int = 0,
               line: int = 1) -> Iterator[PhysLine]:
    """Physical lines of a binary file from byte ``start`` (``line`` is its number).

    ``unit`` is the code-unit width: 1 for UTF-8 and 8-bit code pages, 2 for UTF-16, whose
    newline is two bytes and must sit on an even offset from the line start.
    """
    f.seek(start)
    pos = start
    if unit == 1:
        while True:
            raw = f.readline()
            if not raw:
                return
            end = pos + len(raw)
            terminated = raw.endswith(b"\n")
            data = raw[:-1] if terminated else raw
            if data.endswith(b"\r"):
                data = data[:-1]
            yield PhysLine(data, pos, end, line, terminated)
            pos, line = end, line + 1
        return
    nl = b"\x00\n" if big_endian else b"\n\x00"
    cr = b"\x00\r" if big_endian else b"\r\x00"
    buf = b""
    while True:
        chunk = f.read(CHUNK)
        buf += chunk
        search = 0
        while True:
            i = buf.find(nl, search)
            if i < 0:
                break
            if i % 2:  # straddles two code units: not a newline
                search = i + 1
                continue
            data = buf[:i]
            if data.endswith(cr):
                data = data[:-2]
            end = pos + i + 2
            yield PhysLine(data, pos, end, line, True)
            buf, pos, line, search = buf[i + 2:], end, line + 1, 0
        if not chunk:
            if buf:
                yield PhysLine(buf, pos, pos + len(buf), line, False)
            return


class RowReader:
    """Logical rows of one CSV file (decoded, split) from a byte offset on."""

    def __init__(self, f: BinaryIO, *, encoding: str, delimiter: str, quotechar: str = '"',
                 system: str, object_name: str, file: str, header: list[str] | None = None,
                 max_lines: int = 100, fallback_encoding: str | None = None,
                 utf8_first: bool = False) -> None:
        self.f = f
        self.encoding = encoding
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.system, self.object, self.file = system, object_name, file
        self.header = header or []
        self.max_lines = max_lines
        self.fallback = fallback_encoding
        self.utf8_first = utf8_first
        self.unit = 2 if encoding.lower().replace("_", "-").startswith("utf-16") else 1
        self.big_endian = encoding.lower().replace("_", "-") == "utf-16-be"
        self.dialect = {"delimiter": delimiter, "quotechar": quotechar, "strict": True,
                        "skipinitialspace": False}

    def _err(self, line: int, column: int | None, reason: str, text: str = "") -> RowError:
        name = self.header[column - 1] if column and 0 < column <= len(self.header) else None
        err = RowError(self.system, self.object, self.file, line, column, name, reason)
        if text and column and column > 1:
            # the fields before the bad one read the same leniently as strictly
            lenient = self.dialect | {"strict": False}
            try:
                loose = next(csv.reader([text], **lenient), [])  # type: ignore[arg-type]
            except csv.Error:
                loose = []  # no key read: the reader then deletes nothing on this pass
            err.lead = loose[:column - 1]
        return err

    def _decode(self, pl: PhysLine) -> tuple[str, int | None]:
        """Text of a line, and the byte position of a decoding failure (None if clean)."""
        data = pl.data
        if self.utf8_first and not data.isascii():
            try:
                return data.decode("utf-8"), None
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(self.encoding), None
        except UnicodeDecodeError as exc:
            if self.fallback:
                return data.decode(self.fallback, errors="replace"), None
            return "", exc.start

    def _column_at(self, pl: PhysLine, byte_pos: int) -> int:
        prefix = pl.data[:byte_pos].decode(self.encoding, errors="replace")
        return self._split_loose(prefix)

    def _split_loose(self, text: str) -> int:
        """1-based column a position falls in, counting delimiters outside quotes."""
        col, in_q, q = 1, False, self.quotechar
        for ch in text:
            if ch == q:
                in_q = not in_q
            elif ch == self.delimiter and not in_q:
                col += 1
        return col

    def rows(self, start: int, line: int) -> Iterator[RawRow | RowError]:
        lines = iter_lines(self.f, unit=self.unit, big_endian=self.big_endian, start=start,
                           line=line)
        pushback: deque[PhysLine] = deque()

        def nxt() -> PhysLine | None:
            if pushback:
                return pushback.popleft()
            return next(lines, None)

        q = self.quotechar
        while True:
            pl = nxt()
            if pl is None:
                return
            text, bad = self._decode(pl)
            if bad is not None:
                yield self._err(pl.number, self._column_at(pl, bad),
                                f"bytes not valid in the file's encoding ({self.encoding})",
                                pl.data[:bad].decode(self.encoding, errors="replace"))
                continue
            cleaned = 0
            if CONTROLS.search(text):  # NUL bytes and the like: removed, and counted
                text, cleaned = CONTROLS.subn("", text)
            if not text.strip():
                continue
            if q not in text:
                yield RawRow(text.split(self.delimiter), pl.number, pl.end, pl.number,
                             pl.terminated, cleaned)
                continue
            group = [pl]
            parts = [text]
            check = True
            while True:
                if check:
                    text = "\n".join(parts) if len(parts) > 1 else parts[0]
                    try:
                        fields = next(csv.reader([text], **self.dialect))  # type: ignore[arg-type]
                        if len(group) > 1 and self.header and len(fields) != len(self.header):
                            # the open quote swallowed later rows: report it, re-read them
                            yield self._err(pl.number, self._open_quote_column(parts[0]),
                                            "quoted field runs into later rows (broken quote)",
                                            parts[0])
                            pushback.extendleft(reversed(group[1:]))
                            break
                        yield RawRow(unguard(fields), pl.number, group[-1].end,
                                     group[-1].number, group[-1].terminated, cleaned)
                        break
                    except csv.Error as exc:
                        if "unexpected end of data" not in str(exc):
                            yield self._err(pl.number, self._bad_quote_column(text),
                                            "stray quote inside a quoted field", text)
                            pushback.extendleft(reversed(group[1:]))
                            break
                more = nxt() if len(group) < self.max_lines else None
                more_text = None
                if more is not None:
                    more_text, more_bad = self._decode(more)
                    if more_bad is not None:
                        more_text = None
                    elif CONTROLS.search(more_text):
                        more_text, n = CONTROLS.subn("", more_text)
                        cleaned += n
                if more is None or more_text is None:
                    if more is not None:
                        group.append(more)
                    # at the end of the file it may be a file cut short: no key read
                    cut = more is None and len(group) < self.max_lines
                    yield self._err(pl.number, self._open_quote_column(parts[0]),
                                    "quoted field never closed (broken quote or truncated file)",
                                    "" if cut else parts[0])
                    pushback.extendleft(reversed(group[1:]))
                    break
                group.append(more)
                parts.append(more_text)
                check = q in more_text  # only a line with a quote can close the field

    def _open_quote_column(self, text: str) -> int:
        first = text.split("\n", 1)[0]
        return self._split_loose(first) if first.count(self.quotechar) % 2 else 1

    def _bad_quote_column(self, text: str) -> int:
        """Column of a quote that closes a field and is followed by more text."""
        col, in_q, i, q, d = 1, False, 0, self.quotechar, self.delimiter
        field_start = True
        while i < len(text):
            ch = text[i]
            if in_q:
                if ch == q:
                    if i + 1 < len(text) and text[i + 1] == q:
                        i += 2
                        continue
                    if i + 1 < len(text) and text[i + 1] not in (d, "\n", "\r"):
                        return col
                    in_q = False
            elif ch == q and field_start:
                in_q = True
            elif ch == d:
                col += 1
                field_start = True
                i += 1
                continue
            field_start = False
            i += 1
        return col
