"""Bulk API 2.0 through the connector: good and bad rows in one job, every bad row accounted for,
idempotent re-runs, lock contention retried, relationship columns, the daily allocation, and
the planted silent truncation other issues' diff tests rely on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ferry.errors import BudgetExhausted, RecordError, RetriableError

from .conftest import seed_items

BAD = {  # row index → (field the error must name, code)
    3: ("LastName", "REQUIRED_FIELD_MISSING"),
    7: ("FirstName", "STRING_TOO_LONG"),
    11: ("Email", "INVALID_EMAIL_ADDRESS"),
    15: ("AccountId", "INVALID_CROSS_REFERENCE_KEY"),
    19: ("Birthdate", "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    23: ("Account.Ferry_Source_Id__c", "INVALID_FIELD"),
}
SECRET = "Zebulon-Quixote"  # a value that must never surface in an error


def _rows(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"Ferry_Source_Id__c": f"pat-{i}", "FirstName": "Pat", "LastName": f"{SECRET}-{i}",
         "Email": f"p{i}@example.org"} for i in range(n)]
    rows[3]["LastName"] = None
    rows[7]["FirstName"] = SECRET * 5
    rows[11]["Email"] = SECRET
    rows[15]["AccountId"] = "001000000000000AAA"
    rows[19]["Birthdate"] = SECRET
    rows[23]["Account.Ferry_Source_Id__c"] = "no-such-clinic"
    return rows


def _requests(h: Any) -> list[str]:
    import httpx

    log = httpx.get(h.base_url + "/_sandbox/requests", verify=h.creds["ca_bundle"],
                    timeout=60).json()
    return [f"{r['method']} {r['path']}" for r in log["requests"]]


def _poll_states(dest: Any) -> list[str]:
    """The states the connector's polls of its ingest jobs read, in order (filled as it runs)."""
    seen: list[str] = []
    request = dest.client.request

    def spy(method: str, path: str, **kw: Any) -> Any:
        response = request(method, path, **kw)
        if method == "GET" and path.startswith("jobs/ingest/") and path.count("/") == 2:
            seen.append(response.json()["state"])
        return response

    dest.client.request = spy
    return seen


def test_bulk_job_mixing_good_and_bad_rows(sf: Any) -> None:
    h = sf()
    dest = h.dest(bulk_threshold=50)
    dest.ensure(seed_items())
    clinic = dest.create("Account", [{"Name": "Clinic", "Ferry_Source_Id__c": "cl-1"}])[0]
    rows = _rows(300)
    for r in rows[100:]:
        r["Account.Ferry_Source_Id__c"] = "cl-1"  # relationship column by external id
    results = dest.create("Contact", rows)
    assert len(results) == 300
    for i, res in enumerate(results):
        if i in BAD:
            field, code = BAD[i]
            assert isinstance(res.error, RecordError), i
            assert res.error.field == field and code in res.error.reason, (i, res.error)
            assert res.error.ref == f"salesforce:Contact:pat-{i}"
            assert SECRET not in str(res.error)
        else:
            assert res.ok and res.created, (i, res.error)
    assert any(r.startswith("PUT /services/data/v62.0/jobs/ingest/") for r in _requests(h))
    contacts = h.records("Contact")
    assert len(contacts) == 300 - len(BAD)
    linked = [c for c in contacts if c.get("AccountId") == clinic.dest_id]
    assert len(linked) == 200 - 0  # rows 100..299 carry the relationship column

    again = dest.create("Contact", rows)  # a re-run (resume, retry) duplicates nothing
    assert [r.ok for r in again] == [r.ok for r in results]
    assert not any(r.created for r in again)
    assert [r.dest_id for r in again if r.ok] == [r.dest_id for r in results if r.ok]
    assert len(h.records("Contact")) == 300 - len(BAD)


def test_lock_contention_is_retried_not_skipped(sf: Any) -> None:
    h = sf(faults="lock=0.2")
    dest = h.dest(bulk_threshold=50)
    dest.ensure(seed_items()[4:6])  # Account and Contact source-id fields
    rows = [{"Ferry_Source_Id__c": f"pat-{i}", "LastName": f"L{i}"} for i in range(400)]
    results = dest.create("Contact", rows)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    assert len(h.records("Contact")) == 400
    injected = h.state()["objects"]["Contact"]
    assert len({c["Ferry_Source_Id__c"] for c in injected}) == 400
    small = dest.create("Contact", [{"LastName": f"S{i}"} for i in range(30)])  # collections
    assert all(r.ok for r in small)


def test_bulk_update_and_delete(sf: Any) -> None:
    h = sf()
    dest = h.dest(bulk_threshold=50)
    dest.ensure(seed_items()[4:6])
    made = dest.create("Contact", [{"Ferry_Source_Id__c": f"p{i}", "LastName": f"L{i}"}
                                   for i in range(120)])
    ids = [r.dest_id for r in made]
    upd = dest.update("Contact", [(i, {"MailingCity": "Leeds"}) for i in ids]
                      + [("003000000000000AAA", {"MailingCity": "Nowhere"})])
    assert all(r.ok for r in upd[:-1]) and isinstance(upd[-1].error, RecordError)
    assert {c["MailingCity"] for c in h.records("Contact")} == {"Leeds"}
    clash = dest.update("Contact", [(ids[1], {"Ferry_Source_Id__c": "p0"})])[0]
    assert clash.error.field == "Ferry_Source_Id__c" and "DUPLICATE_VALUE" in clash.error.reason
    gone = dest.delete("Contact", ids)
    assert all(r.ok for r in gone) and not h.records("Contact")


def test_daily_request_limit_stops_the_run(sf: Any) -> None:
    h = sf(daily_api_requests=5)
    dest = h.dest()
    dest.create("Account", [{"Name": "A"}])
    with pytest.raises(BudgetExhausted):
        for _ in range(10):
            dest.create("Account", [{"Name": "B"}])
    raw = h.raw()
    r = raw.get("limits")
    assert r.status_code == 403 and r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert r.headers["Sforce-Limit-Info"] == "api-usage=5/5"


def test_planted_silent_truncation(sf: Any) -> None:
    h = sf(silent_truncate="Contact.LastName:4")
    dest = h.dest()
    res = dest.create("Contact", [{"LastName": "Longername"}])[0]
    assert res.ok  # no error at all …
    assert dest.read("Contact", [res.dest_id], ["LastName"])[res.dest_id] == {"LastName": "Long"}


def test_transient_server_errors_are_retried(sf: Any) -> None:
    h = sf(faults="503=0.2")
    dest = h.dest(bulk_threshold=50)
    dest.client._sleep = lambda s: None  # keep the back-off logic, skip the waiting
    dest.ensure(seed_items()[4:6])
    results = dest.create("Contact", [{"Ferry_Source_Id__c": f"p{i}", "LastName": "L"}
                                      for i in range(150)])
    assert all(r.ok for r in results)
    assert len(h.records("Contact")) == 150
    assert not any(isinstance(r.error, RetriableError) for r in results)


@pytest.mark.parametrize("time_scale", [1.0, 1000.0])
def test_bulk_polling_is_divided_by_the_time_scale(sf: Any, time_scale: float) -> None:
    """An emulated org at time scale N is polled N times as often (a bench with the limits
    divided away slept 0.2-0.5 real seconds per Bulk job); a real org (time scale 1) at the
    configured interval, growing by 1.6 up to ``poll_max_s``, as before."""
    h = sf(time_scale=time_scale)
    dest = h.dest(bulk_threshold=50, poll_initial_s=0.2, poll_max_s=0.3, time_scale=time_scale)
    dest.ensure(seed_items())
    slept: list[float] = []
    dest.bulk.sleep = slept.append  # the back-off between polls, without the waiting
    rows = [{"Ferry_Source_Id__c": f"p{i}", "LastName": "L"} for i in range(60)]
    assert all(r.ok for r in dest.create("Contact", rows))
    # the sandbox answers InProgress at least once before a job completes
    assert slept and slept == [pytest.approx(min(0.2 * 1.6 ** i, 0.3) / time_scale)
                               for i in range(len(slept))]


def test_an_ingest_job_is_queued_then_processed_for_its_configured_time(sf: Any) -> None:
    """A Bulk API 2.0 job is queued (UploadComplete), then InProgress while its internal
    batches of 10,000 rows run, as the guide describes; the durations are the sandbox's
    options, divided by its time-scale. The connector polls until the job is done: it used to
    be done on the second poll, whatever its size."""
    from ferry.sandbox.salesforce.bulk import BulkTiming

    # 25,000 rows: 3 internal batches, two at once: two rounds of a 10,000-row batch
    assert BulkTiming(1.0, 1000.0, 2).processing_s(25_000) == pytest.approx(20.0)
    assert BulkTiming(1.0, 1000.0, 4).processing_s(600) == pytest.approx(0.6)
    # 5 emulated s queued and 60 rows at 100 rows/s, at time-scale 10: 0.56 real seconds
    h = sf(time_scale=10.0, bulk_queue_s=5.0, bulk_rows_per_s=100.0, bulk_lanes=4)
    dest = h.dest(bulk_threshold=50, poll_initial_s=0.2, poll_max_s=0.5, time_scale=10.0)
    dest.ensure(seed_items()[4:6])
    seen = _poll_states(dest)
    h.sb.clock.freeze()  # the org's time moves by the connector's back-off alone: a loaded
    slept: list[float] = []  # machine's slow round trips neither add polls nor drop any

    def sleep(real_s: float) -> None:
        slept.append(real_s)
        h.sb.clock.advance(real_s * 10.0)

    dest.bulk.sleep = sleep
    rows = [{"Ferry_Source_Id__c": f"q{i}", "LastName": "L"} for i in range(60)]
    assert all(r.ok for r in dest.create("Contact", rows))
    # emulated seconds since the job closed, at each poll: 0, 0.2, 0.52, 1.02, 1.52 ...
    at = [10.0 * sum(slept[:i]) for i in range(len(slept) + 1)]
    assert seen == ["UploadComplete" if t < 5.0 else "InProgress" if t < 5.6 else
                    "JobComplete" for t in at]
    assert seen.count("UploadComplete") >= 5 and "InProgress" in seen  # not done at once
    polls = [r for r in _requests(h) if r.startswith("GET ") and "/jobs/ingest/750" in r
             and r.count("/") == 6]
    assert len(polls) == len(seen)
    job = h.raw().get(polls[0].split(" ", 1)[1].split("/v62.0/", 1)[1]).json()
    assert job["state"] == "JobComplete" and job["apiActiveProcessingTime"] == 600


def test_the_estimate_prices_a_bulk_jobs_wait_as_the_connector_polls(sf: Any) -> None:
    """``ferry estimate``'s wait for a Bulk job (the org's queue and processing time, rounded
    up to the client's poll schedule) against the connector's wall time for that job on the
    sandbox: 1.0 real s of processing at time-scale 4, seen done by the poll after 1.31 s of
    waits (0.05 x 1.6^k). The org's clock moves by those waits alone (frozen otherwise): the
    round trips' own time, which a loaded machine stretches, is not what the estimate prices."""
    from ferry.engine.estimate import DESTINATIONS, _bulk, job_wait

    h = sf(time_scale=4.0, bulk_queue_s=3.94, bulk_rows_per_s=1000.0, bulk_lanes=4)
    dest = h.dest(bulk_threshold=50, poll_initial_s=0.2, poll_max_s=5.0, time_scale=4.0)
    dest.ensure(seed_items()[4:6])
    lim = _bulk(replace(DESTINATIONS["salesforce"], job_queue_s=3.94), dest)
    expected = job_wait(lim, "create", 60, 4.0)
    assert expected == pytest.approx(1.31, abs=0.01)
    rows = [{"Ferry_Source_Id__c": f"w{i}", "LastName": "L"} for i in range(60)]
    seen = _poll_states(dest)
    h.sb.clock.freeze()
    slept: list[float] = []

    def sleep(real_s: float) -> None:
        slept.append(real_s)
        h.sb.clock.advance(real_s * 4.0)

    dest.bulk.sleep = sleep
    assert all(r.ok for r in dest.create("Contact", rows))
    assert seen[-1] == "JobComplete" and "JobComplete" not in seen[:-1]
    assert sum(slept) == pytest.approx(expected, abs=0.01)
