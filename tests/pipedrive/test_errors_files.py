"""Error mapping, injected faults, and files over the size limit (reported, never dropped)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from decimal import Decimal

import pytest

from ferry.connectors.base import SchemaItem
from ferry.errors import FatalError, RecordError
from ferry.model.fields import Kind

SRC = SchemaItem("custom_field", "person", "ferry_source_id", "Ferry source id", Kind.TEXT,
                 external_id=True)


def test_bad_records_become_record_errors_naming_record_and_field(pd, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    h = pd()
    d = h.dest()
    [p, e] = d.ensure([SRC, SchemaItem("custom_field", "person", "t", "Type", Kind.ENUM,
                                       ("A", "B"))])
    rows = [{"name": "Ok One", p.key: "S1"},
            {"name": "Secret Patient", p.key: "S2", "org_id": "424242"},  # server: 400
            {"name": "Bad Enum", p.key: "S3", e.key: "Z"},  # local: not an option
            {"name": "Bad Owner", p.key: "S4", "owner_id": "dr-who"},  # local: not an id
            {"name": "Ok Two", p.key: "S5"}]
    res = d.create("person", rows)
    assert [r.ok for r in res] == [True, False, False, False, True]
    server, enum, owner = (r.error for r in res[1:4])
    assert isinstance(server, RecordError) and server.field == "org_id" and server.status == 400
    assert server.ref == "pipedrive:person:src=S2"
    assert enum.field == e.key and owner.field == "owner_id"
    for err in (server, enum, owner):
        assert "Secret" not in str(err) and "424242" not in str(err) and "dr-who" not in str(err)
    assert "Secret" not in caplog.text and h.token not in caplog.text
    missing = d.update("person", [("999999", {"name": "X"})])[0]
    assert isinstance(missing.error, RecordError) and missing.error.status == 404


def test_a_number_that_is_not_finite_is_a_record_error(pd) -> None:
    # the JSON encoder (orjson) writes NaN as null: sent, the deal's value would be cleared
    d = pd().dest()
    res = d.create("deal", [{"title": "NaN", "value": float("nan")},
                            {"title": "Inf", "value": Decimal("Infinity")},
                            {"title": "Ok", "value": "12.50"}])
    assert [r.ok for r in res] == [False, False, True]
    assert {r.error.field for r in res[:2]} == {"value"}
    assert d.read("deal", [res[2].dest_id], ["value"])[res[2].dest_id]["value"] == Decimal("12.5")


def test_text_custom_fields_keep_their_limits_and_kinds(pd) -> None:
    d = pd().dest()
    short, long_, seen = d.ensure([
        SchemaItem("custom_field", "person", "short", "Short", Kind.TEXT),
        SchemaItem("custom_field", "person", "long", "Long", Kind.LONG_TEXT),
        SchemaItem("custom_field", "person", "seen", "Seen", Kind.DATETIME)])
    res = d.create("person", [{"name": "A", short.key: "x" * 256},
                              {"name": "B", long_.key: "y" * 300,
                               seen.key: "2026-01-02T03:04:05+01:00"}])
    assert not res[0].ok and res[0].error.field == short.key
    got = d.read("person", [res[1].dest_id])[res[1].dest_id]
    assert got[long_.key] == "y" * 300
    assert got[seen.key] == dt.datetime(2026, 1, 2, 2, 4, 5, tzinfo=dt.UTC)


def test_bad_token_is_fatal(pd) -> None:
    h = pd()
    h.allow_violations = True  # the refused calls carry a wrong token on purpose
    h.monkeypatch.setenv(h.env, "0" * 40)
    d = h.dest()
    assert d.check()[0].ok is False
    with pytest.raises(FatalError) as caught:
        d.create("person", [{"name": "X"}])
    assert caught.value.status == 401 and "0" * 40 not in str(caught.value)


def test_injected_faults_cause_no_lost_or_doubled_create(pd) -> None:
    h = pd(faults="500=0.08,503=0.04,drop=0.04,truncate=0.08")
    d = h.dest()
    [p] = d.ensure([SRC])
    rows = [{"name": f"P {i}", p.key: f"S{i}"} for i in range(60)]
    results = d.create("person", rows)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    injected = h.state()
    live = Counter(x["custom_fields"].get(p.key) for x in injected["records"]["person"]
                   if not x["is_deleted"])
    assert live == Counter({f"S{i}": 1 for i in range(60)})
    assert {r.dest_id for r in results} == {str(x["id"]) for x in injected["records"]["person"]}
    pid = results[0].dest_id
    acts = d.create("activity", [{"subject": f"V{i}", "person_id": pid, "~id": f"A{i}"}
                                 for i in range(30)])
    notes = d.create("note", [{"content": f"<p>n{i}</p>", "person_id": pid, "~id": f"N{i}"}
                              for i in range(30)])
    assert all(r.ok for r in acts + notes)
    state = h.state()["records"]
    assert sorted(r["note"] for r in state["activity"]) == sorted(
        f"<hr><p>[ferry-id:A{i}]</p>" for i in range(30))
    assert len(state["note"]) == 30 == len({r["content"] for r in state["note"]})
    faults = __import__("httpx").get(h.base_url + "/_sandbox/faults").json()["injected"]
    assert faults.get("truncate", 0) >= 1 and faults.get("500", 0) >= 1


def test_writes_landing_after_a_504_are_adopted_not_sent_twice(pd, tmp_path) -> None:
    """A gateway's 504 leaves the create or upload running behind it: the ``late`` fault lands
    it just before the second request after it, so the connector's first look finds nothing and
    its look after the settle wait finds it and adopts it. Set by order, not time (one lane:
    no other row's request comes between): with ``ambiguous_settle_s=0`` (one look) the
    resend lands beside it, a twin, every time."""
    import httpx

    h = pd(time_scale=1000.0, faults="late=0.2")
    d = h.dest(workers=1)
    [p] = d.ensure([SRC])
    results = d.create("person", [{"name": f"P {i}", p.key: f"S{i}"} for i in range(40)])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    person = results[0].dest_id
    files = []
    for i in range(10):
        f = tmp_path / f"doc{i}.txt"
        f.write_bytes(b"z" * (200 + i))
        files.append(d.upload("person", str(person), f, f.name, "text/plain",
                              {"_source_id": f"D{i}"}))
    assert all(r.ok for r in files)
    late = httpx.get(h.base_url + "/_sandbox/faults").json()["injected"].get("late", 0)
    assert late >= 3
    records = h.state()["records"]
    assert Counter(x["custom_fields"].get(p.key) for x in records["person"]
                   if not x["is_deleted"]) == Counter({f"S{i}": 1 for i in range(40)})
    assert sorted(f["name"] for f in records["file"]) == sorted(f"doc{i}.txt" for i in range(10))
    assert {r.dest_id for r in files} == {str(f["id"]) for f in records["file"]}


def test_file_over_the_limit_is_reported(pd, tmp_path) -> None:
    h = pd(max_file_bytes=1_000)
    d = h.dest(max_file_bytes=2_000)
    [person] = d.create("person", [{"name": "Ann"}])
    small, mid, big = (tmp_path / n for n in ("small.txt", "mid.pdf", "big.pdf"))
    small.write_bytes(b"x" * 500)
    mid.write_bytes(b"x" * 1_500)  # under the connector's limit, over the account's
    big.write_bytes(b"x" * 5_000)  # over the connector's limit: refused before sending
    ok = d.upload("person", person.dest_id, small, "small.txt", "text/plain")
    assert ok.ok
    refused_by_server = d.upload("person", person.dest_id, mid, "mid.pdf", None)
    assert not refused_by_server.ok and refused_by_server.error.status == 413
    assert refused_by_server.error.field is None or refused_by_server.error.field == "file"
    before = len(h.state()["records"]["file"])
    refused_locally = d.upload("person", person.dest_id, big, "big.pdf", None)
    assert isinstance(refused_locally.error, RecordError)
    assert refused_locally.error.field == "file" and "5000 bytes" in refused_locally.error.reason
    assert len(h.state()["records"]["file"]) == before == 1
    assert list(d.iter_ids("file")) == [ok.dest_id]
    assert [r.ok for r in d.delete("file", [ok.dest_id])] == [True]
    assert list(d.iter_ids("file")) == []


def test_faults_make_no_twin_field_deal_or_file(pd, tmp_path) -> None:
    """Lost answers (truncated bodies, dropped connections, 5xx) on field creation, on a
    second source object's deals and on uploads: everything exists exactly once."""
    import collections

    import httpx

    h = pd(faults="truncate=0.12,drop=0.06,500=0.06")
    d = h.dest()
    items = [SchemaItem("custom_field", "person", f"f{i}", f"Field {i}", Kind.TEXT)
             for i in range(12)]
    deal_ids = [SchemaItem("custom_field", "deal", "ferry_source_id", "Ferry source ID",
                           Kind.TEXT, external_id=True),
                SchemaItem("custom_field", "deal", "ferry_treatment_id", "Ferry treatment ID",
                           Kind.TEXT, external_id=True)]
    provisioned = d.ensure([SRC, *items, *deal_ids])
    state = httpx.get(h.base_url + "/_sandbox/state", timeout=60).json()
    for obj in ("person", "deal"):
        names = collections.Counter(f.get("field_name") for f in state["fields"][obj]
                                    if f.get("is_custom_field"))
        assert all(n == 1 for n in names.values()), (obj, names)
    appt_key, treat_key = provisioned[-2].key, provisioned[-1].key
    [person] = d.create("person", [{"name": "Ann", provisioned[0].key: "P1"}])
    assert person.ok
    rows = ([{"title": f"A{i}", appt_key: f"A{i}", "person_id": person.dest_id} for i in range(25)]
            + [{"title": f"T{i}", treat_key: f"T{i}", "person_id": person.dest_id}
               for i in range(25)])
    results = d.create("deal", rows)
    assert all(r.ok for r in results)
    assert len(set(d.iter_ids("deal"))) == 50
    files = []
    for i in range(8):
        f = tmp_path / f"doc{i}.txt"
        f.write_bytes(b"y" * (100 + i))
        files.append(d.upload("person", str(person.dest_id), f, f.name, "text/plain",
                              {"_source_id": f"D{i}"}))
    assert all(r.ok for r in files)
    assert len(set(d.iter_ids("file"))) == 8


def test_a_stored_file_uploads_decrypted_as_read_without_a_plain_copy(pd, tmp_path,
                                                                       sealed_file) -> None:
    """The engine hands Pipedrive an encrypted stored file as a ``PlainView`` (decrypted as the
    request body is written, cipher chunks apart from the client's): the file Pipedrive holds
    is the plain content, and no plain file is written anywhere. Before, the engine wrote a
    decrypted copy for each upload (the client sized and sent a file by its descriptor)."""
    import hashlib

    from ferry.model.crypto import FILE_CHUNK, PlainView

    h = pd()
    d = h.dest()
    assert d.capabilities.upload_reads_view  # the load passes views, not plain copies
    [person] = d.create("person", [{"name": "Stored file"}])
    content, stored, codec = sealed_file(2 * FILE_CHUNK + 2**20 + 11)  # past 1 MiB blocks
    before = set(tmp_path.rglob("*"))
    up = d.upload("person", person.dest_id, PlainView.of_file(stored, codec), "scan.bin",
                  "application/pdf", {"source_id": "F1"})
    assert up.ok, up.error
    [row] = [f for f in h.state()["records"]["file"] if str(f["id"]) == up.dest_id]
    assert row["file_size"] == len(content)
    assert row["sha256"] == hashlib.sha256(content).hexdigest()
    text = d.upload("person", person.dest_id, PlainView.of_bytes(b"a rendered note", "n.txt"),
                    "n.txt", "text/plain")
    [row] = [f for f in h.state()["records"]["file"] if str(f["id"]) == text.dest_id]
    assert row["sha256"] == hashlib.sha256(b"a rendered note").hexdigest()
    assert set(tmp_path.rglob("*")) == before
