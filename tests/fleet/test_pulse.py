"""A fleet activity that is busy but silent keeps heartbeating, with its last detail.

Without it Temporal times out a living activity after the heartbeat timeout (prepare on a big
schema, a slow API) and starts a second copy on another worker while the first still writes.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from typing import Any

from temporalio.testing import ActivityEnvironment

from ferry.fleet.activities import _beat, _pulse


def test_a_silent_step_keeps_beating_with_its_last_detail() -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=0.3))
    beats: list[tuple[Any, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)

    def step() -> None:
        with _pulse():
            _beat(object="patient", checkpoint="page-3")
            time.sleep(1.0)  # silent for more than three heartbeat timeouts

    env.run(step)
    assert len(beats) >= 4  # its own beat, then one every 0.1 s while silent
    assert all(b == ({"object": "patient", "checkpoint": "page-3"},) for b in beats)
    n = len(beats)
    time.sleep(0.3)
    assert len(beats) == n  # the pulse ends with the step
