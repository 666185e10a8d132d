"""The estimate prices a load's creates as the load sends them: one write batch
(``options.batch_size`` records read) handed to the writer at a time (engine/load.py
``_write``), each priced by the destination for that many records."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.destinations.salesforce import Settings
from ferry.destinations.salesforce.writer import SalesforceDestination
from ferry.engine.estimate import (
    DESTINATIONS,
    SOURCES,
    _bulk,
    _writes,
    estimate,
    job_wait,
    poll_wait,
)


def test_creates_are_priced_per_write_batch(tmp_path: Path) -> None:
    # 5,000 contacts in write batches of 100: 50 batches, each below Salesforce's Bulk
    # threshold, each sent as sObject collections; priced whole, they were one Bulk API job
    dest = SalesforceDestination(Settings(), tmp_path)  # prices only: nothing is called
    try:
        whole = dest.cost("create", "Contact", 5000).calls
        per_batch = dest.cost("create", "Contact", 100).calls
        out = _writes([("patients", "patient", "create", "Contact", 5000)],
                      DESTINATIONS["salesforce"], dest, batch_size=100)
        assert out[0]["calls"] == 50 * per_batch
        assert out[0]["calls"] > whole
        # a batch at or above the threshold is a Bulk job of its own
        big = _writes([("patients", "patient", "create", "Contact", 5000)],
                      DESTINATIONS["salesforce"], dest, batch_size=2500)
        assert big[0]["calls"] == 2 * dest.cost("create", "Contact", 2500).calls
    finally:
        dest.close()


def test_bulk_jobs_wait_on_the_org_and_rollback_is_priced_per_group(tmp_path: Path) -> None:
    """A load in write batches past the Bulk threshold waits on each job (queued, then
    processed) for as long as the client's poll schedule takes to see it done; the estimate
    left that out. A rollback hands the writer 100 records at a time (engine/rollback.py):
    5,000 contacts are 50 collections, not the one Bulk job the whole count prices as."""
    dest = SalesforceDestination(Settings(), tmp_path)  # prices only: nothing is called
    try:
        lim = DESTINATIONS["salesforce"]
        one = job_wait(lim, "create", 2500)
        # 2 s queued and 2.5 s of processing (one internal batch): the client's waits of
        # 0.2 s x 1.6 run to 0.2 + 0.32 + ... + 2.1 = 5.3 s before a poll sees it done
        assert poll_wait(4.5, 0.2, 5.0) == (pytest.approx(5.3, abs=0.05), 7)
        assert one == pytest.approx(poll_wait(4.5, 0.2, 5.0)[0])
        assert job_wait(lim, "create", 1999) == 0.0  # collections: nothing to wait on
        out = estimate({"patient": 5000}, source=SOURCES["practicehub"], destination=lim,
                       dest=dest, batch_size=2500, sample_counts={}, cpu_share=1.0)
        steps = {s["step"]: s for s in out["steps"]}
        assert steps["load"]["job_wait_seconds"] == pytest.approx(2 * one, abs=0.1)
        assert steps["load"]["seconds"] >= 2 * one
        assert steps["rollback"]["calls"] >= 50 * dest.cost("delete", "Contact", 100).calls
        assert steps["rollback"]["job_wait_seconds"] == 0.0
        # at a time-scale the org's processing and the client's waits are divided alike
        assert job_wait(lim, "create", 2500, 10.0) == pytest.approx(one / 10)
    finally:
        dest.close()


def test_the_first_write_batch_reads_the_samples_records_again(tmp_path: Path) -> None:
    """The load reads every staged record in write batches, the sample's too (they come
    first: the sample picks the store's first records), so its first batch carries fewer
    creates. At a batch of 2,000 the 87 sampled appointments left 1,913 creates, sent as
    collections (bench, 600 patients): the estimate priced a Bulk job and its 5.3 s wait."""
    dest = SalesforceDestination(Settings(), tmp_path)  # prices only: nothing is called
    try:
        lim = DESTINATIONS["salesforce"]
        out = estimate({"appointment": 2694}, source=SOURCES["practicehub"], destination=lim,
                       dest=dest, batch_size=2000, sample_counts={"appointment": 87},
                       cpu_share=1.0)
        load = next(s for s in out["steps"] if s["step"] == "load")
        assert load["job_wait_seconds"] == 0.0
        routes = [("appointments", "appointment", "create", "Event", 2607)]
        at_2000 = _writes(routes, lim, dest, batch_size=2000, written={"appointments": 87})
        assert at_2000[0]["calls"] == dest.cost("create", "Event", 1913).calls + dest.cost(
            "create", "Event", 694).calls
        # at 2,500 the first batch's 2,413 creates are a Bulk job, as the load sent them
        at_2500 = _writes(routes, lim, dest, batch_size=2500, written={"appointments": 87})
        assert at_2500[0]["wait_s"] == pytest.approx(job_wait(_bulk(lim, dest), "create",
                                                              2413))
        assert at_2500[0]["wait_s"] > 0
    finally:
        dest.close()
