"""Pipedrive status codes -> Ferry's error classes (NOTES.md section 3).

| status | class | why |
| --- | --- | --- |
| 429 burst | RateLimited (retry after Retry-After / x-ratelimit-reset) | refused before running |
| 429 daily budget | BudgetExhausted (FatalError, ``resets_at``) | stop cleanly, resume tomorrow |
| 5xx | RetriableError | transient |
| 401 / 402 | FatalError | token invalid / account not open |
| 403 | FatalError (Cloudflare block, plan cap, permission) | nothing a retry fixes |
| 400 / 404 / 410 / 413 / 422 | RecordError naming the record and field | one record is bad |

Messages carry the record reference and the field only. The API's own ``error_info`` is kept when
it has the documented ``"field" must be ...`` form (no values in it); anything else is replaced
by a generic reason, since free-text errors may echo a value (PHI).
"""

from __future__ import annotations

import re
import time
from typing import Any

from ferry.errors import (
    BudgetExhausted,
    ConnectorError,
    FatalError,
    RateLimited,
    RecordError,
    RetriableError,
)

SYSTEM = "pipedrive"
_FIELD_MSG = re.compile(r'^"(?P<field>[\w.\[\]]+)" (?P<rest>[a-z0-9 ,\-\[\]()|]{1,120})$')
_SAFE_TEXT = re.compile(r"^[A-Za-z ,.'()\-]{1,120}$")


def _body(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def is_daily_exhaustion(response: Any, body: dict[str, Any]) -> bool:
    """Daily-budget 429 vs burst 429: the documented body text, else a wait beyond the window."""
    text = str(body.get("error", "")).lower()
    if "daily" in text or "budget" in text:
        return True
    retry = _seconds(response.headers.get("retry-after"))
    return retry is not None and retry > 3600


def field_and_reason(body: dict[str, Any]) -> tuple[str | None, str]:
    info = str(body.get("error_info") or "")
    m = _FIELD_MSG.match(info)
    if m:
        return m.group("field"), m.group("rest")
    error = str(body.get("error") or "")
    return None, error if _SAFE_TEXT.match(error) else ""


def to_error(response: Any, ref: str) -> ConnectorError:
    """The Ferry error for a non-2xx response (httpx's or ``connectors.http.Response``) about
    record ``ref``."""
    status = response.status_code
    body = _body(response)
    kw: dict[str, Any] = {"status": status, "system": SYSTEM}
    if status == 429:
        if is_daily_exhaustion(response, body):
            wait = _seconds(response.headers.get("retry-after"))
            return BudgetExhausted("Pipedrive daily token budget is spent; resume after reset",
                                   resets_at=time.time() + wait if wait is not None else None,
                                   **kw)
        wait = _seconds(response.headers.get("retry-after"))
        if wait is None:
            wait = _seconds(response.headers.get("x-ratelimit-reset"))
        return RateLimited("Pipedrive burst limit reached", retry_after=wait, **kw)
    if status >= 500:
        return RetriableError(f"Pipedrive server error {status}", **kw)
    if status == 401:
        return FatalError("Pipedrive refused the API token (401): check the token env var", **kw)
    if status == 402:
        return FatalError("Pipedrive company account is not open or the trial expired (402)",
                          **kw)
    if status == 403:
        if "cloudflare" in response.text.lower():
            return FatalError("Pipedrive blocked the client for ignoring 429s (403)", **kw)
        if str(body.get("code", "")).startswith("feature_capping"):
            return FatalError("Pipedrive plan limit reached (403); upgrade or free capacity",
                              **kw)
        return FatalError("Pipedrive denied permission for this operation (403)", **kw)
    field, reason = field_and_reason(body)
    if field and field.startswith("custom_fields."):
        field = field.split(".", 1)[1]
    why = {404: "not found in Pipedrive", 410: "gone from Pipedrive",
           413: "file is larger than Pipedrive accepts"}.get(status, "rejected by Pipedrive")
    return RecordError(ref, field, f"{why} (HTTP {status}){': ' + reason if reason else ''}",
                       **kw)
