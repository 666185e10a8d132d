"""Guess how an export file is written: encoding, delimiter, and which line holds the header.

Exports come from every kind of clinic system and spreadsheet, so nothing is assumed. The guesses
look only at the first 64 KB (the file is never read whole) and each one can be overridden in the
source settings when a file defeats it.

Encoding: a BOM decides (UTF-8, UTF-16 LE/BE). Without one, lines are tried as UTF-8: a valid
multi-byte sequence is practically never produced by chance in cp1252 text, so one such line
says UTF-8 even when other lines fail (a mixed file: its bad lines are reported, row by row).
NUL-heavy samples are BOM-less UTF-16. Otherwise charset-normalizer picks among the 8-bit code
pages (cp1252 first, latin-1 for the bytes cp1252 leaves undefined).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass

import charset_normalizer

SAMPLE = 1 << 16
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Encoding:
    name: str  # a Python codec name
    bom: int  # bytes of byte-order mark to skip
    utf8_first: bool = False  # 8-bit file: try UTF-8 on non-ASCII lines first


def detect_encoding(sample: bytes) -> Encoding:
    if sample.startswith(b"\xef\xbb\xbf"):
        return Encoding("utf-8", 3)
    if sample.startswith(b"\xff\xfe"):
        return Encoding("utf-16-le", 2)
    if sample.startswith(b"\xfe\xff"):
        return Encoding("utf-16-be", 2)
    if len(sample) >= 4:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if odd > half * 0.3 and even < half * 0.05:
            return Encoding("utf-16-le", 0)
        if even > half * 0.3 and odd < half * 0.05:
            return Encoding("utf-16-be", 0)
    valid_non_ascii = invalid = 0
    lines = sample.split(b"\n")
    if len(sample) >= SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut mid-character
    for raw in lines:
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            valid_non_ascii += 1
        except UnicodeDecodeError:
            invalid += 1
    if valid_non_ascii or not invalid:
        return Encoding("utf-8", 0)
    best = charset_normalizer.from_bytes(sample, cp_isolation=["cp1252", "latin_1"]).best()
    name = best.encoding if best is not None else "cp1252"
    try:
        sample.decode(name)
    except UnicodeDecodeError:
        name = "latin-1"
    return Encoding(name, 0, utf8_first=True)


MAGIC = [(b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
         (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
         (b"\x1f\x8b", "a gzip archive"), (b"\xd0\xcf\x11\xe0", "an old Office file"),
         (b"SQLite format 3", "an SQLite database"), (b"\x7fELF", "a program")]
TEXT_CONTROLS = {9, 10, 12, 13}


def not_a_table(sample: bytes) -> str | None:
    """Why a file named like a table is not one (binary content), or None when it is text.

    A few stray control bytes (NUL in a dirty export) are text with dirt, cleaned row by row;
    a known file signature, or control bytes in more than 5 % of the sample (and 32 or more),
    is not a table.
    """
    for magic, what in MAGIC:
        if sample.startswith(magic):
            return what
    if not sample or detect_encoding(sample).name.startswith("utf-16"):
        return None
    controls = sum(1 for b in sample if b < 32 and b not in TEXT_CONTROLS)
    return "binary content" if controls > 0.05 * len(sample) and controls >= 32 else None


def sample_lines(sample: bytes, enc: Encoding, limit: int = 60) -> list[str]:
    text = sample[enc.bom:].decode(enc.name, errors="replace")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if len(sample) >= SAMPLE and len(lines) > 1:
        lines = lines[:-1]
    return lines[:limit]


def _rows(lines: list[str], delim: str) -> list[list[str]]:
    """Each sample line parsed alone; a line csv refuses (stray CR, NUL) counts as one cell."""
    out = []
    for line in lines:
        try:
            out.append(next(csv.reader([line], delimiter=delim), []))
        except csv.Error:
            out.append([line])
    return out


def _counts(lines: list[str], delim: str) -> list[int]:
    return [len(row) for row in _rows(lines, delim) if row]


def detect_delimiter(lines: list[str]) -> str:
    """csv.Sniffer first; if it fails or picks something odd, the most consistent candidate."""
    text = "\n".join(lines)
    try:
        found = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
        if found in DELIMITERS and _consistency(lines, found)[0] > 1:
            return found
    except csv.Error:
        pass
    scored = []
    for d in DELIMITERS:
        width, share = _consistency(lines, d)
        scored.append((width > 1, share, width, d == ",", d))
    return max(scored)[-1]


def _consistency(lines: list[str], delim: str) -> tuple[int, float]:
    """Modal field count over the later lines, and the share of lines having it."""
    filled = [line for line in lines if line.strip()]
    counts = _counts(filled[len(filled) // 4:] if len(filled) > 8 else filled, delim)
    if not counts:
        return 1, 0.0
    width, n = _mode(counts)
    return width, n / len(counts)


def _mode(counts: list[int]) -> tuple[int, int]:
    """Most frequent width; ties go to the wider (a short line is the likelier accident)."""
    return max(Counter(counts).items(), key=lambda kv: (kv[1], kv[0]))


def detect_header(lines: list[str], delim: str) -> int:
    """0-based index of the header line: the first line as wide as the data, and wordy.

    Preamble lines ("Exported by …", "Clinic: …") are narrower than the table, so they are
    skipped; a header is mostly non-empty cells that are not numbers.
    """
    rows = _rows(lines, delim)
    widths = [len(r) for r in rows if any(c.strip() for c in r)]
    if not widths:
        return 0
    width = _mode(widths[len(widths) // 4:] if len(widths) > 8 else widths)[0]
    for i, row in enumerate(rows):
        cells = [c.strip() for c in row]
        while cells and not cells[-1] and len(cells) > width:
            cells.pop()
        if len(cells) < max(2, width - 1) and width > 1:
            continue
        filled = [c for c in cells if c]
        wordy = [c for c in filled if not _numberish(c)]
        if filled and len(wordy) >= 0.6 * len(cells):
            return i
    return 0


def _numberish(cell: str) -> bool:
    stripped = cell.replace(".", "").replace("-", "").replace("/", "").replace(":", "")
    return stripped.replace(" ", "").isdigit()


def dedupe_header(names: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Unique column names (``x``, ``x__2``) and the 1-based columns that repeated one."""
    seen: dict[str, int] = {}
    out: list[str] = []
    dups: list[tuple[int, str]] = []
    for i, raw in enumerate(names, start=1):
        name = raw.strip().lstrip("\ufeff").strip() or f"column_{i}"
        key = name.lower()
        if key in seen:
            seen[key] += 1
            dups.append((i, name))
            name = f"{name}__{seen[key]}"
        else:
            seen[key] = 1
        out.append(name)
    return out, dups
