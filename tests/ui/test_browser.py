"""The whole flow clicked through in headless Chromium against the sandboxes (PracticeHub →
Pipedrive, 12 patients): review and change a mapping, confirm, run the sample, open its diff,
decide a PHI item, set the fallback owner, run, roll back. Screenshots of each step are written
to test-artifacts/ui/ (git-ignored) for people to look at.

Uses Debian's /usr/bin/chromium through Playwright (never a downloaded browser).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)")


@pytest.fixture
def flow(tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is a dev dependency (pip install -e .[dev])")
    served = serve(tmp_path, patients=12, prefix="FERRY_UI_B_")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        try:
            yield served, page
        finally:
            browser.close()
            served.server.stop()
            served.pair.close()


FINISHED = ("() => { const e = document.getElementById('job-status');"
            " return e !== null && ['done', 'failed'].includes(e.textContent); }")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def flash(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def submit(page, button) -> None:
    """Click a form's button and wait for the page the POST redirects to."""
    with page.expect_navigation():
        button.click()


def start(page, url: str, verb: str, timeout: float = 90_000, size: int | None = None) -> str:
    """Click a step's button on the Run page and wait for its job; returns its summary."""
    page.goto(f"{url}/runs")
    if size is not None:
        page.locator('#sample-form input[name="size"]').fill(str(size))
    submit(page, page.locator(f'button[data-verb="{verb}"]'))
    page.wait_for_function(FINISHED, timeout=timeout)
    status = page.text_content("#job-status")
    assert status == "done", (verb, page.text_content("#job-error"))
    return page.text_content("#job-message") or ""


def assert_no_patient_values(page, served) -> None:
    """Outside the PHI review page no patient's name, email or date of birth is rendered."""
    store = served.project.store
    values = set()
    for p in store.iter_records("patient"):
        values |= {f"{p.first_name} {p.last_name}", p.email or "", p.mrn or "",
                   p.date_of_birth.isoformat() if p.date_of_birth else ""}
    values = {v for v in values if len(v) > 5}
    assert len(values) > 30
    pages = ["/", "/mapping", "/owners", "/runs", "/reports", "/audit", "/guide", "/rollback"]
    for r in store.runs():
        for verb in ("sample", "run", "reconcile"):
            if (served.project.root / "reports" / verb / f"{r.run_id}.json").exists():
                pages.append(f"/reports/view?path={verb}/{r.run_id}.json")
    for path in pages:
        page.goto(served.url + path)
        html = page.content()
        leaked = [v for v in values if v in html]
        assert not leaked, (path, len(leaked))


def test_migration_clicked_through(flow) -> None:
    served, page = flow
    url = served.url
    page.goto(f"{url}/")
    assert page.locator("h1").inner_text() == "Log in"  # no token, no access
    page.goto(f"{url}/login?token={served.token}")
    assert "clinic-migration" in page.locator("h1").inner_text()
    shot(page, "01-overview")

    assert re.search(r"check: \d+ of \d+ ok", start(page, url, "check"))
    assert "staged" in start(page, url, "extract")
    assert "object maps" in start(page, url, "propose")

    # review: the proposed map, every field beside its target, confidence, reason, samples
    page.goto(f"{url}/mapping")
    assert page.get_attribute("#map-state", "data-state") == "unconfirmed"
    assert page.locator("tr[data-map]").count() > 50
    shot(page, "02-mapping-review")
    # create a custom field and point a field at it
    form = page.locator("#new-custom-field")
    form.locator('input[name="object"]').fill("organization")
    form.locator('input[name="name"]').fill("industry_label")
    form.locator('input[name="label"]').fill("Industry (as text)")
    form.locator('select[name="kind"]').select_option("text")
    submit(page, form.locator("button"))
    assert "custom:industry_label" in flash(page)
    page.eval_on_selector("#map-clinic_organization", "e => e.open = true")
    row = page.locator('tr[data-map="clinic_organization"]').filter(
        has=page.locator('input[name="target"][value="industry"]'))
    row.locator('input[name="target"]').fill("custom:industry_label")
    row.locator('input[name="reason"]').fill("kept as text: the CRM's industry is a pick-list")
    submit(page, row.locator("button"))
    assert "saved to mapping.yaml" in flash(page)
    # edit a value map: one more source spelling onto an existing destination option
    page.eval_on_selector("#map-patient_person", "e => e.open = true")
    sex = page.locator('tr[data-map="patient_person"][data-source="sex"]')
    page.goto(url + sex.locator('a[href^="/mapping/value-map"]').get_attribute("href"))
    box = page.locator('#value-map-form textarea[name="value_map"]')
    assert "female = Female" in box.input_value()
    box.fill(box.input_value() + "\nu = Unknown")
    shot(page, "03-value-map")
    submit(page, page.locator("#value-map-form button"))
    assert "value map of sex saved" in flash(page), flash(page)
    text = served.project.mapping_path.read_text()
    assert text.startswith("# Ferry mapping") and "target: custom:industry_label" in text
    assert "u: Unknown" in text
    # confirm: the same validation and stamp as `ferry map --confirm`
    page.locator('#confirm-form input[name="by"]').fill("Dr UI Tester")
    submit(page, page.locator("#confirm-form button"))
    assert "Confirmed mapping.yaml" in flash(page), flash(page)
    assert page.get_attribute("#map-state", "data-state") == "confirmed"
    shot(page, "04-mapping-confirmed")

    assert "schema items" in start(page, url, "prepare")
    assert "flagged" in start(page, url, "scan")

    # owners: assign the fallback owner
    page.goto(f"{url}/owners")
    page.locator('#fallback-form select').select_option(index=0)
    submit(page, page.locator("#fallback-form button"))
    assert "Fallback owner set" in flash(page), (flash(page), page.content()[-3000:])
    shot(page, "04b-owners")

    # sample and its diff
    msg = start(page, url, "sample", size=40)
    assert re.search(r"sample .*: \d+ records", msg), msg
    shot(page, "05-sample-job")
    submit(page, page.locator("#job-reports a", has_text=".json").first)
    assert page.locator("#report-rows").count() == 1
    page.locator('select[name="table"]').select_option("differences")
    submit(page, page.locator("#report-filters button"))
    if page.locator('select[name="f_category"]').count():
        page.locator('select[name="f_category"]').select_option(index=1)
        submit(page, page.locator("#report-filters button"))
    assert re.match(r"\d+ of \d+ row", page.text_content("#matched") or "")
    shot(page, "06-sample-diff")
    page.goto(f"{url}/reports?verb=sample")
    submit(page, page.locator("a.html").first)
    assert "Sample migration diff" in page.content()

    # PHI review: highlighted spans, decide one item, one bulk rule
    page.goto(f"{url}/phi")
    page.locator('#reviewer-form input[name="reviewer"]').fill("Nurse Reviewer")
    submit(page, page.locator("#reviewer-form button"))
    item = page.locator("article.phi-item").first
    assert item.locator("mark.phi").count() >= 1
    ref = item.get_attribute("data-ref")
    shot(page, "07-phi-queue")
    submit(page, item.locator("button.d-exclude"))
    assert "exclude" in flash(page)
    page.goto(f"{url}/phi?status=exclude")
    assert page.locator(f'article[data-ref="{ref}"]').count() == 1
    from ferry.phi import queue

    obj, sid = ref.split(":")[1:]
    assert {it.status for it in queue.items(served.project.store) if it.object == obj
            and it.source_id == sid} == {"exclude"}
    page.goto(f"{url}/phi")
    page.locator("#bulk summary").click()
    page.locator('#bulk select[name="decision"]').select_option("redact")
    page.locator('#bulk select[name="object"]').select_option("message")
    submit(page, page.locator("#bulk button"))
    assert "Rule applied: redact" in flash(page), page.url
    shot(page, "08-phi-decided")

    # the full run, with live progress
    msg = start(page, url, "run")
    created = int(re.search(r"created (\d+)", msg).group(1))  # type: ignore[union-attr]
    assert created > 30, msg
    assert page.locator("#job-progress tbody tr").count() > 5
    shot(page, "09-run")
    page.goto(f"{url}/audit?op=create&kind=done")
    assert int((page.text_content("#matched") or "0").split()[0]) >= created
    # reconciliation and its discrepancy log, filtered; the rebuild guide
    assert "reconcile:" in start(page, url, "reconcile")
    submit(page, page.locator("#job-reports a", has_text=".json").first)
    page.locator('select[name="table"]').select_option("objects")
    submit(page, page.locator("#report-filters button"))
    assert re.match(r"\d+ of \d+ row", page.text_content("#matched") or "")
    shot(page, "10-reconcile")
    page.goto(f"{url}/guide")
    assert page.locator("h1").inner_text().startswith("Rebuild guide")
    page.goto(f"{url}/")
    shot(page, "10b-overview-after-run")
    assert_no_patient_values(page, served)

    # rollback: shows what it will undo, refuses without the project's name
    page.goto(f"{url}/rollback")
    assert int(page.text_content("#undo-total") or "0") >= created
    shot(page, "11-rollback-preview")
    page.locator('#rollback-form input[name="confirm_name"]').fill("wrong name")
    submit(page, page.locator("#rollback-form button"))
    assert "Nothing was done" in flash(page)
    assert served.app.state.ui.jobs.current.verb == "reconcile"  # no rollback started
    page.locator('#rollback-form input[name="confirm_name"]').fill("clinic-migration")
    submit(page, page.locator("#rollback-form button"))
    page.wait_for_function(FINISHED, timeout=90_000)
    msg = page.text_content("#job-message") or ""
    assert page.text_content("#job-status") == "done", page.text_content("#job-error")
    assert "— verified" in msg, msg
    shot(page, "12-rolled-back")
    from ferry.engine.pipeline import open_destination

    dest = open_destination(served.project)
    try:
        assert [o for o in ("person", "deal", "note", "organization")
                if any(True for _ in dest.iter_ids(o))] == []  # the destination is empty again
    finally:
        dest.close()
