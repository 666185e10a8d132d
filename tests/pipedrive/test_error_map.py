"""errors.to_error: every documented status to the right Ferry class, without values."""

from __future__ import annotations

import httpx
import pytest

from ferry.destinations.pipedrive.errors import to_error
from ferry.errors import BudgetExhausted, FatalError, RateLimited, RecordError, RetriableError

REQ = httpx.Request("POST", "https://api.pipedrive.com/api/v2/persons")


def _resp(status: int, body: object = None, headers: dict | None = None,
          text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=REQ)
    return httpx.Response(status, json=body, headers=headers, request=REQ)


@pytest.mark.parametrize(("response", "cls"), [
    (_resp(429, {"success": False, "error": "Request over limit"}, {"x-ratelimit-reset": "2"}),
     RateLimited),
    (_resp(429, {"success": False, "error": "daily request budget exceeded", "errorCode": 429},
           {"retry-after": "3939"}), BudgetExhausted),
    (_resp(500, {"error": "x"}), RetriableError),
    (_resp(503, {"error": "maintenance"}), RetriableError),
    (_resp(401, {"success": False, "error": "unauthorized access", "errorCode": 401}),
     FatalError),
    (_resp(402, {"success": False, "error": "Payment required"}), FatalError),
    (_resp(403, text="<html>This error is produced by Cloudflare.</html>"), FatalError),
    (_resp(403, {"success": False, "error": "Couldn't add the deal. Open deals limit reached.",
                 "code": "feature_capping_deals_limit"}), FatalError),
    (_resp(400, {"success": False, "error": "provided dataset is not valid",
                 "error_info": '"owner_id" must be a number'}), RecordError),
    (_resp(404, {"success": False, "error": "requested lead not found"}), RecordError),
    (_resp(410, {"success": False, "error": "The field is not found"}), RecordError),
])
def test_status_map(response: httpx.Response, cls: type) -> None:
    err = to_error(response, "pipedrive:person:src=S1")
    assert type(err) is cls
    assert not isinstance(err, RecordError) or err.ref == "pipedrive:person:src=S1"


def test_rate_limit_hint_and_budget_reset() -> None:
    burst = to_error(_resp(429, {}, {"x-ratelimit-reset": "1.5"}), "r")
    assert isinstance(burst, RateLimited) and burst.retry_after == 1.5
    daily = to_error(_resp(429, {"error": "daily request budget exceeded"},
                           {"retry-after": "60"}), "r")
    assert isinstance(daily, BudgetExhausted) and daily.resets_at is not None


def test_field_is_named_and_free_text_values_are_not_echoed() -> None:
    err = to_error(_resp(400, {"error": "provided dataset is not valid",
                               "error_info": '"custom_fields.abc" must be a number'}), "r")
    assert isinstance(err, RecordError) and err.field == "abc"
    leaky = to_error(_resp(400, {"error": "Invalid email jane@patient.example",
                                 "error_info": "jane@patient.example is not valid"}), "r")
    assert isinstance(leaky, RecordError) and "jane" not in str(leaky)
