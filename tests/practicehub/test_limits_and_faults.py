"""The 1 request/second limit is enforced and never earned; under injected faults nothing is lost."""

from __future__ import annotations

import time

import httpx

from .conftest import read_all


def test_sandbox_enforces_one_request_per_second_per_account(make_box):
    box = make_box(patients=3, time_scale=2.0)  # 500 ms per request
    # the org's clock stands still but for advance(): the second request is refused however
    # late a loaded machine delivers it (by the real clock, 0.45 s late was admitted)
    box.sandbox.api.clock.freeze()
    c = box.creds
    url = f"{box.running.base_url}/api/practitioners"

    client = httpx.Client(timeout=60)

    def get(key: str) -> httpx.Response:
        return client.get(url, headers={"host": "demo.neptune.practicehub.io",
                                        "x-practicehub-key": key,
                                        "x-app-details": c["app_details"]})

    assert get(c["api_keys"][0]).status_code == 200
    refused = get(c["api_keys"][1])  # another key of the same account shares the allowance
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "rate limit" in refused.json()["error"]
    box.sandbox.api.clock.advance(0.5)  # half the interval: still too early
    assert get(c["api_keys"][1]).status_code == 429
    box.sandbox.api.clock.advance(0.5)
    assert get(c["api_keys"][1]).status_code == 200
    client.close()


def test_paced_reads_never_earn_a_429(make_box):
    # 500 ms per request, so the sandbox's tolerance is 50 ms of real time (a real account's
    # is 100 ms at its 1 s interval): at 200 ms (25 ms of tolerance) a request whose arrival
    # the loaded box delayed past that failed 1 run in 12 at load 4 since the pages went
    # onto kept-alive connections sent from a thread pool (d1850b6; 0 in 12 before)
    box = make_box(patients=100, time_scale=2.0)
    src = box.source()
    started = time.monotonic()
    for obj in ("patient", "appointment", "invoice"):
        read_all(src, obj)
    elapsed = time.monotonic() - started
    requests = src.client.stats.list_requests
    assert src.client.stats.rate_limited == 0 and box.sandbox.api.limiter.refused == 0
    assert elapsed >= (requests - 1) * 0.5  # the limit is respected, not merely survived


def test_per_key_limits_are_spread_over_keys(make_box):
    box = make_box(patients=150, time_scale=4.0, limit_scope="key", keys=3)  # 250 ms/request
    import os
    for i, k in enumerate(box.creds["api_keys"]):
        os.environ[f"PH_KEY_{i}"] = k
    envs = [f"PH_KEY_{i}" for i in range(3)]
    one = box.source(api_key_envs=envs[:1], limit_scope="key")
    a, _ = read_all(one, "appointment")
    time.sleep(0.35)  # let the first client's last request age out of every key's window
    log = box.sandbox.api.log
    log.clear()
    three = box.source(api_key_envs=envs, limit_scope="key")
    b, _ = read_all(three, "appointment")
    assert [r.source_id for r in a] == [r.source_id for r in b]
    assert three.client.stats.rate_limited <= 1  # (a loaded CI box can delay one arrival)
    # Faster than one key allows, seen where the limit is kept: at least half the admitted
    # requests reached the sandbox within half a key's interval (250 ms) of the one before.
    # One key, or all keys paced as one account, spaces them an interval apart. (The wall
    # time of the whole read against one key's was compared before: on a loaded box the
    # three keys' read is CPU-bound, 1.23 s against 1.71 s in a CI run at load 7-9.)
    arrived = sorted(e["arrived"] for e in log.entries if e["status"] == 200)
    gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
    assert len(gaps) >= 4 and sum(g < 0.125 for g in gaps) >= len(gaps) / 2, gaps



def test_nothing_is_lost_under_faults(make_box):
    clean = make_box(patients=60, seed=3)
    faulty = make_box(patients=60, seed=3, time_scale=1000.0,
                      faults="429=0.05,500=0.03,502=0.02,503=0.02,drop=0.03,truncate=0.05,slow=0.02")
    for obj in ("patient", "appointment", "clinical_note", "invoice", "document"):
        want, _ = read_all(clean.source(), obj)
        got, pages = read_all(faulty.source(page_size=10), obj)  # many requests, many faults
        assert not any(p.errors for p in pages)
        strip = {"url"}
        assert ([r.model_dump(mode="json", exclude=strip) for r in got]
                == [r.model_dump(mode="json", exclude=strip) for r in want]), obj
    injected = faulty.sandbox.api.faults.injected
    assert injected.get("truncate", 0) > 0 and sum(injected.values()) >= 5
