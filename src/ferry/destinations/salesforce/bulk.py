"""Bulk API 2.0 ingest: one job per call, CSV streamed to disk, results streamed back.

Rows are written to a temporary file as they come (memory stays flat however many rows), sent
in one PUT (what every real client does), closed with UploadComplete and polled with back-off.

Lost answers (a 5xx, a dropped connection, a body cut short: the client sends the request
again). Upsert, update and delete jobs are idempotent row by row: an upsert matches the
unique external id (Ferry provisions it External ID and Unique; the REST guide's upsert page:
the unique index is what prevents duplicates), update and delete go by ``Id``. The steps of a
job are not all idempotent by themselves, but a job is found again by its id:

- ``POST jobs/ingest`` creates a job; one whose answer was lost stays an empty ``Open`` job
  nobody uploads to (no records; the org purges Open jobs after 7 days). Harmless, left.
- ``PUT …/batches``: sent again after a lost answer. When the first one had landed, the job
  already holds its data and the org refuses the second (the sandbox answers INVALIDJOBSTATE;
  whether a real org refuses or appends a second upload is undocumented, NOTES 2: every real
  client sends one PUT), and the job, still ``Open``, goes on to ``UploadComplete``.
- ``PATCH {"state": "UploadComplete"}``: sent again after a lost answer; when the first one
  had landed the second is refused (the job is no longer Open). The job's state then says so
  (``UploadComplete`` or later) and it is polled as usual; it used to be aborted and the whole
  create failed.

The platform returns result rows in any order and only with the uploaded columns, so every job
carries a key column (the external id for upserts, ``Id`` for updates and deletes) and outcomes
are matched by key, never by position.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.connectors.http import call_with_retry
from ferry.destinations.salesforce.client import SalesforceClient
from ferry.destinations.salesforce.errors import SYSTEM, ApiError, parse_bulk_error
from ferry.errors import FatalError, RetriableError

TERMINAL = {"JobComplete", "Failed", "Aborted"}
CHUNK = 1 << 16


@dataclass
class JobResult:
    job_id: str
    state: str
    rows: int
    success: dict[str, tuple[str, bool]] = field(default_factory=dict)  # key → (id, created)
    failed: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # key → (code, fields)
    unprocessed: set[str] = field(default_factory=set)
    error: str | None = None


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            yield block


class BulkIngest:
    def __init__(self, client: SalesforceClient, workdir: Path,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.workdir = workdir
        self.sleep = sleep
        self.jobs = 0

    def run(self, obj: str, operation: str, header: list[str], rows: Iterable[list[str]],
            key: str, external_id: str | None = None) -> JobResult:
        """Run one ingest job over ``rows`` (cells already CSV text) and collect outcomes."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="sf-bulk-") as tmp:
            data = Path(tmp) / "upload.csv"
            count = 0
            with data.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
                for row in rows:
                    writer.writerow(row)
                    count += 1
            spec: dict[str, Any] = {"object": obj, "operation": operation,
                                    "contentType": "CSV", "lineEnding": "LF",
                                    "columnDelimiter": "COMMA"}
            if external_id:
                spec["externalIdFieldName"] = external_id
            job = self.client.request("POST", "jobs/ingest", json=spec).json()
            self.jobs += 1
            jid = job["id"]
            try:
                try:
                    self.client.request("PUT", "/" + job["contentUrl"].lstrip("/"),
                                        headers={"Content-Type": "text/csv"},
                                        content=lambda: _chunks(data))  # type: ignore[arg-type,return-value]
                except ApiError as e:
                    # a retry refused because the job holds data: the first PUT landed
                    if e.code.upper() != "INVALIDJOBSTATE" or self._state(jid) != "Open":
                        raise
                try:
                    self.client.request("PATCH", f"jobs/ingest/{jid}",
                                        json={"state": "UploadComplete"})
                except ApiError:
                    if self._state(jid) in {"Open", "Aborted"}:
                        raise  # still open (or aborted): the close did not land
            except Exception:
                self._abort(jid)
                raise
            info = self._wait(jid)
            result = JobResult(jid, info["state"], count, error=info.get("errorMessage"))
            if result.state == "Failed" and str(result.error or "").startswith(
                    ("InvalidBatch", "ClientInputError")):
                raise FatalError(f"Salesforce rejected bulk job for {obj}: "
                                 f"{str(result.error).split(':')[0].strip()}"
                                 f" ({_column_hint(str(result.error))})", system=SYSTEM)
            processed = int(info.get("numberRecordsProcessed") or 0)
            if processed:
                rows_of = self._results(jid, "successfulResults", Path(tmp))
                at = _columns(next(rows_of, []), (key, "sf__Id"), ("sf__Created",))
                if at is not None:
                    k, rid, new = at
                    result.success.update((row[k], (row[rid], new is not None and
                                                    row[new].lower() == "true"))
                                          for row in rows_of)
            if int(info.get("numberRecordsFailed") or 0):
                rows_of = self._results(jid, "failedResults", Path(tmp))
                at = _columns(next(rows_of, []), (key,), ("sf__Error",))
                if at is not None:
                    k, err = at
                    for row in rows_of:
                        result.failed[row[k]] = parse_bulk_error(row[err] if err is not None
                                                                 else "")
            if result.state != "JobComplete" or processed < count:
                rows_of = self._results(jid, "unprocessedrecords", Path(tmp))
                at = _columns(next(rows_of, []), (key,))
                if at is not None:
                    result.unprocessed.update(row[at[0]] for row in rows_of)
            return result

    def _state(self, jid: str) -> str:
        """The job's state as the org has it now (a GET: safe to repeat)."""
        return str(self.client.request("GET", f"jobs/ingest/{jid}").json()["state"])

    def _wait(self, jid: str) -> dict[str, Any]:
        s = self.client.settings
        # the interval a real org is polled at, divided under a time scale (the deadline is
        # a bound on a stuck job, not a wait: it stays real)
        delay, deadline = s.poll_initial_s / s.time_scale, time.monotonic() + s.job_timeout_s
        while True:
            info: dict[str, Any] = self.client.request("GET", f"jobs/ingest/{jid}").json()
            if info["state"] in TERMINAL:
                return info
            if time.monotonic() > deadline:
                self._abort(jid)
                raise RetriableError(f"bulk job {jid} did not finish in time", system=SYSTEM)
            self.sleep(delay)
            delay = min(s.poll_max_s / s.time_scale, delay * 1.6)

    def _abort(self, jid: str) -> None:
        try:
            self.client.request("PATCH", f"jobs/ingest/{jid}", json={"state": "Aborted"})
        except Exception:  # noqa: BLE001, S110 - best effort; the job purges itself in 7 days
            pass

    def _results(self, jid: str, kind: str, tmp: Path) -> Iterator[list[str]]:
        """Stream one result CSV to disk, then yield its rows (the header first) as lists:
        a dict per row (``csv.DictReader``) cost more than the rest of reading it."""
        path = tmp / f"{kind}.csv"
        url = self.client.url(f"jobs/ingest/{jid}/{kind}")

        def fetch() -> None:
            with self.client.http.stream("GET", url, headers={"Accept": "text/csv"}) as resp:
                self.client.calls += 1
                if resp.status_code >= 300:
                    resp.read()
                    from ferry.destinations.salesforce.errors import raise_for

                    raise_for(resp)
                with path.open("wb") as fh:
                    for block in resp.iter_bytes(CHUNK):
                        fh.write(block)

        call_with_retry(fetch, attempts=self.client.settings.retries,
                        base=0.5 / self.client.settings.time_scale)
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                if row:  # a blank line is no row (as DictReader skipped it)
                    yield row


def _columns(header: list[str], need: tuple[str, ...], maybe: tuple[str, ...] = ()
             ) -> tuple[Any, ...] | None:
    """Where each column of ``need`` and of ``maybe`` (``None`` when absent) is in a result
    file's ``header``; ``None`` for an empty file. A ``need`` column missing raises
    ``KeyError``, as reading it from every row did."""
    if not header:
        return None
    for name in need:
        if name not in header:
            raise KeyError(name)
    return (*(header.index(n) for n in need),
            *(header.index(n) if n in header else None for n in maybe))


def _column_hint(message: str) -> str:
    """The column a header error names (column names are schema, not data)."""
    return message.rsplit(":", 1)[-1].strip() if "not found" in message else "see job"
