"""A hook that makes crash tests deterministic: SIGKILL this process at a named point of a write.

``FERRY_KILL_AT=<point>:<op>[@<what>][:<n>]`` kills the process the n-th time (default 1) it
reaches ``point`` for a write of ``op`` (and, given ``@what``, of that destination object or
schema kind). Points:

* ``after-intent``: the intent is committed, the call not sent;
* ``after-call``: the destination applied the call, its outcome is not logged yet — the window
  where the destination holds a write the audit log does not confirm;
* ``after-row``: one record of a multi-record write applied (a destination with one call per
  record), the chunk's later records maybe not sent yet: their intents are open too;
* ``between-calls``: the first of two calls a write needs applied, the second not sent.

e.g. ``after-call:upload:3``, ``after-call:unprovision@custom_field:1``. Unset (every real run)
it costs one dict lookup per write. Timing-based kills miss these windows under load; a named
point hits them every time.
"""

from __future__ import annotations

import os
import signal

ENV = "FERRY_KILL_AT"
_seen: dict[str, int] = {}


def _parse(spec: str) -> tuple[str, str, str | None, int] | None:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return None
    op, _, what = parts[1].partition("@")
    n = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 1
    return parts[0], op, what or None, n


def reached(point: str, op: str, what: str | None = None) -> None:
    """Called at each kill point; kills the process when ``FERRY_KILL_AT`` names this one."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    parsed = _parse(spec)
    if parsed is None:
        return
    want_point, want_op, want_what, n = parsed
    if point != want_point or op != want_op or (want_what is not None and what != want_what):
        return
    _seen[spec] = _seen.get(spec, 0) + 1
    if _seen[spec] >= n:
        os.kill(os.getpid(), signal.SIGKILL)
