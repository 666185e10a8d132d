"""HTTP surface of the FHIR Bulk Data emulator (IG v3.0.0 behaviour, NOTES §4).

Enforced rules, because a server that accepts anything proves nothing:
* bearer token on every call but ``/metadata`` (401 + OperationOutcome otherwise);
* kick-off needs ``Prefer: respond-async``; ``_outputFormat`` must be NDJSON; an unsupported
  ``_type`` is a 400 unless ``Prefer: handling=lenient``; ``_since`` must be a FHIR instant;
  a second export while one runs is a 429 with ``Retry-After``;
* status: 202 + ``X-Progress`` + ``Retry-After`` while running, a 429 to a client polling faster
  than half the advised interval, 200 + ``Expires`` + manifest when done, 500 +
  OperationOutcome if the job failed; ``DELETE`` cancels (202);
* output files need the token (``requiresAccessToken: true``) and are gzip'd on request.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import FaultMiddleware, Faults
from ferry.sandbox.fhir.state import SUPPORTED, FhirState

FHIR_JSON = "application/fhir+json"
NDJSON = {"application/fhir+ndjson", "application/ndjson", "ndjson"}
RETRY_AFTER_S = 1  # emulated seconds advised between polls


def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def make_app(state: FhirState, *, token: str, clock: Clock, faults: Faults,
             export_seconds: float = 2.0) -> Any:
    app = FastAPI(title="FHIR Bulk Data sandbox", docs_url=None, redoc_url=None)
    log = RequestLog()

    def authed(request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {token}"

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if path.startswith("/_sandbox") or path == "/metadata" or authed(request):
            return await call_next(request)
        return outcome(401, "login", "missing or invalid bearer token")

    @app.get("/metadata")
    def metadata() -> JSONResponse:
        return JSONResponse({"resourceType": "CapabilityStatement", "status": "active",
                             "kind": "instance", "fhirVersion": "4.0.1",
                             "format": ["json"], "date": "2025-06-30",
                             "instantiates": ["http://hl7.org/fhir/uv/bulkdata/"
                                              "CapabilityStatement/bulk-data"]},
                            media_type=FHIR_JSON)

    async def kickoff(request: Request, level: str) -> Response:
        prefer = request.headers.get("prefer", "")
        if "respond-async" not in prefer:
            return outcome(400, "invalid", "Prefer: respond-async is required")
        q = request.query_params
        if q.get("_outputFormat", "application/fhir+ndjson") not in NDJSON:
            return outcome(400, "not-supported", "only NDJSON output is supported")
        types: set[str] | None = None
        if q.get("_type"):
            types = {t.strip() for t in q["_type"].split(",") if t.strip()}
            unknown = types - set(SUPPORTED)
            if unknown and "handling=lenient" not in prefer:
                return outcome(400, "not-supported", "unsupported _type")
            types -= unknown
        since = None
        if q.get("_since"):
            try:
                since = dt.datetime.fromisoformat(q["_since"].replace("Z", "+00:00"))
            except ValueError:
                return outcome(400, "invalid", "_since is not a FHIR instant")
            if since.tzinfo is None:
                return outcome(400, "invalid", "_since needs a time zone")
        if state.running() is not None:
            return outcome(429, "throttled", "an export is already running",
                           {"Retry-After": str(RETRY_AFTER_S)})
        base = str(request.base_url).rstrip("/")
        job = state.start(str(request.url), types, since, clock.real(export_seconds), base)
        return Response(status_code=202, headers={"Content-Location":
                                                  f"{base}/_jobs/{job.id}"})

    @app.get("/$export")
    async def system_export(request: Request) -> Response:
        return await kickoff(request, "system")

    @app.get("/Patient/$export")
    async def patient_export(request: Request) -> Response:
        return await kickoff(request, "patient")

    @app.get("/Group/{group_id}/$export")
    async def group_export(group_id: str, request: Request) -> Response:
        if group_id != "all":
            return outcome(404, "not-found", "unknown group")
        return await kickoff(request, "group")

    @app.get("/_jobs/{job_id}")
    def status(job_id: str) -> Response:
        job = state.jobs.get(job_id)
        if job is None or job.cancelled:
            return outcome(404, "not-found", "no such export job")
        now = time.monotonic()
        advised = clock.real(RETRY_AFTER_S)
        too_soon = job.last_poll and now - job.last_poll < advised * 0.5
        job.last_poll = now
        if job.error:
            return outcome(500, "exception", "the export failed")
        elapsed = now - job.started
        if not job.finished or elapsed < job.min_seconds:
            if too_soon:
                return outcome(429, "throttled", "polling too often",
                               {"Retry-After": str(RETRY_AFTER_S)})
            pct = int(100 * job.done_objects / max(job.total_objects, 1))
            return Response(status_code=202, headers={
                "X-Progress": f"{min(pct, 99)}% complete", "Retry-After": str(RETRY_AFTER_S)})
        expires = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                                              usegmt=True)
        return JSONResponse({"transactionTime": job.transaction_time, "request": job.request,
                             "requiresAccessToken": True, "output": job.output,
                             "deleted": job.deleted, "error": []},
                            headers={"Expires": expires})

    @app.delete("/_jobs/{job_id}")
    def cancel(job_id: str) -> Response:
        job = state.jobs.get(job_id)
        if job is None:
            return outcome(404, "not-found", "no such export job")
        job.cancelled = True
        return Response(status_code=202)

    @app.get("/_output/{job_id}/{name}")
    def output(job_id: str, name: str) -> Response:
        job = state.jobs.get(job_id)
        path = job.folder / name if job else None
        if path is None or "/" in name or not path.is_file():
            return outcome(404, "not-found", "no such file")
        return FileResponse(path, media_type="application/fhir+ndjson")

    @app.get("/Binary/{doc_id}")
    def binary(doc_id: str) -> Response:
        doc = state.document(doc_id)
        if doc is None:
            return outcome(404, "not-found", "no such Binary")
        return Response(state.practice.file_bytes(doc),
                        media_type=doc.mime_type or "application/octet-stream")

    def admin_extra(router: Any) -> None:
        @router.post("/touch")
        async def touch(request: Request) -> dict[str, bool]:
            body = await request.json()
            state.touch(str(body["object"]), str(body["id"]))
            return {"ok": True}

        @router.post("/delete")
        async def delete(request: Request) -> dict[str, bool]:
            body = await request.json()
            state.delete(str(body["object"]), str(body["id"]))
            return {"ok": True}

    install_admin(app, state=lambda: {
        "jobs": {k: {"finished": j.finished, "cancelled": j.cancelled,
                     "output": j.output, "deleted": j.deleted} for k, j in state.jobs.items()},
        "touched": [list(k) for k in state.touched],
        "deleted": [list(k) for k in state.deleted]},
        reset=state.reset, faults=faults, log=log, extra=admin_extra)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    return FaultMiddleware(app, faults, clock.time_scale,
                           error_body=b'{"resourceType":"OperationOutcome","issue":[{"severity":'
                                      b'"error","code":"transient"}]}')
