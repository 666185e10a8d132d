"""Load benchmark for the Salesforce destination: API calls per 10k records, wall time, peak RSS.

    .venv/bin/python bench/load_salesforce.py [--contacts 100000] [--batch 10000]

The sandbox runs in its own process (``ferry sandbox serve salesforce``) so the RSS figure is the
connector's alone. The connector provisions the seed-002 schema, then loads contacts (patients)
and, per contact, related rows — a Treatment_Record__c (lookup to the contact by id), a Task and
an Event (WhoId) — in batches of ``--batch`` rows as the engine hands them over, so Bulk API 2.0
carries everything at or above the bulk threshold. Every row is upserted on Ferry_Source_Id__c;
``--rerun`` loads the contacts a second time to show a re-run creates nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ferry.connectors.base import SchemaItem
from ferry.destinations.salesforce import create
from ferry.model.fields import Kind


def start_sandbox(extra_args: list[str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "ferry", "sandbox", "serve", "salesforce",
                             "--users", "dr.ada@clinic.example", *extra_args],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("sandbox did not start")
    return proc, json.loads(line)


def schema() -> list[SchemaItem]:
    def f(obj: str, name: str, kind: Kind, **kw: Any) -> SchemaItem:
        return SchemaItem("custom_field", obj, name, name.replace("_", " ").title(), kind, **kw)

    return [SchemaItem("custom_object", "Treatment_Record__c", "Treatment_Record__c",
                       "Treatment Record"),
            *(f(o, "ferry_source_id", Kind.TEXT, external_id=True)
              for o in ("Contact", "Task", "Event", "Treatment_Record__c")),
            f("Contact", "mrn", Kind.TEXT), f("Contact", "source_created_at", Kind.DATETIME),
            f("Treatment_Record__c", "diagnosis_code", Kind.TEXT),
            f("Treatment_Record__c", "treatment_date", Kind.DATE),
            f("Treatment_Record__c", "patient", Kind.REF, ref="Contact")]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args()

    proc, info = start_sandbox([])
    creds = info["credentials"]
    os.environ["BENCH_SF_ID"] = creds["client_id"]
    os.environ["BENCH_SF_SECRET"] = creds["client_secret"]
    work = Path(tempfile.mkdtemp(prefix="ferry-bench-sf-"))
    dest = create({"login_url": info["base_url"], "client_id_env": "BENCH_SF_ID",
                   "client_secret_env": "BENCH_SF_SECRET", "ca_bundle": creds["ca_bundle"],
                   "poll_initial_s": 0.05, "poll_max_s": 0.5}, work)
    figures: dict[str, dict[str, float]] = {}
    try:
        t0 = time.monotonic()
        dest.ensure(schema())
        figures["provision"] = {"rows": 0, "calls": dest.client.calls,
                                "seconds": time.monotonic() - t0}
        start = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
        ok = failed = 0

        def load(name: str, obj: str, make: Any, total: int) -> list[str]:
            nonlocal ok, failed
            calls0, t = dest.client.calls, time.monotonic()
            ids: list[str] = []
            for lo in range(0, total, args.batch):
                rows = [make(i) for i in range(lo, min(lo + args.batch, total))]
                for r in dest.create(obj, rows):
                    ok += r.ok
                    failed += not r.ok
                    if r.ok and r.dest_id:
                        ids.append(r.dest_id)
            figures[name] = {"rows": total, "calls": dest.client.calls - calls0,
                             "seconds": time.monotonic() - t}
            return ids

        n = args.contacts
        contact = load("Contact", "Contact", lambda i: {
            "Ferry_Source_Id__c": f"pat-{i}", "FirstName": "Pat", "LastName": f"Doe{i}",
            "Email": f"pat{i}@example.org", "Birthdate": dt.date(1980, 1, 1 + i % 28),
            "Mrn__c": f"MRN{i:07}", "Source_Created_At__c": start}, n)
        load("Treatment_Record__c", "Treatment_Record__c", lambda i: {
            "Ferry_Source_Id__c": f"tr-{i}", "Patient__c": contact[i],
            "Diagnosis_Code__c": "M54.5", "Treatment_Date__c": dt.date(2025, 1, 6)}, n)
        load("Task", "Task", lambda i: {
            "Ferry_Source_Id__c": f"task-{i}", "Subject": "Follow-up call", "WhoId": contact[i],
            "Status": "Completed", "ActivityDate": dt.date(2025, 1, 7)}, n)
        load("Event", "Event", lambda i: {
            "Ferry_Source_Id__c": f"ev-{i}", "Subject": "Visit", "WhoId": contact[i],
            "StartDateTime": start, "DurationInMinutes": 30}, n)
        if args.rerun:
            load("Contact (re-run)", "Contact", lambda i: {
                "Ferry_Source_Id__c": f"pat-{i}", "LastName": f"Doe{i}"}, n)
        used, limit = dest.client.usage or (0, 0)
    finally:
        dest.close()
        proc.terminate()
        proc.wait(timeout=10)

    rows = sum(f["rows"] for f in figures.values())
    calls = sum(f["calls"] for k, f in figures.items() if k != "provision")
    wall = sum(f["seconds"] for f in figures.values())
    print(f"{'object':<22}{'rows':>9}{'calls':>8}{'calls/10k':>11}{'seconds':>9}{'rows/s':>9}")
    for name, f in figures.items():
        per = f["calls"] / f["rows"] * 10_000 if f["rows"] else 0
        rate = f["rows"] / f["seconds"] if f["rows"] else 0
        print(f"{name:<22}{int(f['rows']):>9}{int(f['calls']):>8}{per:>11.1f}"
              f"{f['seconds']:>9.1f}{rate:>9.0f}")
    print(f"total rows {rows}, ok {ok}, failed {failed}; load calls {calls}"
          f" ({calls / rows * 10_000:.1f} per 10k records); wall {wall:.1f} s;"
          f" peak RSS {rss_mb():.0f} MB; org API usage {used}/{limit}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
