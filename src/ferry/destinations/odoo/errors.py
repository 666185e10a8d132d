"""Odoo faults → Ferry errors, with reasons that never quote a value.

Odoo's fault strings often embed the offending value (``Wrong value for res.partner.x_blood:
'AB+'``, a traceback with the SQL parameters), and values may be PHI. So the reason we keep is
rebuilt from known patterns and names only (model, field, exception class); anything unknown
becomes ``Odoo <ExceptionClass>``. Codes follow NOTES 1.4: 3 bad login and 4 access are fatal
(the run stops, resumable once credentials or rights are fixed), 2 is a record-level validation
error, 1 is a server exception — retriable when it is a serialization/lock failure, fatal when
it names an unknown field (the map and the server version disagree), record-level otherwise.
"""

from __future__ import annotations

import re
import xmlrpc.client

from ferry.errors import ConnectorError, FatalError, RateLimited, RetriableError

SYSTEM = "odoo"

#: fixed Odoo messages that carry no values and may be kept verbatim
SAFE_TEXTS = (
    "Contacts require a name",
    "Custom fields must have a name that starts with 'x_'!",
    "Field names must be unique per model.",
    "Field names can only contain characters, digits and underscores (up to 63).",
    "The probability of closing the deal should be between 0% and 100%!",
    "Changing the type of a field is not yet supported. Please drop it and create it again!",
    "Properties of base fields cannot be altered in this manner!",
    "Currency field is empty and there is no fallback field in the model",
    "The Selection Options expression is not a valid Pythonic expression.",
    "Selection values must be unique per field",
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"a mandatory field is not set.*?Field: .*?\((?P<field>[\w.]+)\)", re.S),
     "a required field is not set"),
    (re.compile(r'violates foreign key constraint "\w+?_(?P<field>[a-z_0-9]+?_id)_fkey"'),
     "the linked record does not exist"),
    (re.compile(r"Record does not exist or has been deleted"),
     "the record does not exist or has been deleted"),
    (re.compile(r"another model requires the record being deleted"),
     "another record still refers to it"),
    (re.compile(r"Wrong value for [\w.]+\.(?P<field>\w+):"), "value is not an allowed option"),
    (re.compile(r"Invalid field '?(?P<field>[\w.]+)'? (on model|in leaf)"),
     "field does not exist in this Odoo database"),
    (re.compile(r"does not match format|Datetime field expects"),
     "date/time value is not in Odoo's format"),
    (re.compile(r"invalid input syntax for type integer"), "a reference is not an integer id"),
    (re.compile(r"Incorrect padding|binascii"), "file content is not valid base64"),
    (re.compile(r"Expected singleton"), "expected exactly one record"),
]


class Ambiguous(RetriableError):
    """A call whose answer was lost: no answer, one cut short, or a 5xx from the server or a
    gateway in front of it (a 504 leaves the call running behind it, RFC 9110 §15.6.5). Each
    call is its own transaction (NOTES 1.3), so it committed whole or not at all, now or a
    little later: a ``create`` is looked up by source id before it is sent again, twice when
    the first look finds nothing (``connectors.settle``). A fault (lock, validation) is an
    answer: the transaction was rolled back."""


class OdooUserError(ConnectorError):
    """Fault 2 (UserError/ValidationError/MissingError): the record was refused as it is."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"Odoo refused the request: {reason}", system=SYSTEM)
        self.reason = reason
        self.field = field


class OdooServerError(OdooUserError):
    """Fault 1 that is about the data sent (bad selection value, date format...)."""


class OdooNoneResult(ConnectorError):
    """Fault 1 "cannot marshal None": the method ran and committed, its None result did not
    travel (button methods, NOTES 1.3)."""


class OdooSchemaError(FatalError):
    """Fault 1 naming a field the server does not have (map vs. server version mismatch)."""


def safe_reason(text: str) -> tuple[str, str | None]:
    """(reason without values, offending field name or None) for a fault string."""
    for safe in SAFE_TEXTS:
        if safe in text:
            return safe, None
    for rx, reason in _PATTERNS:
        m = rx.search(text)
        if m:
            field = m.groupdict().get("field")
            return (f"{reason} ({field})" if field else reason), field
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    cls = re.match(r"^([\w.]+(?:Error|Exception|Failure|Denied|Warning))\b", last)
    return (f"Odoo {cls.group(1)}" if cls else "Odoo rejected the request"), None


def from_fault(fault: xmlrpc.client.Fault, *, model: str, method: str) -> ConnectorError:
    code, text = fault.faultCode, str(fault.faultString or "")
    if code == 3:
        return FatalError("Odoo refused the login (Access Denied): check the login and the"
                          " password or API key, and that the database name is right",
                          system=SYSTEM, status=401)
    if code == 4:
        return FatalError(f"Odoo denied {method} on {model}: the API user lacks the access"
                          " rights (creating custom fields, stages and activity types needs an"
                          " administrator)", system=SYSTEM, status=403)
    reason, field = safe_reason(text)
    if code == 2:
        return OdooUserError(reason, field)
    if "SerializationFailure" in text or "concurrent update" in text or "deadlock" in text:
        return RetriableError(f"Odoo {method} on {model} hit a database lock", system=SYSTEM)
    if "does not exist" in text and "FATAL" in text and "database" in text:
        return FatalError("the Odoo database named in the settings does not exist",
                          system=SYSTEM)
    if "Invalid field" in text:
        return OdooSchemaError(f"Odoo {model}: {reason}", system=SYSTEM)
    if "cannot marshal None" in text:
        return OdooNoneResult(f"Odoo {model}.{method} returned None, which XML-RPC cannot"
                              " carry", system=SYSTEM)
    return OdooServerError(reason, field)


def from_protocol(err: xmlrpc.client.ProtocolError, *, time_scale: float) -> ConnectorError:
    status = err.errcode
    if status == 429:
        value = (err.headers or {}).get("Retry-After") if err.headers else None
        try:
            after = float(value) / time_scale if value is not None else None
        except ValueError:
            after = None
        return RateLimited("Odoo asked us to slow down (429)", retry_after=after,
                           status=429, system=SYSTEM)
    if status >= 500:
        return Ambiguous(f"Odoo answered HTTP {status}", status=status, system=SYSTEM)
    if status == 408:  # the server timed out reading the request: it never ran
        return RetriableError(f"Odoo answered HTTP {status}", status=status, system=SYSTEM)
    if status == 413:
        return OdooUserError("the request is larger than the server accepts (413)")
    if status in (401, 403):
        return FatalError(f"Odoo answered HTTP {status}", status=status, system=SYSTEM)
    return FatalError(f"Odoo answered HTTP {status}: is the URL an Odoo server?",
                      status=status, system=SYSTEM)
