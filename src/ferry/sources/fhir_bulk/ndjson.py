"""Streaming NDJSON: one FHIR resource per line, read with byte offsets so reads resume.

The Bulk Data IG has one resource type per file and several files per type. A line that is not
JSON, is not an object, or holds another (or an unknown) resource type is a ``RowError`` naming
the file, the line and the column (the JSON parser's column, or where ``resourceType`` sits),
never the content; the next line is read as if nothing happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.connectors.http import loads
from ferry.sources.clinic_csv.rows import RowError, iter_lines

TYPE_IN_NAME = re.compile(r"^([A-Z][A-Za-z]+)")


@dataclass(frozen=True)
class Line:
    resource: dict[str, Any]
    line: int
    end: int  # byte offset just past this line (the resume point)
    start: int = 0  # byte offset of the line (to re-read one resource, e.g. inline file data)


def type_of_file(path: Path) -> str | None:
    """``Patient.000.ndjson`` / ``Patient-2.ndjson`` → ``Patient``; else the first line's type."""
    m = TYPE_IN_NAME.match(path.name)
    if m and m.group(1) not in ("Deleted", "Error", "Outcome"):
        return m.group(1)
    with path.open("rb") as f:
        for _ in range(20):
            raw = f.readline()
            if not raw:
                break
            try:
                got = json.loads(raw)
            except ValueError:
                continue
            if isinstance(got, dict) and isinstance(got.get("resourceType"), str):
                return str(got["resourceType"])
    return None


def read_lines(path: Path, *, system: str, object_name: str, expect: str | None,
               known: frozenset[str], start: int = 0, line: int = 1
               ) -> Iterator[Line | RowError]:
    """Resources of one NDJSON file from byte ``start`` (``line`` is that line's number).

    ``expect`` is the file's resource type (lines of another type are errors); ``known`` the
    types this reader understands (an unknown type is an error too).
    """
    name = path.name

    def err(n: int, col: int | None, field: str | None, reason: str) -> RowError:
        return RowError(system, object_name, name, n, col, field, reason)

    with path.open("rb") as f:
        for pl in iter_lines(f, start=start, line=line):
            data = pl.data
            if not data.strip():
                continue
            try:
                res = loads(data)  # orjson; the standard library's errors when it refuses
            except UnicodeDecodeError as exc:
                yield err(pl.number, exc.start + 1, None, "bytes not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                why = ("line cut short (truncated file)" if not pl.terminated
                       and exc.pos >= len(data.rstrip()) - 1 else f"not JSON ({exc.msg})")
                yield err(pl.number, exc.colno, None, why)
                continue
            if not isinstance(res, dict):
                yield err(pl.number, 1, None, "line is not a JSON object")
                continue
            rtype = res.get("resourceType")
            col = data.find(b'"resourceType"') + 1 or None
            if not isinstance(rtype, str):
                yield err(pl.number, col or 1, "resourceType", "no resourceType")
                continue
            if rtype not in known:
                yield err(pl.number, col, "resourceType", "unknown resource type")
                continue
            if expect and rtype != expect:
                yield err(pl.number, col, "resourceType",
                          "resource type differs from the file's type")
                continue
            if not isinstance(res.get("id"), str) or not res["id"]:
                yield err(pl.number, (data.find(b'"id"') + 1) or 1, "id", "resource has no id")
                continue
            yield Line(res, pl.number, pl.end, pl.start)


def deleted_refs(path: Path) -> Iterator[tuple[str, str]]:
    """``(type, id)`` of every DELETE entry of a ``deleted`` file (one Bundle per line)."""
    with path.open("rb") as f:
        for raw in f:
            try:
                bundle = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(bundle, dict):
                continue
            for entry in bundle.get("entry") or []:
                req = (entry or {}).get("request") or {}
                url = str(req.get("url") or "")
                if req.get("method", "DELETE") == "DELETE" and "/" in url:
                    rtype, rid = url.rstrip("/").split("/")[-2:]
                    yield rtype, rid
