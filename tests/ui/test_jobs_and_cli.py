"""The job runner (one job at a time, rates from the engine's progress, errors without values)
and the `ferry ui` command itself (binds 127.0.0.1, prints a login link, refuses without it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from ferry.errors import MappingError
from ferry.ui.jobs import Busy, Jobs


def test_one_job_at_a_time_and_errors_without_values() -> None:
    jobs = Jobs()
    gate = [True]

    def slow(job):
        for i in range(1, 4):
            job.progress("patient_person", i * 10, 30)
            time.sleep(0.05)
        while gate[0]:
            time.sleep(0.01)
        return "done it", ["run/x.html"]

    first = jobs.start("run", slow)
    with pytest.raises(Busy):
        jobs.start("sample", slow)
    gate[0] = False
    assert jobs.wait(10) is first and first.status == "done"
    d = first.as_dict()
    assert d["message"] == "done it" and d["reports"] == ["run/x.html"]
    (p,) = d["progress"]
    assert p["done"] == 30 and p["total"] == 30 and p["rate"] > 0 and p["eta_s"] == 0

    def leaky(job):
        raise ValueError("patient Jane Doe born 1970-01-01")  # a value in a message

    jobs.start("run", leaky)
    failed = jobs.wait(10)
    assert failed is not None and failed.status == "failed"
    assert "Jane" not in failed.error and failed.error.startswith("ValueError")

    def refused(job):
        raise MappingError("mapping.yaml is not confirmed")

    jobs.start("run", refused)
    assert "not confirmed" in jobs.wait(10).error  # FerryErrors carry no values: shown


def test_ferry_ui_command_serves_on_loopback_with_a_token(ui_app) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ferry", "ui", "-p", str(ui_app.project.root),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        out = ""
        deadline = time.monotonic() + 60
        while "token=" not in out and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            out += line
        m = re.search(r"(http://127\.0\.0\.1:\d+)/login\?token=(\S+)", out)
        assert m, out
        base, token = m.groups()
        deadline = time.monotonic() + 60  # (a loaded machine starts the server late)
        while True:
            try:
                assert httpx.get(f"{base}/", timeout=60).status_code == 401
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        c = httpx.Client(base_url=base, timeout=60)
        assert c.get("/login", params={"token": token}).status_code == 303
        assert c.get("/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
