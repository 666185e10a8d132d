"""Every phone number a destination sandbox holds, read from its ``/_sandbox/state``.

The state is walked generically: a value under a key that names a phone (``phone``, ``phones``,
``mobile``, ``Phone``, ``MobilePhone`` …) is a stored number, whether a string or Pipedrive's
``[{value, label, primary}]`` list. Each is parsed with phonenumbers as stored (E.164 expected:
a number without ``+`` has no country and counts as invalid).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import phonenumbers

PHONE_KEY = re.compile(r"(phone|mobile)", re.I)
NOT_A_NUMBER = re.compile(r"(sanitized|blacklist|label|primary|mobile_)", re.I)


def stored_phones(state: Any) -> Iterator[str]:
    if isinstance(state, dict):
        for k, v in state.items():
            if isinstance(k, str) and PHONE_KEY.search(k) and not NOT_A_NUMBER.search(k):
                yield from _values(v)
            else:
                yield from stored_phones(v)
    elif isinstance(state, list):
        for v in state:
            yield from stored_phones(v)


def _values(v: Any) -> Iterator[str]:
    if isinstance(v, str) and v.strip():
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from _values(x.get("value") if isinstance(x, dict) else x)
    elif isinstance(v, dict) and isinstance(v.get("value"), str):
        yield from _values(v["value"])


def valid(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def count(state: Any) -> tuple[int, list[str]]:
    """(stored numbers, the invalid ones)."""
    got = list(stored_phones(state))
    return len(got), [n for n in got if not valid(n)]
