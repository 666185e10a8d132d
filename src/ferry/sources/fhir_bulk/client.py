"""FHIR Bulk Data Access client (IG v3.0.0, with the STU4 ballot's renames): API calls only.

Flow (NOTES §4): kick-off ``GET [base]/$export`` (or ``Patient/`` / ``Group/{id}/``) with
``Prefer: respond-async`` → 202 + ``Content-Location``; poll that URL, sleeping for its
``Retry-After`` (seconds or an HTTP-date; exponential backoff when absent; 429 means "poll less
often"), logging ``X-Progress``; 200 gives the manifest. Output files are NDJSON, downloaded as
streams straight to disk (gzip accepted). The manifest's error list is read under ``error``
(v3) or ``outcome`` (STU4). A 429 at kick-off means an export is already running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ferry.connectors.http import backoff, make_async_client, retry_after_seconds
from ferry.errors import FatalError, RateLimited, RetriableError
from ferry.model.crypto import FileWriter

log = logging.getLogger("ferry.sources.fhir_bulk")
SYSTEM = "fhir_bulk"


@dataclass
class OutputFile:
    type: str
    url: str
    count: int | None = None


@dataclass
class Manifest:
    transaction_time: str
    request: str = ""
    requires_access_token: bool = False
    output: list[OutputFile] = field(default_factory=list)
    deleted: list[OutputFile] = field(default_factory=list)
    error: list[OutputFile] = field(default_factory=list)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Manifest:
        def files(key: str) -> list[OutputFile]:
            return [OutputFile(str(o.get("type", "")), str(o["url"]), o.get("count"))
                    for o in body.get(key) or [] if isinstance(o, dict) and o.get("url")]

        if "transactionTime" not in body:
            raise FatalError("bulk export manifest has no transactionTime", system=SYSTEM)
        return cls(str(body["transactionTime"]), str(body.get("request", "")),
                   bool(body.get("requiresAccessToken", False)), files("output"),
                   files("deleted"), files("error") + files("outcome"))


def _outcome_codes(response: httpx.Response) -> str:
    """Issue codes of an OperationOutcome body (codes only: diagnostics may quote data)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    codes = [str(i.get("code")) for i in (body or {}).get("issue") or [] if isinstance(i, dict)]
    return ",".join(codes)


class BulkClient:
    def __init__(self, base_url: str, *, token: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, max_wait: float = 120.0,
                 poll_limit: float = 6 * 3600, time_scale: float = 1.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base = base_url.rstrip("/")
        self.http = make_async_client(self.base, headers=headers, transport=transport)
        self.max_wait, self.poll_limit, self.time_scale = max_wait, poll_limit, time_scale
        self.sleep = sleep
        self.progress: str | None = None
        self.transport = transport
        self._plain_client: httpx.AsyncClient | None = None

    def _plain(self) -> httpx.AsyncClient:
        if self._plain_client is None:
            self._plain_client = make_async_client("", transport=self.transport)
        return self._plain_client

    async def aclose(self) -> None:
        await self.http.aclose()
        if self._plain_client is not None:
            await self._plain_client.aclose()

    async def kickoff(self, *, types: list[str] | None = None, since: str | None = None,
                      group: str | None = None, patient_level: bool = False) -> str:
        path = (f"/Group/{group}/$export" if group else "/Patient/$export" if patient_level
                else "/$export")
        params: dict[str, str] = {}
        if types:
            params["_type"] = ",".join(types)
        if since:
            params["_since"] = since
        r = await self.http.get(path, params=params, headers={"Prefer": "respond-async"})
        if r.status_code == 202 and r.headers.get("content-location"):
            return str(r.headers["content-location"])
        self._raise(r, "kick-off")
        raise FatalError(f"bulk kick-off answered {r.status_code} without a status URL",
                         status=r.status_code, system=SYSTEM)

    async def wait(self, status_url: str) -> Manifest:
        """Poll until the manifest is ready, honouring the server's pacing."""
        waited, attempt = 0.0, 0
        while True:
            try:
                r = await self.http.get(status_url)
            except (httpx.TransportError, httpx.DecodingError):
                r = None
            if r is not None and r.status_code == 200:
                return Manifest.parse(r.json())
            if r is not None and r.status_code == 202:
                self.progress = r.headers.get("x-progress", "")[:100] or None
                log.debug("bulk export in progress: %s", self.progress)
                delay = retry_after_seconds(r)
                attempt = 0 if delay is not None else attempt + 1
            elif r is None or r.status_code == 429 or r.status_code >= 500:
                delay = retry_after_seconds(r) if r is not None else None
                attempt += 1
                if attempt > 12:
                    raise RetriableError("bulk status polling kept failing", system=SYSTEM)
            else:
                self._raise(r, "status")
                raise FatalError(f"bulk status answered {r.status_code}", status=r.status_code,
                                 system=SYSTEM)
            wait = min(self.max_wait, delay if delay is not None else backoff(attempt, 1.0))
            wait /= self.time_scale
            waited += wait
            if waited > self.poll_limit:
                raise FatalError("bulk export did not finish in time", system=SYSTEM)
            await self.sleep(wait)

    async def cancel(self, status_url: str) -> None:
        await self.http.delete(status_url)

    async def download(self, f: OutputFile, dest: Path, *, token_required: bool,
                       writer: FileWriter | None = None) -> int:
        """Stream one output file to ``dest``; returns bytes written. Retries transient errors.

        With ``writer`` the bytes go through it (hashed, encrypted at rest) and it is committed
        to its own ``dest``; a retry starts it over."""
        headers = {"Accept": "application/fhir+ndjson", "Accept-Encoding": "gzip"}
        same_host = httpx.URL(f.url).host in ("", self.http.base_url.host)
        # The bearer token goes only where the manifest says it is needed, and only to the
        # FHIR server itself (pre-signed storage URLs must not see it).
        client = self.http if token_required and same_host else self._plain()
        for attempt in range(6):
            try:
                async with client.stream("GET", f.url, headers=headers) as r:
                    if r.status_code == 200:
                        if writer is not None:
                            writer.restart()
                            async for chunk in r.aiter_bytes():
                                writer.write(chunk)
                            writer.commit()
                            return writer.size
                        tmp = dest.with_suffix(dest.suffix + ".part")
                        n = 0
                        with tmp.open("wb") as out:
                            async for chunk in r.aiter_bytes():
                                out.write(chunk)
                                n += len(chunk)
                        tmp.replace(dest)
                        return n
                    await r.aread()
                    if r.status_code != 429 and r.status_code < 500:
                        self._raise(r, "download")
                    delay = retry_after_seconds(r)
            except (httpx.TransportError, httpx.DecodingError):
                delay = None
            await self.sleep(min(self.max_wait, delay if delay is not None
                                 else backoff(attempt, 0.5)) / self.time_scale)
        raise RetriableError("bulk file download kept failing", system=SYSTEM)

    @staticmethod
    def _raise(r: httpx.Response, step: str) -> None:
        codes = _outcome_codes(r)
        detail = f" (issues: {codes})" if codes else ""
        if r.status_code == 429:
            raise RateLimited(f"bulk {step}: busy{detail}", retry_after=retry_after_seconds(r),
                              status=429, system=SYSTEM)
        if r.status_code >= 500:
            raise RetriableError(f"bulk {step} failed: {r.status_code}{detail}",
                                 status=r.status_code, system=SYSTEM)
        if r.status_code >= 400:
            raise FatalError(f"bulk {step} refused: {r.status_code}{detail}",
                             status=r.status_code, system=SYSTEM)
