"""Audited writes: every destination call goes intent → call → outcome.

The intent entries are committed before the call is sent; the outcome entries, the id map and
any skips are committed together after it returns. A crash between the two leaves open intents,
which ``recover`` resolves by looking records up by source id before anything is re-created.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ferry.connectors import killpoint
from ferry.connectors.base import Destination, FileUpload, KeptAsText, WriteResult
from ferry.errors import FerryError, RecordError
from ferry.model.audit import AuditLog
from ferry.model.crypto import PlainView
from ferry.model.fields import Kind
from ferry.model.staging import StagingStore, canonical_json

log = logging.getLogger("ferry.engine")


#: marks a ``payload_hash`` of orjson's text (hex digits never start with it)
ORJSON_HASH = "j"
#: dates and date-times as ``str`` writes them, as in ``canonical_json`` (orjson's own text
#: has a "T": a date-time would match the text of its ISO form)
_HASH_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _digest(data: bytes, codec: Any) -> str:
    digest = getattr(codec, "digest", None)
    return digest(data) if digest is not None else hashlib.sha256(data).hexdigest()


def payload_hash(payload: dict[str, Any], codec: Any = None) -> str:
    """What was sent, as a digest for change detection: keyed by the codec when the project
    encrypts (a small payload, one folded value, would otherwise be guessable).

    Made of orjson's sorted-key text (``ORJSON_HASH`` and the digest): ``canonical_json``
    took 13 µs a payload against 7 (its ``default`` called per date), 5 % of a 1k Odoo load's
    samples. Two payloads ``canonical_json`` tells apart get different hashes (property
    test). A payload orjson refuses (an integer beyond 64 bits, a lone surrogate) or whose
    text has a null (orjson writes NaN and infinities as null, so None would match them) has
    the ``canonical_json`` digest, as every hash stored before; ``same_payload`` reads both."""
    try:
        data = orjson.dumps(payload, option=_HASH_OPTS, default=str)
    except orjson.JSONEncodeError:
        return canonical_hash(payload, codec)
    if b"null" in data:
        return canonical_hash(payload, codec)
    return ORJSON_HASH + _digest(data, codec)


def canonical_hash(payload: dict[str, Any], codec: Any = None) -> str:
    """The digest of ``canonical_json`` (every payload hash stored before orjson's)."""
    return _digest(canonical_json(payload), codec)


def same_payload(known: str | None, payload: dict[str, Any], codec: Any = None,
                 made: str | None = None) -> bool:
    """Whether ``payload`` is what a stored ``payload_hash`` was made of, in the stored
    hash's own scheme: a project loaded by an earlier Ferry is not sent again in full.
    ``made``: ``payload_hash(payload)`` when the caller has it."""
    if known is None:
        return False
    if known.startswith(ORJSON_HASH):
        return known == (made or payload_hash(payload, codec))
    return known == canonical_hash(payload, codec)


def ref(system: str, obj: str, sid: str) -> str:
    return f"{system}:{obj}:{sid}"


@dataclass
class Item:
    """One record's write: where it came from and what to send."""

    src_object: str
    source_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    dest_id: str | None = None  # for update/delete
    before: dict[str, Any] | None = None
    #: fields sent with a value the map assumed (``Built.assumed``): named in the audit entry
    assumed: tuple[str, ...] = ()


#: times a record is re-sent with one more bad optional field left out (a record rarely has more)
MAX_EMPTIED = 5


@dataclass
class Writer:
    store: StagingStore
    audit: AuditLog
    dest: Destination
    run_id: str
    #: destination object → keys of fields whose bad value must refuse the record (required,
    #: references, external ids); learnt from ``describe`` on the first field-level refusal
    _strict: dict[str, set[str]] | None = None
    #: destination object → keys the confirmed map marks required (the load fills it)
    required: dict[str, set[str]] = field(default_factory=dict)

    def _strict_keys(self, dest_object: str) -> set[str]:
        if self._strict is None:
            self._strict = {}
            try:
                infos = self.dest.describe()
            except FerryError:  # cannot tell: every field stays strict (the record is refused)
                infos = []
            for info in infos:
                self._strict[info.name] = {f.key for f in info.fields if f.required
                                           or f.external_id or f.ref or f.kind == Kind.REF}
        return self._strict.get(dest_object, set())

    def _optional_field(self, dest_object: str, payload: dict[str, Any], res: WriteResult
                        ) -> str | None:
        """The optional field a refusal blames, when leaving it empty would let the record in:
        a bad pick-list option (or any bad value) of a field the record can do without."""
        err = res.error
        if res.ok or not isinstance(err, RecordError) or not err.field \
                or err.field not in payload or payload[err.field] in (None, "", []):
            return None
        strict = self._strict_keys(dest_object) | self.required.get(dest_object, set())
        if err.field in strict or dest_object not in (self._strict or {}):
            return None  # required / reference / source id, or an object describe omits
        return err.field

    def _send(self, dest_object: str, items: Sequence[Item], results: list[WriteResult],
              call: Any, *, clear: bool) -> list[WriteResult]:
        """Re-send records refused for one bad *optional* value with that field left out
        (``clear``: an update sends it empty), so one bad pick-list option does not refuse a
        whole patient; the result carries the field as a field-level finding. A bad required
        value, a reference or the source id still refuses the record."""
        emptied: dict[int, list[RecordError]] = {}
        payloads: dict[int, dict[str, Any]] = {}  # copies of the payloads re-sent (few)
        for _ in range(MAX_EMPTIED):
            todo = []
            for i, res in enumerate(results):
                if res.ok or i >= len(items):
                    continue
                payload = payloads.get(i, items[i].payload)
                if f := self._optional_field(dest_object, payload, res):
                    assert isinstance(res.error, RecordError)
                    emptied.setdefault(i, []).append(res.error)
                    payload = payloads[i] = dict(payload)
                    if clear:
                        payload[f] = None
                    else:
                        payload.pop(f)
                    todo.append(i)
            if not todo:
                break
            again = call([(items[i], payloads[i]) for i in todo])
            for i, res in zip(todo, again, strict=True):
                results[i] = res
        for i, errs in emptied.items():
            if results[i].ok:
                results[i].field_errors.extend(errs)
        return results

    def _reason(self, err: FerryError | None) -> tuple[str | None, str]:
        if isinstance(err, RecordError):
            return err.field, err.reason
        return None, f"{type(err).__name__}: {err}" if err else "unknown failure"

    def _intents(self, op: str, dest_object: str, items: Sequence[Item], detail: dict[str, Any]
                 ) -> list[int]:
        return self.audit.append_many(self.run_id, [
            {"kind": "intent", "op": op, "dest_object": dest_object, "dest_id": it.dest_id,
             "src_ref": ref("source", it.src_object, it.source_id), "before": it.before,
             "detail": detail} for it in items])

    def _outcomes(self, op: str, dest_object: str, items: Sequence[Item], seqs: list[int],
                  results: list[WriteResult], detail: dict[str, Any], *, map_as: str | None,
                  stage: str) -> list[WriteResult]:
        if len(results) != len(items):
            raise FerryError(f"{self.dest.name} returned {len(results)} results for"
                             f" {len(items)} {op}s of {dest_object}")
        with self.store.tx() as c:
            entries = []
            maps: list[tuple[str, str, str, str]] = []
            hashes: list[str | None] = []
            for it, seq, res in zip(items, seqs, results, strict=True):
                r = ref("source", it.src_object, it.source_id)
                if res.ok:
                    entries.append({"kind": "done", "op": op, "dest_object": dest_object,
                                    "dest_id": res.dest_id or it.dest_id, "src_ref": r,
                                    "intent_seq": seq, "detail": {**detail, "assumed": list(
                                        it.assumed)} if it.assumed else detail})
                    if map_as is not None and res.dest_id:
                        maps.append((it.src_object, it.source_id, map_as, res.dest_id))
                        hashes.append(payload_hash(it.payload, self.store.codec))
                    for fe in res.field_errors:  # written, but these fields left empty
                        fld, reason = self._reason(fe)
                        if isinstance(fe, KeptAsText):  # (its text kept in another field)
                            self.store.skip(self.run_id, r, fld, reason, "load-kept", conn=c)
                            continue
                        self.store.skip(self.run_id, r, fld, f"field left empty: {reason}",
                                        "load-field", conn=c)
                else:
                    fld, reason = self._reason(res.error)
                    entries.append({"kind": "failed", "op": op, "dest_object": dest_object,
                                    "dest_id": it.dest_id, "src_ref": r, "intent_seq": seq,
                                    "detail": {**detail, "field": fld, "reason": reason}})
                    self.store.skip(self.run_id, r, fld, reason, stage, conn=c)
            if maps:  # the batch's id map in one statement
                self.store.map_ids(maps, self.run_id, created=(op in ("create", "upload")),
                                   conn=c, hashes=hashes)
            self.audit.append_many(self.run_id, entries, conn=c)
        return results

    def create(self, dest_object: str, items: Sequence[Item], detail: dict[str, Any]
               ) -> list[WriteResult]:
        seqs = self._intents("create", dest_object, items, detail)
        killpoint.reached("after-intent", "create", dest_object)
        results = self.dest.create(dest_object, [it.payload for it in items])
        results = self._send(dest_object, items, list(results), lambda todo: self.dest.create(
            dest_object, [p for _, p in todo]), clear=False)
        killpoint.reached("after-call", "create", dest_object)
        return self._outcomes("create", dest_object, items, seqs, results, detail,
                              map_as=dest_object, stage="load")

    def update(self, dest_object: str, items: Sequence[Item], detail: dict[str, Any], *,
               map_as: str | None = None, capture_before: bool = True) -> list[WriteResult]:
        if capture_before:
            current = self.dest.read(dest_object, [str(it.dest_id) for it in items],
                                     sorted({k for it in items for k in it.payload}))
            for it in items:
                before = current.get(str(it.dest_id), {})
                it.before = {k: before.get(k) for k in it.payload}
        seqs = self._intents("update", dest_object, items, detail)
        killpoint.reached("after-intent", "update", dest_object)
        results = self.dest.update(dest_object, [(str(it.dest_id), it.payload) for it in items])
        results = self._send(dest_object, items, list(results), lambda todo: self.dest.update(
            dest_object, [(str(it.dest_id), p) for it, p in todo]), clear=True)
        killpoint.reached("after-call", "update", dest_object)
        return self._outcomes("update", dest_object, items, seqs, results, detail,
                              map_as=map_as, stage="load")

    def delete(self, dest_object: str, items: Sequence[Item], detail: dict[str, Any], *,
               capture_before: bool = False) -> list[WriteResult]:
        if capture_before:
            current = self.dest.read(dest_object, [str(it.dest_id) for it in items])
            for it in items:
                it.before = current.get(str(it.dest_id))
        seqs = self._intents("delete", dest_object, items, detail)
        killpoint.reached("after-intent", "delete", dest_object)
        results = self.dest.delete(dest_object, [str(it.dest_id) for it in items])
        killpoint.reached("after-call", "delete", dest_object)
        return self._outcomes("delete", dest_object, items, seqs, results, detail, map_as=None,
                              stage="delete")

    def upload(self, dest_object: str, item: Item, parent_object: str, parent_id: str,
               path: Path | PlainView, file_name: str, mime_type: str | None,
               detail: dict[str, Any]
               ) -> WriteResult:
        # A file has no upsert key: the destination tags it with the source id, and the intent
        # keeps (encrypted, as ``before``) the name and size that recognise a file whose tag did
        # not land, so ``recover`` finds it instead of uploading it twice.
        item.before = {"file_name": file_name, "size": path.stat().st_size}
        seqs = self._intents("upload", dest_object, [item], {**detail, "parent": parent_id,
                                                            "parent_object": parent_object})
        killpoint.reached("after-intent", "upload", dest_object)
        try:
            res = self.dest.upload(parent_object, parent_id, path, file_name, mime_type,
                                   extra={"_source_id": item.source_id,
                                          "_src_object": item.src_object})
        except RecordError as err:
            res = WriteResult.failure(err)
        killpoint.reached("after-call", "upload", dest_object)
        return self._outcomes("upload", dest_object, [item], seqs, [res], detail,
                              map_as=dest_object, stage="load-file")[0]

    def upload_many(self, dest_object: str, items: Sequence[Item], files: list[FileUpload],
                    detail: dict[str, Any]) -> list[WriteResult]:
        """``upload`` of several files (``Capabilities.upload_group``): their intents in one
        transaction, one ``upload_many`` call, their outcomes in one transaction. A kill in
        between leaves every intent of the group open: ``recover`` finds the files that
        landed by their tags, the others are uploaded again."""
        for it, f in zip(items, files, strict=True):
            it.before = {"file_name": f.file_name, "size": f.path.stat().st_size}
        entries = [{"kind": "intent", "op": "upload", "dest_object": dest_object,
                    "dest_id": it.dest_id, "src_ref": ref("source", it.src_object, it.source_id),
                    "before": it.before, "detail": {**detail, "parent": f.parent_id,
                                                    "parent_object": f.parent_object}}
                   for it, f in zip(items, files, strict=True)]
        seqs = self.audit.append_many(self.run_id, entries)
        killpoint.reached("after-intent", "upload", dest_object)
        results = self.dest.upload_many(files)
        for _ in results:  # each file applied, no outcome logged yet
            killpoint.reached("after-call", "upload", dest_object)
        return self._outcomes("upload", dest_object, items, seqs, results, detail,
                              map_as=dest_object, stage="load-file")
