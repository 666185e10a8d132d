"""The PHI review queue: flagged notes, messages and text files wait for a person's decision.

Documents are screened when they bear text: text/* (and JSON/XML) files as they are, PDFs by the
text of their pages (``pdf_text``, pypdf: pure Python, no network). A PDF with no text layer
(a scan) or one that cannot be parsed screens as empty; a reviewer can still exclude it.
A document's first ``MAX_SCAN_CHARS`` characters are screened, read from the file as a stream
(memory does not follow the file's size); a longer document gets an ``unscanned`` finding at
that point, so it waits for a person's decision (a redaction withholds the unscanned rest).

``scan`` runs the detector over every text-bearing record and queues those with PHI, storing
only span offsets and types (never the text). Decisions are approve (send as is), redact (spans
replaced by typed placeholders) or exclude (never sent); bulk decisions apply by rule. The run
holds every pending item (see ``gate.py``).
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ferry.model.crypto import iter_plain, open_plain
from ferry.model.entities import Document, Patient, Record
from ferry.model.staging import StagingStore
from ferry.phi.detect import DEFAULT_REGIONS, Known, Span
from ferry.phi.work import Work, detect_all, warm, workers_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS phi_queue (object TEXT NOT NULL, source_id TEXT NOT NULL,
    field TEXT NOT NULL, spans TEXT NOT NULL, types TEXT NOT NULL, status TEXT NOT NULL,
    decided_by TEXT, decided_at TEXT, rule TEXT, content_hash TEXT,
    PRIMARY KEY (object, source_id, field));
CREATE INDEX IF NOT EXISTS phi_queue_status ON phi_queue (status);
"""
#: the free-text fields that are screened, per object
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "clinical_note": ("body", "title"),
    "message": ("body",),
    "treatment_record": ("goals", "notes"),
    "appointment": ("notes",),
    "patient": ("medical_history", "allergies"),
    "document": ("content",),  # text documents: their file content
}
DECISIONS = ("approve", "redact", "exclude")
TEXT_MIME = ("text/", "application/json", "application/xml")
PDF_MIME = "application/pdf"
#: characters of a document screened (text files: bytes read); the rest is ``UNSCANNED``
MAX_SCAN_CHARS = 1024 * 1024  # ~300 pages; dense clinical text costs ~25 MB and seconds per MiB
UNSCANNED = "unscanned"
#: a PDF up to this size is read into memory for pypdf (the decrypting stream holds a chunk
#: of this size anyway); a larger one is read through the stream
WHOLE_PDF_BYTES = 1 << 20


@dataclass
class Item:
    object: str
    source_id: str
    field: str
    spans: list[Span]
    status: str
    decided_by: str | None = None
    rule: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": f"source:{self.object}:{self.source_id}", "field": self.field,
                "types": sorted({s.type for s in self.spans}), "spans": len(self.spans),
                "status": self.status, "decided_by": self.decided_by, "rule": self.rule}


def ensure_schema(store: StagingStore) -> None:
    with store.write_lock:
        store.conn.executescript(SCHEMA)


def _dob_forms(d: dt.date | None) -> list[str]:
    if d is None:
        return []
    # one strftime for the seven renderings ("|" is in none of them)
    return [d.isoformat(), *d.strftime("%d/%m/%Y|%m/%d/%Y|%d-%m-%Y|%d.%m.%Y|%-d %B %Y|%-d %b %Y"
                                       "|%B %-d, %Y").split("|")]


def known_for(store: StagingStore, rec: Record) -> Known:
    """Identifiers of the patient a record belongs to (or is)."""
    patient: Record | None = rec if isinstance(rec, Patient) else None
    pid = getattr(rec, "patient_id", None)
    if patient is None and pid:
        staged = store.get("patient", str(pid))
        patient = staged.record if staged else None
    if not isinstance(patient, Patient):
        return Known()
    return _known_of(patient)


def _known_of(p: Any) -> Known:
    """A patient's identifiers, from its model or from its stored JSON (a dict: the
    emergency contact a dict, the date of birth ISO text)."""
    def v(name: str) -> Any:
        return _value(p, name)

    first, last, preferred = v("first_name"), v("last_name"), v("preferred_name")
    names = [" ".join(x for x in (first, last) if x)]
    if preferred:
        names.append(preferred)
    ec = v("emergency_contact")
    ec = (ec.get("name") if isinstance(ec, dict) else ec.name) if ec else None
    dob = v("date_of_birth")
    email = v("email")
    return Known(names=[n for n in [*names, ec or ""] if n],
                 dates=_dob_forms(dt.date.fromisoformat(dob) if isinstance(dob, str) else dob),
                 identifiers=[x for x in (v("mrn"), v("patient_number"), v("national_id")) if x],
                 phones=[x for x in (v("phone"), v("mobile")) if x],
                 emails=[email] if email else [],
                 addresses=[x for x in (v("address"), v("street")) if x])


def _patient_id(obj: str, rec: Any) -> str | None:
    pid = _value(rec, "source_id" if obj == "patient" else "patient_id")
    return str(pid) if pid else None


#: patients whose identifiers a scan keeps (memory stays flat whatever the practice's size)
KNOWN_BOUND = 20_000


def _fetch_knowns(store: StagingStore, obj: str, batch: list[Any],
                  knowns: dict[str, Known], extra: dict[str, Known]) -> None:
    """The ``Known`` of each patient of ``batch`` in neither ``knowns`` nor ``extra``, as
    ``known_for`` gives it (a patient's own record, else the staged patient of ``patient_id``;
    none staged: nothing known), patients read from their stored JSON in one query. The first
    ``KNOWN_BOUND`` patients stay in ``knowns`` for the whole scan; the rest go to ``extra``,
    the batch's own. (Emptying a full ``knowns``, as before, or evicting the least recently
    used, made every object read every patient again once a practice had more: each object
    goes through the patients in the same order. Kept, the first ones are read once.)"""
    def put(pid: str, known: Known) -> None:
        (knowns if len(knowns) < KNOWN_BOUND else extra)[pid] = known

    if obj == "patient":
        for s in batch:
            if s.source_id not in knowns and s.source_id not in extra:
                put(s.source_id, _known_of(s.record))
        return
    missing = {pid for s in batch if (pid := _patient_id(obj, s.record))
               and pid not in knowns and pid not in extra}
    if missing:
        got = store.get_many_json("patient", missing)
        for pid in sorted(missing):
            put(pid, _known_of(got[pid][1]) if pid in got else Known())


#: objects whose screened fields and patient id are read from the stored JSON, not validated
#: into a model: each of those is a plain string (or null), and validating was most of the
#: scanning process's reading (documents are still validated: ``content_text`` reads more of
#: them)
_JSON_READ = frozenset({"clinical_note", "message", "treatment_record", "appointment",
                        "patient"})


def _value(rec: Any, name: str) -> Any:
    """A field of a record, or of its stored JSON (a dict; null or absent: None)."""
    return rec.get(name) if type(rec) is dict else getattr(rec, name, None)


class _Read(NamedTuple):
    """What ``_prepare`` reads of a staged record."""

    source_id: str
    hash: str
    record: Any


def _json_batches(batches: Iterator[list[tuple[str, str, dict[str, Any]]]]
                  ) -> Iterator[list[_Read]]:
    for batch in batches:
        yield [_Read(sid, h, data) for sid, h, data in batch]


def is_pdf(rec: Record) -> bool:
    return isinstance(rec, Document) and (
        (rec.mime_type or "").lower().startswith(PDF_MIME)
        or (rec.mime_type in (None, "", "application/octet-stream")
            and rec.file_name.lower().endswith(".pdf")))


def pdf_text(path: Path, codec: object = None, limit: int | None = None) -> tuple[str, bool]:
    """The text of a PDF's pages, one page after another, and whether that is all of it
    (pages stop being read past ``limit`` characters); ("", True) for a PDF without a text
    layer or a file that is not a readable PDF (never raises: a bad file must not stop a
    scan). pypdf reads the stored file through a seekable decrypting stream: no plain copy is
    written and a file larger than ``WHOLE_PDF_BYTES`` is never held whole."""
    limit = MAX_SCAN_CHARS if limit is None else limit
    try:
        with open_plain(path, codec) as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - 2048))
            tail = fh.read()
            fh.seek(0)
            if fh.read(5) != b"%PDF-" or b"%%EOF" not in tail:
                return "", True  # truncated or not a PDF: pypdf would scan it all
            fh.seek(0)
            # a small PDF goes to pypdf in memory: it reads a byte or a few at a time, and
            # each read and seek through the decrypting stream ran Python code (0.16 of 0.33
            # CPU-s for 201 PDFs of about 1 kB)
            source = io.BytesIO(fh.read()) if size <= WHOLE_PDF_BYTES else fh
            from pypdf import PdfReader

            _speed_up_pypdf()
            logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings may quote content
            parts, length = [], 0
            for page in PdfReader(source, strict=False).pages:
                if length > limit:
                    return "\n".join(parts)[:limit], False
                parts.append(page.extract_text() or "")
                length += len(parts[-1]) + 1
            text = "\n".join(parts)
            return (text, True) if len(text) <= limit else (text[:limit], False)
    except Exception:  # noqa: BLE001 - pypdf raises many kinds on malformed files
        return "", True


def _speed_up_pypdf() -> None:
    """pypdf builds a named encoding's code table (WinAnsi: 256 one-byte decodes, five of them
    raising) anew for every page's text extractor and every font: about a quarter of the
    PDFs' text extraction in a 1k practice (476 PDFs: 0.64-0.69 -> 0.50-0.53 CPU-s). The
    table depends on the encoding's name alone, so it is built once and each caller gets a
    fresh copy of it (callers may change theirs). Where pypdf's internals are not as this
    expects, nothing is changed (tests/phi/test_pdf_tables.py compares the text either way)."""
    global _pypdf_tables
    if _pypdf_tables is not None:
        return
    _pypdf_tables = {}
    try:
        from pypdf import _codecs
        from pypdf._text_extraction import _text_extractor
        from pypdf.generic import _font
    except ImportError:  # another pypdf: its own code runs
        return
    library = getattr(_codecs, "encoding_dict_from_named_encoding", None)
    if library is None:
        return
    tables = _pypdf_tables

    def encoding_dict_from_named_encoding(encoding: str) -> dict[int, str]:
        table = tables.get(encoding)
        if table is None:
            table = tables[encoding] = library(encoding)
        return dict(table)

    encoding_dict_from_named_encoding.library = library  # type: ignore[attr-defined]
    for module in (_codecs, _text_extractor, _font):  # each bound the name when imported
        if getattr(module, "encoding_dict_from_named_encoding", None) is library:
            module.encoding_dict_from_named_encoding = encoding_dict_from_named_encoding


#: named encodings' code tables pypdf asked for (None: pypdf not yet sped up)
_pypdf_tables: dict[str, dict[int, str]] | None = None


def _text_file(path: Path, codec: object, limit: int | None = None) -> tuple[str, bool]:
    """The first ``limit`` bytes of a stored text file, decoded, and whether that is all."""
    limit = MAX_SCAN_CHARS if limit is None else limit
    got, size = [], 0
    for block in iter_plain(path, codec):
        got.append(block)
        size += len(block)
        if size > limit:
            break
    data = b"".join(got)
    return data[:limit].decode(errors="replace"), len(data) <= limit


def content_text(rec: Record, codec: object = None) -> tuple[str, bool]:
    """The screened text of a document's file, and whether it is the whole of it."""
    if not (isinstance(rec, Document) and rec.local_path and Path(rec.local_path).exists()):
        return "", True
    if (rec.mime_type or "").startswith(TEXT_MIME):
        return _text_file(Path(rec.local_path), codec)
    if is_pdf(rec):
        return pdf_text(Path(rec.local_path), codec)
    return "", True


def text_of(rec: Record, field: str, codec: object = None) -> str:
    if field == "content":
        return content_text(rec, codec)[0]
    value = _value(rec, field)
    return value if isinstance(value, str) else ""


#: batches in flight to the workers while this process prepares the next ones
WINDOW = 6


@contextmanager
def scan_pool(workers: int) -> Iterator[Any]:
    """A pool of ``workers`` detector processes for ``scan`` (None for 0: this process)."""
    if workers <= 0:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork, not spawn: a spawned worker runs the parent's main script again (the whole CLI)
    # before it can start. The workers only compute (no store, no network, no handler of
    # ours), so a lock another thread held at the fork is never theirs to take; warmed here
    # first, they inherit the name lists and phone metadata. ``gc.freeze`` in each worker: its
    # collector then never walks the objects it inherited (touching them copied their pages).
    # One executor of one process per worker, so that ``_LazyPool.screen`` chooses the worker.
    pool = _LazyPool(lambda: [ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=gc.freeze)
        for _ in range(workers)])
    try:
        yield pool
    finally:
        pool.shutdown()


class _LazyPool:
    """The pool, warmed and forked at its first piece of work: a load's gate over a practice
    the review already screened has none (the warm-up, name lists and phone metadata, and
    the fork were 8 % of a 200-patient Pipedrive load's CPU samples, for nothing)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._workers: list[Any] | None = None

    def screen(self, work: list[Work], routes: list[int], regions: tuple[str, ...]
               ) -> _Screening:
        """Spans of each unit of ``work`` (``.result()``), each unit screened by the worker
        its route names (modulo the workers): a patient's texts go to one worker, whose
        caches then hold their numbers and plans (the workers do not share caches; split by
        batch, a quarter more phone numbers were parsed than in one process)."""
        if self._workers is None:
            warm()
            self._workers = self._make()
        n = len(self._workers)
        shares: list[list[int]] = [[] for _ in range(n)]
        for i, route in enumerate(routes):
            shares[route % n].append(i)
        return _Screening(len(work), [
            (idx, self._workers[k].submit(detect_all, [work[i] for i in idx], regions))
            for k, idx in enumerate(shares) if idx])

    def shutdown(self) -> None:
        for worker in self._workers or ():
            worker.shutdown(cancel_futures=True)


class _Screening:
    """One batch's spans from the workers it was split between, in the batch's order."""

    def __init__(self, size: int, parts: list[tuple[list[int], Any]]) -> None:
        self._size, self._parts = size, parts

    def result(self) -> list[list[tuple[int, int, str]]]:
        out: list[list[tuple[int, int, str]]] = [[] for _ in range(self._size)]
        for idx, fut in self._parts:
            for i, spans in zip(idx, fut.result(), strict=True):
                out[i] = spans
        return out


#: the collector's youngest-generation threshold while a scan runs (Python's default: 700)
SCAN_GC_THRESHOLD = 10_000
_gc_lock = threading.Lock()
_gc_scans = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic collector run less often while scans run (restored when the last ends).

    A scan makes hundreds of thousands of short-lived containers (rows, spans, cache
    entries) and few cycles: at the default threshold the collector ran some 340 times in a
    1k-patient scan, three of them full passes over every object of the process (imports
    included), about 0.26 of 3.4 CPU-s; at 10,000, 0.09. Process-wide, so it is counted:
    overlapping scans (threads) restore the threshold only when the last one ends. Worker
    processes forked meanwhile inherit it."""
    global _gc_scans, _gc_saved
    with _gc_lock:
        if _gc_scans == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], SCAN_GC_THRESHOLD), *_gc_saved[1:])
        _gc_scans += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_scans -= 1
            if _gc_scans == 0:
                gc.set_threshold(*_gc_saved)


def scan(store: StagingStore, objects: list[str] | None = None, *,
         workers: int | None = None, pool: Any = None,
         regions: tuple[str, ...] | None = None) -> dict[str, int]:
    """Screen staged text not screened since it last changed; a changed text goes back to
    pending. Returns the number of flagged records per object. Phone numbers are read in
    ``regions``: the verbs pass ``Project.scan_regions`` (the eleven of
    ``detect.DEFAULT_REGIONS`` and the practice's own country, configured or detected, and its
    clinics'); ``None``: the eleven alone.

    A large scan runs the detector in a pool of worker processes (``work.workers_for``; or
    ``workers`` of them, 0 for none; or the ``scan_pool`` given); this process reads,
    decrypts, extracts documents' text and writes. The spans are the same either way."""
    ensure_schema(store)
    todo = [(o, f) for o, f in TEXT_FIELDS.items() if not objects or o in objects]
    due = unscreened(store, [o for o, _ in todo])
    regions = regions or DEFAULT_REGIONS
    if pool is None and workers is None:
        workers = workers_for(sum(due[o] * len(f) for o, f in todo))
    with _fewer_collections(), \
            (nullcontext(pool) if pool is not None else scan_pool(workers or 0)) as pool:
        # a patient's identifiers, by patient id: each of their notes, messages and
        # appointments would otherwise read and decrypt the patient again (the first
        # ``KNOWN_BOUND`` patients; ``_fetch_knowns``)
        knowns: dict[str, Known] = {}
        for obj, fields in todo:
            if not due[obj]:
                continue  # nothing changed since it was screened: nothing decoded
            inflight: deque[tuple[list[tuple[Any, ...]], Any]] = deque()
            light = obj in _JSON_READ
            if due[obj] >= store.count(obj):
                batches: Iterator[list[Any]] = (
                    _json_batches(store.iter_json_batches(obj, 500)) if light
                    else store.iter_batches(obj, 500))
            else:
                batches = _changed_batches(store, obj, fields, light)
            for batch in batches:
                meta, work, routes = _prepare(store, obj, fields, batch, knowns)
                if not work:  # screened since it last changed
                    continue
                if pool is None:
                    _write(store, meta, detect_all(work, regions))
                    continue
                inflight.append((meta, pool.screen(work, routes, regions)))
                while len(inflight) > WINDOW:
                    m, fut = inflight.popleft()
                    _write(store, m, fut.result())
            while inflight:
                m, fut = inflight.popleft()
                _write(store, m, fut.result())
    return {o: n for o, n in store.conn.execute(
        "SELECT object, count(DISTINCT source_id) FROM phi_queue WHERE status != 'clean'"
        " GROUP BY object")}


#: a staged record screened since it last changed has a ``phi_queue`` row of that content
#: hash for each of its object's text fields (a clean field has a 'clean' row)
_SCREENED = ("(SELECT count(*) FROM phi_queue q WHERE q.object=r.object AND"
             " q.source_id=r.source_id AND q.content_hash=r.hash AND q.field IN ({fields})) = ?")
_LIVE = ("FROM record_order o JOIN records r ON r.object=o.object AND r.source_id=o.source_id"
         " WHERE o.object=? AND r.deleted=0")


def unscreened(store: StagingStore, objects: list[str]) -> dict[str, int]:
    """Records per object that ``scan`` would screen (staged, and changed or new since their
    last screening), counted in SQL without decoding one: a run after a review finds none,
    and then neither decodes the practice again nor starts worker processes."""
    ensure_schema(store)
    out = {}
    for obj in objects:
        fields = TEXT_FIELDS[obj]
        out[obj] = store.conn.execute(
            f"SELECT count(*) {_LIVE} AND NOT {_SCREENED.format(fields=','.join('?' * len(fields)))}",
            (obj, *fields, len(fields))).fetchone()[0]
    return out


def _changed_batches(store: StagingStore, obj: str, fields: tuple[str, ...],
                     light: bool = False) -> Iterator[list[Any]]:
    """The records of ``obj`` not screened since they changed, in staging order, 500 at a
    time; only those are decoded (``iter_batches`` would decode every one)."""
    last = 0
    sql = (f"SELECT o.seq, r.source_id, {_SCREENED.format(fields=','.join('?' * len(fields)))}"
           f" {_LIVE} AND o.seq>? ORDER BY o.seq LIMIT 2000")
    while True:
        rows = store.conn.execute(sql, (*fields, len(fields), obj, last)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        ids = [str(r[1]) for r in rows if not r[2]]
        for i in range(0, len(ids), 500):
            if light:
                raw = store.get_many_json(obj, ids[i:i + 500])
                yield [_Read(sid, *raw[sid]) for sid in ids[i:i + 500]
                       if sid in raw]
                continue
            got = store.get_many(obj, ids[i:i + 500])
            yield [got[sid] for sid in ids[i:i + 500] if sid in got]


#: what a record without a patient says about one
_NOBODY = Known()


def _prepare(store: StagingStore, obj: str, fields: tuple[str, ...], batch: list[Any],
             knowns: dict[str, Known]
             ) -> tuple[list[tuple[Any, ...]], list[Work], list[int]]:
    """The fields of a batch that changed since their last screening: (object, id, field,
    previous (hash, status), hash, screened length or None when whole) for each, the work of
    screening them (text and the patient's identifiers), and a route for each (the same for
    a patient's texts; a text of no patient by its content)."""
    seen = {(r[0], r[1]): (r[2], r[3]) for r in store.conn.execute(
        f"SELECT source_id, field, content_hash, status FROM phi_queue WHERE"  # noqa: S608
        f" object=? AND source_id IN ({','.join('?' * len(batch))})",
        [obj, *[s.source_id for s in batch]])}
    meta: list[tuple[Any, ...]] = []
    work: list[Work] = []
    routes: list[int] = []
    extra: dict[str, Known] = {}  # this batch's patients past ``KNOWN_BOUND``
    for s in batch:
        if all(seen.get((s.source_id, f), ("",))[0] == s.hash for f in fields):
            continue
        pid = _patient_id(obj, s.record)
        known = (knowns.get(pid) or extra.get(pid)) if pid else _NOBODY
        if known is None:
            _fetch_knowns(store, obj, batch, knowns, extra)
            known = knowns.get(pid) or extra[pid]
        for f in fields:
            whole = True
            if f == "content":
                text, whole = content_text(s.record, store.codec)
            else:
                text = text_of(s.record, f, store.codec)
            meta.append((obj, s.source_id, f, seen.get((s.source_id, f)), s.hash,
                         None if whole else len(text)))
            work.append((text, known))
            routes.append(hash(pid) if pid else hash(text))
    return meta, work, routes


def _write(store: StagingStore, meta: list[tuple[Any, ...]],
           found: list[list[tuple[int, int, str]]]) -> None:
    rows = []
    for (obj, sid, f, prev, h, cut), spans in zip(meta, found, strict=True):
        if cut is not None:  # the rest was never read: a person decides
            spans.append((cut, cut, UNSCANNED))
        if not spans:  # most fields: nothing to encode
            rows.append((obj, sid, f, "[]", "", "clean", h))
            continue
        if prev and prev[0] == h and prev[1] != "clean":
            status = prev[1]  # unchanged text keeps its decision
        else:
            status = "pending"
        rows.append((obj, sid, f, json.dumps([list(x) for x in spans]),
                     ",".join(sorted({x[2] for x in spans})), status, h))
    if rows:
        with store.tx() as c:
            c.executemany("INSERT OR REPLACE INTO phi_queue (object, source_id, field, spans,"
                          " types, status, content_hash) VALUES (?,?,?,?,?,?,?)", rows)


def _item(row: tuple[Any, ...]) -> Item:
    return Item(row[0], row[1], row[2], [Span(*x) for x in json.loads(row[3])], row[4], row[5],
                row[6])


def items(store: StagingStore, status: str | None = None, object_name: str | None = None
          ) -> Iterator[Item]:
    ensure_schema(store)
    for row in store.conn.execute(
            "SELECT object, source_id, field, spans, status, decided_by, rule FROM phi_queue"
            " WHERE status != 'clean' AND (? IS NULL OR status=?) AND (? IS NULL OR object=?)"
            " ORDER BY object,"
            " CAST(source_id AS INTEGER), source_id, field",
            (status, status, object_name, object_name)):
        yield _item(row)


def item_status(store: StagingStore, object_name: str, source_id: str) -> dict[str, Item]:
    """Queue entries of one record, by field (empty when nothing was flagged)."""
    try:
        rows = store.conn.execute(
            "SELECT object, source_id, field, spans, status, decided_by, rule FROM phi_queue"
            " WHERE object=? AND source_id=? AND status != 'clean'",
            (object_name, source_id)).fetchall()
    except Exception:  # noqa: BLE001 - no scan yet: nothing flagged
        return {}
    return {r[2]: _item(r) for r in rows}


def decide(store: StagingStore, object_name: str, source_id: str, decision: str, by: str,
           rule: str | None = None) -> int:
    """Record a decision on a flagged record. A reviewer may also exclude (or approve) a record
    the detector did not flag, e.g. an image attachment it cannot read."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    ensure_schema(store)
    at = dt.datetime.now(dt.UTC).isoformat()
    with store.tx() as c:
        n = _set_decision(c, object_name, source_id, decision, by, at, rule)
    if n or decision == "redact":
        return n
    staged = store.get(object_name, source_id)
    fields = TEXT_FIELDS.get(object_name)
    if staged is None or not fields:
        return 0
    with store.tx() as c:
        for f in fields:
            c.execute("INSERT OR REPLACE INTO phi_queue (object, source_id, field, spans, types,"
                      " status, decided_by, decided_at, rule, content_hash) VALUES"
                      " (?,?,?,'[]','',?,?,?,?,?)",
                      (object_name, source_id, f, decision, by, at, rule, staged.hash))
    return 1


def decide_rule(store: StagingStore, decision: str, by: str, *, object_name: str | None = None,
                types: set[str] | None = None, only_types: set[str] | None = None) -> int:
    """Bulk decision for pending items: of one object, holding any of ``types``, or holding
    nothing but ``only_types`` (e.g. approve notes whose only PHI is medication names).
    Returns the queue entries decided (a record's flagged fields are decided together).

    Pages of pending entries by key, one object at a time (its primary key's range: no sort,
    and the same SQL on PostgreSQL, which has no rowid), one transaction a page: the whole
    queue in a list was 814 MB at 100k patients (464k entries), and a transaction per record.
    A record decided on one page is no longer pending, so a later page skips its other fields."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    ensure_schema(store)
    rule = f"object={object_name or '*'} types={sorted(types or [])} only={sorted(only_types or [])}"
    at = dt.datetime.now(dt.UTC).isoformat()
    objects = [object_name] if object_name else [o for (o,) in store.conn.execute(
        "SELECT DISTINCT object FROM phi_queue WHERE status='pending'").fetchall()]
    n = 0
    for obj in objects:
        last: tuple[str, str] = ("", "")
        while True:
            rows = store.conn.execute(
                "SELECT source_id, field, types FROM phi_queue"
                " WHERE object=? AND status='pending' AND (source_id, field) > (?, ?)"
                " ORDER BY source_id, field LIMIT ?", (obj, *last, _RULE_PAGE)).fetchall()
            if not rows:
                break
            last = (rows[-1][0], rows[-1][1])
            chosen: dict[str, None] = {}
            for sid, _field, kinds_text in rows:
                # an entry's types as ``_write`` stored them beside its spans (their sorted
                # set): not its spans' JSON decoded, a third of the rule's CPU at 1k
                if types or only_types:
                    kinds = set(kinds_text.split(",")) if kinds_text else set()
                    if types and not kinds & types:
                        continue
                    if only_types and not kinds <= only_types:
                        continue
                chosen[sid] = None
            with store.tx() as c:
                for sid in chosen:
                    n += _set_decision(c, obj, sid, decision, by, at, rule)
    return n


def _set_decision(c: Any, object_name: str, source_id: str, decision: str, by: str, at: str,
                  rule: str | None) -> int:
    """A record's flagged entries decided together (``decide``, ``decide_rule``): how many."""
    return c.execute("UPDATE phi_queue SET status=?, decided_by=?, decided_at=?, rule=?"
                     " WHERE object=? AND source_id=? AND status != 'clean'",
                     (decision, by, at, rule, object_name, source_id)).rowcount


#: pending entries a bulk decision reads and decides per transaction
_RULE_PAGE = 2000


def count_items(store: StagingStore, status: str) -> int:
    """Queue entries (flagged fields) with ``status``."""
    ensure_schema(store)
    return store.conn.execute("SELECT count(*) FROM phi_queue WHERE status=?",
                              (status,)).fetchone()[0]


def counts(store: StagingStore) -> dict[str, int]:
    ensure_schema(store)
    return {s: n for s, n in store.conn.execute(
        "SELECT status, count(DISTINCT object || ':' || source_id) FROM phi_queue"
        " WHERE status != 'clean' GROUP BY status")}
