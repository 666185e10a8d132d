"""The staging store: one SQLite file (WAL) per project holding everything a run needs.

Tables: staged source records (payload, content hash, watermark), checkpoints, runs, the id map,
the write-ahead audit log (see ``audit.py``) and skips. Each thread gets its own connection so
extraction and load can overlap; SQLite's WAL lets one writer and many readers work at once.
Everything streams: inserts are batched and reads page by rowid, so memory stays flat.

The public methods are the interface. The connection is the backend seam: ``pgstore.PgStagingStore``
runs the same methods (and the engine's SQL) on PostgreSQL; write SQL that both accept.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import orjson

from ferry.model.entities import Record, entity, owner_ref

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    object TEXT NOT NULL, source_id TEXT NOT NULL, payload BLOB NOT NULL, hash TEXT NOT NULL,
    watermark TEXT, deleted INTEGER NOT NULL DEFAULT 0, staged_at TEXT NOT NULL,
    PRIMARY KEY (object, source_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_order (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, source_id TEXT NOT NULL,
    UNIQUE (object, source_id));
-- batch reads walk one object in staging order: without this index every batch read and
-- sorted all of the object's rows (a pass grew with the square of its size). Created on open,
-- so a store staged before it existed gets it too.
CREATE INDEX IF NOT EXISTS record_order_seq ON record_order (object, seq);
CREATE TABLE IF NOT EXISTS record_owner (
    object TEXT NOT NULL, source_id TEXT NOT NULL, practitioner_id TEXT,
    PRIMARY KEY (object, source_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (scope TEXT PRIMARY KEY, value TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, params TEXT, stats TEXT);
CREATE TABLE IF NOT EXISTS idmap (
    src_object TEXT NOT NULL, source_id TEXT NOT NULL, dest_object TEXT NOT NULL,
    dest_id TEXT NOT NULL, run_id TEXT NOT NULL, created INTEGER NOT NULL, payload_hash TEXT,
    PRIMARY KEY (src_object, source_id, dest_object));
CREATE INDEX IF NOT EXISTS idmap_run ON idmap (run_id);
CREATE INDEX IF NOT EXISTS idmap_dest ON idmap (dest_object, dest_id);
CREATE TABLE IF NOT EXISTS skips (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, ref TEXT NOT NULL,
    field TEXT, reason TEXT NOT NULL, stage TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS skips_run ON skips (run_id);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


#: one batch of an object in staging order (``iter_batches``, ``follow_batches``): walks the
#: (object, seq) index from the last seq read, so a batch costs the same early or late in a pass
BATCH_SQL = ("SELECT o.seq, r.source_id, r.payload, r.hash, r.deleted FROM record_order o"
             " JOIN records r ON r.object=o.object AND r.source_id=o.source_id"
             " WHERE o.object=? AND o.seq>? AND (?=1 OR r.deleted=0) AND (? IS NULL OR"
             " r.staged_at>?) ORDER BY o.seq LIMIT ?")
ID_BATCH_SQL = ("SELECT o.seq, r.source_id FROM record_order o JOIN records r ON"
                " r.object=o.object AND r.source_id=o.source_id WHERE o.object=? AND o.seq>?"
                " AND r.deleted=0 ORDER BY o.seq LIMIT ?")

#: per connection; a process has one connection per thread (two while migrate overlaps). Mapped
#: pages count in the RSS once touched, so the map stays well under the 300 MB budget of a verb.
CACHE_KIB = 16 * 1024
MMAP_BYTES = 64 * 1024 * 1024


class PayloadCodec(Protocol):
    """Turns a record's JSON into stored bytes and back (plain, or encrypted at rest), and
    digests what is compared but never read (matching keys, content hashes): keyed with the
    project's key when it encrypts, so a list of addresses cannot reverse them."""

    def encode(self, data: bytes) -> bytes: ...
    def decode(self, data: bytes) -> bytes: ...
    def digest(self, data: bytes) -> str: ...


class PlainCodec:
    def encode(self, data: bytes) -> bytes:
        return data

    def decode(self, data: bytes) -> bytes:
        return data

    def digest(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


#: ``json.dumps(…, sort_keys=True, separators=(",", ":"), default=str)``'s C encoder, made
#: once: ``json.dumps`` builds an encoder per call, most of its time on a small dict. Without
#: the circular-reference markers (nothing hashed refers to itself), the text is the same.
_CANONICAL = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, str, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
) if getattr(json.encoder, "c_make_encoder", None) else None


def canonical_json(data: Any) -> bytes:
    """Stable JSON (sorted keys, no spaces): the input of every content hash."""
    if _CANONICAL is None:  # no C accelerator (another interpreter): the same text, slower
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "".join(_CANONICAL(data, 0)).encode()


def _json(data: bytes) -> Any:
    """A stored payload's JSON (orjson; the standard library for what it refuses)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(record: Record, codec: object = None) -> str:
    """Hash of a record's content; timestamps of staging are not part of it. Keyed by the
    codec's ``digest`` (HMAC when the project encrypts), so it cannot be matched to a guess."""
    data = canonical_json(record.model_dump(mode="json"))
    digest = getattr(codec, "digest", None)
    return digest(data) if digest is not None else hashlib.sha256(data).hexdigest()


@dataclass
class PutStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: PutStats) -> PutStats:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True)
class StagedRecord:
    object: str
    source_id: str
    record: Record
    hash: str
    deleted: bool


@dataclass(frozen=True)
class IdMapping:
    src_object: str
    source_id: str
    dest_object: str
    dest_id: str
    run_id: str
    created: bool


@dataclass(frozen=True)
class Skip:
    run_id: str
    ref: str
    field: str | None
    reason: str
    stage: str
    at: str


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    kind: str
    status: str
    started_at: str
    finished_at: str | None
    params: dict[str, Any]
    stats: dict[str, Any]


#: the SQLite stores this process opened: those still alive at exit are closed then (this
#: thread's connection, the WAL checkpointed into the file), not left to the interpreter's
#: teardown, which does not collect what ``ferry.runtime`` froze. (A PostgreSQL store's session
#: ends with the process.)
_OPEN: weakref.WeakSet[StagingStore] = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    for store in list(_OPEN):
        store.close()


class StagingStore:
    """SQLite-backed staging store of one project."""

    def __init__(self, path: Path | str, codec: PayloadCodec | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.codec: PayloadCodec = codec or PlainCodec()
        self._local = threading.local()
        self.write_lock = threading.RLock()
        with self.write_lock:
            self.conn.executescript(SCHEMA)
        _OPEN.add(self)

    # -- connections ---------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA busy_timeout=60000")
            # sized for stores of millions of rows, within the memory budget of a verb: the
            # index pages a batch read walks stay cached (the default cache is 2 MB). Measured on
            # a 20k-patient store, a full pass is within noise of the defaults (decoding
            # dominates); the (object, seq) index is what made the pass linear.
            c.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            c.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            c.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = c
        return c

    def tx(self) -> _Tx:
        """A write transaction (BEGIN IMMEDIATE … COMMIT), serialised within this process."""
        return _Tx(self)

    def close(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    # -- staged records -----------------------------------------------------------------------
    def put_records(self, object_name: str, records: Iterable[Record],
                    watermark: str | None = None, *, conn: sqlite3.Connection | None = None
                    ) -> PutStats:
        """Insert or update records; an unchanged record (same content hash) is left alone."""
        if conn is None:
            with self.tx() as c:
                return self.put_records(object_name, records, watermark, conn=c)
        stats = PutStats()
        at = now_iso()
        it = iter(records)
        # One lookup and two executemany calls per chunk instead of three statements a record:
        # staging is the extract's inner loop.
        while chunk := list(islice(it, 500)):
            marks = ",".join("?" * len(chunk))
            known: dict[str, tuple[str, int]] = {sid: (h, d) for sid, h, d in conn.execute(
                f"SELECT source_id, hash, deleted FROM records WHERE object=? AND source_id IN"
                f" ({marks})", (object_name, *(r.source_id for r in chunk)))}
            rows, new, owners = [], [], []
            digest = getattr(self.codec, "digest", None) or _sha256_hex
            for rec in chunk:
                # the canonical JSON is hashed and is also the stored payload (any JSON of the
                # record reads back the same): one serialisation a record, not two
                data = canonical_json(rec.model_dump(mode="json"))
                h = digest(data)
                row = known.get(rec.source_id)
                if row is not None and row[0] == h and not row[1]:
                    stats.unchanged += 1
                    continue
                if b"\\ud" in data:  # a surrogate escape: refused here, as a payload
                    rec.model_dump_json()  # that cannot be read back must not be staged
                payload = self.codec.encode(data)
                rows.append((object_name, rec.source_id, payload, h, watermark, at))
                owners.append((object_name, rec.source_id, owner_ref(rec)))
                if row is None:
                    new.append((object_name, rec.source_id))
                    stats.inserted += 1
                else:
                    stats.updated += 1
                known[rec.source_id] = (h, 0)  # a repeat within the chunk compares to this
            conn.executemany(
                "INSERT INTO records (object, source_id, payload, hash, watermark, deleted,"
                " staged_at) VALUES (?,?,?,?,?,0,?) ON CONFLICT(object, source_id) DO UPDATE SET"
                " payload=excluded.payload, hash=excluded.hash, watermark=excluded.watermark,"
                " deleted=0, staged_at=excluded.staged_at", rows)
            conn.executemany("INSERT OR IGNORE INTO record_order (object, source_id) VALUES (?,?)",
                             new)
            conn.executemany("INSERT INTO record_owner VALUES (?,?,?) ON CONFLICT(object,"
                             " source_id) DO UPDATE SET practitioner_id=excluded.practitioner_id",
                             owners)
        return stats

    def owner_counts(self, object_name: str, practitioner_ids: set[str]) -> Counter[str]:
        """Live records of ``object_name`` per owning practitioner, for the given practitioners.

        Answered from the ``record_owner`` index staging keeps (no payload is decoded); a store
        staged before that index existed is counted by decoding, once per call.
        """
        counts: Counter[str] = Counter()
        indexed, total = self.conn.execute(
            "SELECT (SELECT count(*) FROM record_owner WHERE object=?),"
            " (SELECT count(*) FROM records WHERE object=?)", (object_name, object_name)).fetchone()
        if indexed >= total:
            for pid, n in self.conn.execute(
                    "SELECT o.practitioner_id, count(*) FROM record_owner o JOIN records r ON"
                    " r.object=o.object AND r.source_id=o.source_id WHERE o.object=? AND"
                    " r.deleted=0 AND o.practitioner_id IS NOT NULL GROUP BY o.practitioner_id",
                    (object_name,)):
                if pid in practitioner_ids:
                    counts[pid] = n
            return counts
        for rec in self.iter_records(object_name):
            pid = owner_ref(rec)
            if pid in practitioner_ids:
                counts[pid] += 1
        return counts

    def put_page(self, object_name: str, records: list[Record], scope: str, checkpoint: str,
                 watermark: str | None = None, *, listed: list[str] | None = None) -> PutStats:
        """Stage one page and move its checkpoint in the same transaction.

        This is what makes an extract killed at any instant resume without refetching a completed
        page and without staging a record twice. ``listed`` (the ids a full listing named on this
        page) is kept in the same transaction, so a resumed listing loses none of them.
        """
        with self.tx() as c:
            stats = self.put_records(object_name, records, watermark, conn=c)
            if listed is not None:
                c.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                          (f"listed:{scope}:{checkpoint}", json.dumps(listed)))
            self.set_checkpoint(scope, checkpoint, conn=c)
        return stats

    def mark_unlisted(self, object_name: str, scope: str) -> int:
        """Mark deleted every live record of ``object_name`` the listing of ``scope`` did not
        name (a source without a deletions list); returns how many. An empty listing deletes
        nothing: an account that lost every record is likelier a fault than the truth."""
        prefix = f"listed:{scope}:"
        with self.tx() as c:
            rows = c.execute("SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?",
                             (len(prefix), prefix)).fetchall()
            listed = {str(i) for _, v in rows for i in json.loads(v)}
            c.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k, _ in rows])
            if not listed:
                return 0
            gone = [sid for (sid,) in c.execute(
                "SELECT source_id FROM records WHERE object=? AND deleted=0", (object_name,))
                if sid not in listed]
            at = now_iso()
            c.executemany("UPDATE records SET deleted=1, staged_at=? WHERE object=? AND"
                          " source_id=?", [(at, object_name, sid) for sid in gone])
        return len(gone)

    def mark_deleted(self, object_name: str, source_ids: Iterable[str]) -> int:
        n = 0
        with self.tx() as c:
            for sid in source_ids:
                n += c.execute("UPDATE records SET deleted=1, staged_at=? WHERE object=? AND"
                               " source_id=? AND deleted=0", (now_iso(), object_name, sid)).rowcount
        return n

    def _decode(self, object_name: str, payload: bytes) -> Record:
        return entity(object_name).model_validate_json(self.codec.decode(payload))

    def get(self, object_name: str, source_id: str) -> StagedRecord | None:
        row = self.conn.execute("SELECT payload, hash, deleted FROM records WHERE object=? AND"
                                " source_id=?", (object_name, source_id)).fetchone()
        if row is None:
            return None
        return StagedRecord(object_name, source_id, self._decode(object_name, row[0]), row[1],
                            bool(row[2]))

    def get_many(self, object_name: str, source_ids: Iterable[str]) -> dict[str, StagedRecord]:
        """``get`` for many ids, one query per 500 and each record decoded once; ids not
        staged are left out."""
        return {str(sid): StagedRecord(object_name, str(sid), self._decode(object_name, payload),
                                       h, bool(deleted))
                for sid, payload, h, deleted in self._rows_by_id(
                    object_name, source_ids, "payload, hash, deleted")}

    def _rows_by_id(self, object_name: str, source_ids: Iterable[str], columns: str
                    ) -> Iterator[Any]:
        """(source id, *columns) of each staged id (a repeated id once), one query per 500."""
        ids = list(dict.fromkeys(source_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            yield from self.conn.execute(
                f"SELECT source_id, {columns} FROM records WHERE object=? AND"  # noqa: S608
                f" source_id IN ({','.join('?' * len(chunk))})", (object_name, *chunk))

    def _pages(self, sql: str, object_name: str, args: tuple[Any, ...], batch_size: int
               ) -> Iterator[list[Any]]:
        """An object's rows in staging order, a page at a time: ``sql`` takes (object, the last
        page's ``seq`` — each row's first column —, *args, page size)."""
        last = 0
        while True:
            rows = self.conn.execute(sql, (object_name, last, *args, batch_size)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield rows

    def _staged(self, object_name: str, rows: list[Any]) -> list[StagedRecord]:
        """``BATCH_SQL``'s rows as staged records."""
        return [StagedRecord(object_name, r[1], self._decode(object_name, r[2]), r[3],
                             bool(r[4])) for r in rows]

    def iter_batches(self, object_name: str, batch_size: int = 500, *,
                     include_deleted: bool = False, changed_since: str | None = None
                     ) -> Iterator[list[StagedRecord]]:
        """Stream staged records in first-staged order, ``batch_size`` at a time."""
        for rows in self._pages(BATCH_SQL, object_name,
                                (int(include_deleted), changed_since, changed_since), batch_size):
            yield self._staged(object_name, rows)

    def iter_json_batches(self, object_name: str, batch_size: int = 500
                          ) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
        """``iter_batches``' live records as (source id, content hash, stored JSON), not
        validated into models: for a reader of a few plain fields (the PHI scan), whose
        reading was mostly validation. Every value was validated when it was staged."""
        for rows in self._pages(BATCH_SQL, object_name, (0, None, None), batch_size):
            yield [(str(r[1]), r[3], _json(self.codec.decode(r[2]))) for r in rows]

    def get_many_json(self, object_name: str, source_ids: Iterable[str]
                      ) -> dict[str, tuple[str, dict[str, Any]]]:
        """``get_many`` as (content hash, stored JSON) by id, not validated (see
        ``iter_json_batches``); ids not staged are left out."""
        return {str(sid): (h, _json(self.codec.decode(payload)))
                for sid, payload, h in self._rows_by_id(object_name, source_ids, "payload, hash")}

    def iter_id_batches(self, object_name: str, batch_size: int = 500) -> Iterator[list[str]]:
        """The live records' source ids in ``iter_batches``' order, without decoding them
        (reconcile's source counts need only the ids of most objects)."""
        for rows in self._pages(ID_BATCH_SQL, object_name, (), batch_size):
            yield [str(r[1]) for r in rows]

    def follow_batches(self, object_name: str, batch_size: int, *,
                       finished: Callable[[], bool], poll_s: float = 0.05
                       ) -> Iterator[list[StagedRecord]]:
        """Like ``iter_batches`` but keeps reading new rows as another thread stages them,
        until ``finished()`` says the object is complete and nothing new is left."""
        last = 0
        while True:
            done = finished()  # read before the query so no row staged in between is missed
            rows = self.conn.execute(BATCH_SQL, (object_name, last, 0, None, None,
                                                 batch_size)).fetchall()
            if rows:
                last = rows[-1][0]
                yield self._staged(object_name, rows)
            elif done:
                return
            else:
                time.sleep(poll_s)

    def iter_records(self, object_name: str, batch_size: int = 500) -> Iterator[Record]:
        for batch in self.iter_batches(object_name, batch_size):
            for s in batch:
                yield s.record

    def count(self, object_name: str, *, include_deleted: bool = False) -> int:
        return int(self.conn.execute(
            "SELECT count(*) FROM records WHERE object=? AND (?=1 OR deleted=0)",
            (object_name, int(include_deleted))).fetchone()[0])

    def counts(self) -> dict[str, int]:
        return {o: n for o, n in self.conn.execute(
            "SELECT object, count(*) FROM records WHERE deleted=0 GROUP BY object ORDER BY object")}

    def mapped_counts(self) -> dict[str, int]:
        """Source records with a destination id, per source object (``ferry status``)."""
        return {o: n for o, n in self.conn.execute(
            "SELECT src_object, count(DISTINCT source_id) FROM idmap GROUP BY src_object"
            " ORDER BY src_object")}

    def skip_counts(self, run_id: str | None = None) -> dict[str, int]:
        """Skips per object, read from their ``system:object:id`` refs."""
        return {o: n for o, n in self.conn.execute(
            "WITH t AS (SELECT substr(ref, instr(ref, ':') + 1) AS rest FROM skips"
            " WHERE (? IS NULL OR run_id=?) AND stage NOT LIKE 'superseded:%') SELECT CASE WHEN instr(rest, ':') > 0 THEN"
            " substr(rest, 1, instr(rest, ':') - 1) ELSE rest END AS obj, count(*) FROM t"
            " GROUP BY obj ORDER BY obj", (run_id, run_id))}

    # -- checkpoints and key/values ------------------------------------------------------------
    def last_checkpoints(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """(scope, value, updated_at) of the most recently moved checkpoints, newest first."""
        return [(str(a), str(b), str(c)) for a, b, c in self.conn.execute(
            "SELECT scope, value, updated_at FROM checkpoints ORDER BY updated_at DESC, scope"
            " LIMIT ?", (limit,))]

    def get_checkpoint(self, scope: str) -> str | None:
        row = self.conn.execute("SELECT value FROM checkpoints WHERE scope=?", (scope,)).fetchone()
        return None if row is None else str(row[0])

    def set_checkpoint(self, scope: str, value: str, *,
                       conn: sqlite3.Connection | None = None) -> None:
        sql = ("INSERT INTO checkpoints (scope, value, updated_at) VALUES (?,?,?) ON CONFLICT(scope)"
               " DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at")
        if conn is None:
            with self.tx() as c:
                c.execute(sql, (scope, value, now_iso()))
        else:
            conn.execute(sql, (scope, value, now_iso()))

    def checkpoints(self, prefix: str = "") -> dict[str, str]:
        return {s: v for s, v in self.conn.execute(
            "SELECT scope, value FROM checkpoints WHERE scope LIKE ? ORDER BY scope",
            (prefix + "%",))}

    def clear_checkpoints(self, prefix: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM checkpoints WHERE scope LIKE ?", (prefix + "%",))

    def get_value(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_value(self, key: str, value: Any) -> None:
        with self.tx() as c:
            c.execute("INSERT INTO kv (key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET"
                      " value=excluded.value", (key, json.dumps(value, default=str)))

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, kind: str, params: dict[str, Any] | None = None,
                  run_id: str | None = None) -> str:
        run_id = run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{kind}-{uuid.uuid4().hex[:6]}"
        with self.tx() as c:
            c.execute("INSERT OR IGNORE INTO runs (run_id, kind, status, started_at, params) VALUES"
                      " (?,?,?,?,?)", (run_id, kind, "running", now_iso(),
                                       json.dumps(params or {}, default=str)))
            c.execute("UPDATE runs SET status='running' WHERE run_id=?", (run_id,))
        return run_id

    def finish_run(self, run_id: str, status: str, stats: dict[str, Any] | None = None) -> None:
        with self.tx() as c:
            c.execute("UPDATE runs SET status=?, finished_at=?, stats=? WHERE run_id=?",
                      (status, now_iso(), json.dumps(stats or {}, default=str), run_id))

    def set_run_params(self, run_id: str, params: dict[str, Any]) -> None:
        with self.tx() as c:
            c.execute("UPDATE runs SET params=? WHERE run_id=?",
                      (json.dumps(params, default=str), run_id))

    def runs(self, kind: str | None = None) -> list[RunInfo]:
        rows = self.conn.execute(
            "SELECT run_id, kind, status, started_at, finished_at, params, stats FROM runs"
            " WHERE (? IS NULL OR kind=?) ORDER BY started_at, run_id", (kind, kind)).fetchall()
        return [RunInfo(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}"),
                        json.loads(r[6] or "{}")) for r in rows]

    def run(self, run_id: str) -> RunInfo | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    # -- id map --------------------------------------------------------------------------------
    def map_id(self, src_object: str, source_id: str, dest_object: str, dest_id: str,
               run_id: str, *, created: bool, payload_hash: str | None = None,
               conn: sqlite3.Connection | None = None) -> None:
        """Record where a source record landed. Re-mapping keeps the run that created it."""
        sql = ("INSERT INTO idmap (src_object, source_id, dest_object, dest_id, run_id, created,"
               " payload_hash) VALUES (?,?,?,?,?,?,?) ON CONFLICT(src_object, source_id,"
               " dest_object) DO UPDATE SET dest_id=excluded.dest_id,"
               " payload_hash=coalesce(excluded.payload_hash, idmap.payload_hash)")
        args = (src_object, source_id, dest_object, dest_id, run_id, int(created), payload_hash)
        if conn is None:
            with self.tx() as c:
                c.execute(sql, args)
        else:
            conn.execute(sql, args)

    def map_ids(self, rows: list[tuple[str, str, str, str]], run_id: str, *, created: bool,
                conn: sqlite3.Connection, hashes: list[str | None] | None = None) -> None:
        """``map_id`` for many (src_object, source_id, dest_object, dest_id) in one statement;
        ``hashes``: each row's payload hash, as ``map_id`` takes it (else none is stored)."""
        if hashes is not None:
            conn.executemany(
                "INSERT INTO idmap (src_object, source_id, dest_object, dest_id, run_id, created,"
                " payload_hash) VALUES (?,?,?,?,?,?,?) ON CONFLICT(src_object, source_id,"
                " dest_object) DO UPDATE SET dest_id=excluded.dest_id,"
                " payload_hash=coalesce(excluded.payload_hash, idmap.payload_hash)",
                [(*r, run_id, int(created), h) for r, h in zip(rows, hashes, strict=True)])
            return
        conn.executemany(
            "INSERT INTO idmap (src_object, source_id, dest_object, dest_id, run_id, created,"
            " payload_hash) VALUES (?,?,?,?,?,?,NULL) ON CONFLICT(src_object, source_id,"
            " dest_object) DO UPDATE SET dest_id=excluded.dest_id",
            [(*r, run_id, int(created)) for r in rows])

    def unmap_id(self, src_object: str, source_id: str, dest_object: str, *,
                 conn: sqlite3.Connection | None = None) -> None:
        sql = "DELETE FROM idmap WHERE src_object=? AND source_id=? AND dest_object=?"
        if conn is None:
            with self.tx() as c:
                c.execute(sql, (src_object, source_id, dest_object))
        else:
            conn.execute(sql, (src_object, source_id, dest_object))

    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None
                ) -> str | None:
        row = self.conn.execute(
            "SELECT dest_id FROM idmap WHERE src_object=? AND source_id=? AND (? IS NULL OR"
            " dest_object=?) ORDER BY dest_object LIMIT 1",
            (src_object, source_id, dest_object, dest_object)).fetchone()
        return None if row is None else str(row[0])

    def mapped(self, src_object: str, source_ids: list[str], dest_object: str
               ) -> dict[str, tuple[str, str | None]]:
        """(destination id, payload hash) of each of ``source_ids`` mapped to ``dest_object``:
        one query for a batch instead of two a record."""
        out: dict[str, tuple[str, str | None]] = {}
        for i in range(0, len(source_ids), 500):
            chunk = source_ids[i:i + 500]
            out.update((sid, (str(did), ph)) for sid, did, ph in self.conn.execute(
                "SELECT source_id, dest_id, payload_hash FROM idmap WHERE src_object=? AND"
                f" dest_object=? AND source_id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                (src_object, dest_object, *chunk)).fetchall())
        return out

    def sources_of(self, src_object: str, dest_object: str, dest_ids: list[str]
                   ) -> dict[str, str]:
        """The source record each of ``dest_ids`` (in ``dest_object``) was written from: the
        lowest source id where a merged pair shares one destination record."""
        out: dict[str, str] = {}
        for i in range(0, len(dest_ids), 500):
            chunk = dest_ids[i:i + 500]
            for sid, did in self.conn.execute(
                    "SELECT min(source_id), dest_id FROM idmap WHERE dest_object=? AND"
                    f" dest_id IN ({','.join('?' * len(chunk))}) AND src_object=?"  # noqa: S608
                    " GROUP BY dest_id", (dest_object, *chunk, src_object)).fetchall():
                out[str(did)] = str(sid)
        return out

    def payload_hash(self, src_object: str, source_id: str, dest_object: str) -> str | None:
        row = self.conn.execute(
            "SELECT payload_hash FROM idmap WHERE src_object=? AND source_id=? AND dest_object=?",
            (src_object, source_id, dest_object)).fetchone()
        return None if row is None else row[0]

    def iter_idmap(self, *, run_id: str | None = None, src_object: str | None = None
                   ) -> Iterator[IdMapping]:
        for r in self.conn.execute(
                "SELECT src_object, source_id, dest_object, dest_id, run_id, created FROM idmap"
                " WHERE (? IS NULL OR run_id=?) AND (? IS NULL OR src_object=?)",
                (run_id, run_id, src_object, src_object)):
            yield IdMapping(r[0], r[1], r[2], r[3], r[4], bool(r[5]))

    # -- skips ---------------------------------------------------------------------------------
    def skip(self, run_id: str, ref: str, field: str | None, reason: str, stage: str, *,
             conn: sqlite3.Connection | None = None) -> None:
        """Record that ``ref`` was not loaded, and why. ``reason`` must not quote values."""
        sql = "INSERT INTO skips (run_id, ref, field, reason, stage, at) VALUES (?,?,?,?,?,?)"
        args = (run_id, ref, field, reason, stage, now_iso())
        if conn is None:
            with self.tx() as c:
                c.execute(sql, args)
        else:
            conn.execute(sql, args)

    def skips(self, run_id: str | None = None, *, superseded: bool = False) -> list[Skip]:
        """The skip file (of one run); ``superseded``: with the entries a later read of the
        same records replaced (stage ``superseded:…``), which are history, not current."""
        return [Skip(*r) for r in self.conn.execute(
            "SELECT run_id, ref, field, reason, stage, at FROM skips WHERE (? IS NULL OR run_id=?)"
            " AND (?=1 OR stage NOT LIKE 'superseded:%') ORDER BY seq",
            (run_id, run_id, int(superseded)))]

    def supersede_skips(self, prefix: str, run_id: str) -> int:
        """Mark superseded the extract problems of refs starting with ``prefix`` (one object
        of one source) that runs other than ``run_id`` reported: ``run_id`` read every record
        of it again from the start, and reported again the problems still there."""
        with self.tx() as c:
            return c.execute(
                "UPDATE skips SET stage='superseded:' || stage WHERE run_id<>? AND stage IN"
                " ('extract', 'extract-field', 'extract-file', 'extract-duplicate') AND"
                " substr(ref, 1, ?)=?",
                (run_id, len(prefix), prefix)).rowcount


class _Tx:
    def __init__(self, store: StagingStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store.write_lock.acquire()
        try:
            c = self.store.conn
            c.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store.write_lock.release()  # __exit__ does not run when __enter__ raises
            raise
        return c

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.store.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store.write_lock.release()
