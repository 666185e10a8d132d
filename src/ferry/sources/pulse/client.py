"""Pulse REST mode client (higher tiers): API calls only. The API is ASSUMED (no public spec):
see ``ferry.sandbox.pulse.app`` for the shape we emulate. Page-number pagination following
``links.next``; 5 requests/s per key paced on our side; 429 honours ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ferry.connectors.http import (
    acall_with_retry,
    loads,
    make_async_client,
    retry_after_seconds,
)
from ferry.connectors.ratelimit import Pacer, account_id
from ferry.errors import FatalError, RateLimited, RetriableError

SYSTEM = "pulse"
RESOURCES = {"patient": "patients", "practitioner": "physicians", "appointment": "appointments",
             "invoice": "bills", "prescription": "prescriptions",
             "clinical_note": "medical-records", "campaign": "campaigns", "message": "chat-logs"}


class PulseClient:
    def __init__(self, base_url: str, api_key: str, *, per_page: int = 100,
                 time_scale: float = 1.0, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.http = make_async_client(base_url.rstrip("/"), transport=transport,
                                      headers={"Authorization": f"Bearer {api_key}",
                                               "Accept": "application/json"})
        self.per_page = per_page
        self.pacer = Pacer(0.2, time_scale=time_scale,
                           account=account_id("pulse", base_url, api_key))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def page(self, obj: str, page: int, updated_since: str | None = None
                   ) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "per_page": self.per_page}
        if updated_since:
            params["updated_since"] = updated_since

        async def call() -> dict[str, Any]:
            await self.pacer.await_turn()
            r = await self.http.get(f"/{RESOURCES[obj]}", params=params)
            if r.status_code == 200:
                body: dict[str, Any] = loads(r.content)  # orjson (stdlib where it refuses)
                return body
            if r.status_code == 429:
                self.pacer.refused()
                raise RateLimited("pulse rate limit", retry_after=retry_after_seconds(r),
                                  status=429, system=SYSTEM)
            if r.status_code >= 500:
                raise RetriableError(f"pulse server error {r.status_code}",
                                     status=r.status_code, system=SYSTEM)
            raise FatalError(f"pulse refused the request: {r.status_code}",
                             status=r.status_code, system=SYSTEM)

        return await acall_with_retry(call)
