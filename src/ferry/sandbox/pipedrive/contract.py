"""Test mode: validate every emulated request and response against the official OpenAPI documents.

An ASGI middleware buffers the request and the response, hands both to openapi-core (validators
cached per process in ``spec.openapi``) and records every mismatch in ``violations``. It never
changes what the emulator answers: the emulator's own rules decide the status, and a recorded
violation means either the client sent something the real API does not document or the emulator
drifted from it. Tests assert the list is empty. Only documented statuses are checked (the specs
document few error responses; error bodies follow NOTES.md instead).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from werkzeug.datastructures import Headers

from ferry.sandbox.pipedrive import spec


class _Request:
    def __init__(self, version: str, path: str, method: str, query: bytes,
                 headers: dict[str, str], body: bytes) -> None:
        from openapi_core.datatypes import RequestParameters

        self.host_url = "http://sandbox"
        self.path = f"/api/{version}{path}"
        self.method = method.lower()
        self.body = body or None
        self.content_type = headers.get("content-type", "application/json").lower()
        q = {k: v[0] if len(v) == 1 else v
             for k, v in parse_qs(query.decode(), keep_blank_values=True).items()}
        q.pop("api_token", None)  # legacy auth parameter, not part of the documents
        from werkzeug.datastructures import ImmutableMultiDict
        self.parameters = RequestParameters(query=ImmutableMultiDict(q), header=Headers(headers),
                                            cookie={})


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content_type = headers.get("content-type", "application/json").lower()
        self.data = body


def split_version(path: str) -> tuple[str, str] | None:
    """``/api/v2/persons`` -> ``("v2", "/persons")``; v1 also answers on ``/v1/...``."""
    for prefix, version in (("/api/v2", "v2"), ("/api/v1", "v1"), ("/v1", "v1")):
        if path.startswith(prefix + "/"):
            return version, path[len(prefix):]
    return None


def _multipart_ok(route: spec.Route, request: _Request) -> bool:
    """openapi-core checks multipart parts as raw strings; form values are strings on the wire
    (OpenAPI 3.0 encoding), so cast them by the schema and validate the result instead."""
    from io import BytesIO

    from openapi_schema_validator import OAS30Validator
    from werkzeug.formparser import parse_form_data

    op = spec.document(route.version)["paths"][route.template][route.method]
    schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": request.content_type,
               "CONTENT_LENGTH": str(len(request.body or b"")),
               "wsgi.input": BytesIO(request.body or b"")}
    _, form, files = parse_form_data(environ)
    data: dict[str, Any] = {k: f.read() for k, f in files.items()}
    for key, value in form.items():
        kind = (schema.get("properties", {}).get(key) or {}).get("type")
        try:
            data[key] = int(value) if kind == "integer" else value
        except ValueError:
            data[key] = value
    return not list(OAS30Validator(schema).iter_errors(data))


def _message(exc: Exception) -> str:
    cause = exc.__cause__
    details = [str(getattr(e, "message", e)) for e in getattr(cause, "schema_errors", []) or []]
    return f"{type(exc).__name__}: {'; '.join(details) or exc}"[:600]


class ContractMiddleware:
    def __init__(self, app: Any, violations: list[dict[str, Any]], counter: dict[str, int]) -> None:
        self.app = app
        self.violations = violations
        self.counter = counter

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        split = split_version(scope.get("path", "")) if scope["type"] == "http" else None
        if split is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        start: dict[str, Any] = {}
        out: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        resp_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        self._check(split, scope["method"], scope.get("query_string", b""), headers, body,
                    int(start.get("status", 500)), resp_headers, b"".join(out))

    def _check(self, split: tuple[str, str], method: str, query: bytes, headers: dict[str, str],
               body: bytes, status: int, resp_headers: dict[str, str], resp_body: bytes) -> None:
        version, path = split
        route = spec.route_for(version, method, path)
        if route is None:
            return  # undocumented operation: the emulator answers 404 like the real API
        api = spec.openapi(version)
        request = _Request(version, path, method, query, headers, body)
        self.counter["checked"] = self.counter.get("checked", 0) + 1
        key = (version, method, path, query, tuple(sorted(headers.items())), body) \
            if len(body) <= _REQUEST_BODY_KEPT else None
        if key in _REQUEST_FINDINGS:
            found = _REQUEST_FINDINGS[key]
        else:
            found = None
            try:
                api.validate_request(request)
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                if not (request.content_type.startswith("multipart/")
                        and _multipart_ok(route, request)):
                    found = _message(exc)
            if key is not None:
                if len(_REQUEST_FINDINGS) >= _REQUEST_FINDINGS_MAX:
                    _REQUEST_FINDINGS.clear()  # (one call: sandboxes of other threads share it)
                _REQUEST_FINDINGS[key] = found
        if found is not None:
            self._add("request", method, path, status, found)
        op = spec.document(version)["paths"][route.template][method.lower()]
        if status not in (401, 429) and str(status) in op.get("responses", {}):
            try:
                api.validate_response(request, _Response(status, resp_headers, resp_body))
            except Exception as exc:  # noqa: BLE001
                self._add("response", method, path, status, _message(exc))

    def _add(self, where: str, method: str, path: str, status: int, error: str) -> None:
        self.violations.append({"where": where, "method": method, "path": path,
                                "status": status, "error": error})


#: a request's finding (None: valid) by everything its validation reads: version, method, path,
#: query, headers and body. Its verdict depends on nothing else (the documents are fixed per
#: process), and a client asks the same request again and again (pages, field lists, /users/me):
#: two thirds of the requests of the Pipedrive matrix pairs, each 1-2 ms in openapi-core
_REQUEST_FINDINGS: dict[tuple[Any, ...], str | None] = {}
_REQUEST_FINDINGS_MAX = 4096
_REQUEST_BODY_KEPT = 65536  # larger bodies (file uploads) are validated every time, not kept
