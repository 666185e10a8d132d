"""Client CPU per JSON call against the Pipedrive sandbox: httpx against leaner clients.

The sandbox runs in a child process; each client makes the same ``POST /api/v2/persons`` on a
kept-alive connection, and the figure is the calling thread's CPU (``time.thread_time``) per
call. Rounds are interleaved (client A, B, C..., then again), so the machine's load falls on
every client alike; the median round is printed.

    .venv/bin/python bench/http_clients.py [--calls 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import Any

import httpx

SERVER = """
import json, sys, time
from ferry.sandbox.registry import SandboxOptions, serve
run, info = serve("pipedrive", SandboxOptions(seed=1, time_scale=1e6))
print(json.dumps(info), flush=True)
sys.stdin.read()
"""
# (no custom field: the sandbox refuses a key it does not know, and the bench would time 400s)
BODY = {"name": "Ann Example", "emails": [{"value": "a@example.com", "primary": True}],
        "phones": [{"value": "+15551234567", "primary": True, "label": "mobile"}]}


class _NoCookies(CookieJar):
    def extract_cookies(self, *_: Any) -> None:
        return None


def clients(base: str, token: str) -> dict[str, Callable[[], Any]]:
    from ferry.connectors.http import KeepAliveClient, make_client

    hdrs = {"x-api-token": token, "accept": "application/json"}
    path = "/api/v2/persons"
    hx = make_client(base, headers=hdrs, cookies=False)  # what the Pipedrive client used
    transport = httpx.HTTPTransport()
    import urllib3

    host, port = base.split("//")[1].split(":")
    pool = urllib3.HTTPConnectionPool(host, int(port))
    conn = http.client.HTTPConnection(host, int(port))
    lean = KeepAliveClient(base, headers=hdrs)

    def via_httpx() -> Any:
        return hx.post(path, json=BODY).json()

    def via_transport() -> Any:
        req = httpx.Request("POST", base + path, headers=hdrs, json=BODY)
        r = transport.handle_request(req)
        return json.loads(r.read())

    def via_urllib3() -> Any:
        r = pool.request("POST", path, body=json.dumps(BODY).encode(),
                         headers={**hdrs, "content-type": "application/json"})
        return json.loads(r.data)

    def via_http_client() -> Any:
        conn.request("POST", path, body=json.dumps(BODY).encode(),
                     headers={**hdrs, "content-type": "application/json"})
        return json.loads(conn.getresponse().read())

    def via_keepalive() -> Any:
        return lean.request("POST", path, json=BODY).json()

    from ferry.destinations.pipedrive.client import PipedriveClient

    pd = PipedriveClient(base, token, burst=10**6, daily_budget=10**9, time_scale=1e6)

    def via_pipedrive_client() -> Any:  # the keep-alive client plus pacing, tokens, ledger
        return pd.call("v2", "POST", "/persons", json_body=BODY, safe_retry=False)

    return {"httpx.Client (Ferry's make_client, no cookies)": via_httpx,
            "httpx.HTTPTransport directly": via_transport,
            "urllib3 HTTPConnectionPool": via_urllib3,
            "http.client, one connection": via_http_client,
            "connectors.http.KeepAliveClient": via_keepalive,
            "PipedriveClient.call (what a record costs)": via_pipedrive_client}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    srv = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout is not None
        info = json.loads(srv.stdout.readline())
        fns = clients(info["base_url"], info["credentials"]["api_token"])
        httpx.post(info["base_url"] + "/api/v2/persons", json=BODY, timeout=120,
                   headers={"x-api-token": info["credentials"]["api_token"]})  # warm the server
        per: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(args.rounds):
            for name, fn in fns.items():
                for _ in range(20):
                    fn()
                t0 = time.thread_time()
                for _ in range(args.calls):
                    fn()
                per[name].append(1000 * (time.thread_time() - t0) / args.calls)
        print(f"client CPU per POST, median of {args.rounds} interleaved rounds of"
              f" {args.calls} calls")
        assert fns["connectors.http.KeepAliveClient"]()["success"], "the sandbox refused it"
        for name, ms in per.items():
            print(f"  {name:<48} {statistics.median(ms):6.3f} ms"
                  f"  (rounds: {', '.join(f'{m:.3f}' for m in ms)})")
    finally:
        srv.kill()


if __name__ == "__main__":
    main()
