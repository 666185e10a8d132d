"""API rate budgets shared by every worker, as one row per account in PostgreSQL.

A row holds the earliest time the account's next request may leave, on the database's clock,
and how many 429s the account has answered any worker (``refused``: to watch, it stays 0).
A worker claims its turn just before it sends: one ``INSERT … ON CONFLICT DO UPDATE … WHERE``
that moves the time an interval on only if it has come (the row lock serialises claimers
however many processes and machines there are); a worker that lost asks again when the time
comes. Claiming at send time, not booking slots ahead, means a worker that woke late cannot
land right behind another's request. The database's clock is the only clock compared, so the
workers' clocks need not agree. Accounts are named by digests
(``ferry.connectors.ratelimit.account_id``): no key, host or practice name is stored.

Daily token budgets (Pipedrive's, priced per call) are rows of ``tokens``: the spend of an
account on a day, taken before each call by one conditional upsert that refuses to pass the
limit, so workers serving one company stop together when its day is spent.

The tables live in schema ``ferry__budget`` of the store's database (a project's schema is
``ferry_`` + a name that never starts with ``_``, so the two cannot meet).
"""

from __future__ import annotations

import threading
import zlib
from functools import lru_cache
from typing import Any

SCHEMA = "ferry__budget"
_NOW = "extract(epoch FROM clock_timestamp())"
_CLAIM = (
    f"INSERT INTO {SCHEMA}.pace AS p (account, next_at) VALUES (%(a)s, {_NOW} + %(i)s)"
    f" ON CONFLICT (account) DO UPDATE SET next_at = {_NOW} + %(i)s"
    f" WHERE p.next_at <= {_NOW} RETURNING 0.0")
_WAIT = f"SELECT greatest(next_at - {_NOW}, 0.001) FROM {SCHEMA}.pace WHERE account = %(a)s"
_DEFER = (
    f"INSERT INTO {SCHEMA}.pace AS p (account, next_at)"
    " VALUES (%(a)s, extract(epoch FROM clock_timestamp()) + %(s)s)"
    " ON CONFLICT (account) DO UPDATE SET next_at = greatest(p.next_at, EXCLUDED.next_at)")
_REFUSED = (
    f"INSERT INTO {SCHEMA}.pace AS p (account, next_at, refused) VALUES (%(a)s, {_NOW}, 1)"
    " ON CONFLICT (account) DO UPDATE SET refused = p.refused + 1")
_TAKE = (
    f"INSERT INTO {SCHEMA}.tokens AS t (account, day, spent) SELECT %(a)s, %(d)s, %(n)s"
    " WHERE %(n)s <= %(limit)s"
    " ON CONFLICT (account, day) DO UPDATE SET spent = t.spent + EXCLUDED.spent"
    " WHERE t.spent + EXCLUDED.spent <= %(limit)s RETURNING spent")
_ADD = (
    f"INSERT INTO {SCHEMA}.tokens AS t (account, day, spent) VALUES (%(a)s, %(d)s,"
    " greatest(%(n)s, 0)) ON CONFLICT (account, day) DO UPDATE SET"
    " spent = greatest(t.spent + %(n)s, 0)")
_SPENT = f"SELECT spent FROM {SCHEMA}.tokens WHERE account = %(a)s AND day = %(d)s"


class PgBudget:
    """``SharedBudget`` on one PostgreSQL database (one connection, used under a lock)."""

    def __init__(self, dsn: str, password: str | None = None) -> None:
        self.dsn, self._password = dsn, password
        self._lock = threading.Lock()
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg

            kw: dict[str, Any] = {"autocommit": True}
            if self._password:
                kw["password"] = self._password
            conn = psycopg.connect(self.dsn, **kw)
            with conn.transaction():  # two workers creating it at once would collide
                conn.execute("SELECT pg_advisory_xact_lock(%s)",
                             (zlib.crc32(SCHEMA.encode()),))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.pace (account TEXT PRIMARY"
                             " KEY, next_at DOUBLE PRECISION NOT NULL)")
                # 429s each account answered, whichever worker saw them (monitoring)
                conn.execute(f"ALTER TABLE {SCHEMA}.pace ADD COLUMN IF NOT EXISTS refused"
                             " BIGINT NOT NULL DEFAULT 0")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.tokens (account TEXT NOT"
                             " NULL, day TEXT NOT NULL, spent BIGINT NOT NULL,"
                             " PRIMARY KEY (account, day))")
            self._conn = conn
        return self._conn

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        with self._lock:
            try:
                cur = self._connection().execute(sql, params)
                return cur.fetchone() if cur.description else None
            except Exception:
                if self._conn is not None:  # a broken connection: a new one next time
                    self._conn.close()
                    self._conn = None
                raise

    def turn(self, account: str, interval: float) -> float:
        params = {"a": account, "i": float(interval)}
        if self._run(_CLAIM, params) is not None:
            return 0.0
        row = self._run(_WAIT, params)
        return float(row[0]) if row else 0.001

    def defer(self, account: str, seconds: float) -> None:
        self._run(_DEFER, {"a": account, "s": float(seconds)})

    def refused(self, account: str) -> None:
        self._run(_REFUSED, {"a": account})

    def take_tokens(self, account: str, day: str, tokens: int, limit: int) -> bool:
        return self._run(_TAKE, {"a": account, "d": day, "n": int(tokens),
                                 "limit": int(limit)}) is not None

    def add_tokens(self, account: str, day: str, tokens: int) -> None:
        self._run(_ADD, {"a": account, "d": day, "n": int(tokens)})

    def tokens_spent(self, account: str, day: str) -> int:
        row = self._run(_SPENT, {"a": account, "d": day})
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@lru_cache(maxsize=8)
def budget_for(dsn: str, password: str | None = None) -> PgBudget:
    """This process's budget on ``dsn`` (one connection per database, whatever the threads)."""
    return PgBudget(dsn, password)
