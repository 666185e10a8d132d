"""Stopping the Salesforce sandbox (served over TLS) while a client keeps an idle keep-alive
connection to it: the server's thread ends, instead of waiting for a TLS goodbye the idle client
never sends (asyncio waits 30 s for it; ``Running.stop`` gave up on the thread after 10 s, and
every test that stopped this sandbox with a client still open paid those 10 s)."""

from __future__ import annotations

import httpx

from ferry.connectors.http import KeepAliveClient
from ferry.sandbox.registry import SandboxOptions, serve


def test_an_idle_keep_alive_client_does_not_hold_the_sandboxs_stop() -> None:
    running, info = serve("salesforce", SandboxOptions())
    ca = info["credentials"]["ca_bundle"]
    pooled = httpx.Client(verify=ca, timeout=60)
    lean = KeepAliveClient(info["base_url"], cafile=ca, keepalive_s=600)
    try:
        assert pooled.get(f"{info['base_url']}/services/data").status_code < 500
        lean.request("GET", "/services/data")
        # both connections answered, still open and idle in their clients' pools
        assert len(running.server.server_state.connections) == 2
        running.stop()
        assert not running.thread.is_alive()
    finally:
        pooled.close()
        lean.close()
        running.stop()
