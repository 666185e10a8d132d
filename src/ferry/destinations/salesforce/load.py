"""Writing rows: sObject collections for small sets, Bulk API 2.0 for volume.

Creates upsert on the source-id external id whenever the rows carry it, so a retry, a resume
after a crash or a delta updates the record instead of duplicating it.

Which writes survive a lost answer (the client sends a request again after a 5xx or no
answer): an upsert does, by itself. Ferry provisions the source-id field External ID *and*
Unique (``provision``), and the REST guide's upsert page says the unique index is what keeps
an upsert from creating a second record; a late first request then matches the record its
retry made and updates it with the same values. Updates (by ``Id``) write the same values
again; deletes count a record already gone as deleted (``GONE``). Bulk 2.0 jobs: see ``bulk``.
A plain insert (``_collections_insert``, rows without a source id) is not idempotent and has
nothing to be found by: it may be made twice. The engine never sends such rows (a record map
needs an ``id_field``, ``mapping.validate``); files are inserts too, and are looked up by
their tag before they are sent again (``writer.upload``). Rows with transient
failures (UNABLE_TO_LOCK_ROW, rows a failed job never processed) are retried in up to
``ROUNDS`` further rounds (with growing pauses) through collections — small, serial calls are what the platform
advises against lock contention. Every row ends with exactly one WriteResult, in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ferry.connectors.base import WriteResult
from ferry.destinations.salesforce import Settings
from ferry.destinations.salesforce.bulk import BulkIngest, JobResult
from ferry.destinations.salesforce.client import COLLECTION, SalesforceClient
from ferry.destinations.salesforce.errors import SYSTEM, record_error
from ferry.destinations.salesforce.shape import nest_relationships, to_csv
from ferry.errors import RetriableError

ROUNDS = 6
ROUND_PAUSE_S = 0.1  # doubled each round: contention clears with time
Op = Callable[[list[int]], dict[int, WriteResult]]


def _transient(result: WriteResult | None) -> bool:
    return result is None or isinstance(result.error, RetriableError)


class Loader:
    def __init__(self, client: SalesforceClient, bulk: BulkIngest, settings: Settings) -> None:
        self.client = client
        self.bulk = bulk
        self.settings = settings

    def _run(self, n: int, big: Op, small: Op) -> list[WriteResult]:
        """First pass by volume (bulk or collections), then retry rounds for transient rows."""
        todo = list(range(n))
        results: dict[int, WriteResult] = {}
        results.update((big if n >= self.settings.bulk_threshold else small)(todo))
        for attempt in range(ROUNDS):
            todo = [i for i in range(n) if _transient(results.get(i))]
            if not todo:
                break
            self.bulk.sleep(min(5.0, ROUND_PAUSE_S * 2 ** attempt) / self.settings.time_scale)
            results.update(small(todo))
        return [results.get(i) or WriteResult.failure(RetriableError(
            f"row {i} was not processed", system=SYSTEM)) for i in range(n)]

    # -- create / upsert ---------------------------------------------------------------------
    def create(self, obj: str, rows: list[dict[str, Any]], ext: str | None
               ) -> list[WriteResult]:
        def ref(i: int) -> str:
            key = rows[i].get(ext) if ext else None
            return f"{SYSTEM}:{obj}:{key}" if key else f"{SYSTEM}:{obj}:row{i}"

        if not ext or any(rows[i].get(ext) in (None, "") for i in range(len(rows))):
            return self._run(len(rows), lambda idx: self._collections_insert(obj, rows, idx,
                                                                             ref),
                             lambda idx: self._collections_insert(obj, rows, idx, ref))
        return self._run(len(rows), lambda idx: self._bulk_upsert(obj, rows, idx, ext, ref),
                         lambda idx: self._collections_upsert(obj, rows, idx, ext, ref))

    def _collections_insert(self, obj: str, rows: list[dict[str, Any]], idx: list[int],
                            ref: Callable[[int], str]) -> dict[int, WriteResult]:
        out: dict[int, WriteResult] = {}
        for start in range(0, len(idx), COLLECTION):
            chunk = idx[start:start + COLLECTION]
            body = {"allOrNone": False, "records": [
                {"attributes": {"type": obj}, **nest_relationships(rows[i])} for i in chunk]}
            res = self.client.request("POST", "composite/sobjects", json=body).json()
            out.update(self._collect(chunk, res, ref, created=True))
        return out

    def _collections_upsert(self, obj: str, rows: list[dict[str, Any]], idx: list[int],
                            ext: str, ref: Callable[[int], str]) -> dict[int, WriteResult]:
        out: dict[int, WriteResult] = {}
        for wave in _waves(idx, lambda i: str(rows[i][ext]).lower()):
            for start in range(0, len(wave), COLLECTION):
                chunk = wave[start:start + COLLECTION]
                body = {"allOrNone": False, "records": [
                    {"attributes": {"type": obj}, **nest_relationships(rows[i])}
                    for i in chunk]}
                res = self.client.request("PATCH", f"composite/sobjects/{obj}/{ext}",
                                          json=body).json()
                out.update(self._collect(chunk, res, ref, created=None))
        return out

    def _bulk_upsert(self, obj: str, rows: list[dict[str, Any]], idx: list[int], ext: str,
                     ref: Callable[[int], str]) -> dict[int, WriteResult]:
        out: dict[int, WriteResult] = {}
        for wave in _waves(idx, lambda i: str(rows[i][ext]).lower()):
            for start in range(0, len(wave), self.settings.bulk_max_rows):
                chunk = wave[start:start + self.settings.bulk_max_rows]
                header = _header(rows, chunk)
                job = self.bulk.run(obj, "upsert", header, _cells(rows, chunk, header),
                                    key=ext, external_id=ext)
                out.update(_from_job(job, {str(rows[i][ext]): i for i in chunk}, ref))
        return out

    # -- update ----------------------------------------------------------------------------
    def update(self, obj: str, pairs: list[tuple[str, dict[str, Any]]]) -> list[WriteResult]:
        def ref(i: int) -> str:
            return f"{SYSTEM}:{obj}:{pairs[i][0]}"

        def small(idx: list[int]) -> dict[int, WriteResult]:
            out: dict[int, WriteResult] = {}
            for wave in _waves(idx, lambda i: pairs[i][0]):
                for start in range(0, len(wave), COLLECTION):
                    chunk = wave[start:start + COLLECTION]
                    body = {"allOrNone": False, "records": [
                        {"attributes": {"type": obj}, "id": pairs[i][0],
                         **nest_relationships(pairs[i][1])} for i in chunk]}
                    res = self.client.request("PATCH", "composite/sobjects", json=body).json()
                    out.update(self._collect(chunk, res, ref, created=False))
            return out

        payloads = [p[1] for p in pairs]

        def big(idx: list[int]) -> dict[int, WriteResult]:
            out: dict[int, WriteResult] = {}
            for wave in _waves(idx, lambda i: pairs[i][0]):
                for start in range(0, len(wave), self.settings.bulk_max_rows):
                    chunk = wave[start:start + self.settings.bulk_max_rows]
                    header = _header(payloads, chunk)
                    cells = ([pairs[i][0], *row] for i, row in zip(
                        chunk, _cells(payloads, chunk, header), strict=True))
                    job = self.bulk.run(obj, "update", ["Id", *header], cells, key="Id")
                    out.update(_from_job(job, {pairs[i][0]: i for i in chunk}, ref))
            return out

        return self._run(len(pairs), big, small)

    # -- delete ----------------------------------------------------------------------------
    def delete(self, obj: str, ids: list[str]) -> list[WriteResult]:
        def ref(i: int) -> str:
            return f"{SYSTEM}:{obj}:{ids[i]}"

        def small(idx: list[int]) -> dict[int, WriteResult]:
            out: dict[int, WriteResult] = {}
            for wave in _waves(idx, lambda i: ids[i]):
                for start in range(0, len(wave), COLLECTION):
                    chunk = wave[start:start + COLLECTION]
                    res = self.client.request("DELETE", "composite/sobjects", params={
                        "ids": ",".join(ids[i] for i in chunk), "allOrNone": "false"}).json()
                    res = [{"success": True, "id": ids[i], "errors": []} if _gone(r) else r
                           for i, r in zip(chunk, res, strict=False)]
                    out.update(self._collect(chunk, res, ref, created=False))
            return out

        def big(idx: list[int]) -> dict[int, WriteResult]:
            out: dict[int, WriteResult] = {}
            for wave in _waves(idx, lambda i: ids[i]):
                job = self.bulk.run(obj, "delete", ["Id"], ([ids[i]] for i in wave), key="Id")
                for key in [k for k, (code, _) in job.failed.items() if code in GONE]:
                    job.success[key] = (key, False)  # already deleted: the goal is met
                    del job.failed[key]
                out.update(_from_job(job, {ids[i]: i for i in wave}, ref))
            return out

        return self._run(len(ids), big, small)

    @staticmethod
    def _collect(chunk: list[int], res: list[dict[str, Any]], ref: Callable[[int], str],
                 created: bool | None) -> dict[int, WriteResult]:
        out: dict[int, WriteResult] = {}
        for i, r in zip(chunk, res, strict=False):
            if r.get("success"):
                was_created = bool(r.get("created")) if created is None else created
                out[i] = WriteResult.success(str(r["id"]), created=was_created)
            else:
                e = (r.get("errors") or [{}])[0]
                out[i] = WriteResult.failure(record_error(
                    ref(i), str(e.get("statusCode", "UNKNOWN_ERROR")),
                    [str(f) for f in e.get("fields") or []]))
        return out


#: a delete of a record that is already gone (deleted, or never there): nothing left to do
GONE = {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"}


def _gone(r: dict[str, Any]) -> bool:
    return not r.get("success") and bool(r.get("errors")) and all(
        e.get("statusCode") in GONE for e in r["errors"])


def _waves(idx: list[int], key: Callable[[int], str]) -> list[list[int]]:
    """Split so no key repeats within a wave (a job or call may not touch a record twice)."""
    waves: list[list[int]] = []
    seen: list[set[str]] = []
    for i in idx:
        k = key(i)
        for w, s in zip(waves, seen, strict=True):
            if k not in s:
                w.append(i)
                s.add(k)
                break
        else:
            waves.append([i])
            seen.append({k})
    return waves


_ABSENT = object()


def _cells(rows: list[dict[str, Any]], idx: list[int], header: list[str]
           ) -> Iterator[list[str]]:
    """Each row's CSV cells in ``header``'s order; a column the row lacks is left empty (a
    text cell, most of them, as it is: ``to_csv`` would give it back)."""
    for i in idx:
        get = rows[i].get
        yield [v if (v := get(c, _ABSENT)).__class__ is str else
               "" if v is _ABSENT else to_csv(v) for c in header]


def _header(rows: list[dict[str, Any]], idx: list[int]) -> list[str]:
    cols: dict[str, None] = {}
    for i in idx:
        cols.update(dict.fromkeys(rows[i]))
    return list(cols)


def _from_job(job: JobResult, index: dict[str, int], ref: Callable[[int], str]
              ) -> dict[int, WriteResult]:
    lowered: dict[str, int] | None = None

    def lower(key: str) -> int | None:  # a key the platform sent back in another case (rare)
        nonlocal lowered
        if lowered is None:
            lowered = {k.lower(): i for k, i in index.items()}
        return lowered.get(key.lower())

    out: dict[int, WriteResult] = {}
    for key, (rid, created) in job.success.items():
        i = index.get(key)
        if i is None:
            i = lower(key)
        if i is not None:
            out[i] = WriteResult(True, rid, None, created, [])  # WriteResult.success's
    for key, (code, fields) in job.failed.items():
        i = index.get(key)
        if i is None:
            i = lower(key)
        if i is not None:
            out[i] = WriteResult.failure(record_error(ref(i), code, fields))
    return out  # rows absent here (unprocessed) are retried by Loader._run

