"""The write-ahead audit log: append-only, hash-chained, stored beside the staging data.

Every destination write is logged as an ``intent`` before it is sent and as ``done`` or
``failed`` after, each entry chained to the one before. Rollback and resume read only this log
and the id map. ``verify()`` recomputes the chain and compares it with the stored head.

What the chain protects against depends on the key:

* keyed (the project encrypts at rest): each link is an HMAC-SHA256 under a key derived from the
  project's encryption key, which lives outside the project folder (environment or keyring).
  Someone who can write the staging file but has not the key cannot edit, insert or reorder an
  entry and recompute the chain: the MACs no longer verify.
* unkeyed: each link is a plain SHA-256. It detects accidental damage and naive edits, but
  anyone who edits an entry can recompute every later hash and the head.

Neither can tell on its own that the *last* entries were cut off and the head moved back to the
new last entry (the remaining links are all genuine). So every report anchors the head
(``anchor()``: entry count and head MAC) and ``verify(anchors)`` checks the log against each
anchor found in the reports: a log shorter than an anchor, or whose entry at an anchor's count
is not the anchored one, was cut or rewritten. With the key, an anchor cannot be matched by a
forged chain; without it, an edit before the last report's anchor is still caught.

Entries name records by reference and destination id. ``before`` holds the before-image of an
update so rollback can restore it; it is data, not a log line, and is encrypted with the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.errors import IntegrityError
from ferry.model.staging import StagingStore, canonical_json, now_iso

_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # json.dumps(str)

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
    op TEXT NOT NULL, dest_object TEXT NOT NULL, dest_id TEXT, src_ref TEXT, intent_seq INTEGER,
    before BLOB, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_run ON audit (run_id, seq);
CREATE INDEX IF NOT EXISTS audit_intent ON audit (intent_seq);
"""
GENESIS = "0" * 64
KINDS = ("intent", "done", "failed")
OPS = ("create", "update", "delete", "upload", "provision", "unprovision", "restore")


#: ``detail LIKE`` this matches a fold update's entries (a parent's folded fields: its policies,
#: its last bill), stored as ``json.dumps(detail, sort_keys=True)`` writes them. They name the
#: parent's own source record, so a question about the record's own writes leaves them out.
FOLD_DETAIL_LIKE = "%" + json.dumps({"fold": True})[1:-1] + "%"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    run_id: str
    at: str
    kind: str
    op: str
    dest_object: str
    dest_id: str | None
    src_ref: str | None
    intent_seq: int | None
    before: dict[str, Any] | None
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = GENESIS


def _entry_hash(prev: str, row: dict[str, Any], key: bytes | None = None) -> str:
    return _link(prev, canonical_json(row), key)


def _link(prev: str, canonical: bytes, key: bytes | None) -> str:
    data = prev.encode() + canonical
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.digest(key, data, "sha256").hex()  # one C call: ``hmac.new``'s, same MAC


def _json(value: Any) -> str:
    """``canonical_json`` of one value, as text; a string without its general encoder."""
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)  # as json.dumps writes an int
    return canonical_json(value).decode()


def _canonical_entry(seq: int, run_id: str, at: str, kind: str, op: str, dest_object: str,
                     dest_id: Any, src_ref: Any, intent_seq: Any, before: str, detail: str
                     ) -> bytes:
    """``canonical_json`` of an entry's row (the chain's input), made from its parts: the
    before-image and detail come already encoded (``_json``), so a batch's shared detail is
    encoded once. The keys in sorted order, as ``canonical_json`` writes them."""
    return (f'{{"at":{_quote(at)},"before":{before},"dest_id":{_json(dest_id)},'
            f'"dest_object":{_json(dest_object)},"detail":{detail},"intent_seq":{_json(intent_seq)},'
            f'"kind":{_json(kind)},"op":{_json(op)},"run_id":{_json(run_id)},'
            f'"seq":{_json(seq)},"src_ref":{_json(src_ref)}}}').encode()


KEYED, UNKEYED = "hmac-sha256", "sha256"


def read_anchor(db: Path) -> dict[str, Any] | None:
    """The log's head as a report records it (``AuditLog.anchor``), read from the staging file
    without opening the project (no key needed: the head MAC is stored); None without a log."""
    if not db.exists():
        return None
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = dict(conn.execute("SELECT key, value FROM kv WHERE key IN ('audit_head',"
                                 " 'audit_chain')").fetchall())
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return anchor_of(rows)


def anchor_of(kv: dict[str, str]) -> dict[str, Any]:
    """The anchor from the store's ``audit_head`` / ``audit_chain`` values (JSON text)."""
    head = json.loads(kv.get("audit_head", "null")) or [0, GENESIS]
    return {"entries": int(head[0]), "head": str(head[1]),
            "chain": json.loads(kv["audit_chain"]) if "audit_chain" in kv else UNKEYED}


#: an intent with no outcome (outcomes point at their intent), of one run or (None) of any
_OPEN = ("a.kind='intent' AND (? IS NULL OR a.run_id=?) AND NOT EXISTS (SELECT 1 FROM audit b"
         " WHERE b.intent_seq=a.seq)")


class AuditLog:
    """Append-only log of destination writes; one chain per project store."""

    def __init__(self, store: StagingStore, key: bytes | None = None) -> None:
        """``key``: the chain's MAC key (derived from the project's encryption key), or None
        for a plain SHA-256 chain."""
        self.store = store
        self._key = key
        with store.write_lock:
            store.conn.executescript(AUDIT_SCHEMA)

    @property
    def scheme(self) -> str:
        return KEYED if self._key is not None else UNKEYED

    def anchor(self) -> dict[str, Any]:
        """The head to record outside the log (every report): entry count and head MAC."""
        head = self.store.get_value("audit_head") or [0, GENESIS]
        return {"entries": int(head[0]), "head": str(head[1]),
                "chain": self.store.get_value("audit_chain") or self.scheme}

    def _head(self, c: sqlite3.Connection) -> tuple[int, str]:
        row = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def append_many(self, run_id: str, entries: list[dict[str, Any]], *,
                    conn: sqlite3.Connection | None = None) -> list[int]:
        """Append entries (dicts with kind, op, dest_object, dest_id, src_ref, intent_seq,
        before, detail) in one transaction; returns their sequence numbers."""
        if conn is None:
            with self.store.tx() as c:
                return self.append_many(run_id, entries, conn=c)
        seq, prev = self._head(conn)
        if seq == 0:
            conn.execute("INSERT INTO kv (key, value) VALUES ('audit_chain', ?) ON CONFLICT(key)"
                         " DO UPDATE SET value=excluded.value", (json.dumps(self.scheme),))
        else:
            row = conn.execute("SELECT value FROM kv WHERE key='audit_chain'").fetchone()
            chain = json.loads(row[0]) if row else UNKEYED
            if chain != self.scheme:
                raise IntegrityError(f"audit log: it is chained with {chain}, this project now"
                                     f" with {self.scheme} (was the encryption key added or"
                                     " removed?); run `ferry status --verify-log`")
        stored = conn.execute("SELECT value FROM kv WHERE key='audit_head'").fetchone()
        if (json.loads(stored[0]) if stored else [0, GENESIS]) != [seq, prev]:
            # The last entry is not the one the head names (a cut-off tail, an edited last
            # entry): appending now would re-anchor the head and hide the damage.
            raise IntegrityError("audit log: its last entry does not match the recorded head;"
                                 " run `ferry status --verify-log`")
        out: list[int] = []
        rows: list[tuple[Any, ...]] = []
        at = now_iso()  # one transaction, one time
        details: dict[int, tuple[Any, str, str]] = {}  # id(detail) → (it, canonical, stored)
        for e in entries:
            if e["kind"] not in KINDS or e["op"] not in OPS:
                raise ValueError(f"bad audit entry kind/op {e['kind']}/{e['op']}")
            seq += 1
            before = e.get("before")
            detail = e.get("detail") or {}
            known = details.get(id(detail))
            if known is None or known[0] is not detail:
                known = details[id(detail)] = (detail, _json(detail), json.dumps(
                    detail, sort_keys=True, default=str))
            canon_before = "null" if before is None else _json(before)
            dest_id, src_ref, intent_seq = e.get("dest_id"), e.get("src_ref"), e.get("intent_seq")
            h = _link(prev, _canonical_entry(seq, run_id, at, e["kind"], e["op"],
                                             e["dest_object"], dest_id, src_ref, intent_seq,
                                             canon_before, known[1]), self._key)
            blob = None if before is None else self.store.codec.encode(canon_before.encode())
            rows.append((seq, run_id, at, e["kind"], e["op"], e["dest_object"], dest_id,
                         src_ref, intent_seq, blob, known[2], prev, h))
            prev = h
            out.append(seq)
        if rows:  # one statement for the batch and one head update (the same transaction)
            conn.executemany(
                "INSERT INTO audit (seq, run_id, at, kind, op, dest_object, dest_id, src_ref,"
                " intent_seq, before, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows)
            conn.execute("INSERT INTO kv (key, value) VALUES ('audit_head', ?) ON CONFLICT(key)"
                         " DO UPDATE SET value=excluded.value", (json.dumps([seq, prev]),))
        return out

    def append(self, run_id: str, **entry: Any) -> int:
        return self.append_many(run_id, [entry])[0]

    def befores(self, seqs: list[int]) -> dict[int, dict[str, Any] | None]:
        """The before-images of these entries (intents: an outcome carries none), by seq."""
        out: dict[int, dict[str, Any] | None] = {}
        for i in range(0, len(seqs), 500):
            chunk = seqs[i:i + 500]
            for seq, blob in self.store.conn.execute(
                    f"SELECT seq, before FROM audit WHERE seq IN ({','.join('?' * len(chunk))})",  # noqa: S608
                    chunk):
                out[int(seq)] = None if blob is None else json.loads(self.store.codec.decode(blob))
        return out

    def uploads(self, dest_object: str, dest_ids: list[str] | None = None
                ) -> Iterator[tuple[str | None, str, dict[str, Any]]]:
        """Confirmed uploads into ``dest_object`` (only of ``dest_ids`` if given), oldest first:
        (src_ref, file id, its intent's detail, which says the parent the file went to)."""
        only = "" if dest_ids is None else f" AND d.dest_id IN ({','.join('?' * len(dest_ids))})"
        for src_ref, did, detail in self.store.conn.execute(
                "SELECT d.src_ref, d.dest_id, i.detail FROM audit d JOIN audit i"
                " ON i.seq = d.intent_seq WHERE d.kind='done' AND d.op='upload' AND"
                f" d.dest_object=?{only} ORDER BY d.seq",  # noqa: S608
                (dest_object, *(dest_ids or ()))):
            yield src_ref, did, json.loads(detail or "{}")

    def _row(self, r: sqlite3.Row | tuple[Any, ...]) -> AuditEntry:
        before = None if r[9] is None else json.loads(self.store.codec.decode(r[9]))
        return AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], before,
                          json.loads(r[10] or "{}"), r[11], r[12])

    def entries(self, run_id: str | None = None, *, reverse: bool = False) -> Iterator[AuditEntry]:
        """Stream entries in order (or reverse order, as rollback needs)."""
        order = "DESC" if reverse else "ASC"
        cur = self.store.conn.execute(
            "SELECT seq, run_id, at, kind, op, dest_object, dest_id, src_ref, intent_seq, before,"
            f" detail, prev_hash, hash FROM audit WHERE (? IS NULL OR run_id=?) ORDER BY seq {order}",
            (run_id, run_id))
        for r in cur:
            yield self._row(r)

    def outcomes(self, run_id: str) -> dict[int, AuditEntry]:
        """Outcome entry (done/failed) by the seq of the intent it closes."""
        return {e.intent_seq: e for e in self.entries(run_id)
                if e.kind != "intent" and e.intent_seq is not None}

    def open_intents(self, run_id: str | None = None) -> list[AuditEntry]:
        """Intents with no outcome: writes whose fate is unknown (sent, maybe applied).

        One indexed query (outcomes point at their intent), so a resume of a large run does not
        read the whole log into memory; only the open ones come back."""
        cur = self.store.conn.execute(
            "SELECT seq, run_id, at, kind, op, dest_object, dest_id, src_ref, intent_seq, before,"
            f" detail, prev_hash, hash FROM audit a WHERE {_OPEN} ORDER BY seq",  # noqa: S608
            (run_id, run_id))
        return [self._row(r) for r in cur]

    def has_open_intents(self, run_id: str | None = None) -> bool:
        """Whether any write's fate is unknown (the cheap test before a recovery)."""
        return self.store.conn.execute(f"SELECT 1 FROM audit a WHERE {_OPEN} LIMIT 1",  # noqa: S608
                                       (run_id, run_id)).fetchone() is not None

    def verify(self, anchors: Iterable[tuple[str, dict[str, Any]]] = ()) -> tuple[bool, str]:
        """Recompute the chain and check it against the stored head and each ``(where,
        anchor)`` recorded outside the log; returns (ok, message naming the first problem)."""
        chain = self.store.get_value("audit_chain") or UNKEYED
        if chain == KEYED and self._key is None:
            return False, ("the log is keyed (HMAC) and this project has no key to check it:"
                           " set the encryption key")
        if chain != self.scheme and self.store.get_value("audit_head") not in (None, [0, GENESIS]):
            return False, (f"the log says it is chained with {chain} but this project uses"
                           f" {self.scheme}: it was rewritten, or the key was added/removed")
        by_count: dict[int, list[tuple[str, str]]] = {}
        for where, a in anchors:
            by_count.setdefault(int(a.get("entries", 0)), []).append((where, str(a.get("head"))))
        prev, last_seq, n = GENESIS, 0, 0
        cur = self.store.conn.execute(
            "SELECT seq, run_id, at, kind, op, dest_object, dest_id, src_ref, intent_seq, before,"
            " detail, prev_hash, hash FROM audit ORDER BY seq")
        for r in cur:
            try:
                e = self._row(r)
            except Exception:  # an edited JSON/BLOB column no longer decodes: tampered too
                return False, f"entry {r[0]} is unreadable"
            n += 1
            if e.seq != last_seq + 1:
                return False, f"entry {last_seq + 1} is missing (next is {e.seq})"
            if e.prev_hash != prev:
                return False, f"entry {e.seq} does not follow entry {e.seq - 1}"
            row = {"seq": e.seq, "run_id": e.run_id, "at": e.at, "kind": e.kind, "op": e.op,
                   "dest_object": e.dest_object, "dest_id": e.dest_id, "src_ref": e.src_ref,
                   "intent_seq": e.intent_seq, "before": e.before, "detail": e.detail}
            if _entry_hash(prev, row, self._key) != e.hash:
                return False, f"entry {e.seq} was altered"
            for where, head in by_count.get(e.seq, []):
                if head != e.hash:
                    return False, (f"entry {e.seq} is not the one {where} anchored: the log was"
                                   " rewritten up to there")
            prev, last_seq = e.hash, e.seq
        longer = [(c, w) for c, ws in by_count.items() for w, _ in ws if c > last_seq]
        if longer:
            c, where = max(longer)
            return False, (f"the log ends at entry {last_seq} but {where} anchored {c} entries:"
                           " entries were removed from its end")
        head = self.store.get_value("audit_head")
        if head is None:
            return (n == 0), ("empty log" if n == 0 else "head record missing")
        if int(head[0]) != last_seq or head[1] != prev:
            return False, f"log ends at entry {last_seq} but its head says {head[0]}"
        what = ("keyed chain (HMAC): edits without the key are detected" if chain == KEYED else
                "unkeyed chain (SHA-256): detects damage and naive edits, not a rewrite that"
                " recomputes the hashes; encrypt at rest to key it")
        return True, (f"{n} entries, chain intact, {sum(map(len, by_count.values()))} report"
                      f" anchor(s) match; {what}")

    def require_intact(self) -> None:
        ok, msg = self.verify()
        if not ok:
            raise IntegrityError(f"audit log: {msg}")
