"""Bulk API 2.0: ingest jobs (create → PUT CSV → UploadComplete → poll → result CSVs) and
query jobs (create → poll → CSV pages with ``Sforce-Locator``).

Processing takes time, in the documented shape (Bulk API 2.0 guide, "How Requests Are
Processed" / "Understanding Bulk API 2.0 Ingest"): after ``UploadComplete`` the job is queued
(``UploadComplete``) until it is de-queued, then ``InProgress`` while its data is processed in
internal batches of 10,000 records, run in parallel, then ``JobComplete``. The guide gives no
durations: the queue wait, the rows per second of a batch and the batches run at once are
assumptions (``BulkTiming``: ``bulk_queue_s``, ``bulk_rows_per_s``, ``bulk_lanes`` in the
sandbox's options), in emulated seconds, divided by the sandbox's time-scale. A job is never
done on its first poll (it shows ``InProgress`` then), so clients must really poll. Header
problems fail the whole job (``InvalidBatch : Field name not found``) and leave every row in
``unprocessedrecords``, as the platform does. Row failures land in ``failedResults`` with
``sf__Error`` = ``CODE:message:FIELDS --``; result rows are returned in a shuffled order because
the platform does not promise upload order either.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ferry.sandbox.salesforce.app import Api, Json, sf_error
from ferry.sandbox.salesforce.query import QueryError
from ferry.sandbox.salesforce.state import now_iso

DELIMS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
          "BACKQUOTE": "`"}
OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}
MAX_UPLOAD = 100_000_000  # raw bytes (150 MB after the platform's base64 conversion)
TERMINAL = {"JobComplete", "Failed", "Aborted"}
INTERNAL_BATCH = 10_000  # records per internal batch [doc]


@dataclass(frozen=True)
class BulkTiming:
    """How long an ingest job takes after ``UploadComplete``, in emulated seconds (an assumption:
    the guide documents the states and the 10,000-record batches, not their durations). The
    defaults are of the order a small org shows (a few seconds in the queue, a 10,000-record
    batch of plain rows in about 10 s); ``ferry.engine.estimate`` prices the polling with
    the same figures (``Limits.job_*``)."""

    queue_s: float = 2.0
    rows_per_s: float = 1000.0
    lanes: int = 4

    @classmethod
    def of(cls, extra: dict[str, Any]) -> BulkTiming:
        d = cls()
        return cls(float(extra.get("bulk_queue_s", d.queue_s)),
                   float(extra.get("bulk_rows_per_s", d.rows_per_s)),
                   max(1, int(extra.get("bulk_lanes", d.lanes))))

    def processing_s(self, rows: int) -> float:
        """Seconds ``InProgress``: the internal batches in rounds of ``lanes``, each round as
        long as its largest batch."""
        if rows <= 0 or self.rows_per_s <= 0:
            return 0.0
        batches = math.ceil(rows / INTERNAL_BATCH)
        rounds = math.ceil(batches / self.lanes)
        return rounds * min(rows, INTERNAL_BATCH) / self.rows_per_s


def _csv(header: list[str], rows: list[list[Any]], delim: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def install_bulk(app: FastAPI, api: Api) -> None:
    org = api.org
    jobs: dict[str, dict[str, Any]] = {}
    data: dict[str, dict[str, Any]] = {}  # job id → private processing state
    shuffle = random.Random(11)
    base = "/services/data/v{version}/jobs"

    timing = BulkTiming.of(api.extra)
    clock = org.clock

    def info(job_id: str, *, poll: bool = False) -> dict[str, Any]:
        job = jobs[job_id]
        priv = data[job_id]
        if poll and job["state"] in {"UploadComplete", "InProgress"}:
            priv["polls"] += 1
            # queued, then processing, then done: by the emulated clock (a poll between two
            # states sees the later one); never done on the first poll
            waited = clock.monotonic() - priv["closed"]
            state = "UploadComplete" if waited < priv["queue"] else (
                "InProgress" if waited < priv["queue"] + priv["busy"] else priv["final"])
            if state in TERMINAL and priv["polls"] < 2:
                state = "InProgress"
            if state != job["state"]:
                job["systemModstamp"] = now_iso()
            job["state"] = state
        return dict(job)

    def _job(version: str, kind: str, request: Request, **fields: Any) -> dict[str, Any]:
        jid = org.new_id("750")
        job = {"id": jid, "operation": fields.pop("operation"), "object": fields.pop("object"),
               "createdById": request.state.user, "createdDate": now_iso(),
               "systemModstamp": now_iso(), "state": "Open", "concurrencyMode": "Parallel",
               "contentType": "CSV", "apiVersion": float(version),
               "jobType": "V2Ingest" if kind == "ingest" else "V2Query",
               "lineEnding": fields.pop("lineEnding", "LF"),
               "columnDelimiter": fields.pop("columnDelimiter", "COMMA"),
               "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "retries": 0,
               "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
               "apexProcessingTime": 0, **fields}
        jobs[jid] = job
        data[jid] = {"polls": 0, "final": "JobComplete", "raw": b"", "kind": kind,
                     "closed": 0.0, "queue": 0.0, "busy": 0.0}
        return job

    @app.post(base + "/ingest")
    async def create_ingest(version: str, request: Request) -> Any:
        if float(version) < 41:
            return sf_error(400, "InvalidVersion", "Bulk API 2.0 ingest needs v41.0 or later")
        body = await request.json()
        op, obj = body.get("operation"), str(body.get("object", ""))
        od = org.obj(obj)
        if op not in OPERATIONS:
            return sf_error(400, "INVALIDJOB", "operation must be one of " + ", ".join(
                sorted(OPERATIONS)))
        if od is None or not org.can_see_object(od, request.state.user):
            return sf_error(400, "NOT_FOUND", f"sObject type '{obj}' is not supported.")
        ext = body.get("externalIdFieldName")
        if op == "upsert":
            f = od.get(str(ext or ""))
            if f is None or not (f.external_id or f.id_lookup or f.type == "id"):
                return sf_error(400, "INVALIDJOB", "externalIdFieldName must name an external"
                                " id field of the object")
        delim = body.get("columnDelimiter", "COMMA")
        if delim not in DELIMS or body.get("lineEnding", "LF") not in {"LF", "CRLF"}:
            return sf_error(400, "INVALIDJOB", "unsupported columnDelimiter or lineEnding")
        if body.get("contentType", "CSV") != "CSV":
            return sf_error(400, "INVALIDJOB", "contentType must be CSV")
        job = _job(version, "ingest", request, operation=op, object=od.name,
                   externalIdFieldName=ext, lineEnding=body.get("lineEnding", "LF"),
                   columnDelimiter=delim,
                   contentUrl=f"services/data/v{version}/jobs/ingest/{{id}}/batches")
        job["contentUrl"] = job["contentUrl"].replace("{id}", job["id"])
        return JSONResponse(job, status_code=200)

    @app.put(base + "/ingest/{job_id}/batches")
    async def upload(version: str, job_id: str, request: Request) -> Any:
        job = jobs.get(job_id)
        if job is None or data[job_id]["kind"] != "ingest":
            return sf_error(404, "NOT_FOUND", "job not found")
        if job["state"] != "Open" or data[job_id]["raw"]:
            return sf_error(409, "INVALIDJOBSTATE", "data can be uploaded once, to an Open job")
        if not request.headers.get("content-type", "").startswith("text/csv"):
            return sf_error(415, "INVALIDCONTENTTYPE", "Content-Type must be text/csv")
        raw = await request.body()
        if len(raw) > MAX_UPLOAD:
            return sf_error(400, "ClientInputError", "upload exceeds 150 MB after base64"
                            " conversion")
        data[job_id]["raw"] = raw
        return Response(status_code=201)

    @app.patch(base + "/{kind}/{job_id}")
    async def set_state(version: str, kind: str, job_id: str, request: Request) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return sf_error(404, "NOT_FOUND", "job not found")
        state = (await request.json()).get("state")
        if state == "Aborted" and job["state"] not in TERMINAL:
            job["state"] = "Aborted"
            priv = data[job_id]
            priv.setdefault("unprocessed", _rows(priv.get("raw", b""), job)[1])
            priv.setdefault("header", _rows(priv.get("raw", b""), job)[0])
            return info(job_id)
        if state != "UploadComplete" or job["state"] != "Open" or kind != "ingest":
            return sf_error(400, "INVALIDJOBSTATE", f"cannot move a {job['state']} job to"
                            f" {state}")
        job["state"] = "UploadComplete"
        priv = data[job_id]
        _process(job, priv, request)
        # the rows are applied now (their outcomes do not depend on when), but the job is
        # shown queued and then in progress for as long as ``timing`` says
        priv.update(closed=clock.monotonic(), queue=timing.queue_s,
                    busy=timing.processing_s(job["numberRecordsProcessed"]))
        job["totalProcessingTime"] = job["apiActiveProcessingTime"] = round(
            1000 * priv["busy"])
        return info(job_id)

    def _process(job: dict[str, Any], priv: dict[str, Any], request: Request) -> None:
        header, rows = _rows(priv["raw"], job)
        priv.update(header=header, success=[], failed=[], unprocessed=[])
        raw = priv["raw"]
        crlf = b"\r\n" in raw[:raw.find(b"\n") + 1] if b"\n" in raw else False
        problem = None
        if crlf != (job["lineEnding"] == "CRLF"):
            problem = ("ClientInputError : LineEnding is invalid on user data. Current"
                       f" LineEnding setting is {job['lineEnding']}")
        elif not header:
            problem = "InvalidBatch : Empty CSV data"
        od = org.objects[job["object"]]
        dml = api.dml(request, csv=True)
        visible = dml.fields(od)
        op, ext = job["operation"], job.get("externalIdFieldName")
        for col in header if problem is None else ():
            if "." in col:
                rel = col.split(".")[0].rpartition(":")[2]
                ok = od.relationship(rel) is not None
            else:
                ok = col.lower() in visible
            if not ok:
                problem = f"InvalidBatch : Field name not found : {col}"
                break
        if problem is None and op in {"delete", "hardDelete"} and \
                [c.lower() for c in header] != ["id"]:
            problem = "InvalidBatch : The 'delete' batch must contain only the 'Id' column"
        if problem is None and op == "upsert" and str(ext).lower() not in \
                {c.lower() for c in header}:
            problem = f"InvalidBatch : Field name not found : {ext}"
        if problem is None and op == "update" and "id" not in {c.lower() for c in header}:
            problem = "InvalidBatch : Field name not found : Id"
        if problem:
            job["errorMessage"] = problem
            priv["final"] = "Failed"
            priv["unprocessed"] = rows
            return
        for row in rows:
            values = dict(zip(header, row, strict=False))
            if op == "insert":
                rid, created, errors = dml.insert(od, values)
            elif op == "upsert":
                rid, created, errors = dml.upsert(od, str(ext), values)
            else:
                key = next(v for k, v in values.items() if k.lower() == "id")
                rest = {k: v for k, v in values.items() if k.lower() != "id"}
                rid, created, errors = (dml.update(od, key, rest) if op == "update"
                                        else dml.delete(od, key))
                rid = rid or key
            if errors:
                e = errors[0]
                text = f"{e['statusCode']}:{e['message']}:{','.join(e['fields'])} --"
                priv["failed"].append([rid or "", text, *row])
            else:
                priv["success"].append([rid, "true" if created else "false", *row])
        for key in ("success", "failed"):
            shuffle.shuffle(priv[key])
        job["numberRecordsProcessed"] = len(rows)
        job["numberRecordsFailed"] = len(priv["failed"])
        priv["raw"] = b""

    @app.get(base + "/ingest")
    def list_jobs(version: str) -> dict[str, Any]:
        return {"done": True, "nextRecordsUrl": None,
                "records": [dict(j) for j in jobs.values() if j["jobType"] == "V2Ingest"]}

    @app.get(base + "/{kind}/{job_id}")
    def get_job(version: str, kind: str, job_id: str) -> Any:
        if job_id not in jobs or data[job_id]["kind"] != kind:
            return sf_error(404, "NOT_FOUND", "job not found")
        return Json(info(job_id, poll=True))

    @app.delete(base + "/{kind}/{job_id}")
    def delete_job(version: str, kind: str, job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return sf_error(404, "NOT_FOUND", "job not found")
        if job["state"] not in TERMINAL:
            return sf_error(400, "INVALIDJOBSTATE", "only a finished job can be deleted")
        del jobs[job_id], data[job_id]
        return Response(status_code=204)

    @app.get(base + "/ingest/{job_id}/{result}")
    def results(version: str, job_id: str, result: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return sf_error(404, "NOT_FOUND", "job not found")
        priv = data[job_id]
        if job["state"] not in TERMINAL:
            return sf_error(400, "INVALIDJOBSTATE", "results are available once the job is"
                            " complete")
        header = priv.get("header", [])
        delim = DELIMS[job["columnDelimiter"]]
        if result == "successfulResults":
            body = _csv(["sf__Id", "sf__Created", *header], priv.get("success", []), delim)
        elif result == "failedResults":
            body = _csv(["sf__Id", "sf__Error", *header], priv.get("failed", []), delim)
        elif result == "unprocessedrecords":
            body = _csv(header, priv.get("unprocessed", []), delim)
        else:
            return sf_error(404, "NOT_FOUND", "unknown result set")
        return Response(body, media_type="text/csv")

    # -- query jobs --------------------------------------------------------------------------
    @app.post(base + "/query")
    async def create_query(version: str, request: Request) -> Any:
        if float(version) < 47:
            return sf_error(400, "InvalidVersion", "Bulk API 2.0 query needs v47.0 or later")
        body = await request.json()
        op = body.get("operation", "query")
        text = str(body.get("query", ""))
        if op not in {"query", "queryAll"} or "count()" in text.lower():
            return sf_error(400, "INVALIDJOB", "unsupported query job")
        try:
            res = api.queries.run(text, request.state.user, version, batch=10 ** 9)
        except QueryError as e:
            return sf_error(400, e.code, str(e))
        from ferry.sandbox.salesforce import soql

        q = soql.parse(text)
        job = _job(version, "query", request, operation=op, object=q.obj, query=text)
        job["state"] = "UploadComplete"
        fields = list(q.fields)
        rows = [[_cell(_flat(r, f)) for f in fields] for r in res["records"]]
        data[job["id"]].update(header=fields, rows=rows)
        job["numberRecordsProcessed"] = len(rows)
        return JSONResponse(job, status_code=200)

    @app.get(base + "/query/{job_id}/results")
    def query_results(version: str, job_id: str, maxRecords: int = 50_000,  # noqa: N803
                      locator: str = "") -> Any:
        job = jobs.get(job_id)
        if job is None or data[job_id]["kind"] != "query":
            return sf_error(404, "NOT_FOUND", "job not found")
        if job["state"] != "JobComplete":
            return sf_error(400, "INVALIDJOBSTATE", "job is not complete")
        priv = data[job_id]
        start = int(locator) if locator.isdigit() else 0
        chunk = priv["rows"][start:start + maxRecords]
        end = start + len(chunk)
        nxt = str(end) if end < len(priv["rows"]) else "null"
        return Response(_csv(priv["header"], chunk), media_type="text/csv",
                        headers={"Sforce-Locator": nxt,
                                 "Sforce-NumberOfRecords": str(len(chunk))})



def _flat(row: dict[str, Any], name: str) -> Any:
    if "." not in name:
        return next((v for k, v in row.items() if k.lower() == name.lower()), None)
    rel, _, sub = name.partition(".")
    parent = next((v for k, v in row.items() if k.lower() == rel.lower()), None)
    return _flat(parent, sub) if isinstance(parent, dict) else None


def _rows(raw: bytes, job: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    text = raw.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMS[job["columnDelimiter"]])
    header = next(reader, [])
    return header, [r for r in reader if r]
