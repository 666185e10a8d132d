"""The HTML reports open with a verdict and a picture, then the detail: a small PracticeHub →
Pipedrive migration driven through the CLI (in process), its check, extract, audit, prepare,
run, review, reconcile, estimate and rollback pages opened in headless Chromium. Screenshots go to test-artifacts/ui/ (and to docs/
when FERRY_DOCS_SCREENSHOTS=1, which is how docs/report-*.png were made).

Uses Debian's /usr/bin/chromium through Playwright (never a downloaded browser).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from .conftest import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)")


def test_report_pages_open_with_a_verdict_and_a_picture(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from ferry.cli.app import app
    from ferry.sandbox.harness import start_pair

    runner = CliRunner()
    with start_pair(tmp_path / "clinic", patients=10, seed=4, time_scale=2000.0,
                    env_prefix="FERRY_UI_R_") as pair:
        root = str(pair.project.root)
        for verb in (["check"], ["extract"], ["audit"], ["map"], ["map", "--confirm"],
                     ["prepare"], ["run"], ["review", "--show", "0"], ["reconcile"],
                     ["estimate", "--cpu-share", "0.5"], ["rollback", "--yes"]):
            res = runner.invoke(app, [*verb, "-p", root], env={"COLUMNS": "80"})
            # check: BAA not confirmed is a WARN (exit 0); reconcile may find discrepancies
            assert res.exit_code in (0, 1) and res.exception is None or \
                isinstance(res.exception, SystemExit), (verb, res.output[-2000:])
            assert "next:" in res.output, (verb, res.output[-1500:])
    reports = Path(root) / "reports"
    pages = {"check": reports / "check" / "check.html",
             "extract": reports / "extract" / "extract.html",
             "prepare": reports / "prepare" / "prepare.html",
             "run": next((reports / "run").glob("*-run-*.html")),
             "reconcile": next((reports / "reconcile").glob("*.html")),
             "audit": reports / "audit" / "audit.html",
             "review": reports / "review" / "review.html",
             "estimate": reports / "estimate" / "estimate.html",
             "rollback": reports / "rollback" / "rollback.html"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            for verb, path in pages.items():
                page.goto(path.as_uri())
                verdict = page.locator(".verdict")
                assert verdict.count() == 1, verb
                text = verdict.inner_text()
                assert text.split()[0] in ("PASS", "FAIL", "DONE", "EXTRACTED", "PREPARED",
                                           "BALANCED", "NOT", "AUDITED", "WAITING",
                                           "ESTIMATE", "ROLLED"), (verb, text)
                charts = page.locator(".charts svg")
                assert charts.count() >= 1, verb
                # the verdict and the picture come before the detail
                details = page.locator("h2.details-start")
                assert details.count() == 1, verb
                top = details.bounding_box()["y"]  # type: ignore[index]
                assert verdict.bounding_box()["y"] < top  # type: ignore[index]
                assert charts.first.bounding_box()["y"] < top  # type: ignore[index]
                page.screenshot(path=str(ARTIFACTS / f"report-{verb}.png"))
                if verb in ("run", "reconcile") and os.environ.get("FERRY_DOCS_SCREENSHOTS"):
                    page.screenshot(path=str(DOCS / f"report-{verb}.png"))
            page.goto(pages["run"].as_uri())
            bars = page.locator(".charts svg").first.inner_html()
            assert "created" in bars and "<rect" in bars  # outcomes per object map
            assert page.locator(".charts svg", has_text="API cost per map").count() == 1
            assert page.locator(".charts svg", has_text="Timeline").count() == 1
            # the pages added for the walk-throughs of #18: what a rollback did, the PHI queue
            page.goto(pages["rollback"].as_uri())
            assert page.locator(".verdict").inner_text().startswith("ROLLED BACK — verified")
            assert "deleted" in page.locator(".charts svg").first.inner_html()
            page.goto(pages["review"].as_uri())
            assert page.locator(".charts svg", has_text="flagged for PHI").count() == 1
        finally:
            browser.close()


def test_reconcile_step_is_done_only_when_it_balanced(ui_app: Any) -> None:
    """The overview showed "Reconcile ✓ done" (and "Every step is done") as soon as any
    reconcile report existed, balanced or not."""
    from ferry.reports.render import write_report

    out = ui_app.project.reports_dir("reconcile")
    base = {"objects": [], "destination": [], "sums": [], "children_per_parent": [],
            "orphans": [], "by_kind": {"orphan": 3}}
    write_report(out, "reconcile", {**base, "balanced": False, "discrepancy_count": 3,
                                     "discrepancies": []}, project="t", name="r1")
    c = ui_app.client()
    row = re.search(r'data-step="reconcile">(.*?)</tr>', c.get("/").text)
    assert row and "to do" in row.group(1) and "NOT balanced" in row.group(1)
    time.sleep(0.02)  # the newer report is the one that counts
    write_report(out, "reconcile", {**base, "balanced": True, "discrepancy_count": 0,
                                     "discrepancies": []}, project="t", name="r2")
    row = re.search(r'data-step="reconcile">(.*?)</tr>', c.get("/").text)
    c.close()
    assert row and "✓ done" in row.group(1)


def test_sample_step_is_done_only_when_its_diff_passed(ui_app: Any) -> None:
    """The overview marked "Run a sample ✓ done" once a sample run had finished, whatever its
    diff said."""
    from ferry.reports.render import write_report

    store = ui_app.project.store
    run = store.start_run("sample")
    store.finish_run(run, "done", {})
    out = ui_app.project.reports_dir("sample")
    write_report(out, "sample", {"run": run, "verdict": "fail", "unexplained": 4},
                 project="t", name=run)
    c = ui_app.client()
    row = re.search(r'data-step="sample">(.*?)</tr>', c.get("/").text)
    assert row and "to do" in row.group(1) and "NOT passed" in row.group(1)
    time.sleep(0.02)
    write_report(out, "sample", {"run": run, "verdict": "pass", "unexplained": 0},
                 project="t", name=run + "-again")
    row = re.search(r'data-step="sample">(.*?)</tr>', c.get("/").text)
    c.close()
    assert row and "✓ done" in row.group(1)
