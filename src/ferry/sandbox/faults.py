"""Fault injection for sandboxes: ``--faults "429=0.05,500=0.02,slow=0.01,drop=0.01,truncate=0.01"``.

Each key is a fault, each value its rate per request (0..1). ``slow`` waits ``slow_s`` emulated
seconds first; ``drop`` closes the connection without a response; ``truncate`` cuts the body short;
``late`` is a gateway giving up: the client gets a 504 at once and the request still runs behind
it (RFC 9110 §15.6.5: a 504 says the upstream did not answer in time, not that it did nothing).

When a ``late`` request lands is set by order, not by time, so a test of it gives the same answer
on an idle machine and a loaded one: it is applied just before the ``late_after``-th request
that arrives after it is served (default 2). A client that loses a create's answer and looks it
up once finds nothing and sends it again: the held request lands just before that second send,
and the record is there twice. A client that looks a second time before sending again finds it.
``late_after=0`` applies the request before its 504 is sent (it landed, its answer was lost).
Any request to the ``/_sandbox/`` admin surface first applies every held request, so what a
test reads there is what the server ended with. Faults never touch ``/_sandbox/`` themselves.
The draw is seeded so runs are repeatable.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

KNOWN = {"429", "500", "502", "503", "slow", "drop", "truncate", "late", "lock"}
PARAMS = {"slow_s", "late_after"}  # settings written beside the rates: ``late=0.2,late_after=2``


@dataclass
class FaultSpec:
    rates: dict[str, float] = field(default_factory=dict)
    slow_s: float = 2.0
    seed: int = 0
    late_after: int = 2  # a ``late`` request lands before the n-th request after it is served

    @classmethod
    def parse(cls, text: str | None, seed: int = 0) -> FaultSpec:
        rates: dict[str, float] = {}
        params: dict[str, float] = {}
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            key, _, value = part.partition("=")
            key = key.strip()
            if key in PARAMS:
                params[key] = float(value)
                continue
            if key not in KNOWN:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(KNOWN))}")
            rates[key] = float(value)
        return cls(rates, params.get("slow_s", 2.0), seed, int(params.get("late_after", 2)))

    def to_dict(self) -> dict[str, Any]:
        return {"rates": self.rates, "slow_s": self.slow_s, "late_after": self.late_after}


class Faults:
    """Draws which fault (if any) hits the next request."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self.spec = spec or FaultSpec()
        self.rng = random.Random(self.spec.seed)
        self.injected: dict[str, int] = {}

    def set(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)

    def draw(self) -> str | None:
        for name, rate in self.spec.rates.items():
            if rate > 0 and self.rng.random() < rate:
                self.injected[name] = self.injected.get(name, 0) + 1
                return name
        return None


class FaultMiddleware:
    """ASGI middleware applying drawn faults to the emulated API (never to ``/_sandbox``)."""

    def __init__(self, app: Any, faults: Faults, time_scale: float = 1.0,
                 error_body: bytes = b'{"error":"injected fault"}') -> None:
        self.app = app
        self.faults = faults
        self.time_scale = time_scale
        self.error_body = error_body
        # requests a 504 left running, oldest first: [requests still to arrive before it
        # lands, its scope, its body]
        self._late: list[list[Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admin = scope["path"].startswith("/_sandbox")
        due, keep = [], []  # split before any await: concurrent requests never land one twice
        for held in self._late:
            held[0] -= 1
            (due if admin or held[0] <= 0 else keep).append(held)
        self._late = keep
        for _, late_scope, body in due:
            await self._land(late_scope, body)
        if admin:
            await self.app(scope, receive, send)
            return
        fault = self.faults.draw()
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault == "slow":
            await asyncio.sleep(self.faults.spec.slow_s / self.time_scale)
            await self.app(scope, receive, send)
            return
        if fault == "drop":
            raise ConnectionResetError("injected dropped connection")
        if fault == "late":
            await self._late_behind_504(scope, receive, send)
            return
        if fault in {"429", "500", "502", "503"}:
            status = int(fault)
            headers = [(b"content-type", b"application/json"),
                       (b"content-length", str(len(self.error_body)).encode())]
            if status == 429:
                headers.append((b"retry-after", b"1"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": self.error_body})
            return
        if fault == "truncate":
            await self._truncated(scope, receive, send)
            return
        await self.app(scope, receive, send)  # "lock" and others are handled by the app itself

    async def _late_behind_504(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)  # the whole request first: it runs after its answer
        if body is None:
            return
        after = self.faults.spec.late_after
        if after <= 0:
            await self._land(scope, body)
        else:
            self._late.append([after, scope, body])
        answer = b'{"error":"gateway timeout"}'
        await send({"type": "http.response.start", "status": 504,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    async def _land(self, scope: dict[str, Any], body: bytes) -> None:
        """Runs a request whose client has its 504: an error it meets is answered to nobody
        (never to the request that happened to arrive when it landed)."""
        try:
            await self.app(scope, replaying(body), discard)
        except Exception:  # noqa: BLE001, S110 - a server finishing a request nobody waits for
            pass

    async def _truncated(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        start: dict[str, Any] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        # Promise the full length, deliver half: the client sees an incomplete body.
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200),
                    "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2],
                    "more_body": False})


async def read_body(receive: Any) -> bytes | None:
    """An ASGI request's whole body (None: the client left first)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes) -> Any:
    """An ASGI ``receive`` that gives ``body`` once, then a disconnect: a request run again
    after its client is gone."""
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if given:
            return {"type": "http.disconnect"}
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def discard(_message: dict[str, Any]) -> None:
    """An ASGI ``send`` for an answer nobody reads."""
