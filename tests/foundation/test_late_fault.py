"""The sandboxes' ``late`` fault lands a request by order, not time: a test built on it gives the
same answer on an idle machine and a loaded one."""

from __future__ import annotations

import asyncio
from typing import Any

from ferry.sandbox.faults import FaultMiddleware, Faults, FaultSpec, read_body


def _server(spec: str) -> tuple[FaultMiddleware, list[str], Any]:
    applied: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        applied.append(f"{scope['path']}:{(body or b'').decode()}")
        if body == b"boom":
            raise RuntimeError("the app fails this request")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    faults = Faults(FaultSpec.parse(spec))
    server = FaultMiddleware(app, faults, time_scale=1.0)

    def call(path: str, body: str = "", late: bool = False) -> int:
        faults.set(FaultSpec.parse(spec if late else ""))
        sent = [{"type": "http.request", "body": body.encode(), "more_body": False}]
        answers: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return sent.pop() if sent else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            answers.append(message)

        asyncio.run(server({"type": "http", "method": "POST", "path": path}, receive, send))
        return int(answers[0]["status"])

    return server, applied, call


def test_a_late_request_lands_just_before_the_second_request_after_it() -> None:
    _, applied, call = _server("late=1")
    assert call("/create", "A", late=True) == 504
    assert applied == []
    assert call("/look") == 200
    assert applied == ["/look:"]  # the first look finds nothing: a resend now would twin A
    assert call("/look") == 200
    assert applied == ["/look:", "/create:A", "/look:"]  # the second look finds it


def test_late_requests_behind_late_requests_keep_their_order() -> None:
    _, applied, call = _server("late=1")
    assert call("/create", "A", late=True) == call("/look", late=True) == 504
    assert call("/create", "A") == 200
    assert applied == ["/create:A", "/create:A"]  # a resend after one (lost) look: a twin
    assert call("/other") == 200
    assert applied == ["/create:A", "/create:A", "/look:", "/other:"]


def test_late_after_zero_lands_before_its_504_and_the_admin_surface_sees_all_landed() -> None:
    _, applied, call = _server("late=1,late_after=0")
    assert call("/upload", "B", late=True) == 504
    assert applied == ["/upload:B"]
    _, applied, call = _server("late=1,late_after=5")
    assert call("/create", "C", late=True) == 504
    assert call("/_sandbox/state") == 200
    assert applied == ["/create:C", "/_sandbox/state:"]


def test_a_late_request_that_fails_fails_for_nobody() -> None:
    _, applied, call = _server("late=1")
    assert call("/create", "boom", late=True) == 504
    assert call("/look") == call("/look") == 200  # the second look is answered, not the error
    assert applied == ["/look:", "/create:boom", "/look:"]
