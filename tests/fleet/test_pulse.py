"""A fleet activity that is busy but silent keeps heartbeating, with its last detail.

Without it Temporal times out a living activity after the heartbeat timeout (prepare on a big
schema, a slow API) and starts a second copy on another worker while the first still writes.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from ferry.fleet import activities
from ferry.fleet.activities import _beat, _pulse


def test_a_silent_step_keeps_beating_with_its_last_detail(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Counted, not timed: the step stays silent until the pulse has beaten three times on its
    own, however late a loaded machine runs the pulse's thread (a fixed second of silence
    could see fewer beats), and the pulse's wait before each beat, read off its stop event, is
    a third of the heartbeat timeout."""
    waits: list[float | None] = []

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    class Pulse(activities._Pulse):
        def __init__(self) -> None:
            super().__init__()
            self.stop = Stop()

    monkeypatch.setattr(activities, "_Pulse", Pulse)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=0.3))
    beats: list[tuple[Any, ...]] = []
    three_more = threading.Event()

    def heartbeat(*details: Any) -> None:
        beats.append(details)
        if len(beats) >= 4:
            three_more.set()

    env.on_heartbeat = heartbeat

    def step() -> None:
        with _pulse():
            _beat(object="patient", checkpoint="page-3")
            assert three_more.wait(120)  # silent: the pulse beats three times meanwhile

    env.run(step)
    assert len(beats) >= 4  # its own beat, then the pulse's
    assert all(b == ({"object": "patient", "checkpoint": "page-3"},) for b in beats)
    assert len(waits) >= 4 and all(w == pytest.approx(0.1) for w in waits)  # timeout / 3
    n = len(beats)
    assert not any(t.name == "ferry-pulse" for t in threading.enumerate())
    assert len(beats) == n  # the pulse ends with the step
