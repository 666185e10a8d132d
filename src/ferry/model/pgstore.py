"""The staging store on PostgreSQL (psycopg 3), for fleets of workers sharing one database.

``PgStagingStore`` is ``StagingStore`` with another connection underneath: every method, and the
SQL that the engine, the PHI queue and dedup run through ``store.conn`` / ``store.tx()``, is
written once in SQLite's dialect. ``PgConnection`` offers sqlite3's connection surface
(``execute``, ``executemany``, ``executescript``) and translates that dialect as it goes:
placeholders, ``INSERT OR IGNORE/REPLACE`` (conflict target read from the catalog), DDL types,
``instr``. ``BEGIN IMMEDIATE`` becomes ``BEGIN`` plus a transaction-scoped advisory lock on the
project, so writers of one project serialise across processes as SQLite's single writer does,
and the audit chain's head cannot fork.

One project is one schema (``search_path``); the password never sits in the URL (see
``ferry.model.stores``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from ferry.model.staging import SCHEMA, PayloadCodec, PlainCodec, StagingStore

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO", re.I)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)", re.I)
_DDL = [(re.compile(p, re.I), r) for p, r in (
    (r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", "BIGSERIAL PRIMARY KEY"),
    (r"\)\s*WITHOUT\s+ROWID", ")"),
    (r"\bBLOB\b", "BYTEA"),
    (r"\bINTEGER\b", "BIGINT"),
)]


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite dialect → PostgreSQL, for the statements Ferry writes (not a general translator).

    ``?`` → ``%s`` (and a literal ``%`` → ``%%``): Ferry's SQL never has ``?`` in a string
    literal. ``INSERT OR REPLACE`` is finished by ``PgConnection``, which knows the table's key.
    """
    out = sql.replace("%", "%%").replace("?", "%s")
    out = re.sub(r"\binstr\(", "strpos(", out, flags=re.I)
    out = re.sub(r"\bAS\s+BLOB\b", "AS BYTEA", out, flags=re.I)
    if re.match(r"^\s*CREATE\s", out, re.I):
        for pat, rep in _DDL:
            out = pat.sub(rep, out)
    if _OR_IGNORE.match(out):
        out = _OR_IGNORE.sub("INSERT INTO", out).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return out


#: (dsn, schema, script) this process has applied
_APPLIED: set[tuple[str, str, str]] = set()

#: columns an older Ferry created with another type: (table, column, old type, new type, USING).
#: ``fold_acc.ord`` was TEXT, and the codec's bytes written into it were stored as their ``\x…``
#: hex text (PostgreSQL's bytea output); bytea's input reads that text back into the same bytes.
_UPGRADES = [("fold_acc", "ord", "text", "BYTEA", "ord::bytea")]
#: (dsn, schema) this process has brought up to date
_UPGRADED: set[tuple[str, str]] = set()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class PgConnection:
    """sqlite3.Connection's surface over one psycopg connection (autocommit; ``tx`` begins)."""

    def __init__(self, dsn: str, schema: str, lock_key: int, password: str | None) -> None:
        import psycopg

        self._psycopg = psycopg
        kw: dict[str, Any] = {"autocommit": True, "cursor_factory": psycopg.ClientCursor}
        if password:
            kw["password"] = password
        self.raw = psycopg.connect(dsn, **kw)
        self.raw.execute(f'SET search_path TO "{schema}"')
        self.dsn, self.schema = dsn, schema
        self.lock_key = lock_key
        self._keys: dict[str, tuple[list[str], list[str]]] = {}

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    def close(self) -> None:
        self.raw.close()

    def _conflict_clause(self, table: str) -> str:
        """``ON CONFLICT (key) DO UPDATE SET other=EXCLUDED.other`` for ``INSERT OR REPLACE``."""
        if table not in self._keys:
            cols = [r[0] for r in self.raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND"
                " table_name=%s ORDER BY ordinal_position", (self.schema, table))]
            key = [r[0] for r in self.raw.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid=i.indrelid"
                " AND a.attnum=ANY(i.indkey) WHERE i.indrelid=%s::regclass AND i.indisprimary",
                (f'"{self.schema}".{table}',))]
            self._keys[table] = (key, cols)
        key, cols = self._keys[table]
        rest = [c for c in cols if c not in key]
        if not rest:
            return f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
        sets = ", ".join(f"{c}=EXCLUDED.{c}" for c in rest)
        return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"

    def _sql(self, sql: str) -> str:
        if re.match(r"^\s*BEGIN\b", sql, re.I):  # BEGIN IMMEDIATE: one writer per project
            return f"BEGIN; SELECT pg_advisory_xact_lock({self.lock_key})"
        out = translate(sql)
        m = _OR_REPLACE.match(out)
        if m:
            out = (_OR_REPLACE.sub(f"INSERT INTO {m.group(1)}", out).rstrip().rstrip(";")
                   + self._conflict_clause(m.group(1)))
        return out

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self.raw.execute(self._sql(sql), tuple(params))
        except self._psycopg.errors.UndefinedTable as exc:
            # callers probe optional tables the way they do on SQLite
            raise sqlite3.OperationalError(f"no such table ({exc.diag.message_primary})") from exc
        except self._psycopg.errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(str(exc.diag.message_primary)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        rows = [tuple(r) for r in rows]
        cur = self.raw.cursor()
        if rows:
            try:
                cur.executemany(self._sql(sql), rows)
            except self._psycopg.errors.IntegrityError as exc:
                raise sqlite3.IntegrityError(str(exc.diag.message_primary)) from exc
        return cur

    def executescript(self, script: str) -> None:
        """DDL scripts run in one locked transaction: two workers creating the same tables at
        once would otherwise collide in the catalog. A script this process already ran on this
        schema is not sent again (they are all ``IF NOT EXISTS``; reopening a store stays cheap)."""
        done = (self.dsn, self.schema, script)
        if done in _APPLIED:
            return
        in_tx = self.raw.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE
        if not in_tx:
            self.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _statements(script):
                self.raw.execute(translate(stmt).replace("%%", "%"))
        except BaseException:
            if not in_tx:
                self.raw.execute("ROLLBACK")
            raise
        if not in_tx:
            self.raw.execute("COMMIT")
            _APPLIED.add(done)


class PgStagingStore(StagingStore):
    """The staging store of one project in schema ``schema`` of a PostgreSQL database."""

    def __init__(self, dsn: str, schema: str, codec: PayloadCodec | None = None, *,
                 password: str | None = None) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}: lower-case letters, digits, _")
        self.dsn, self.schema, self._password = dsn, schema, password
        self.path = None  # type: ignore[assignment]  # no file: the project lives in a schema
        self.codec = codec or PlainCodec()
        self._local = threading.local()
        self._all: list[PgConnection] = []
        self._lock_key = zlib.crc32(f"ferry:{schema}".encode())
        self.write_lock = threading.RLock()
        with self.write_lock:
            self.conn.executescript(f'CREATE SCHEMA IF NOT EXISTS "{schema}";\n{SCHEMA}')
            self._upgrade()

    def _upgrade(self) -> None:
        """Bring a schema an older Ferry made to today's column types (``_UPGRADES``), once per
        process, under the project's lock so two workers opening it at once alter it once."""
        if (self.dsn, self.schema) in _UPGRADED:
            return
        raw = self.conn.raw
        with raw.transaction():
            raw.execute(f"SELECT pg_advisory_xact_lock({self._lock_key})")
            for table, column, old, new, using in _UPGRADES:
                row = raw.execute(
                    "SELECT data_type FROM information_schema.columns WHERE table_schema=%s"
                    " AND table_name=%s AND column_name=%s", (self.schema, table, column)
                ).fetchone()
                if row is not None and row[0] == old:
                    raw.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {new}"
                                f" USING {using}")
        _UPGRADED.add((self.dsn, self.schema))

    def __repr__(self) -> str:
        return f"PgStagingStore(schema={self.schema!r})"

    @property
    def conn(self) -> PgConnection:  # type: ignore[override]
        c: PgConnection | None = getattr(self._local, "conn", None)
        if c is None or c.closed:
            c = PgConnection(self.dsn, self.schema, self._lock_key, self._password)
            self._local.conn = c
            with self.write_lock:
                self._all.append(c)
        return c

    def close(self) -> None:
        """Close every thread's connection (a thread that goes on reconnects)."""
        with self.write_lock:
            for c in self._all:
                if not c.closed:
                    c.close()
            self._all.clear()


def read_anchor(dsn: str, schema: str, password: str | None = None) -> dict[str, Any] | None:
    """The audit log's head as a report records it, read from the project's schema without
    opening the project (``ferry.model.audit.read_anchor`` for the SQLite file); None when
    there is no log yet or the database cannot be reached."""
    import psycopg

    from ferry.model.audit import anchor_of

    if not _SCHEMA_NAME.match(schema):
        return None
    kw: dict[str, Any] = {"autocommit": True, "connect_timeout": 10}
    if password:
        kw["password"] = password
    try:
        with psycopg.connect(dsn, **kw) as conn:
            rows = dict(conn.execute(
                f'SELECT key, value FROM "{schema}".kv WHERE key IN (%s, %s)',  # noqa: S608
                ("audit_head", "audit_chain")).fetchall())
    except psycopg.Error:
        return None
    return anchor_of(rows)
