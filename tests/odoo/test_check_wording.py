"""``ferry check``'s reachable line names the protocol the connector speaks (it said "answers
XML-RPC" to a newcomer whose ferry.yaml had the default, JSON-RPC)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.odoo.test_connector import connect

from ferry.destinations.odoo.rpc import PROTOCOLS


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_reachable_names_the_protocol_in_use(odoo_factory: Any, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, protocol: str) -> None:
    dest = connect(odoo_factory(17), monkeypatch, tmp_path, protocol=protocol)
    try:
        line = next(c for c in dest.check() if c.name == "reachable")
    finally:
        dest.close()
    wire = {"jsonrpc": "JSON-RPC", "xmlrpc": "XML-RPC"}[protocol]
    assert line.ok and line.detail.endswith(f"answers {wire} (setting protocol: {protocol})")
