"""REST calls to one org: auth, every request counted, retries, usage from ``Sforce-Limit-Info``.

Paths are relative to ``/services/data/vXX.X/`` unless they start with ``/``. A 401 re-logs in
once (sessions expire mid-run); transient failures are retried by ``call_with_retry``; other
refusals raise ``ApiError`` with the platform's code so callers can turn row-level ones into
RecordErrors. The instance's own rules (collections ≤ 200, SOQL pages ≤ 2000) are constants here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote_plus

import httpx

from ferry.connectors.http import (
    KeepAliveClient,
    call_with_retry,
    make_client,
    network_errors,
    proxied,
)
from ferry.destinations.salesforce.auth import Token, fetch_token
from ferry.destinations.salesforce.errors import SYSTEM, Ambiguous, raise_for
from ferry.errors import RetriableError

if TYPE_CHECKING:
    from ferry.destinations.salesforce import Settings

COLLECTION = 200
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
QUERY_OPTIONS = "batchSize=2000"
SOQL_SAFE = "'(),"  # SOQL's quotes, commas and brackets: legal in a query string as they are


class SalesforceClient:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self.calls = 0  # API requests sent (what the daily allocation counts)
        self.usage: tuple[int, int] | None = None  # (used, max) from the last response
        self.token: Token | None = None
        self._http: httpx.Client | None = None
        #: SOQL reads (reconcile's hot path) on keep-alive sockets, without httpx's per-call
        #: URL parsing; httpx for everything else, a test's transport and proxies
        self._lean: KeepAliveClient | None = None
        #: file uploads (multipart, one file a request) on keep-alive sockets too: httpx's
        #: per-call work was a millisecond of client CPU a file
        self._files: KeepAliveClient | None = None
        self._sleep = sleep

    @property
    def verify(self) -> Any:
        return self.settings.ca_bundle or True

    def connect(self) -> Token:
        with make_client(self.settings.login_url, verify=self.verify, transport=self.transport,
                         timeout=self.settings.timeout_s) as login:
            kw: dict[str, Any] = {"attempts": self.settings.retries,
                                  "base": 0.5 / self.settings.time_scale}
            if self._sleep:
                kw["sleep"] = self._sleep
            self.token = call_with_retry(lambda: fetch_token(self.settings, login), **kw)
        if self._http is not None:
            self._http.close()
        self._http = make_client(self.token.instance_url, verify=self.verify,
                                 transport=self.transport, timeout=self.settings.timeout_s,
                                 headers={"Authorization": f"Bearer {self.token.access_token}"})
        self._close_keepalive()
        ca = self.settings.ca_bundle
        if self.transport is None and not proxied(self.token.instance_url) and \
                (ca is None or os.path.isfile(ca)):
            base, timeout = self.token.instance_url.rstrip("/"), self.settings.timeout_s
            headers = {"Authorization": f"Bearer {self.token.access_token}",
                       "Accept": "application/json"}
            self._lean = KeepAliveClient(base, timeout=timeout, cafile=ca, headers={
                **headers, "Sforce-Query-Options": QUERY_OPTIONS})
            self._files = KeepAliveClient(base, timeout=timeout, cafile=ca, headers=headers)
        return self.token

    def _close_keepalive(self) -> None:
        for lean in (self._lean, self._files):
            if lean is not None:
                lean.close()
        self._lean = self._files = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self.connect()
        assert self._http is not None
        return self._http

    @property
    def user_id(self) -> str | None:
        if self.token is None:
            self.connect()
        return self.token.user_id if self.token else None

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return path
        return f"/services/data/v{self.settings.api_version}/{path}"

    def soql_target(self, path: str, soql: str) -> str:
        """``path?q=soql`` (see ``soql_url``): the request target both HTTP clients send."""
        return f"{self.url(path)}?q={quote_plus(soql, safe=SOQL_SAFE)}"

    def soql_url(self, path: str, soql: str) -> httpx.URL:
        """``path?q=soql`` as a whole URL, encoded as a form (spaces as ``+``) with SOQL's
        quotes, commas and brackets left as they are (legal in a query string).

        Given ``params``, httpx percent-encodes those and then parses the long URL (a 200-id
        ``WHERE Id IN (…)``) character by character, three times a request: about 1 ms of
        client CPU each, a sixth of reconcile's at scale. One URL built from its parts is
        parsed once, on a string with almost nothing left to escape."""
        base = self.http.base_url
        raw = (base.raw_path.rstrip(b"/") + self.soql_target(path, soql).encode())
        return base.copy_with(raw_path=raw)

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                content: Callable[[], bytes | IO[bytes]] | None = None,
                files: Callable[[], Any] | None = None, allow: tuple[int, ...] = (),
                soql: str | None = None, read: bool = False,
                resend: bool = True) -> httpx.Response:
        """Send one API request (with retries); ``content``/``files`` are factories so a retry
        re-reads the body from the start; ``soql`` is sent as ``q`` (see ``soql_url``);
        ``resend=False``: a write that is not idempotent (an insert) is sent again only when the
        platform said it was not applied (429, a lock, a 4xx retriable code); a lost answer
        raises ``Ambiguous`` instead, for the caller to look the write up first;
        ``read``: a query's GET (page or count), sent on the keep-alive client when there is
        one (its fixed headers carry ``Sforce-Query-Options``). A ``files`` upload of one file
        (besides text parts: httpx's ``(None, text, content type)``) goes on the keep-alive
        upload client when there is one."""
        relogged = False

        def once() -> httpx.Response:
            nonlocal relogged
            http = self.http
            lean = self._lean if read else None
            response: Any
            parts = files() if files else None
            form = _lean_form(parts) if parts and self._files is not None and not (
                json is not None or params or headers or content) else None
            if lean is not None:
                response = lean.request("GET", self.url(path) if soql is None else
                                        self.soql_target(path, soql))
            elif form is not None and self._files is not None:
                response = self._files.request(method, self.url(path), data=form[0],
                                               files=form[1])
            else:
                target = self.url(path) if soql is None else self.soql_url(path, soql)
                response = http.request(method, target, json=json, params=params,
                                        headers=headers, content=content() if content else None,
                                        files=parts)
            self.calls += 1
            self._note_usage(response)
            if response.status_code == 401 and not relogged:
                relogged = True
                self.connect()
                return once()
            if response.status_code not in allow:
                raise_for(response)
            return response

        def once_only() -> httpx.Response:
            try:
                return once()
            except RetriableError as exc:
                if exc.status is not None and exc.status < 500:
                    raise  # refused before it was applied: sent again by call_with_retry
                raise Ambiguous(f"no answer to {method} {path}: {exc}", status=exc.status,
                                system=SYSTEM) from None
            except network_errors() as exc:
                raise Ambiguous(f"no answer to {method} {path} ({type(exc).__name__})",
                                system=SYSTEM) from None

        kw: dict[str, Any] = {"attempts": self.settings.retries,
                              "base": 0.5 / self.settings.time_scale}
        if self._sleep:
            kw["sleep"] = self._sleep
        return call_with_retry(once if resend else once_only, **kw)

    def _note_usage(self, response: httpx.Response) -> None:
        m = _USAGE.search(response.headers.get("sforce-limit-info", ""))
        if m:
            self.usage = (int(m.group(1)), int(m.group(2)))

    # -- conveniences --------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def query(self, soql: str, *, tooling: bool = False) -> Iterator[dict[str, Any]]:
        """Every row of a SOQL query, following ``nextRecordsUrl`` page by page."""
        path = "tooling/query" if tooling else "query"
        page = self.request("GET", path, soql=soql, read=True,
                            headers={"Sforce-Query-Options": QUERY_OPTIONS}).json()
        while True:
            yield from page.get("records", [])
            nxt = page.get("nextRecordsUrl")
            if page.get("done", True) or not nxt:
                return
            page = self.request("GET", nxt, read=True).json()

    def count(self, soql: str) -> int:
        return int(self.request("GET", "query", soql=soql, read=True).json()["totalSize"])

    def limits(self) -> dict[str, Any]:
        return dict(self.get("limits"))

    def close(self) -> None:
        self._close_keepalive()
        if self._http is not None:
            self._http.close()
            self._http = None


def _lean_form(parts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """httpx ``files`` (``{name: (file name or None, value, content type)}``) as
    ``KeepAliveClient``'s text parts and its one file, or None when they do not fit it (not
    exactly one file, a text part that is not text, a file that is not an open file)."""
    data: dict[str, Any] = {}
    upload: dict[str, Any] = {}
    for name, part in parts.items():
        if not isinstance(part, tuple) or len(part) != 3:
            return None
        file_name, value, ctype = part
        if file_name is None and isinstance(value, str) and isinstance(ctype, str):
            data[name] = (value, ctype)
        elif isinstance(file_name, str) and hasattr(value, "read") and isinstance(ctype, str):
            upload[name] = (file_name, value, ctype)
        else:
            return None
    return (data, upload) if len(upload) == 1 else None
