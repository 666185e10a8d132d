"""Load benchmark for the Odoo destination: records per call, calls per 10k records, wall time.

Runs the real connector against the Odoo sandbox at the default pace (1 call/second — a vendor's
self-imposed courtesy, Odoo documents no limit) with ``--time-scale`` dividing every wait, so the
run is short; the report gives the scaled wall time and what it means at the real pace.

    .venv/bin/python bench/load_odoo.py [--records 10000] [--batch-size 100] [--time-scale 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ferry.connectors.base import SchemaItem
from ferry.connectors.registry import make_destination
from ferry.model.fields import Kind
from ferry.sandbox.odoo import build
from ferry.sandbox.registry import SandboxOptions
from ferry.sandbox.server import serve_in_thread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--time-scale", type=float, default=100.0)
    ap.add_argument("--rps", type=float, default=1.0, help="requests_per_second setting")
    ap.add_argument("--version", type=int, default=17)
    args = ap.parse_args()

    sb = build(SandboxOptions(users=["dr.grey@clinic.test"], time_scale=args.time_scale,
                              extra={"version": args.version}))
    running = serve_in_thread(sb.app)
    creds = sb.credentials(running.base_url)
    os.environ["FERRY_BENCH_ODOO_KEY"] = creds["api_key"]
    dest = make_destination("odoo", {
        "url": running.base_url, "db": creds["db"], "login": creds["login"],
        "api_key_env": "FERRY_BENCH_ODOO_KEY", "requests_per_second": args.rps,
        "batch_size": args.batch_size, "time_scale": args.time_scale},
        Path(tempfile.mkdtemp()))
    try:
        dest.ensure([SchemaItem("custom_field", obj, "ferry_source_id", "Ferry source id",
                                Kind.TEXT, external_id=True)
                     for obj in ("res.partner", "crm.lead")])
        rpc = dest.rpc  # type: ignore[attr-defined]
        n = args.records
        partners = [{"name": f"Patient {i}", "email": f"p{i}@example.test",
                     "country_id": "GB", "x_ferry_source_id": f"p{i}"} for i in range(n)]
        calls0 = rpc.total_calls
        t0 = time.monotonic()
        res = dest.create("res.partner", partners)
        t_partners = time.monotonic() - t0
        create_calls = rpc.total_calls - calls0
        ok = sum(r.ok for r in res)
        leads = [{"name": f"Visit {i}", "partner_id": res[i].dest_id, "stage_id": "New",
                  "user_id": "dr.grey@clinic.test", "x_ferry_source_id": f"a{i}"}
                 for i in range(n)]
        calls1 = rpc.total_calls
        t1 = time.monotonic()
        lres = dest.create("crm.lead", leads)
        t_leads = time.monotonic() - t1
        lead_calls = rpc.total_calls - calls1
        calls2 = rpc.total_calls
        t2 = time.monotonic()
        found = dest.find("res.partner", "x_ferry_source_id", [f"p{i}" for i in range(n)])
        t_find = time.monotonic() - t2
        find_calls = rpc.total_calls - calls2
        calls3 = rpc.total_calls
        t3 = time.monotonic()
        deleted = sum(r.ok for r in dest.delete("crm.lead", [r.dest_id for r in lres if r.ok]))
        deleted += sum(r.ok for r in dest.delete("res.partner", [r.dest_id for r in res if r.ok]))
        t_delete = time.monotonic() - t3
        delete_calls = rpc.total_calls - calls3
    finally:
        running.stop()

    def line(label: str, records: int, calls: int, wall: float) -> None:
        per_call = records / max(calls, 1)
        per10k = calls * 10_000 / max(records, 1)
        real = calls / args.rps
        print(f"{label:<22} {records:>7} rec {calls:>6} calls {per_call:>7.1f} rec/call"
              f" {per10k:>7.0f} calls/10k  {wall:>6.2f} s scaled  ~{real / 60:>6.1f} min at"
              f" {args.rps:g} req/s")

    print(f"Odoo {args.version} sandbox, batch_size={args.batch_size}, pace={args.rps:g} req/s,"
          f" time_scale={args.time_scale:g}")
    line("res.partner create", ok, create_calls, t_partners)
    line("crm.lead create", sum(r.ok for r in lres), lead_calls, t_leads)
    line("find by source id", len(found), find_calls, t_find)
    line("rollback (delete)", deleted, delete_calls, t_delete)
    total_calls = rpc.total_calls
    print(f"all calls (incl. schema, lookups): {total_calls}; at {args.rps:g} req/s the whole"
          f" load takes ~{total_calls / args.rps / 60:.1f} min of pacing, plus Odoo's own"
          f" server time per call")
    print(f"scaled wall times include the sandbox's own work; at time_scale={args.time_scale:g}"
          f" one paced call takes {1000 / args.rps / args.time_scale:g} ms")
    print(f"for comparison, one record per call would be {2 * n} create calls"
          f" = ~{2 * n / args.rps / 3600:.1f} h at {args.rps:g} req/s")


if __name__ == "__main__":
    main()
