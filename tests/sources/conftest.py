"""Helpers shared by the source tests (as the ``h`` fixture: importlib mode has no test package)."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from ferry.connectors.base import Page, Source
from ferry.sources.clinic_csv.rows import RowError


def read_all(src: Source, obj: str, **kw: Any) -> tuple[list[Any], list[Any], list[Page]]:
    async def go() -> list[Page]:
        return [p async for p in src.read(obj, **kw)]

    pages = asyncio.run(go())
    records = [r for p in pages for r in p.records]
    errors = [e for p in pages for e in p.errors]
    return records, errors, pages


def where(errors: list[Any]) -> set[tuple[str, int, int | None]]:
    """(file, line, column) of every row error."""
    assert all(isinstance(e, RowError) for e in errors), errors
    return {(e.file, e.line, e.column) for e in errors}


def assert_no_values(errors: list[Any], *values: str) -> None:
    """Error messages must never quote a cell's value (PHI)."""
    for e in errors:
        text = str(e)
        for v in values:
            assert v not in text, f"error quotes a value: {text}"


@pytest.fixture
def h() -> types.SimpleNamespace:
    return types.SimpleNamespace(read_all=read_all, where=where, assert_no_values=assert_no_values)
