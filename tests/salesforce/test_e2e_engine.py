"""End to end through the engine: PracticeHub sandbox → Salesforce sandbox with the default
recipe (seed 002): prepare provisions the custom objects and fields, the load lands every
object, a re-run duplicates nothing, and rollback leaves the org as it was."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    from ferry.sandbox import profiles
    from ferry.sandbox.harness import start_pair

    if "practicehub" not in profiles.PROFILES or "salesforce" not in profiles.PROFILES:
        pytest.skip("sandbox profiles missing")
    with start_pair(tmp_path / "proj", source="practicehub", destination="salesforce",
                    patients=12, seed=3, time_scale=1000.0, env_prefix="FERRY_SFE2E_",
                    surface="extended") as p:  # treatment records: an assumed endpoint
        yield p
        gc.collect()  # connectors the engine opened hold TLS keep-alives the server waits on


def _state(info: dict[str, Any]) -> dict[str, Any]:
    return httpx.get(info["base_url"] + "/_sandbox/state", timeout=30,
                     verify=info["credentials"]["ca_bundle"]).json()


def _data(state: dict[str, Any]) -> dict[str, int]:
    skip = {"User", "PermissionSet", "FieldPermissions", "ObjectPermissions",
            "PermissionSetAssignment"}
    return {o: len(rows) for o, rows in state["objects"].items() if o not in skip and rows}


def test_practicehub_to_salesforce_run_rerun_rollback(pair: Any) -> None:
    from ferry.engine import pipeline
    from ferry.engine.project import Project
    from ferry.mapping.mapping_file import content_hash, save
    from ferry.mapping.model import Confirmation
    from ferry.mapping.recipes import load_recipe
    from ferry.settings import BaaConfirmation, load_settings, save_settings

    settings = load_settings(pair.project.settings_path)  # clinical records need a BAA
    settings.baa = BaaConfirmation(confirmed=True, by="tests",
                                   at=dt.datetime.now(dt.UTC).isoformat(), reference="BAA-1")
    save_settings(settings, pair.project.settings_path)
    project = Project.at(pair.project.root)
    info = pair.dest_info
    before = _state(info)
    doc = load_recipe("practicehub", "salesforce", None)
    doc.confirmed = Confirmation(hash=content_hash(doc), by="tests",
                                 at=dt.datetime.now(dt.UTC).isoformat())
    save(doc, project.mapping_path)
    pipeline.run_extract(project)
    _, provisioned = pipeline.run_prepare(project)
    assert sum(p.created for p in provisioned) > 50
    meta = _state(info)["custom_metadata"]
    assert {"Treatment_Record__c", "Insurance_Record__c", "Invoice__c",
            "Practitioner_Patient_Relationship__c"} <= set(meta)

    report = pipeline.load(project)
    totals = report.totals()
    assert totals["created"] > 50, totals
    loaded = _data(_state(info))
    assert loaded.get("Contact", 0) >= 12 and loaded.get("Treatment_Record__c", 0) > 0, loaded
    assert loaded.get("Task", 0) + loaded.get("Event", 0) > 0, loaded
    skipped = totals.get("skipped", 0)
    assert skipped <= totals["created"] // 10, totals

    again = pipeline.load(project, kind="run")
    assert _data(_state(info)) == loaded  # nothing duplicated
    assert again.totals().get("created", 0) == 0 or again.totals() != totals

    result = pipeline.run_rollback(project)
    assert not result.failures, result.failures[:5]
    after = _state(info)
    assert _data(after) == _data(before)
    assert not after["custom_metadata"]
