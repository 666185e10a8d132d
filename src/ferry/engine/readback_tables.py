"""What reconcile reads back from the destination, kept in tables of the staging store.

Reconcile compares every record Ferry loaded with what the destination holds. Held in Python
dicts and sets, the live ids, the id map by destination id and the read-back rows grew with the
practice (401 MB of peak RSS at 10k patients, some 2.5 GB at 100k); in tables they cost disk,
and the comparisons become joins and keyed look-ups in batches. Plain tables, not ``TEMP``
ones: the store's connections keep temporary tables in memory (``temp_store=MEMORY``), and the
same SQL runs on the PostgreSQL store. Rows carry a tag per reconcile, deleted when it ends.

Each table is stored in the order of its key (``WITHOUT ROWID``): a row is one B-tree insert and
a look-up one search, where a rowid table with its key's index took two of each (the first
tables, ``recon_*``, are dropped). A reconcile inserts and probes some 2-3 rows per record
read back, in trees that grow with the practice: at 2.2M rows the two trees cost 0.234 CPU-s
per 10k rows and one 0.189 (a synthetic ``ReadBack`` load). When it ends and no other
reconcile has rows there, each table is emptied whole (SQLite frees its pages without visiting
each row): deleting its own rows one by one was 12 % of that.

What is stored: destination ids, source ids (as the id map already holds them) and reference
ids in clear; the values summed (money, numbers) through the store's codec, as staged records
are, since they are PHI.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from ferry.model.staging import StagingStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS readback_live (tag TEXT NOT NULL, target TEXT NOT NULL,
    did TEXT NOT NULL, got INTEGER NOT NULL, PRIMARY KEY (tag, target, did)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readback_exp (tag TEXT NOT NULL, target TEXT NOT NULL,
    did TEXT NOT NULL, n INTEGER NOT NULL, src_object TEXT NOT NULL, source_id TEXT NOT NULL,
    created INTEGER NOT NULL, PRIMARY KEY (tag, target, did, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readback_val (tag TEXT NOT NULL, target TEXT NOT NULL,
    did TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (tag, target, did, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readback_ref (tag TEXT NOT NULL, target TEXT NOT NULL,
    key TEXT NOT NULL, did TEXT NOT NULL, n INTEGER NOT NULL, pid TEXT NOT NULL,
    PRIMARY KEY (tag, target, key, did, n)) WITHOUT ROWID;
DROP TABLE IF EXISTS recon_live;
DROP TABLE IF EXISTS recon_exp;
DROP TABLE IF EXISTS recon_val;
DROP TABLE IF EXISTS recon_ref;
"""
TABLES = ("readback_live", "readback_exp", "readback_val", "readback_ref")
#: rows per insert transaction, ids per ``IN (…)`` query
CHUNK = 1000
IN_CHUNK = 500


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


class ReadBack:
    """Live ids, expected ids (the id map) and read-back values of one reconcile."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        self.tag = uuid.uuid4().hex[:16]
        with store.write_lock:
            store.conn.executescript(SCHEMA)
        self._counts: dict[str, int] = {}
        self._n = 0

    def close(self) -> None:
        with self.store.tx() as c:
            for t in TABLES:
                # no other reconcile's rows: the whole table emptied at once (SQLite frees its
                # pages without visiting each row) rather than row by row
                others = c.execute(f"SELECT 1 FROM {t} WHERE tag<? OR tag>? LIMIT 1",  # noqa: S608
                                   (self.tag, self.tag)).fetchone()
                if others is None:
                    c.execute(f"DELETE FROM {t}")  # noqa: S608
                else:
                    c.execute(f"DELETE FROM {t} WHERE tag=?", (self.tag,))  # noqa: S608

    def _insert(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        chunk: list[tuple[Any, ...]] = []
        for r in rows:
            chunk.append(r)
            if len(chunk) >= CHUNK:
                with self.store.tx() as c:
                    c.executemany(sql, chunk)
                chunk = []
        if chunk:
            with self.store.tx() as c:
                c.executemany(sql, chunk)

    # -- live ids ------------------------------------------------------------------------------
    def add_live(self, target: str, ids: Iterable[str]) -> None:
        """Every live id of ``target`` (streamed from ``iter_ids``; repeats counted once)."""
        self._insert("INSERT OR IGNORE INTO readback_live (tag, target, did, got) VALUES (?,?,?,0)",
                     ((self.tag, target, str(i)) for i in ids))
        self._counts[target] = int(self.store.conn.execute(
            "SELECT count(*) FROM readback_live WHERE tag=? AND target=?",
            (self.tag, target)).fetchone()[0])

    def __contains__(self, target: object) -> bool:
        return target in self._counts

    @property
    def targets(self) -> list[str]:
        return list(self._counts)

    def count(self, target: str) -> int:
        return self._counts.get(target, 0)

    def has(self, target: str, did: str) -> bool:
        return self.store.conn.execute(
            "SELECT 1 FROM readback_live WHERE tag=? AND target=? AND did=?",
            (self.tag, target, did)).fetchone() is not None

    def live_among(self, targets: Iterable[str], dids: list[str]) -> set[str]:
        """Those of ``dids`` live in any of ``targets``: one query per 500 ids."""
        tl = list(targets)
        out: set[str] = set()
        for i in range(0, len(dids), IN_CHUNK):
            chunk = dids[i:i + IN_CHUNK]
            out.update(str(r[0]) for r in self.store.conn.execute(
                f"SELECT did FROM readback_live WHERE tag=? AND target IN ({','.join('?' * len(tl))})"  # noqa: S608
                f" AND did IN ({','.join('?' * len(chunk))})", (self.tag, *tl, *chunk)))
        return out

    def iter_live(self, target: str, batch: int = CHUNK) -> Iterator[list[str]]:
        """Live ids of ``target`` in id order, a batch at a time (keyset pages: the table may
        be written between batches)."""
        last = ""
        while True:
            ids = [str(r[0]) for r in self.store.conn.execute(
                "SELECT did FROM readback_live WHERE tag=? AND target=? AND did>? ORDER BY did"
                " LIMIT ?", (self.tag, target, last, batch))]
            if not ids:
                return
            yield ids
            last = ids[-1]

    # -- expected ids (the id map by destination id) --------------------------------------------
    def add_expected(self, rows: Iterable[tuple[str, str, str, str, bool]]) -> None:
        """(destination object, destination id, source object, source id, created) rows."""
        def numbered() -> Iterator[tuple[Any, ...]]:
            for target, did, sobj, sid, created in rows:
                self._n += 1
                yield (self.tag, target, did, self._n, sobj, sid, int(created))
        self._insert("INSERT INTO readback_exp (tag, target, did, n, src_object, source_id, created)"
                     " VALUES (?,?,?,?,?,?,?)", numbered())

    def missing(self, target: str) -> Iterator[tuple[str, str, str]]:
        """(destination id, source object, source id) of id-map entries not live, by id."""
        yield from ((str(a), str(b), str(c)) for a, b, c in self.store.conn.execute(
            "SELECT e.did, e.src_object, e.source_id FROM readback_exp e WHERE e.tag=? AND"
            " e.target=? AND NOT EXISTS (SELECT 1 FROM readback_live l WHERE l.tag=e.tag AND"
            " l.target=e.target AND l.did=e.did) ORDER BY e.did, e.n", (self.tag, target)))

    def expected_counts(self, target: str) -> tuple[int, int, int]:
        """(destination ids in the id map, of them live, of them created by Ferry)."""
        row = self.store.conn.execute(
            "SELECT count(DISTINCT e.did), count(DISTINCT l.did),"
            " count(DISTINCT CASE WHEN e.created=1 THEN e.did END) FROM readback_exp e"
            " LEFT JOIN readback_live l ON l.tag=e.tag AND l.target=e.target AND l.did=e.did"
            " WHERE e.tag=? AND e.target=?", (self.tag, target)).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def expected_among(self, target: str, dids: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(dids), IN_CHUNK):
            chunk = dids[i:i + IN_CHUNK]
            out.update(str(r[0]) for r in self.store.conn.execute(
                "SELECT DISTINCT did FROM readback_exp WHERE tag=? AND target=? AND did IN"
                f" ({','.join('?' * len(chunk))})", (self.tag, target, *chunk)))  # noqa: S608
        return out

    # -- read-back values ---------------------------------------------------------------------
    def add_rows(self, target: str, rows: dict[str, dict[str, Any]], id_keys: Iterable[str],
                 ref_keys: Iterable[str], sum_keys: Iterable[str]) -> None:
        """Rows ``read`` returned: marks them read, keeps the source-id values (``i:`` keys),
        the references (one row per id they hold) and the summed values (``s:``, encoded)."""
        ik, rk, sk = list(id_keys), list(ref_keys), list(sum_keys)
        vals: list[tuple[Any, ...]] = []
        refs: list[tuple[Any, ...]] = []
        codec = self.store.codec
        for did, row in rows.items():
            for k in ik:
                v = row.get(k)
                if not _empty(v):
                    vals.append((self.tag, target, did, f"i:{k}", str(v).encode()))
            for k in sk:
                if k in row:
                    vals.append((self.tag, target, did, f"s:{k}",
                                 codec.encode(json.dumps(row[k], default=str).encode())))
            for k in rk:
                v = row.get(k)
                if _empty(v):
                    continue
                for n, pid in enumerate(v if isinstance(v, list) else [v]):
                    refs.append((self.tag, target, k, did, n, str(pid)))
        with self.store.tx() as c:
            c.executemany("UPDATE readback_live SET got=1 WHERE tag=? AND target=? AND did=?",
                          [(self.tag, target, d) for d in rows])
            if vals:
                c.executemany("INSERT OR REPLACE INTO readback_val (tag, target, did, key, value)"
                              " VALUES (?,?,?,?,?)", vals)
            if refs:
                c.executemany("INSERT OR REPLACE INTO readback_ref (tag, target, key, did, n, pid)"
                              " VALUES (?,?,?,?,?,?)", refs)

    def source_ids(self, target: str, keys: Iterable[str]
                   ) -> Iterator[tuple[str, str, list[str]]]:
        """(key, source id, destination ids carrying it), by key and source id."""
        kl = [f"i:{k}" for k in keys]
        if not kl:
            return
        cur = self.store.conn.execute(
            "SELECT key, value, did FROM readback_val WHERE tag=? AND target=? AND key IN"
            f" ({','.join('?' * len(kl))}) ORDER BY key, value, did",  # noqa: S608
            (self.tag, target, *kl))
        group: tuple[str, bytes] | None = None
        dids: list[str] = []
        for key, value, did in cur:
            if (key, bytes(value)) != group:
                if group is not None:
                    yield group[0][2:], group[1].decode(), dids
                group, dids = (key, bytes(value)), []
            dids.append(str(did))
        if group is not None:
            yield group[0][2:], group[1].decode(), dids

    def refs(self, target: str, key: str, ref_targets: Iterable[str], src_object: str
             ) -> Iterator[tuple[str, str, bool, bool]]:
        """(destination id, referenced id, referenced record live in any of ``ref_targets``,
        the record is one ``src_object`` wrote) of each reference ``key`` holds, by id."""
        tl = list(ref_targets)
        yield from ((str(d), str(p), bool(lv), bool(mine)) for d, p, lv, mine in
                    self.store.conn.execute(
            "SELECT r.did, r.pid, EXISTS (SELECT 1 FROM readback_live l WHERE l.tag=r.tag AND"
            f" l.target IN ({','.join('?' * len(tl))}) AND l.did=r.pid),"  # noqa: S608
            " EXISTS (SELECT 1 FROM readback_exp e WHERE e.tag=r.tag AND e.target=r.target AND"
            " e.did=r.did AND e.src_object=?)"
            " FROM readback_ref r WHERE r.tag=? AND r.target=? AND r.key=? ORDER BY r.did, r.n",
            (*tl, src_object, self.tag, target, key)))

    def rows(self, target: str, dids: list[str], sum_keys: Iterable[str]
             ) -> dict[str, dict[str, Any]]:
        """The read-back rows (summed keys only) of those of ``dids`` that ``read`` returned."""
        out: dict[str, dict[str, Any]] = {}
        codec = self.store.codec
        sk = [f"s:{k}" for k in sum_keys]
        for i in range(0, len(dids), IN_CHUNK):
            chunk = dids[i:i + IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for (did,) in self.store.conn.execute(
                    f"SELECT did FROM readback_live WHERE tag=? AND target=? AND got=1 AND did IN"  # noqa: S608
                    f" ({marks})", (self.tag, target, *chunk)):
                out[str(did)] = {}
            if not sk:
                continue
            for did, key, value in self.store.conn.execute(
                    f"SELECT did, key, value FROM readback_val WHERE tag=? AND target=? AND did IN"  # noqa: S608
                    f" ({marks}) AND key IN ({','.join('?' * len(sk))})",
                    (self.tag, target, *chunk, *sk)):
                out.setdefault(str(did), {})[str(key)[2:]] = json.loads(
                    codec.decode(bytes(value)))
        return out
