"""Masking of values in reports: keep the shape of a value, never its content.

An audit or a diff must show *what a value looks like* (a date in ``99/99/9999`` form, a phone
with a trunk prefix, an email with upper-case letters) without showing the value itself when the
field is PHI. Letters become ``X``/``x``, digits ``9``; punctuation and length survive, so format
problems stay visible while names, numbers and notes do not.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from ferry.model.fields import PhiClass

MAX_SHOWN = 60


def plain(value: Any) -> Any:
    """A JSON-friendly rendering of a value (dates as ISO text, Decimals as text)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(exclude_none=True))
    return value


def shape(text: str) -> str:
    return "".join("X" if c.isupper() else "x" if c.isalpha() else "9" if c.isdigit() else c
                   for c in text)


def clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}… ({len(text)} chars)"


def mask(value: Any, phi: PhiClass | str | None, *, show_phi: bool = False) -> Any:
    """The value as a report may show it: as is when not PHI (or ``show_phi``), else its shape."""
    if value is None:
        return None
    v = plain(value)
    if show_phi or phi in (None, PhiClass.NONE, "none"):
        return clip(v) if isinstance(v, str) else v
    if isinstance(v, bool):
        return "•"
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    if len(text) > 40:
        return f"[{len(text)} chars masked]"
    return shape(text)
