"""Every verification report is one self-contained HTML file that headless Chromium renders to
a PNG without errors (and the JSON beside it carries its documented schema id)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli.app import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1280,2000"]
PAGE_ERRORS = re.compile(r"Uncaught|CONSOLE\(|net::ERR_|Failed to load resource|"
                         r"Refused to|SyntaxError")


def screenshots(jobs: list[tuple[Path, Path, Path]], at_once: int = 4) -> list[str]:
    """Render (html, png, fresh profile dir) jobs, one Chromium each, a few in parallel."""
    logs = []
    for i in range(0, len(jobs), at_once):
        procs = [subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                                   f"--screenshot={out}", html.as_uri()],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for html, out, profile in jobs[i:i + at_once]]
        for p in procs:
            _, err = p.communicate(timeout=90)
            assert p.returncode == 0, err[-2000:]
            logs.append(err)
    return logs


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get"
                                             " install -y chromium)")
def test_reports_render_in_headless_chromium(migration, tmp_path: Path) -> None:
    pair = migration(patients=14)
    root = str(pair.project.root)
    runner = CliRunner()
    for args in (["audit"], ["guide"], ["estimate"], ["estimate", "--patients", "20000",
                                                      "--plan", "growth", "--seats", "2"],
                 ["sample", "--size", "30"], ["run"], ["reconcile"]):
        res = runner.invoke(app, [*args, "--project", root])
        assert res.exit_code == 0, (args, res.output)
    pages = sorted((pair.project.root / "reports").rglob("*.html"))
    verbs = {p.parent.name for p in pages}
    assert {"audit", "guide", "estimate", "sample", "reconcile"} <= verbs
    jobs = []
    for page in pages:
        doc = json.loads(page.with_suffix(".json").read_text())
        assert doc["schema"] == f"ferry.report/{page.parent.name}/v1"
        html = page.read_text()
        # self-contained: no scripts, no external stylesheets, images or fonts
        assert not re.search(r"<script|<link|\ssrc=|url\(", html, re.I), page.name
        if page.parent.name in ("audit", "sample", "reconcile", "estimate", "guide"):
            assert "<svg" in html
        jobs.append((page, tmp_path / f"{page.parent.name}-{page.stem}.png",
                     tmp_path / f"profile-{page.parent.name}-{page.stem}"))
    for (page, png, _), log in zip(jobs, screenshots(jobs), strict=True):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, page.name
        assert not PAGE_ERRORS.search(log), PAGE_ERRORS.search(log).group(0)  # type: ignore
    # the audit report masks PHI: no patient's last name from the source appears in it
    audit_html = (pair.project.root / "reports" / "audit" / "audit.html").read_text()
    names = {p.last_name for p in pair.practice.iter("patient") if p.last_name}
    assert not [n for n in names if len(n) > 3 and f">{n}<" in audit_html]
