"""The gates a record passes before it is written: the PHI review queue and the BAA.

* Without a recorded BAA confirmation (who, when, reference — ``ferry check --baa-by``),
  clinical-class fields are taken out of the map (``withhold_clinical``) and records whose text
  was flagged are held; the plan and the run report list what was withheld.
* With it, flagged text waits for a decision: pending → held, exclude → excluded, redact → the
  spans are replaced by typed placeholders before the payload is built, approve → as is.

Redacting an attachment: a text file is redacted in place (same name and type, the redacted
text as its content). A PDF cannot be redacted in place — its text is drawn on pages, and
blanking it reliably would need rewriting the content streams and any images — so a "redact"
decision on a PDF uploads a *redacted text rendition instead*: the text extracted for
screening, spans replaced by typed placeholders, as ``<original name>.redacted.txt``
(``text/plain``, its own size). The original PDF is never sent; the sample diff compares the
upload with that rendition. Approve sends the PDF as it is; exclude sends nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from ferry.mapping.model import MappingDoc, ObjectMap
from ferry.model.crypto import encrypt_file, plain_bytes
from ferry.model.entities import Document, Record
from ferry.model.fields import PhiClass
from ferry.model.staging import StagingStore
from ferry.phi.classify import effective
from ferry.phi.detect import redact
from ferry.phi.queue import (
    TEXT_FIELDS,
    is_pdf,
    item_status,
    scan,
    scan_pool,
    text_of,
    unscreened,
)
from ferry.phi.work import workers_for

EXCLUDED = "excluded: "
#: the field that *is* the record for note-like objects; other flagged fields are side fields
MAIN_CONTENT = {"clinical_note": "body", "message": "body", "document": "content"}


def withhold_clinical(doc: MappingDoc, required: dict[str, set[str]] | None = None
                      ) -> tuple[MappingDoc, list[dict[str, Any]], set[str]]:
    """The map without its clinical-class fields, what was taken out, and the maps whose
    records must be held whole because a field the destination requires was clinical."""
    doc = doc.model_copy(deep=True)
    withheld: list[dict[str, Any]] = []
    held_maps: set[str] = set()
    for om in doc.objects:
        need = (required or {}).get(om.target, set())
        for fm in om.fields:
            if fm.status == "mapped" and effective(om.source, fm) == PhiClass.CLINICAL:
                fm.status = "ignored"
                fm.reason = "withheld: no BAA confirmation for clinical data"
                withheld.append({"map": om.name, "source": fm.source, "target": fm.target})
                if fm.required or fm.target in need:
                    held_maps.add(om.name)
    return doc, withheld, held_maps


_LOCKS: dict[str, threading.Lock] = {}  # per store: its scans one at a time
_LOCKS_GUARD = threading.Lock()


def _scan_lock(store: StagingStore) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(store.path or id(store)), threading.Lock())


class Gate:
    """A ``hold`` for the engine: returns a reason to hold, an ``excluded: …`` reason, a
    (redacted) record to write instead, or None to write the record as it is."""

    def __init__(self, store: StagingStore, *, baa_confirmed: bool, files_dir: Path,
                 rescan: bool = True, held_maps: set[str] | None = None,
                 order: list[str] | None = None,
                 regions: tuple[str, ...] | None = None) -> None:
        """``rescan``: screen what changed since the last scan, in a thread of its own, one
        object at a time in ``order`` (the load's): a record waits only for its own object's
        scan, so the first write does not wait for the whole practice's. ``regions``: the
        scan's phone regions (``Project.scan_regions``; None: the scan's eleven defaults)."""
        self.store = store
        self.regions = regions
        self.baa = baa_confirmed
        self.files_dir = files_dir
        self.held_maps = held_maps or set()
        self._scanned: dict[str, threading.Event] = {}
        self._failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        if rescan:
            objects = [o for o in dict.fromkeys([*(order or []), *TEXT_FIELDS])
                       if o in TEXT_FIELDS]
            self._scanned = {o: threading.Event() for o in objects}
            self._thread = threading.Thread(target=self._scan, args=(objects,), daemon=True,
                                            name="ferry-phi-scan")
            self._thread.start()

    def _scan(self, objects: list[str]) -> None:
        try:
            conn = self.store.conn  # this thread's own connection
            if isinstance(conn, sqlite3.Connection):
                # it reads the text objects once, beside the load's connection: through its
                # page cache (bounded), not a second memory map of the store, whose touched
                # pages count in the run's RSS twice (64 MB more at 10k patients)
                conn.execute("PRAGMA mmap_size=0")
            due = unscreened(self.store, objects)  # after a review: none, and no pool
            workers = workers_for(sum(due[o] * len(TEXT_FIELDS[o]) for o in objects))
            # two gates on one store (a sample's and its load's) scan one after the other:
            # the second then finds everything screened instead of doing it all again
            with _scan_lock(self.store), scan_pool(workers) as pool:
                for obj in objects:
                    scan(self.store, [obj], workers=0 if pool is None else workers, pool=pool,
                         regions=self.regions)
                    self._scanned[obj].set()
        except BaseException as exc:  # noqa: BLE001 - raised where the load waits for it
            self._failed = exc
        finally:
            for ev in self._scanned.values():
                ev.set()
            # this thread's connection goes with its thread-local data (``store.close`` of
            # the PostgreSQL store would close the load's connection too)

    def wait(self, object_name: str | None = None) -> None:
        """Until ``object_name`` (or every object) is screened; a failed scan raises here."""
        if object_name is None:
            if self._thread is not None:
                self._thread.join()
        elif (ev := self._scanned.get(object_name)) is not None:
            ev.wait()
        if self._failed is not None:
            raise self._failed

    def __call__(self, om: ObjectMap, rec: Record) -> Any:
        if om.name in self.held_maps:
            return "no BAA confirmation: a field the destination requires is clinical"
        if om.source not in TEXT_FIELDS:
            return None
        self.wait(om.source)
        flagged = item_status(self.store, om.source, rec.source_id)
        if not flagged and self._scanned and not _screened(self.store, om.source,
                                                            rec.source_id):
            # staged after its object's scan (``migrate`` loads while extraction goes on):
            # screened now, with whatever else of the object arrived since, before it is written
            scan(self.store, [om.source], workers=0, regions=self.regions)
            flagged = item_status(self.store, om.source, rec.source_id)
        if not flagged:
            return None
        main = MAIN_CONTENT.get(om.source)
        whole = flagged.get(main) if main else None
        if whole is not None:  # the record *is* the flagged text: it waits or goes as a whole
            if whole.status == "exclude":
                return EXCLUDED + "PHI review decided to exclude it"
            if not self.baa:
                return "no BAA confirmation: content flagged as PHI is not written"
            if whole.status == "pending":
                return "awaiting PHI review (ferry review)"
        # A flagged side field (a patient's medical history, an appointment's notes) does not
        # hold the whole record: the field is left out until it is decided, or redacted.
        update: dict[str, Any] = {}
        for field, it in flagged.items():
            if field == main:
                continue
            if it.status in ("pending", "exclude") or not self.baa:
                update[field] = None
        redacts = {f: it for f, it in flagged.items() if it.status == "redact" and self.baa}
        if redacts:
            rec = self._redacted(rec, redacts)
        if update:
            rec = rec.model_copy(update=update)
        return rec if (update or redacts) else None

    def _redacted(self, rec: Record, items: dict[str, Any]) -> Record:
        update: dict[str, Any] = {}
        for field, it in items.items():
            text = text_of(rec, field, self.store.codec)
            clean = redact(text, it.spans)
            if field == "content" and isinstance(rec, Document):
                path = self.files_dir / f"{rec.source_id}.redacted.txt"
                path.write_text(clean)
                encrypt_file(path, self.store.codec)
                update["local_path"] = str(path)
                if is_pdf(rec):  # a text rendition instead of the PDF (module docstring)
                    update.update(file_name=redacted_name(rec.file_name),
                                  mime_type="text/plain", size=len(clean.encode()),
                                  sha256=None)
            else:
                update[field] = clean
        return rec.model_copy(update=update)


def _screened(store: StagingStore, object_name: str, source_id: str) -> bool:
    """Whether a record has been through the scan (a clean one has its 'clean' rows)."""
    return store.conn.execute("SELECT 1 FROM phi_queue WHERE object=? AND source_id=? LIMIT 1",
                              (object_name, source_id)).fetchone() is not None


def redacted_name(file_name: str) -> str:
    """``letter.pdf`` → ``letter.redacted.txt`` (the name of a PDF's redacted rendition)."""
    stem = file_name[:-4] if file_name.lower().endswith(".pdf") else file_name
    return f"{stem}.redacted.txt"


def read_plain(path: Path, codec: object) -> bytes:
    return plain_bytes(path, codec)
