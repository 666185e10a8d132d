"""Delta pickup: records changed, added and deleted while the source runs are all reported."""

from __future__ import annotations

import datetime as dt
import time

from .conftest import read_all


def test_delta_reports_changes_additions_and_deletions(make_box):
    # with the assumed /deleted lists; a UTC practice, so records compare as JSON
    box = make_box(patients=150, surface="extended", timezone="UTC")
    first, pages = read_all(box.source(), "patient")
    assert len(first) == 150
    since = dt.datetime.fromisoformat(pages[0].watermark)
    time.sleep(1.1)  # the watermark has one-second resolution; mutate strictly after it
    out = box.admin("POST", "mutate", json={"resources": {
        "patients": {"updates": 5, "creates": 3, "deletes": 2, "seed": 4},
        "appointments": {"updates": 2, "deletes": 1, "seed": 5}}})
    changed, delta_pages = read_all(box.source(), "patient", since=since)
    got = {r.source_id for r in changed}
    p = out["patients"]
    assert got == {str(i) for i in p["updated"] + p["created"]}
    assert {d for pg in delta_pages for d in pg.deleted_ids} == {str(i) for i in p["deleted"]}
    assert all(r.occupation.startswith(("changed", "created")) for r in changed)  # type: ignore[attr-defined]
    assert delta_pages[-1].done and not delta_pages[0].done
    # the changed rows equal what the sandbox now holds, field for field
    held = {r["source_id"]: r for r in box.admin("GET", "records/patients")["records"]}
    assert len(held) == 150 + 3 - 2
    for rec in changed:  # (a mixed-format DOB reads day-first: see test_extract.expected)
        mine = rec.model_dump(mode="json", exclude={"date_of_birth"})
        assert mine == {k: v for k, v in held[rec.source_id].items() if k != "date_of_birth"}
    a = out["appointments"]
    appts, apages = read_all(box.source(), "appointment", since=since)
    assert {r.source_id for r in appts} == {str(i) for i in a["updated"]}
    assert {d for pg in apages for d in pg.deleted_ids} == {str(i) for i in a["deleted"]}
    # a full read after the changes sees the account as it now is
    after, _ = read_all(box.source(), "patient")
    assert {r.source_id for r in after} == set(held)


def test_delta_resumes_in_its_deletions_phase(make_box):
    box = make_box(patients=20, surface="extended")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    box.admin("POST", "mutate", json={"updates": 1, "deletes": 1, "seed": 1})
    _, pages = read_all(box.source(), "patient", since=since)
    assert len(pages) == 2 and pages[0].deleted_ids == [] and len(pages[1].deleted_ids) == 1
    _, rest = read_all(box.source(), "patient", since=since, checkpoint=pages[0].checkpoint)
    assert len(rest) == 1 and rest[0].deleted_ids == pages[1].deleted_ids


def test_engine_delta_pass_stages_changes_and_deletions(make_box, tmp_path):
    import asyncio

    from ferry.engine.extract import aextract, watermark
    from ferry.model.staging import StagingStore

    box = make_box(patients=120)
    store = StagingStore(tmp_path / "s.db")
    asyncio.run(aextract(box.source(), store, run_id="full", objects=["patient"]))
    assert store.count("patient") == 120
    wm = watermark(store, "patient")
    assert wm is not None
    time.sleep(1.1)
    out = box.admin("POST", "mutate", json={"updates": 4, "creates": 2, "deletes": 3,
                                            "seed": 8})["patients"]
    stats = asyncio.run(aextract(box.source(), store, run_id="delta", objects=["patient"],
                                 since=dt.datetime.fromisoformat(wm)))
    assert store.count("patient") == 120 + 2 - 3
    assert stats.deleted["patient"] == 3
    for rid in out["updated"] + out["created"]:
        rec = store.get("patient", str(rid))
        assert rec is not None and rec.record.occupation.startswith(("changed", "created"))  # type: ignore[attr-defined]
    assert watermark(store, "patient") > wm


def test_a_delta_with_deletions_off_says_it_cannot_see_them(make_box, tmp_path):
    """``deletions: off`` reads only changes: the delta names each object whose deletions it
    did not look for, rather than report 0 deleted."""
    import asyncio

    from ferry.engine.extract import aextract
    from ferry.model.staging import StagingStore

    box = make_box(patients=20)
    store = StagingStore(tmp_path / "s.db")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    stats = asyncio.run(aextract(box.source(deletions="off"), store, run_id="d",
                                 objects=["patient"], since=since))
    assert "deletions: off" in stats.deletions_unseen["patient"]
    full = asyncio.run(aextract(box.source(), store, run_id="d2", objects=["patient"],
                                since=since))
    assert not full.deletions_unseen
