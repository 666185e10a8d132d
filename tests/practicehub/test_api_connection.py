"""API pages on kept-alive connections (``connectors.http.KeepAliveClient``), paced as before:
each key in its own header, the send reported to the pacer with whether it opened a
connection, a next link's query kept beside parameters, httpx behind a proxy and otherwise
never imported by a read."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ferry.connectors.http import KeepAliveClient
from ferry.sources.practicehub.client import PracticeHubClient

from .conftest import read_all


def test_pages_share_a_connection_and_rotate_keys(make_box) -> None:
    box = make_box(patients=100)
    os.environ["PH_KEY_B"] = box.creds["api_keys"][1]
    src = box.source(api_key_envs=["PH_TEST_KEY", "PH_KEY_B"], page_size=25)
    records, pages = read_all(src, "patient")
    assert len(records) == 100 and len(pages) == 4
    lean = src.client._lean
    assert lean is not None and len(lean) == 1  # one client: the sandbox, as connect_to says
    # both keys were sent, in turn, and the server knew every one (no 401 retried away)
    log = box.admin("GET", "requests")
    assert log["by_status"].get("200", 0) >= 4 and not log["by_status"].get("401")
    assert src.client.stats.network_errors == 0


def test_send_hook_says_when_a_connection_opens(make_box) -> None:
    box = make_box(patients=3)
    lean = KeepAliveClient(box.running.base_url, headers={"host": "demo.neptune.practicehub.io"})
    opened: list[bool] = []
    for _ in range(2):
        r = lean.request("GET", "/api/patients?page=1", params={"page_size": 2},
                         headers={"x-practicehub-key": box.creds["api_key"],
                                  "x-app-details": box.creds["app_details"]},
                         on_send=opened.append)
        assert r.status_code in (200, 429)
    assert opened == [True, False]  # the second reused the first's connection
    page = [e for e in box.pages() if e["resource"] == "patients"]
    assert page and page[0]["page"] == 1 and page[0]["page_size"] == 2  # both query parts
    with pytest.raises(ValueError, match="line break"):
        lean.request("GET", "/api/patients", headers={"x-practicehub-key": "k\r\nx-evil: 1"})
    lean.close()


def test_a_next_link_with_parameters_keeps_both(make_box) -> None:
    box = make_box(patients=30)
    client = PracticeHubClient(box.creds["base_url"], [box.creds["api_key"]],
                               box.creds["app_details"], connect_to=box.creds["connect_to"],
                               time_scale=box.time_scale)
    nxt = f"{box.creds['base_url']}/patients?page=2"

    async def go() -> object:
        try:
            return await client.list_page(nxt, {"page_size": 10}, "patients")
        finally:
            await client.aclose()

    lp = asyncio.run(go())
    assert [r["id"] for r in lp.data] == list(range(10_010, 10_020))  # type: ignore[attr-defined]


def test_a_proxy_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = "https://demo.neptune.practicehub.io/api"
    assert PracticeHubClient(url, ["k"], "a=b@c.d")._lean is None  # httpx honours the proxy
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("https_proxy", raising=False)
    assert PracticeHubClient(url, ["k"], "a=b@c.d")._lean == {}


def test_a_read_never_imports_httpx(make_box, tmp_path: Path) -> None:
    """httpx, httpcore and anyio cost a verb about 0.1 CPU-s to import; an extract of API
    pages and files no longer uses them (a process of its own: this one has them)."""
    box = make_box(patients=12, surface="extended")
    code = (
        "import asyncio, json, sys\n"
        "from pathlib import Path\n"
        "from ferry.sources.practicehub import create\n"
        "src = create(json.loads(sys.argv[1]), None)\n"
        "async def go():\n"
        "    n = 0\n"
        "    for obj in ('patient', 'document'):\n"
        "        async for page in src.read(obj):\n"
        "            for rec in page.records:\n"
        "                if obj == 'document':\n"
        "                    await src.fetch_file(rec, Path(sys.argv[2]) / rec.source_id)\n"
        "                n += 1\n"
        "    await src.aclose()\n"
        "    return n\n"
        "n = asyncio.run(go())\n"
        "print(json.dumps([n, sorted(m for m in ('httpx', 'httpcore', 'anyio')"
        " if m in sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(box.settings()),
                          str(tmp_path)], capture_output=True, text=True, timeout=120,
                         env={**os.environ}, check=True)
    n, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert n > 12 and imported == []
    assert list(tmp_path.iterdir())  # the files came too
