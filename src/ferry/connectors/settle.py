"""Looking twice before sending again a write whose answer was lost.

A lost answer (a dropped connection, a body cut short, a 5xx from a gateway) does not say the
write failed. A gateway's 504 means only that the server behind it did not answer in time; the
request may still be running there and be applied later (RFC 9110 §15.6.5). A connector that
lost the answer of a write that is not idempotent by itself (a plain create, a file upload)
looks the record up by its source id; when that first look finds nothing it waits
``settle_s`` and looks once more, and only when the second look finds nothing either does it
send the write again. A write found by either look is adopted, never sent twice.

ASSUMED: how long a request left running behind a gateway may go on is documented nowhere;
5 s is ``SETTLE_S``. Each destination's setting (``ambiguous_settle_s``) changes it; a sandbox's
time scale divides it, as it divides every other wait. The sandboxes' ``late`` fault lands a
request by order, not time (just before the second request after it), so their tests prove
that the second look is made, never how long the wait is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: the default wait between the two looks, in seconds (see the module's ASSUMED)
SETTLE_S = 5.0


def look_twice(look: Callable[[], T], missing: Callable[[T], bool], settle_s: float,
               time_scale: float = 1.0) -> T:
    """``look()``; when ``missing`` says it found nothing, ``look()`` again once ``settle_s``
    (divided by ``time_scale``) has passed. The second look's answer is the last word."""
    hit = look()
    if missing(hit) and settle_s > 0:
        time.sleep(settle_s / time_scale)
        hit = look()
    return hit


def absent(hit: object) -> bool:
    """``missing`` for a look that gives ``None`` when it found nothing."""
    return hit is None
