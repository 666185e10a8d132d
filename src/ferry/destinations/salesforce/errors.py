"""Salesforce status codes → Ferry's error classes.

Behaviour is picked from the platform's ``errorCode``/``statusCode`` (never from message text),
and messages are rebuilt from the code and field names only: Salesforce echoes submitted values
in its messages (``data value too large: <value>``), and those values may be PHI.
"""

from __future__ import annotations

from typing import Any

import httpx

from ferry.connectors.http import retry_after_seconds
from ferry.errors import (
    BudgetExhausted,
    FatalError,
    FerryError,
    RateLimited,
    RecordError,
    RetriableError,
)

SYSTEM = "salesforce"

#: transient row or request failures: retry later, same payload
RETRIABLE = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG",
             "QUERY_TIMEOUT", "TXN_SECURITY_METERING_ERROR", "CONCURRENT_REQUEST_LIMIT",
             "ALL_OR_NONE_OPERATION_ROLLED_BACK"}
#: stop the run (resumable once fixed): auth, permissions, allocation
FATAL = {"INVALID_SESSION_ID", "API_DISABLED_FOR_ORG", "INSUFFICIENT_ACCESS",
         "INVALID_AUTH_HEADER", "API_CURRENTLY_DISABLED", "NOT_FOUND", "INVALID_TYPE",
         "MALFORMED_QUERY", "INVALID_QUERY_LOCATOR", "JSON_PARSER_ERROR"}
REASONS = {
    "REQUIRED_FIELD_MISSING": "a required field is missing",
    "STRING_TOO_LONG": "value longer than the field allows",
    "INVALID_FIELD": "field unknown, not visible to the integration user, or bad reference key",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "field is read-only",
    "DUPLICATE_VALUE": "value already used by another record in a unique field",
    "DUPLICATE_EXTERNAL_ID": "external id matches more than one record",
    "INVALID_CROSS_REFERENCE_KEY": "reference points at no record of the right type",
    "MALFORMED_ID": "reference is not a Salesforce id",
    "INVALID_EMAIL_ADDRESS": "not a valid email address",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "value not in the restricted picklist",
    "INVALID_TYPE_ON_FIELD_IN_RECORD": "value not of the field's type",
    "NUMBER_OUTSIDE_VALID_RANGE": "number outside the field's range",
    "FIELD_INTEGRITY_EXCEPTION": "field values are inconsistent",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "rejected by a validation rule",
    "DUPLICATES_DETECTED": "blocked by a duplicate rule",
    "INACTIVE_OWNER_OR_USER": "owner is an inactive user",
    "ENTITY_IS_DELETED": "record is deleted",
    "STORAGE_LIMIT_EXCEEDED": "file or storage limit exceeded",
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": "rejected by a trigger or flow",
    "MISSING_ARGUMENT": "key value missing",
    "INSUFFICIENT_ACCESS_OR_READONLY": "no access to the object",
}


class ApiError(FatalError):
    """A request-level refusal with the platform's code and field names (no message text)."""

    def __init__(self, code: str, fields: list[str], *, status: int) -> None:
        where = f" on {', '.join(fields)}" if fields else ""
        super().__init__(f"Salesforce refused the request: {code}{where}", status=status,
                         system=SYSTEM)
        self.code = code
        self.fields = fields


class Ambiguous(FatalError):
    """A write sent once (``SalesforceClient.request(resend=False)``) got no answer that says
    what became of it: a 5xx (a gateway's 504 leaves the request running behind it, RFC 9110
    §15.6.5), a dropped connection or a body cut short. The caller looks the write up before
    sending it again; one that does not know how to is stopped (a resume then looks it up)."""


def first_error(body: Any) -> tuple[str, list[str]]:
    """(code, fields) of a REST error array, a collections ``errors`` list or an OAuth body."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        e = body[0]
        return (str(e.get("errorCode") or e.get("statusCode") or "UNKNOWN_ERROR"),
                [str(f) for f in e.get("fields") or []])
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]).upper(), []
    return "UNKNOWN_ERROR", []


def raise_for(response: httpx.Response) -> None:
    """Raise the Ferry error for a non-success response (300 is a caller's concern)."""
    status = response.status_code
    if status < 300 or status in {300, 304}:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    code, fields = first_error(body)
    if status == 429:
        raise RateLimited("Salesforce asked to slow down", status=status, system=SYSTEM,
                          retry_after=retry_after_seconds(response))
    if status >= 500 or code in RETRIABLE:
        raise RetriableError(f"Salesforce transient failure {status} {code}", status=status,
                             system=SYSTEM)
    if code == "REQUEST_LIMIT_EXCEEDED":
        raise BudgetExhausted("Salesforce daily API request allocation is spent",
                              status=status, system=SYSTEM)
    raise ApiError(code, fields, status=status)


def record_error(ref: str, code: str, fields: list[str]) -> FerryError:
    """The error for one row the platform refused: retriable, fatal, or skippable."""
    if code in RETRIABLE:
        return RetriableError(f"{ref}: transient {code}", system=SYSTEM)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return BudgetExhausted("Salesforce daily API request allocation is spent",
                               system=SYSTEM)
    reason = f"{code}: {REASONS.get(code, 'refused by Salesforce')}"
    return RecordError(ref, ", ".join(fields) or None, reason, system=SYSTEM)


def parse_bulk_error(text: str) -> tuple[str, list[str]]:
    """``CODE:message:FIELD1,FIELD2 --`` → (code, fields); the message is dropped."""
    code = text.split(":", 1)[0].strip() or "UNKNOWN_ERROR"
    tail = text.rstrip().removesuffix("--").rstrip()
    fields = tail.rsplit(":", 1)[1] if tail.count(":") >= 2 else ""
    return code, [f.strip() for f in fields.split(",") if f.strip()]
