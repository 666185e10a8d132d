"""Create -> read back for every object type and every custom field type: what the engine
writes is what it reads, field by field, in the plain value shapes of ``connectors.base``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ferry.connectors.base import SchemaItem
from ferry.model.fields import Kind

UTC = dt.UTC
CUSTOM = [  # (name, kind, options, ref, sample value)
    ("txt", Kind.TEXT, (), None, "MRN-0042"),
    ("long", Kind.LONG_TEXT, (), None, "line one\nline two " * 40),
    ("int", Kind.INT, (), None, 17),
    ("dec", Kind.DECIMAL, (), None, Decimal("72.5")),
    ("money", Kind.MONEY, (), None, Decimal("1200.75")),
    ("flag", Kind.BOOL, (), None, True),
    ("day", Kind.DATE, (), None, dt.date(2023, 4, 5)),
    ("when", Kind.DATETIME, (), None, dt.datetime(2023, 4, 5, 9, 30, tzinfo=UTC)),
    ("mail", Kind.EMAIL, (), None, "alt@patient.example"),
    ("tel", Kind.PHONE, (), None, "+1 555 0100"),
    ("pick", Kind.ENUM, ("HMO", "PPO"), None, "PPO"),
    ("multi", Kind.SET, ("Aspirin", "Statin", "Insulin"), None, ["Aspirin", "Insulin"]),
    ("blob", Kind.JSON, (), None, '{"a": 1}'),
    ("src_ref", Kind.REF, (), "appointment", "APT-9"),
    ("addr", Kind.ADDRESS, (), None, "1 Main St, Springfield"),
]


def _prov(d, obj: str) -> dict[str, str]:
    items = [SchemaItem("custom_field", obj, "ferry_source_id", "Ferry source id", Kind.TEXT,
                        external_id=True)]
    items += [SchemaItem("custom_field", obj, n, n.title(), k, o, ref=r)
              for n, k, o, r, _ in CUSTOM]
    return {p.item.name: p.key for p in d.ensure(items)}


def _same(written: dict, read: dict) -> None:
    for key, value in written.items():
        assert read.get(key) == value, (key, read.get(key), value)


def test_every_custom_field_type_round_trips_on_person_org_and_deal(pd) -> None:
    h = pd()
    d = h.dest()
    org_keys = _prov(d, "organization")
    [org] = d.create("organization", [{"name": "North Clinic", org_keys["ferry_source_id"]: "O1",
                                       "address": "2 Elm St", "website": "https://n.example",
                                       "industry": "Healthcare"}])
    keys = _prov(d, "person")
    users = {u.email: u.id for u in d.users()}
    person_row = {"name": "Jane Roe", "emails": ["jane@p.example", "jr@work.example"],
                  "phones": "+1 555 0101", "org_id": org.dest_id,
                  "owner_id": users["dr.ada@clinic.example"], "birthday": dt.date(1980, 2, 29),
                  "postal_address": "3 Oak Ave", "job_title": "Teacher",
                  "add_time": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
                  keys["ferry_source_id"]: "P1"}
    person_row.update({keys[n]: v for n, *_, v in CUSTOM})
    [res] = d.create("person", [person_row])
    assert res.ok, res.error
    back = h.dest().read("person", [res.dest_id])[res.dest_id]  # fresh instance: kinds persist
    _same(person_row, back)
    assert back["first_name"] == "Jane" and back["last_name"] == "Roe"
    # people/org/user reference field types
    refs = d.ensure([SchemaItem("custom_field", "deal", "patient", "Patient", Kind.REF,
                                ref="person"),
                     SchemaItem("custom_field", "deal", "practice", "Practice", Kind.REF,
                                ref="organization"),
                     SchemaItem("custom_field", "deal", "provider", "Provider", Kind.REF,
                                ref="user")])
    deal_keys = _prov(d, "deal")
    pipe = d.ensure([SchemaItem("pipeline", "deal", "Treatment", "Treatment"),
                     SchemaItem("stage", "deal", "Active", "Active", parent="Treatment")])
    deal_row = {"title": "Implant plan", "value": Decimal("2500.5"), "currency": "EUR",
                "status": "won", "won_time": dt.datetime(2023, 5, 1, 12, tzinfo=UTC),
                "expected_close_date": dt.date(2023, 6, 1), "person_id": res.dest_id,
                "org_id": org.dest_id, "stage_id": pipe[1].key, "pipeline_id": pipe[0].key,
                refs[0].key: res.dest_id, refs[1].key: org.dest_id,
                refs[2].key: users["frontdesk@clinic.example"],
                deal_keys["ferry_source_id"]: "D1", deal_keys["money"]: Decimal("99.99"),
                deal_keys["pick"]: "HMO"}
    [deal] = d.create("deal", [deal_row])
    assert deal.ok, deal.error
    _same(deal_row, d.read("deal", [deal.dest_id])[deal.dest_id])
    _same({"name": "North Clinic", "address": "2 Elm St", org_keys["ferry_source_id"]: "O1",
           "industry": "Healthcare"},
          d.read("organization", [org.dest_id])[org.dest_id])
    stored = next(p for p in h.state()["records"]["person"] if p["id"] == int(res.dest_id))
    assert stored["emails"][0] == {"value": "jane@p.example", "label": "work", "primary": True}
    assert isinstance(stored["custom_fields"][keys["pick"]], int)  # option id on the wire
    assert stored["custom_fields"][keys["money"]] == {"value": 1200.75, "currency": "USD"}


def test_activity_note_and_file_round_trip(pd, tmp_path) -> None:
    h = pd()
    d = h.dest()
    pkey = _prov(d, "person")["ferry_source_id"]
    [person] = d.create("person", [{"name": "Sam Poe", pkey: "P9"}])
    act_items = d.ensure([
        SchemaItem("custom_field", "activity", "ferry_source_id", "Source id", Kind.TEXT,
                   external_id=True),
        SchemaItem("custom_field", "activity", "no_show", "No-show", Kind.BOOL),
        SchemaItem("custom_field", "activity", "cancel", "Cancellation reason", Kind.TEXT),
        SchemaItem("custom_field", "activity", "booked", "Booked on", Kind.DATE),
        SchemaItem("activity_type", "activity", "Appointment", "Appointment")])
    k = {p.item.name: p.key for p in act_items}
    act = {"subject": "Check-up", "type": k["Appointment"], "person_id": person.dest_id,
           "due_date": dt.date(2024, 3, 1), "due_time": "09:30", "duration": "00:45",
           "done": True, "busy": False, "location": "Room 2", "note": "Bring x-rays & <forms>",
           "public_description": "Annual", "priority": 1,
           k["ferry_source_id"]: "A1", k["no_show"]: False, k["cancel"]: "Weather",
           k["booked"]: dt.date(2024, 2, 1)}
    [a] = d.create("activity", [act])
    assert a.ok, a.error
    _same(act, d.read("activity", [a.dest_id])[a.dest_id])
    note = {"content": "<p>Progress: stable</p>", "person_id": person.dest_id,
            "add_time": dt.datetime(2022, 7, 8, 9, 10, 11, tzinfo=UTC),
            "pinned_to_person_flag": True, "~id": "N1"}
    [n] = d.create("note", [note])
    assert n.ok, n.error
    _same(note, d.read("note", [n.dest_id])[n.dest_id])
    # updates keep the folded source id
    assert d.update("note", [(n.dest_id, {"content": "<p>edited</p>"})])[0].ok
    assert d.update("activity", [(a.dest_id, {"subject": "Moved", k["cancel"]: None})])[0].ok
    assert d.read("note", [n.dest_id])[n.dest_id]["~id"] == "N1"
    back = d.read("activity", [a.dest_id])[a.dest_id]
    assert back["subject"] == "Moved" and back["~id"] == "A1" and back[k["no_show"]] is False
    assert h.dest().find("activity", "~id", ["A1", "missing"]) == {"A1": a.dest_id}
    assert h.dest().find("note", "~id", ["N1"]) == {"N1": n.dest_id}
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4 test" * 10)
    f = d.upload("person", person.dest_id, path, "scan.pdf", "application/pdf",
                 {"source_id": "F1"})
    assert f.ok, f.error
    assert d.read("file", [f.dest_id])[f.dest_id]["file_size"] == 130
    assert h.dest().find("file", "", ["F1"]) == {"F1": f.dest_id}


def test_update_delete_iter_ids_and_soft_delete(pd) -> None:
    h = pd()
    d = h.dest()
    key = _prov(d, "person")["ferry_source_id"]
    rows = [{"name": f"Patient {i}", key: f"S{i}"} for i in range(12)]
    ids = [r.dest_id for r in d.create("person", rows)]
    assert d.update("person", [(ids[0], {"name": "Renamed", "emails": "new@p.example"})])[0].ok
    assert d.read("person", [ids[0]])[ids[0]]["emails"] == "new@p.example"
    assert len(d.read("person", ids)) == 12  # batched ?ids= read (more than 10 ids)
    assert [r.ok for r in d.delete("person", ids[:2] + ["999999"])] == [True, True, True]
    assert sorted(d.iter_ids("person"), key=int) == sorted(ids[2:], key=int)
    assert ids[0] not in d.read("person", ids[:1])
    assert d.find("person", key, ["S0", "S5"]) == {"S5": ids[5]}  # one scan, then the index
    assert h.dest(find_search_max=5).find("person", key, ["S0", "S6"]) == {"S6": ids[6]}
    everything = h.state()["records"]["person"]
    assert sum(p["is_deleted"] for p in everything) == 2 and len(everything) == 12
