"""One PracticeHub account is one rate budget however many workers use it.

Two workers (each its own client, pacer and database connection, as two processes have) list
one sandbox account at once. Each paces itself at the account's limit; alone they collide and
the sandbox answers 429. Sharing the budget through PostgreSQL, the account sees no 429 at all.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ferry.connectors.ratelimit import shared_budget
from ferry.errors import FatalError
from ferry.model.pgbudget import SCHEMA, PgBudget
from ferry.sandbox.practicehub import PracticeHubSandbox
from ferry.sandbox.registry import SandboxOptions
from ferry.sandbox.server import Running, serve_in_thread
from ferry.sources.practicehub.client import PracticeHubClient

SCALE = 10.0  # the fleet bench's time scale: 1 request/s becomes one per 0.1 s
REQUESTS = 10  # per worker


@pytest.fixture
def account() -> Iterator[tuple[PracticeHubSandbox, Running]]:
    sb = PracticeHubSandbox(SandboxOptions(seed=5, patients=3, time_scale=SCALE))
    running = serve_in_thread(sb.app)
    yield sb, running
    running.stop()


def _throttled(running: Running) -> int:
    log = httpx.get(f"{running.base_url}/_sandbox/requests", timeout=30).json()
    return int(log["by_status"].get("429", 0))


def _workers(sb: PracticeHubSandbox, running: Running, pg: str | None) -> list[int]:
    """Two workers list the account at once; returns each one's answered requests."""
    creds = sb.credentials(running.base_url)
    ok = [0, 0]
    start = threading.Barrier(2)
    budgets: list[PgBudget] = []

    def work(i: int) -> None:
        budget = PgBudget(pg) if pg else None
        if budget:
            budgets.append(budget)
        with shared_budget(budget):  # as a fleet activity opens its project
            client = PracticeHubClient(creds["base_url"], [creds["api_key"]],
                                       creds["app_details"], connect_to=creds["connect_to"],
                                       time_scale=SCALE)

        async def go() -> None:
            start.wait()
            try:
                for _ in range(REQUESTS):
                    body, response = await client.get_json(client.url("patients"))
                    ok[i] += response.status_code == 200 and isinstance(body, dict)
            except FatalError:  # gave up after its retries: the other worker kept the slots
                pass
            finally:
                await client.aclose()

        asyncio.run(go())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for b in budgets:
        b.close()
    return ok


def test_two_workers_pacing_alone_collide(account: Any) -> None:
    sb, running = account
    _workers(sb, running, None)
    assert _throttled(running) > 0  # the sandbox holds the account's limit


def test_two_workers_sharing_the_budget_earn_no_429(account: Any, pg: str) -> None:
    sb, running = account
    assert _workers(sb, running, pg) == [REQUESTS, REQUESTS]
    assert _throttled(running) == 0, sb.api.limiter.refused_gaps
    import psycopg

    with psycopg.connect(pg) as c:
        names = [r[0] for r in c.execute(f"SELECT account FROM {SCHEMA}.pace")]
    creds = sb.credentials(running.base_url)
    assert names and all(n.startswith("practicehub:") for n in names)
    assert not any(creds["account"] in n or creds["api_key"] in n for n in names)  # digests
