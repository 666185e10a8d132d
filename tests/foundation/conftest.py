"""The staging store's tests run on both backends: the embedded SQLite file and PostgreSQL.

``backend`` opens stores by name (reopening a name reaches the same data), gives the arguments a
child process passes to ``open_store``, and runs raw SQL on a connection of its own (to tamper
with what a store wrote, as an attacker with database access would). The PostgreSQL cluster is
a throwaway one started once per test session; the tests skip only when no PostgreSQL binary
exists on the machine (.ci/run installs Debian's).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.model.staging import PayloadCodec, StagingStore
from ferry.model.stores import open_store
from ferry.sandbox.servers import local_postgres, pg_bindir


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    with local_postgres() as url:
        yield url


class Backend:
    def __init__(self, kind: str, tmp: Path, url: str | None) -> None:
        self.kind, self.tmp, self.url = kind, tmp, url
        self.prefix = "t" + uuid.uuid4().hex[:10]
        self.opened: list[StagingStore] = []
        self._raw: dict[str, Any] = {}

    def args(self, name: str) -> list[str]:
        """``open_store`` arguments for a child process: a path, or a URL and a schema."""
        if self.url is None:
            return [str(self.tmp / f"{name}.db")]
        return [self.url, f"{self.prefix}_{name}"]

    def open(self, name: str = "s", codec: PayloadCodec | None = None) -> StagingStore:
        a = self.args(name)
        store = open_store(a[0], schema=a[1] if len(a) > 1 else None, codec=codec)
        self.opened.append(store)
        return store

    def sql(self, name: str, stmt: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one statement (SQLite dialect) on a fresh connection; returns its rows."""
        if self.url is None:
            c = sqlite3.connect(self.tmp / f"{name}.db", timeout=10)
            try:
                cur = c.execute(stmt, params)
                rows = cur.fetchall()
                c.commit()
                return rows
            finally:
                c.close()
        import psycopg

        from ferry.model.pgstore import translate

        c = self._raw.get(name)
        if c is None:
            c = self._raw[name] = psycopg.connect(self.url, autocommit=True,
                                                  cursor_factory=psycopg.ClientCursor)
            c.execute(f'SET search_path TO "{self.prefix}_{name}"')
        cur = c.execute(translate(stmt), params)
        return cur.fetchall() if cur.description else []

    def close(self) -> None:
        for s in self.opened:
            s.close()
        for c in self._raw.values():
            c.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    b = Backend(request.param, tmp_path, url)
    yield b
    b.close()
