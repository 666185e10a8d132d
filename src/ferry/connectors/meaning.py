"""What a stored date, date-time or amount *means*, read under a destination's own semantics.

The sample diff (``ferry.engine.diff``) compares the meaning of a stored value with the source's
staged value, independent of the map's transforms: a transform may change a value's form (an
offset, a format, text), never its instant, day or amount. Each destination says how it reads
its stored forms (``Destination.stored_meaning``) with these helpers:

* an instant is an aware ``datetime`` in UTC; a naive one is read by the destination's rule
  (``naive_utc``: Pipedrive's v1 timestamps and activity ``due_date`` + ``due_time``, Odoo's
  datetime fields and Salesforce's ``dateTime`` hold UTC);
* a day is a ``date``; a date-only field holds the day in the practice's zone;
* money is ``(amount, currency code or None)``; ``None`` where the destination does not keep a
  currency beside the amount (a Salesforce org's single currency).

Each helper returns ``None`` when the value is not of its kind: no meaning is read, so the diff
keeps its form comparison alone (text the map wrote a date into, for instance).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["amount", "at_utc", "day", "instant", "reading"]

_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")
_TIME = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?$")


def instant(v: Any, *, naive_utc: bool) -> dt.datetime | None:
    """``v`` as a UTC instant: an aware datetime, or ISO text with an offset; a naive one only
    when the destination documents naive values as UTC."""
    if isinstance(v, str) and _ISO.match(v.strip()):
        text = v.strip().replace("Z", "+00:00").replace(" ", "T", 1)
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        try:
            v = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if not isinstance(v, dt.datetime):
        return None
    if v.tzinfo is None:
        return v.replace(tzinfo=dt.UTC) if naive_utc else None
    return v.astimezone(dt.UTC)


def day(v: Any) -> dt.date | None:
    """``v`` as a day: a date, or ``YYYY-MM-DD`` text."""
    if isinstance(v, dt.datetime):
        return None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", v.strip()):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            return None
    return None


def at_utc(date: Any, time: Any) -> dt.datetime | None:
    """A UTC date and an ``HH:MM[:SS]`` time of day as one instant (Pipedrive's activity
    ``due_date`` + ``due_time``)."""
    d = day(date)
    m = _TIME.match(str(time).strip()) if isinstance(time, str) else None
    if d is None or m is None:
        return None
    try:
        return dt.datetime(d.year, d.month, d.day, int(m[1]), int(m[2]), int(m[3] or 0),
                           tzinfo=dt.UTC)
    except ValueError:
        return None


def amount(v: Any, currency: Any = None) -> tuple[Decimal, str | None] | None:
    """``(amount, currency code or None)``; ``None`` when ``v`` is not a number."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, dict):  # {"value": 500, "currency": "USD"}
        return amount(v.get("value"), v.get("currency") or currency)
    try:
        a = v if isinstance(v, Decimal) else Decimal(str(v).strip()) \
            if isinstance(v, int | float | str) else None
    except InvalidOperation:
        return None
    if a is None or not a.is_finite():
        return None
    code = str(currency).strip().upper() if isinstance(currency, str) and currency.strip() \
        else None
    return a, code


def reading(v: Any, kind: str, *, currency: Any = None, amount_as: str = "the amount",
            instant_as: str, naive_utc: bool = True) -> tuple[Any, str] | None:
    """One stored value's meaning and how it was read, as ``Destination.stored_meaning``
    returns it: money as ``(amount, currency)`` (``amount_as`` names where a currency came
    from), else an instant (a naive one only when ``naive_utc``: the destination documents it
    as UTC), else a day; ``None`` when it is none of these."""
    if kind == "money":
        got = amount(v, currency)
        return None if got is None else (got, amount_as if currency else "the amount")
    at = instant(v, naive_utc=naive_utc)
    if at is not None:
        return at, instant_as
    d = day(v)
    return None if d is None else (d, "a day")
