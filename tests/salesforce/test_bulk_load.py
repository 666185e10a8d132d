"""A Salesforce load of thousands of rows goes through Bulk API 2.0 (issue 20): the engine hands
the destination a whole write batch (``options.batch_size``), and the loader sends it as a
Bulk ingest job once it reaches ``bulk_threshold`` rows (it used to get 200 rows at most, so
no load ever used Bulk 2.0)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from setup_pair import make_pair

    from ferry.mapping import mapping_file
    from ferry.mapping.validate import confirm_file

    p = make_pair(tmp_path / "proj", destination="salesforce", patients=60, seed=3,
                  time_scale=1e6, env_prefix="FERRY_SFBULK_")
    doc = mapping_file.load(p.project.mapping_path)  # people and appointments are enough
    doc.objects = [om for om in doc.objects if om.source in ("clinic", "practitioner",
                                                             "patient", "appointment")]
    kept = {om.target for om in doc.objects}
    doc.custom_fields = {o: f for o, f in doc.custom_fields.items() if o in kept}
    mapping_file.save(doc, p.project.mapping_path)
    confirm_file(p.project.mapping_path, by="tests")
    try:
        yield p
    finally:
        # first: connectors the engine opened hold TLS keep-alives the server's stop waits on
        # (up to its 10 s join, each test: collected after the stop, they were closed too late)
        gc.collect()
        p.stop()


@pytest.mark.parametrize("read_chunk", [None, 50])
def test_a_write_batch_past_the_bulk_threshold_is_one_bulk_job(
        pair: Any, read_chunk: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also when the engine reads and builds fewer records at a time than it writes (the
    load's peak memory is one read, not one write batch): the write batch stays whole."""
    from ferry.engine import load as engine_load
    from ferry.engine import pipeline
    from ferry.engine.project import Project
    from ferry.settings import load_settings, save_settings

    settings = load_settings(pair.project.settings_path)
    settings.options.batch_size = 400
    settings.destination.__pydantic_extra__["bulk_threshold"] = 201
    save_settings(settings, pair.project.settings_path)
    project = Project.at(pair.project.root)
    pipeline.run_extract(project)
    pipeline.run_prepare(project)
    appointments = project.store.count("appointment")
    assert 201 <= appointments <= 400  # one write batch, past the threshold
    info = pair.dest_info
    url = info["base_url"] + "/_sandbox/requests"
    seen = httpx.get(url, timeout=30, verify=info["credentials"]["ca_bundle"]).json()["count"]
    if read_chunk is not None:  # reads of 50: a write per read would never reach Bulk 2.0
        monkeypatch.setattr(engine_load, "READ_CHUNK", read_chunk)
    report = pipeline.load(project, hold=lambda om, rec: None)
    assert report.totals()["created"] > appointments
    log = httpx.get(url, timeout=30, verify=info["credentials"]["ca_bundle"]).json()[
        "requests"][seen:]
    jobs = [r for r in log if r["method"] == "POST" and r["path"].endswith("/jobs/ingest")]
    assert jobs, "no Bulk API 2.0 job: every row went through sObject Collections"
