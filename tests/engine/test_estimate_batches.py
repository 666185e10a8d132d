"""The estimate prices a load's creates as the load sends them: one write batch
(``options.batch_size`` records read) handed to the writer at a time (engine/load.py
``_write``), each priced by the destination for that many records."""

from __future__ import annotations

from pathlib import Path

from ferry.destinations.salesforce import Settings
from ferry.destinations.salesforce.writer import SalesforceDestination
from ferry.engine.estimate import DESTINATIONS, _writes


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
