"""A newer clinic export without a patient's row: ``ferry delta`` reads it as deleted at the
source (an export has no deletions list; every row's id is listed instead), so the delta takes
the patient out of the CRM by the deletion policy. It stayed there, and reconcile still counted
it as a source record (``bench/truth.py``, clinic CSV -> Odoo). A row refused for another
reason (too few cells) is listed by its key cell: its record is not gone."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest

from ferry.engine import pipeline as P
from ferry.engine.extract import watermark
from ferry.sandbox.harness import start_pair
from ferry.settings import ConnectorSettings, save_settings
from ferry.sources.fhir_bulk import create as fhir_create


def test_a_row_gone_from_a_newer_export_is_deleted_at_the_source(tmp_path: Path) -> None:
    with start_pair(tmp_path / "p", source="clinic_csv", destination="odoo", patients=12,
                    seed=4242, env_prefix="FERRY_EXPDEL_") as pair:
        project = pair.project
        P.run_extract(project)
        store = project.store
        path = Path(pair.source_info["base_url"]) / "patients.csv"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        key = rows[0].index("Patient ID")
        short = [r[key] for r in rows[1:] if len(r) < len(rows[0])]  # a refused row
        gone = next(r[key] for r in rows[1:] if r[key].isdigit() and len(r) == len(rows[0]))
        assert store.get("patient", gone) is not None
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(r for r in rows if r[key] != gone)
        path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())
        since = {o: (dt.datetime.fromisoformat(w) if (w := watermark(store, o)) else None)
                 for o in P.registry_objects(project)}
        P.run_extract(project, since_by_object=since)
        staged = store.get("patient", gone)
        assert staged is not None and staged.deleted
        before = {r[key] for r in rows[1:] if r[key]}
        live = _staged(store, "patient")
        assert live and gone not in live and live <= before  # the others stay live
        for sid in short:  # a refused row never staged is not "deleted" either
            s = store.get("patient", sid)
            assert s is None or not s.deleted


def test_a_row_gone_from_a_newer_pulse_export_is_deleted_at_the_source(tmp_path: Path) -> None:
    """Pulse's export folder is read by the clinic export reader: the same listing applies. Its
    export carries a row with a stray quote (``BROKEN-2``): such a row was listed by no id, so
    no Pulse export ever counted as wholly listed and nothing was deleted. A row spoilt after
    its key cell is listed by that cell: its record is not gone, the removed one is."""
    with start_pair(tmp_path / "p", source="pulse", destination="odoo", patients=12,
                    seed=4242, env_prefix="FERRY_EXPDEL_") as pair:
        project = pair.project
        _, first = P.run_extract(project)
        store = project.store
        path = Path(pair.source_info["base_url"]) / "patients.csv"
        text = path.read_bytes().decode("utf-8")  # cut the row's line, every other byte kept
        lines = text.split("\r\n")
        width = len(next(csv.reader([lines[0].lstrip("\ufeff")])))
        staged = _staged(store, "patient")
        gone, spoilt = [sid for sid in sorted(staged) if sum(
            ln.startswith(f"{sid},") and len(next(csv.reader([ln]))) == width
            for ln in lines) == 1][:2]
        # ``spoilt``'s last cell gets a stray quote (as BROKEN-2's second one has)
        path.write_bytes("\r\n".join(
            ln.rsplit(",", 1)[0] + ',"2024"x' if ln.startswith(f"{spoilt},") else ln
            for ln in lines if not ln.startswith(f"{gone},")).encode("utf-8"))
        since = {o: (dt.datetime.fromisoformat(w) if (w := watermark(store, o)) else None)
                 for o in P.registry_objects(project)}
        _, delta = P.run_extract(project, since_by_object=since)
        assert delta.errors == first.errors + 1  # the spoilt row is refused
        assert delta.deleted.get("patient") == 1
        after = store.get("patient", gone)
        assert after is not None and after.deleted
        live = _staged(store, "patient")
        assert live == staged - {gone}  # the spoilt row's record stays, as staged before


def _fhir_folder_pair(tmp_path: Path, request: str):  # noqa: ANN202
    """A FHIR pair whose source is an export folder: the sandbox server's full export, copied
    out, with the manifest's ``request`` as given."""
    pair = start_pair(tmp_path / "p", source="fhir", destination="odoo", patients=12,
                      seed=4242, env_prefix="FERRY_EXPDEL_")
    try:
        server = pair.project.settings.source.options()
        src = fhir_create(server, tmp_path / "work")
        exported = asyncio.run(src.folder())
        asyncio.run(src.aclose())
        folder = tmp_path / "folder"
        shutil.copytree(exported, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps(manifest | {"request": request}))
        settings = pair.project.settings
        settings.source = ConnectorSettings(kind="fhir_bulk", mode="folder", path=str(folder))
        save_settings(settings, pair.project.settings_path)
    except BaseException:
        pair.__exit__(None, None, None)
        raise
    return pair, folder


def _drop_resource(folder: Path, rtype: str, ok=lambda _id: True) -> str:  # noqa: ANN001
    """Takes the first resource of ``rtype`` whose id is ``ok`` out of its files (a newer
    export without it)."""
    path = sorted(folder.glob(f"{rtype}.*.ndjson"))[0]
    lines = path.read_bytes().splitlines(keepends=True)
    n = next(n for n, ln in enumerate(lines) if ok(str(json.loads(ln)["id"])))
    path.write_bytes(b"".join(lines[:n] + lines[n + 1:]))
    return str(json.loads(lines[n])["id"])


def _staged(store, obj: str) -> set[str]:  # noqa: ANN001
    """The source ids staged for ``obj``."""
    return {s.source_id for b in store.iter_batches(obj) for s in b}


def _delta(project) -> object:  # noqa: ANN001
    store = project.store
    since = {o: (dt.datetime.fromisoformat(w) if (w := watermark(store, o)) else None)
             for o in P.registry_objects(project)}
    return P.run_extract(project, since_by_object=since)[1]


def test_a_resource_gone_from_a_newer_full_fhir_export_folder_is_deleted(tmp_path: Path) -> None:
    """A folder holding a full Bulk Data export (its manifest's request has no ``_since``) lists
    every resource: a patient the newer export no longer has is deleted at the delta, with the
    practitioner links read from it. The folder source only applied ``deleted*.ndjson`` (which
    only a ``_since`` export carries), so the patient stayed in the CRM."""
    pair, folder = _fhir_folder_pair(tmp_path, "https://fhir.example/$export")
    with pair:
        project = pair.project
        P.run_extract(project)
        store = project.store
        before = _staged(store, "patient")
        links = _staged(store, "practitioner_patient")
        gone = _drop_resource(folder, "Patient")
        assert gone in before and any(link.startswith(f"{gone}:") for link in links)
        # another patient made inactive (Patient.active = false): archived, not deleted
        path = sorted(folder.glob("Patient.*.ndjson"))[0]
        lines = path.read_bytes().splitlines()
        res = json.loads(lines[0])
        inactive = str(res["id"])
        assert not store.get("patient", inactive).record.archived
        res["active"] = False
        res["meta"] = {**res.get("meta", {}), "lastUpdated": dt.datetime.now(dt.UTC).isoformat()}
        path.write_bytes(b"\n".join([json.dumps(res).encode(), *lines[1:]]) + b"\n")
        stats = _delta(project)
        assert stats.deleted.get("patient") == 1
        assert store.get("patient", gone).deleted
        kept = store.get("patient", inactive)
        assert kept is not None and not kept.deleted and kept.record.archived
        assert _staged(store, "patient") == before - {gone}
        assert _staged(store, "practitioner_patient") == {
            link for link in links if not link.startswith(f"{gone}:")}


def test_a_since_fhir_export_folder_deletes_only_what_it_lists_deleted(tmp_path: Path) -> None:
    """A ``_since`` export holds only what changed: a resource it lacks is not gone. Only its
    ``deleted`` Bundles are deletions (Bulk Data IG)."""
    pair, folder = _fhir_folder_pair(
        tmp_path, "https://fhir.example/$export?_since=2020-01-01T00:00:00Z")
    with pair:
        project = pair.project
        P.run_extract(project)
        store = project.store
        before = _staged(store, "patient")
        gone = _drop_resource(folder, "Patient")
        other = sorted(before - {gone})[0]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "DELETE", "url": f"Patient/{other}"}}]}
        (folder / "deleted.000.ndjson").write_text(json.dumps(bundle) + "\n")
        stats = _delta(project)
        assert stats.deleted.get("patient") == 1
        assert _staged(store, "patient") == before - {other}


def _migrate(pair) -> None:  # noqa: ANN001
    """The pair's recipe confirmed, then extract -> prepare -> load, as make_pair's tests do."""
    from .setup_pair import approve_phi, confirm_baa, write_confirmed_recipe

    pair.project = confirm_baa(pair.project)
    write_confirmed_recipe(pair.project.mapping_path, pair.project.settings.source.kind, "odoo")
    P.run_extract(pair.project)
    P.run_prepare(pair.project)
    approve_phi(pair.project)
    P.load(pair.project)


def _gone_from_odoo(pair, gone: str) -> None:  # noqa: ANN001
    """After the delta: the patient's partner is out of the CRM (the map's delete policy), its
    source record is counted by reconcile as deleted, not missing; the CRM balances."""
    from ferry.engine.reconcile import run_reconcile

    store = pair.project.store
    record = store.dest_id("patient", gone, "res.partner")
    assert record is not None
    P.delta(pair.project)
    assert store.dest_id("patient", gone, "res.partner") is None
    r = httpx.get(pair.dest_info["base_url"] + "/_sandbox/state", timeout=120)
    partner = r.json()["models"]["res.partner"].get(record)
    assert partner is None or partner.get("active", True) is False
    rec = run_reconcile(pair.project)
    assert rec.balanced, rec.discrepancies[:5]


def test_pulse_export_delta_takes_the_removed_patient_out_of_the_crm(tmp_path: Path) -> None:
    """End to end (12 patients, so the export carries its stray-quote row): the patient the newer
    export lacks leaves Odoo at ``ferry delta`` and reconcile balances."""
    with start_pair(tmp_path / "p", source="pulse", destination="odoo", patients=12,
                    seed=4242, time_scale=2000.0, env_prefix="FERRY_EXPDEL_") as pair:
        _migrate(pair)
        path = Path(pair.source_info["base_url"]) / "patients.csv"
        lines = path.read_bytes().decode("utf-8").split("\r\n")
        width = len(next(csv.reader([lines[0].lstrip("\ufeff")])))
        store = pair.project.store
        gone = next(s.source_id for b in store.iter_batches("patient") for s in b
                    if store.dest_id("patient", s.source_id, "res.partner") and sum(
                        ln.startswith(f"{s.source_id},")
                        and len(next(csv.reader([ln]))) == width for ln in lines) == 1)
        path.write_bytes("\r\n".join(ln for ln in lines
                                     if not ln.startswith(f"{gone},")).encode("utf-8"))
        _gone_from_odoo(pair, gone)


def test_fhir_folder_delta_takes_the_removed_patient_out_of_the_crm(tmp_path: Path) -> None:
    """End to end: the patient a newer full export folder lacks leaves Odoo at ``ferry delta``
    and reconcile balances."""
    pair, folder = _fhir_folder_pair(tmp_path, "https://fhir.example/$export")
    with pair:
        _migrate(pair)
        store = pair.project.store
        gone = _drop_resource(folder, "Patient",
                              lambda i: store.dest_id("patient", i, "res.partner") is not None)
        _gone_from_odoo(pair, gone)


@pytest.mark.parametrize("cut", ["", '"'], ids=["short-row", "open-quote"])
def test_an_export_cut_short_deletes_nothing(tmp_path: Path, cut: str) -> None:
    """A file that ends inside a row (a copy cut short: its last line has no newline, the row is
    short or its quote never closes) lacks the rows after it for no reason the practice chose:
    that read lists nothing as complete, so no record is deleted by its absence."""
    with start_pair(tmp_path / "p", source="clinic_csv", destination="odoo", patients=12,
                    seed=4242, env_prefix="FERRY_EXPDEL_") as pair:
        project = pair.project
        P.run_extract(project)
        store = project.store
        staged = _staged(store, "patient")
        path = Path(pair.source_info["base_url"]) / "patients.csv"
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
        at = sorted((text.find(f"\r\n{sid},"), sid) for sid in staged)
        cut_at, sid = at[len(at) // 2]  # the staged rows after this one are cut off
        assert cut_at > 0 and len(at) - len(at) // 2 > 2
        head = text[:cut_at] + f"\r\n{sid}," + cut
        path.write_bytes(b"\xef\xbb\xbf" + head.encode() if data.startswith(b"\xef\xbb\xbf")
                         else head.encode())
        stats = _delta(project)
        assert not stats.deleted.get("patient")
        assert _staged(store, "patient") == staged


def test_a_fhir_folder_missing_a_listed_file_deletes_nothing(tmp_path: Path) -> None:
    """The manifest's ``output`` lists two Patient files and the folder has one (a file not
    copied in): its patients are not gone, so nothing is deleted by absence."""
    pair, folder = _fhir_folder_pair(tmp_path, "https://fhir.example/$export")
    with pair:
        project = pair.project
        P.run_extract(project)
        store = project.store
        before = _staged(store, "patient")
        path = sorted(folder.glob("Patient.*.ndjson"))[0]
        lines = path.read_bytes().splitlines(keepends=True)
        half = len(lines) // 2
        path.write_bytes(b"".join(lines[:half]))  # the other half was a second file
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["output"] = [{"type": "Patient", "url": f"https://fhir.example/out/{n}"}
                              for n in (1, 2)]
        (folder / "manifest.json").write_text(json.dumps(manifest))
        stats = _delta(project)
        assert not stats.deleted.get("patient")
        assert _staged(store, "patient") == before
