"""Files stream to disk with size and checksum (expired links refreshed); check and describe."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest

from ferry.errors import FatalError
from ferry.sandbox.synth import Practice

from .conftest import read_all


def expired_links(make_box):
    """A 12-patient practice's documents read, then four small ones whose listed links have
    all expired: (box, source, docs, those four). /files/{id} (a fresh link) is an assumed
    endpoint: extended surface. A link lives 1000 real s at time scale 1000; the listed ones
    expire by the sandbox's clock moved past their lifetime (a 500 ms link and a 0.6 s wait
    left a loaded box too little time to use the refreshed link before it expired too)."""
    box = make_box(patients=12, seed=5, file_ttl_s=1e6, surface="extended")
    src = box.source()
    docs, _ = read_all(src, "document")
    small = [d for d in docs if (d.size or 0) < 2_000_000][:4]
    box.sandbox.api.clock.advance(1e6 + 1)  # every listed link has expired now
    return box, src, docs, small


def assert_fetched_with_one_fresh_link_each(box, small, infos, tmp_path):
    p = Practice(5, 12)  # the generator's own documents, not the extracted ones
    want = {d.source_id: p.file_bytes(d) for d in p.iter("document")}
    for d, info in zip(small, infos, strict=True):
        content = info.path.read_bytes()
        assert content == want[d.source_id]
        assert info.size == len(content) and info.sha256 == hashlib.sha256(content).hexdigest()
    refreshed = [e for e in box.pages() if e["resource"].startswith("files/")]
    assert len(refreshed) == len(small)  # one fresh link per expired one, no more
    assert not list(tmp_path.glob("*.part"))


def test_files_stream_with_checksum_and_expired_links_refresh(make_box, tmp_path):
    box, src, docs, small = expired_links(make_box)
    assert docs and not any(d.url for d in docs)  # links are volatile: kept out of records
    assert set(src._links) == {d.source_id for d in docs}

    async def fetch_all():
        out = [await src.fetch_file(d, tmp_path / f"{d.source_id}.bin") for d in small]
        await src.aclose()
        return out

    assert_fetched_with_one_fresh_link_each(box, small, asyncio.run(fetch_all()), tmp_path)


def test_a_pages_files_in_one_call_refresh_expired_links_once(make_box, tmp_path):
    # fetch_files (the extract's path): a page's files in one worker call; a link that expired
    # there is fetched again through fetch_file, with one fresh link, and nothing half-written
    box, src, _, small = expired_links(make_box)

    async def fetch_all():
        out = await src.fetch_files(small, [tmp_path / f"{d.source_id}.bin" for d in small])
        await src.aclose()
        return out

    assert_fetched_with_one_fresh_link_each(box, small, asyncio.run(fetch_all()), tmp_path)


def test_check_passes_and_names_a_wrong_region_or_key(make_box):
    box = make_box(patients=3)
    assert all(i.ok for i in box.source().check())
    wrong_region = box.source(base_url="https://demo.saturn.practicehub.io/api").check()
    bad = [i for i in wrong_region if not i.ok]
    assert bad and "region" in bad[0].detail and "region" in bad[0].fix
    wrong_account = box.source(base_url="https://nope.neptune.practicehub.io/api").check()
    assert any(not i.ok and "account" in i.detail for i in wrong_account)
    import os
    os.environ["PH_BAD_KEY"] = "phk_not_a_key"
    bad_key = box.source(api_key_env="PH_BAD_KEY").check()
    assert any(i.name == "API key" and not i.ok for i in bad_key)


def test_auth_headers_are_required(make_box):
    box = make_box(patients=3)
    url = f"{box.running.base_url}/api/patients"
    host = {"host": "demo.neptune.practicehub.io"}
    assert httpx.get(url, headers=host, timeout=60).status_code == 401
    no_app = httpx.get(url, headers={**host, "x-practicehub-key": box.creds["api_key"]}, timeout=60)
    assert no_app.status_code == 401 and "x-app-details" in no_app.json()["error"]
    assert httpx.get(url, timeout=60).status_code == 404  # no account host
    with pytest.raises(FatalError, match="region"):
        read_all(box.source(base_url="https://demo.saturn.practicehub.io/api"), "patient")


def test_describe_lists_objects_fields_and_patient_custom_fields(make_box):
    box = make_box(patients=30)
    infos = {o.name: o for o in box.source(describe_counts=True).describe()}
    assert set(infos) == set(box.source().objects)
    patient = infos["patient"]
    assert patient.count == 30
    assert patient.field("date_of_birth") is not None
    assert patient.field("blood_group").key == "blood_type"
    custom = {f.key for f in patient.fields if f.custom}
    assert {"preferred_language", "vip"} <= custom
    # the count is the rows the API lists: a repeated appointment row counts twice [code]
    appts = [int(a.source_id) for a in Practice(7, 30).iter("appointment")]
    assert infos["appointment"].count == len(appts) + sum(1 for a in appts if a % 23 == 0)


def test_engine_extract_streams_every_file_with_its_checksum(make_box, tmp_path):
    from ferry.engine.extract import aextract
    from ferry.model.staging import StagingStore
    from ferry.sandbox.synth import DirtRates

    box = make_box(patients=8, seed=4, dirt=DirtRates.none(), file_ttl_s=1e6)
    store = StagingStore(tmp_path / "s.db")
    stats = asyncio.run(aextract(box.source(), store, run_id="files", objects=["document"],
                                 files_dir=tmp_path / "files"))
    p = Practice(4, 8, dirt=DirtRates.none())
    want = {d.source_id: hashlib.sha256(p.file_bytes(d)).hexdigest() for d in p.iter("document")}
    staged = {r.source_id: r for r in store.iter_records("document")}
    assert set(staged) == set(want) and stats.files == len(want)
    for sid, rec in staged.items():
        assert rec.sha256 == want[sid]  # type: ignore[attr-defined]
        assert hashlib.sha256(open(rec.local_path, "rb").read()).hexdigest() == want[sid]  # type: ignore[attr-defined]
    assert not [e for e in box.pages() if e["resource"].startswith("files/")]  # no refreshes


def test_a_revoked_key_is_dropped_and_the_others_carry_on(make_box):
    import os
    box = make_box(patients=120)
    os.environ["PH_REVOKED"] = "phk_revoked"
    os.environ["PH_GOOD"] = box.creds["api_key"]
    src = box.source(api_key_envs=["PH_REVOKED", "PH_GOOD"])
    records, _ = read_all(src, "patient")
    assert len(records) == 120 and src.client.keys == [box.creds["api_key"]]


def test_files_reach_the_disk_encrypted_when_the_store_encrypts(make_box, tmp_path):
    import os

    from ferry.engine.extract import aextract
    from ferry.model.crypto import FILE_MAGIC, AesGcmCodec, plain_bytes
    from ferry.model.staging import StagingStore
    from ferry.sandbox.synth import DirtRates

    box = make_box(patients=6, seed=4, dirt=DirtRates.none(), file_ttl_s=1e6)
    codec = AesGcmCodec(os.urandom(32))
    store = StagingStore(tmp_path / "s.db", codec)
    asyncio.run(aextract(box.source(), store, run_id="files", objects=["document"],
                         files_dir=tmp_path / "files"))
    p = Practice(4, 6, dirt=DirtRates.none())
    want = {d.source_id: p.file_bytes(d) for d in p.iter("document")}
    staged = {r.source_id: r for r in store.iter_records("document")}
    assert set(staged) == set(want)
    for sid, rec in staged.items():
        path = tmp_path / "files" / f"{sid}.bin"
        assert path.read_bytes().startswith(FILE_MAGIC)
        assert plain_bytes(path, codec) == want[sid]
        assert rec.sha256 == hashlib.sha256(want[sid]).hexdigest()  # type: ignore[attr-defined]
    assert not list((tmp_path / "files").glob("*.part"))
