"""Writes whose answer was lost: a gateway's 504 (the sandbox's ``late`` fault) leaves the request
running, and the org applies it just before the second request after it (by order, not time:
the connector's first look misses it, its second look finds it, a resend after one look twins
it). Every record and file must still land exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from ferry.connectors.base import SchemaItem
from ferry.model.fields import Kind

from .conftest import seed_items

LATE = "late=0.2"
SCALE = 1000.0  # the default settle of 5 s is 5 ms: the fault's order, not its time, decides


def _late_count(h: Any) -> int:
    got = httpx.get(h.base_url + "/_sandbox/faults", verify=h.creds["ca_bundle"], timeout=60)
    return int(got.json()["injected"].get("late", 0))


def _load(h: Any, tmp_path: Path, **settings: Any) -> tuple[list[Any], list[Any], str]:
    """Contacts by collections upsert (20) and by one Bulk 2.0 upsert job (40), then ten files
    on one of them, all under ``late`` faults."""
    dest = h.dest(time_scale=SCALE, bulk_threshold=30, **settings)
    dest.ensure([SchemaItem("custom_field", "Contact", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    h.faults(LATE, seed=4)
    rows = [{"LastName": f"P{i}", "Ferry_Source_Id__c": f"S{i}"} for i in range(60)]
    results = dest.create("Contact", rows[:20]) + dest.create("Contact", rows[20:])
    parent = str(results[0].dest_id)
    files = []
    for i in range(10):
        f = tmp_path / f"doc{i}.txt"
        f.write_bytes(b"z" * (200 + i))
        files.append(dest.upload("Contact", parent, f, f.name, "text/plain",
                                 {"_source_id": f"D{i}"}))
    h.faults("")
    return results, files, parent


def test_writes_landing_after_a_504_land_once(sf: Any, tmp_path: Path) -> None:
    """Upserts on the external id are idempotent by themselves; a ContentVersion insert is
    not: after a lost answer the connector looks for the file's tag, looks again after its
    settle wait, and sends it again only if it is still not there."""
    h = sf(time_scale=SCALE)
    results, files, _ = _load(h, tmp_path)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert all(r.ok for r in files), [r.error for r in files if not r.ok]
    assert _late_count(h) >= 5
    contacts = h.records("Contact")
    assert Counter(c.get("Ferry_Source_Id__c") for c in contacts) == Counter(
        {f"S{i}": 1 for i in range(60)})
    assert {r.dest_id for r in results} == {c["Id"] for c in contacts}
    versions = h.records("ContentVersion")
    assert sorted(v["Description"] for v in versions) == sorted(
        f"[ferry-id:D{i}]" for i in range(10))
    assert {r.dest_id for r in files} == {v["Id"] for v in versions}
    assert len(h.records("ContentDocument")) == len(h.records("ContentDocumentLink")) == 10


def test_bulk_jobs_whose_answers_were_cut_short_finish(sf: Any, tmp_path: Path) -> None:
    """A Bulk 2.0 job is found again by its id: an upload or ``UploadComplete`` whose answer
    was lost after the org applied it is sent again, refused (the job has its data, or is
    closed), and the job's state says the first one landed: the job goes on, never aborted."""
    h = sf(time_scale=SCALE)
    dest = h.dest(time_scale=SCALE, bulk_threshold=10)
    dest.ensure([SchemaItem("custom_field", "Contact", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    results = []
    for job in range(12):
        # a body cut short after the org answered; a 504 whose request landed before it was
        # sent (before the retry: the empty answer of an upload cannot be cut short)
        h.faults("truncate=0.3" if job % 2 else "late=0.3,late_after=0", seed=job)
        rows = [{"LastName": f"P{job}-{i}", "Ferry_Source_Id__c": f"S{job}-{i}"}
                for i in range(10)]
        results += dest.create("Contact", rows)
    h.faults("")
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert Counter(c.get("Ferry_Source_Id__c") for c in h.records("Contact")) == Counter(
        {f"S{j}-{i}": 1 for j in range(12) for i in range(10)})


def test_a_full_load_under_late_faults_lands_everything_once(tmp_path: Path) -> None:
    """PracticeHub → Salesforce through the engine (the default recipe), the load under
    ``late`` faults: every record (by its source id) and every file (by its tag) once; a
    fault-free run after it finds nothing left to create."""
    import datetime as dt
    import gc

    from ferry.engine import pipeline
    from ferry.engine.project import Project
    from ferry.mapping.mapping_file import content_hash, save
    from ferry.mapping.model import Confirmation
    from ferry.mapping.recipes import load_recipe
    from ferry.sandbox.harness import start_pair
    from ferry.settings import BaaConfirmation, load_settings, save_settings

    with start_pair(tmp_path / "proj", source="practicehub", destination="salesforce",
                    patients=10, seed=3, time_scale=1000.0, env_prefix="FERRY_SFLATE_",
                    surface="extended") as pair:
        settings = load_settings(pair.project.settings_path)  # clinical records need a BAA
        settings.baa = BaaConfirmation(confirmed=True, by="tests",
                                       at=dt.datetime.now(dt.UTC).isoformat(), reference="B")
        save_settings(settings, pair.project.settings_path)
        project = Project.at(pair.project.root)
        info = pair.dest_info
        ca = info["credentials"]["ca_bundle"]
        doc = load_recipe("practicehub", "salesforce", None)
        doc.confirmed = Confirmation(hash=content_hash(doc), by="tests",
                                     at=dt.datetime.now(dt.UTC).isoformat())
        save(doc, project.mapping_path)
        pipeline.run_extract(project)
        pipeline.run_prepare(project)

        def faults(spec: str) -> None:
            httpx.post(info["base_url"] + "/_sandbox/faults", json={"spec": spec, "seed": 5},
                       verify=ca, timeout=30).raise_for_status()

        def objects() -> dict[str, list[dict[str, Any]]]:
            got = httpx.get(info["base_url"] + "/_sandbox/state", verify=ca, timeout=60)
            return dict(got.json()["objects"])

        faults("late=0.3")
        report = pipeline.load(project)
        late = httpx.get(info["base_url"] + "/_sandbox/faults", verify=ca,
                         timeout=30).json()["injected"].get("late", 0)
        faults("")
        assert late >= 10
        totals = report.totals()
        assert totals["created"] > 50 and not totals.get("failed"), totals
        loaded = objects()
        for obj, rows in loaded.items():
            ids = Counter(r.get("Ferry_Source_Id__c") for r in rows
                          if r.get("Ferry_Source_Id__c"))
            assert not [k for k, n in ids.items() if n > 1], obj
        tags = Counter(r.get("Description") for r in loaded.get("ContentVersion", []))
        assert max(tags.values()) == 1 and len(tags) == totals["uploaded"] > 5, tags
        counts = {o: len(rows) for o, rows in loaded.items()}
        again = pipeline.load(project, kind="run")
        assert not again.totals().get("created"), again.totals()
        assert {o: len(rows) for o, rows in objects().items()} == counts
        gc.collect()  # connectors the engine opened hold TLS keep-alives the server waits on


def test_prepare_whose_creates_lost_their_answers_makes_each_once(sf: Any) -> None:
    """``prepare``'s creates are not idempotent: a permission set, its assignment, a custom
    object or field sent again after its answer was lost is refused as a duplicate (the set and
    the assignment stopped prepare; an object or field was taken for someone else's, so rollback
    left it behind). Under ``late`` faults (landing before the 504, before the re-send, after
    it) each is made once, and removing what ``ensure`` says it made leaves the org as it was."""
    h = sf(time_scale=SCALE)
    empty = h.state()
    late = 0
    # seeds whose faults hit, before this was fixed, the permission set's create (5: prepare
    # stopped on DUPLICATE_VALUE) and its assignment's (0, 4)
    for late_after, seed in [(0, 0), (0, 5), (1, 0), (1, 5), (2, 0), (2, 4)]:
        httpx.post(h.base_url + "/_sandbox/reset", verify=h.creds["ca_bundle"],
                   timeout=60).raise_for_status()
        dest = h.dest(time_scale=SCALE)
        h.faults(f"late=0.25,late_after={late_after}", seed=seed)
        made = dest.ensure(seed_items())
        late += _late_count(h)
        h.faults("")
        perms = h.state()["permissions"]
        assert [p["Name"] for p in perms["permission_sets"]] == ["Ferry_Migration"]
        assert len(perms["assignments"]) == 1
        custom = h.state()["custom_metadata"]
        assert sum(len(o["fields"]) for o in custom.values()) == len(
            [i for i in seed_items() if i.kind == "custom_field"])
        assert all(p.created for p in made), (late_after, seed)
        for p in reversed(made):
            dest.remove(p)
        after = h.state()
        assert after["custom_metadata"] == empty["custom_metadata"], (late_after, seed)
        assert not after["permissions"]["permission_sets"]
        assert not after["permissions"]["assignments"]
    assert late >= 30
