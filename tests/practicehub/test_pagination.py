"""Pagination edges: 0, 1, 100 and 101 rows; exactly ceil(n/100) list requests (one when empty)."""

from __future__ import annotations

import math

import httpx
import pytest

from .conftest import read_all


@pytest.mark.parametrize("n", [0, 1, 100, 101])
def test_page_edges(make_box, n):
    box = make_box(patients=n)
    records, pages = read_all(box.source(), "patient")
    assert sorted(int(r.source_id) for r in records) == list(range(10_000, 10_000 + n))
    log = [e for e in box.pages() if e["resource"] == "patients"]
    assert len(log) == max(1, math.ceil(n / 100))
    assert [e["page"] for e in log] == list(range(1, len(log) + 1))
    assert len(pages) == len(log) and pages[-1].done and not any(p.done for p in pages[:-1])
    assert all(p.checkpoint for p in pages[:-1])


def test_envelope_and_links(make_box):
    box = make_box(patients=101)
    c = box.creds
    headers = {"host": "demo.neptune.practicehub.io", "x-practicehub-key": c["api_key"],
               "x-app-details": c["app_details"]}
    url = f"{box.running.base_url}/api/patients"
    first = httpx.get(url, params={"page_size": 500}, headers=headers, timeout=60).json()
    assert set(first) == {"total_entries", "data", "links"}
    assert first["total_entries"] == 101 and len(first["data"]) == 100  # capped at 100
    assert first["links"]["previous"] is None
    assert first["links"]["next"].startswith("https://demo.neptune.practicehub.io/api/patients?")
    import time
    time.sleep(0.01)
    last = httpx.get(url, params={"page": 2}, headers=headers, timeout=60).json()
    assert len(last["data"]) == 1 and "next" not in last["links"]  # only if relevant
    time.sleep(0.01)
    beyond = httpx.get(url, params={"page": 9}, headers=headers, timeout=60).json()
    assert beyond["data"] == [] and beyond["total_entries"] == 101


def test_small_page_size_and_resume_from_checkpoint(make_box):
    box = make_box(patients=25)
    src = box.source(page_size=10)
    _, pages = read_all(src, "patient")
    assert len(pages) == 3
    # resuming from the first page's token reads pages 2 and 3 only
    records, rest = read_all(box.source(page_size=10), "patient", checkpoint=pages[0].checkpoint)
    assert len(rest) == 2 and len(records) == 15
