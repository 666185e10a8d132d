"""Burst and daily-budget limits: paced, retried or stopped cleanly, never a lost or doubled write."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from ferry.connectors import ratelimit
from ferry.connectors.base import SchemaItem
from ferry.destinations.pipedrive import client as pipedrive_client
from ferry.destinations.pipedrive import errors as pipedrive_errors
from ferry.errors import BudgetExhausted
from ferry.model.fields import Kind
from ferry.sandbox.clock import Clock

SRC = SchemaItem("custom_field", "person", "ferry_source_id", "Ferry source id", Kind.TEXT,
                 external_id=True)


def _sids(h, key: str) -> Counter:
    return Counter(p["custom_fields"].get(key) for p in h.state()["records"]["person"]
                   if not p["is_deleted"])


def test_burst_paced_under_the_limit_earns_no_429(pd, emulated_time) -> None:
    """The connector's pacing and the sandbox's 2 s window count one emulated clock, moved only
    by the connector's waits: a call reaches the sandbox at the instant the connector sent it.
    (In real time a loaded machine could stamp one arrival late and the next on time, and the
    sandbox then saw 11 calls in a window the connector had spaced.) One row at a time: with
    the clock moved by one thread's wait, another thread's call sent late would arrive in the
    next window too."""
    h = pd(time_scale=1, burst=10)
    d = h.dest(burst=10, workers=1)
    clock = emulated_time(h.sb.clock, pipedrive_client, ratelimit, pipedrive_errors)
    [p] = d.ensure([SRC])
    t0 = clock.monotonic()
    results = d.create("person", [{"name": f"P {i}", p.key: f"S{i}"} for i in range(20)])
    took = clock.monotonic() - t0
    assert all(r.ok for r in results)
    assert h.state()["tokens"]["refusals"] == {}
    assert took >= 2 * 2.0  # calls 21 and 22 (2 field calls before the loop): two windows on
    assert _sids(h, p.key) == Counter({f"S{i}": 1 for i in range(20)})


def test_burst_breach_is_retried_without_doubles(pd, emulated_time) -> None:
    """Another integration shares the token, so the connector's own pacing is not enough.

    The sandbox's clock and the connector's are one emulated clock that only the connector's
    waits move, and the first creates are certain to meet a full window: the connector's two
    field calls and the other integration's six fill the sandbox's 8 at one instant, while the
    connector, which has learnt the limit of 8 and counts only its own 2 calls, gives each of
    its 4 lanes a turn at once. Nothing waits before the first create arrives (no lane's turn
    is deferred and no answer has said ``x-ratelimit-remaining: 0`` to the connector), so it
    arrives at that instant and gets a 429, however a loaded machine schedules the lanes.
    (With a sandbox of 4, two spent by the other integration, the connector had only 2 free
    turns: the third lane's wait moved the clock on past the window while the first two
    creates were still on their way, and a run on a quiet machine saw no 429 at all, 1 in 20.
    With a create sent 30 ms late the first creates always got in.)
    """
    h = pd(time_scale=10, burst=8)
    d = h.dest(burst=60)  # misconfigured too: thinks the plan allows 60 per 2 s
    assert d.workers == 4  # <= 8 - 2: every lane sends its first create without waiting
    emulated_time(h.sb.clock, pipedrive_client, ratelimit, pipedrive_errors)
    [p] = d.ensure([SRC])  # 2 calls
    with h.raw() as other:  # the other integration: the rest of the window's allowance
        assert [other.get("/api/v1/users/me").status_code for _ in range(6)] == [200] * 6
    results = d.create("person", [{"name": f"P {i}", p.key: f"S{i}"} for i in range(40)])
    assert all(r.ok for r in results)
    assert len({r.dest_id for r in results}) == 40
    assert h.state()["tokens"]["refusals"].get("burst", 0) >= 1
    assert d.client.stats["rate_limited"] >= 1
    assert d.client.window.limit == 8  # adopted the server's x-ratelimit-limit
    assert _sids(h, p.key) == Counter({f"S{i}": 1 for i in range(30 + 10)})


def test_daily_budget_429_stops_cleanly_and_resumes_without_loss_or_doubles(
        pd, emulated_time) -> None:
    # a day of 86,400 emulated seconds lasts 5 s real; 65 tokens = 2 field calls + 10 creates.
    # The sandbox's clock and the connector's (its waits, the Retry-After day it learns from the
    # 429, the resets_at it reports) are one emulated clock that only sleeps move: the test
    # moves it to each reset. In real time a loaded machine's slow calls let the day roll over
    # mid-create (21 of 30 rows landed at load 18), and the local refusal below had to come
    # within the 5 s the connector had learnt; each day also cost 5 s of waiting.
    h = pd(time_scale=86_400 / 5, daily_budget=65)
    clock = emulated_time(h.sb.clock, pipedrive_client, ratelimit, pipedrive_errors)
    d = h.dest()  # believes the documented 60,000 tokens: learns from the 429
    [p] = d.ensure([SRC])
    rows = [{"name": f"P {i}", p.key: f"S{i}"} for i in range(30)]
    with pytest.raises(BudgetExhausted) as caught:
        d.create("person", rows)
    partial = caught.value.partial  # type: ignore[attr-defined]
    done = [r for r in partial if r is not None]
    assert len(partial) == 30 and len(done) == 10 and all(r.ok for r in done)
    assert caught.value.resets_at and caught.value.resets_at > clock.time()
    assert d.budget().remaining == 0
    sent = len(h.state()["records"]["person"])
    requests_before = _requests(h)
    with pytest.raises(BudgetExhausted):  # no hammering: refused locally, nothing sent
        d.create("person", rows[10:])
    assert _requests(h) == requests_before
    refusals = h.state()["tokens"]["refusals"]  # one per row in flight when it ran out
    assert set(refusals) == {"daily"} and refusals["daily"] <= d.workers
    assert sent == 10
    # resume day after day: what exists is found by source id, only the rest is created
    resets_at = caught.value.resets_at
    for _day in range(5):
        clock.until(resets_at + 0.05)  # the sandbox's next day too
        try:
            found = d.find("person", p.key, [r[p.key] for r in rows])
            todo = [r for r in rows if r[p.key] not in found]
            assert all(r.ok for r in d.create("person", todo))
            break
        except BudgetExhausted as exc:
            resets_at = exc.resets_at or clock.time() + 5
    assert _sids(h, p.key) == Counter({f"S{i}": 1 for i in range(30)})


def test_local_ledger_stops_before_the_server_refuses(pd) -> None:
    h = pd(daily_budget=1_000)
    d = h.dest(daily_budget=40)  # configured budget: 2 field calls (15) + 5 creates (25)
    [p] = d.ensure([SRC])
    with pytest.raises(BudgetExhausted) as caught:
        d.create("person", [{"name": f"P {i}", p.key: f"S{i}"} for i in range(10)])
    assert sum(r is not None for r in caught.value.partial) == 5  # type: ignore[attr-defined]
    assert h.state()["tokens"]["refusals"] == {}
    assert h.state()["tokens"]["used"] == 40
    assert h.dest(daily_budget=40).budget().remaining == 0  # ledger shared through the workdir


def test_local_ledger_counts_emulated_days_under_a_time_scale(pd, emulated_time) -> None:
    # a fast-scaled sandbox lives through an emulated day in 2 real seconds; the ledger did
    # not: it kept the calendar day's spend, so a scaled load stopped with BudgetExhausted.
    # The connector's clock (an emulated one of its own) stands just past an emulated midnight
    # until the test moves it: on the real one, a day could turn between the field calls and
    # the creates (a loaded machine's slow calls, or a start near a 2 s boundary), and the
    # spend with it; nor does the test wait the real 2 s for the next midnight.
    clock = emulated_time(Clock(), pipedrive_client, pipedrive_errors)
    clock.sleep((clock.monotonic() // 2.0 + 1) * 2.0 + 0.001 - clock.monotonic())
    h = pd(time_scale=86_400 / 2, daily_budget=100_000)
    d = h.dest(daily_budget=40)  # 2 field calls (15) + 5 creates (25) a day
    [p] = d.ensure([SRC])
    with pytest.raises(BudgetExhausted) as caught:
        d.create("person", [{"name": f"P {i}", p.key: f"S{i}"} for i in range(10)])
    resets_at = caught.value.resets_at
    assert resets_at is not None and 1.9 < resets_at - clock.time() <= 2.0  # the midnight
    clock.sleep(2.0)  # the connector's clock a day on: past the next midnight
    assert d.budget().remaining == 40
    assert all(r.ok for r in d.create("person", [{"name": "Q", p.key: "S99"}]))


def test_cost_and_budget_before_a_run(pd) -> None:
    h = pd()
    d = h.dest(plan="premium", seats=3)
    assert d.cost("create", "person", 10_000).tokens == 50_000
    assert d.cost("create", "activity", 30_000).tokens == 150_000
    assert d.cost("create", "note", 10_000).tokens == 100_000
    assert d.cost("read", "person", 1_000).tokens == 100  # ?ids= pages of 100
    assert d.cost("delete", "note", 2).tokens == 12
    b = d.budget()
    assert b.limit == 30_000 * 5 * 3 and b.remaining == b.limit and b.resets_at > time.time()
    assert d.rate().burst == 100


def _requests(h) -> int:
    import httpx

    return httpx.get(h.base_url + "/_sandbox/requests", timeout=60).json()["count"]
