"""ensure/remove/describe against the sandbox: idempotent, typed, reversible."""

from __future__ import annotations

from ferry.connectors.base import SchemaItem
from ferry.model.fields import Kind

ITEMS = [
    SchemaItem("custom_field", "person", "ferry_source_id", "Ferry source id", Kind.TEXT,
               external_id=True),
    SchemaItem("custom_field", "person", "mrn", "MRN", Kind.TEXT),
    SchemaItem("custom_field", "person", "insurance_type", "Coverage type", Kind.ENUM,
               ("HMO", "PPO")),
    SchemaItem("custom_field", "person", "medications", "Medications", Kind.SET,
               ("Aspirin", "Statin")),
    SchemaItem("custom_field", "person", "is_provider", "Is provider", Kind.BOOL),
    SchemaItem("custom_field", "deal", "balance", "Balance", Kind.MONEY),
    SchemaItem("custom_field", "organization", "ferry_source_id", "Ferry source id", Kind.TEXT,
               external_id=True),
    SchemaItem("custom_field", "activity", "ferry_source_id", "Ferry source id", Kind.TEXT,
               external_id=True),
    SchemaItem("custom_field", "activity", "no_show", "No-show", Kind.BOOL),
    SchemaItem("pipeline", "deal", "Treatment", "Treatment"),
    SchemaItem("stage", "deal", "Planned", "Planned", parent="Treatment"),
    SchemaItem("stage", "deal", "In treatment", "In treatment", parent="Treatment", order=1),
    SchemaItem("activity_type", "activity", "Appointment", "Appointment"),
]


def _custom_names(state: dict, obj: str) -> list[str]:
    return [f["field_name"] for f in state["fields"][obj]
            if f["is_custom_field"] and not f["is_deleted"]]


def test_provision_twice_is_idempotent(pd) -> None:
    h = pd()
    first = h.dest().ensure(ITEMS)
    assert all(p.created for p in first if not p.key.startswith("~"))
    again = h.dest().ensure(ITEMS)  # a new process: nothing cached
    assert [p.key for p in again] == [p.key for p in first]
    assert not any(p.created for p in again)
    assert [p.option_ids for p in again] == [p.option_ids for p in first]
    state = h.state()
    names = _custom_names(state, "person")
    assert sorted(names) == sorted(set(names)) == sorted(
        ["Ferry source id", "MRN", "Coverage type", "Medications", "Is provider"])
    assert [p["name"] for p in state["pipelines"]].count("Treatment") == 1
    assert [s["name"] for s in state["stages"]].count("Planned") == 1
    assert [t["name"] for t in state["activity_types"]].count("Appointment") == 1
    by_name = {p.item.name + "/" + p.item.object: p for p in first}
    enum = by_name["insurance_type/person"]
    assert set(enum.option_ids) == {"HMO", "PPO"}
    assert set(by_name["is_provider/person"].option_ids) == {"Yes", "No"}
    key = by_name["mrn/person"].key
    assert len(key) == 40 and all(c in "0123456789abcdef" for c in key)
    assert by_name["ferry_source_id/activity"].key == "~id"


def test_ensure_adds_missing_options_to_an_existing_field(pd) -> None:
    h = pd()
    d = h.dest()
    [p1] = d.ensure([SchemaItem("custom_field", "person", "t", "Type", Kind.ENUM, ("A",))])
    [p2] = d.ensure([SchemaItem("custom_field", "person", "t", "Type", Kind.ENUM, ("A", "B"))])
    assert p2.key == p1.key and not p2.created and set(p2.option_ids) == {"A", "B"}
    assert p2.option_ids["A"] == p1.option_ids["A"]


def test_describe_lists_standard_and_custom_fields(pd) -> None:
    h = pd()
    d = h.dest()
    d.ensure(ITEMS)
    info = {o.name: o for o in h.dest().describe()}
    assert set(info) == {"person", "organization", "deal", "activity", "note", "file",
                         "pipeline", "stage"}
    assert "appointment" in info["activity"].field("type").options
    assert "Treatment/Planned" in info["stage"].fields[0].options
    person = info["person"]
    for name in ("name", "emails", "phones", "owner_id", "org_id", "birthday",
                 "postal_address"):
        assert person.field(name) is not None, name
    assert person.field("first_name").writable is False
    cov = person.field("Coverage type")
    assert cov.custom and cov.kind == Kind.ENUM and cov.options == ["HMO", "PPO"]
    assert person.field("Is provider").kind == Kind.BOOL
    assert info["deal"].field("Balance").kind == Kind.MONEY
    assert info["deal"].field("stage_id").ref == "stage"


def test_remove_undoes_what_ensure_created(pd) -> None:
    h = pd()
    d = h.dest()
    provisioned = d.ensure(ITEMS)
    for p in reversed(provisioned):
        d.remove(p)
    state = h.state()
    assert _custom_names(state, "person") == []
    assert [p["name"] for p in state["pipelines"] if not p["is_deleted"]] == ["Pipeline"]
    assert "Appointment" not in [t["name"] for t in state["activity_types"] if t["active_flag"]]
    # soft-deleted items stay visible in the admin state, flagged
    assert any(f["is_deleted"] for f in state["fields"]["person"])


def test_lanes_list_an_objects_fields_once(pd) -> None:
    """The writer's lanes share one fields cache: the first lane to meet ``person`` lists its
    fields, the others wait for that listing (each lane listed them before: 4 calls of 10
    tokens where 1 was needed, and a count the estimate could not foresee)."""
    h = pd()
    h.dest().ensure(ITEMS[:2])
    d = h.dest(workers=4)  # a new session: nothing cached
    key = next(p.key for p in d.ensure(ITEMS[1:2]))
    before = len(h.raw().get("/_sandbox/requests").json()["requests"])
    assert all(r.ok for r in d.create("person", [{"name": f"P {i}", key: f"M{i}"}
                                                  for i in range(8)]))
    sent = h.raw().get("/_sandbox/requests").json()["requests"][before:]
    listed = [e for e in sent if e["method"] == "GET" and e["path"].endswith("/personFields")]
    assert len([e for e in sent if e["method"] == "POST"]) == 8
    assert len(listed) == 0  # ensure listed them in this session already
    d2 = h.dest(workers=4)
    before = len(h.raw().get("/_sandbox/requests").json()["requests"])
    assert all(r.ok for r in d2.create("person", [{"name": f"Q {i}", key: f"N{i}"}
                                                   for i in range(8)]))
    sent = h.raw().get("/_sandbox/requests").json()["requests"][before:]
    assert len([e for e in sent if e["method"] == "GET"
                and e["path"].endswith("/personFields")]) == 1


def test_remove_takes_back_only_the_options_added_to_a_field_that_was_there(pd) -> None:
    """The account's own pick-list, reused: ``remove`` deletes the options ``ensure`` added
    (``also_made``) and leaves the field and its own options; a second remove (a rollback run
    again after a kill) finds them gone and is done."""
    h = pd()
    with h.raw() as c:
        r = c.post("/api/v2/personFields", json={"field_name": "Type", "field_type": "enum",
                                                 "options": [{"label": "Theirs"}]})
        assert r.status_code == 200
    [p] = h.dest().ensure([SchemaItem("custom_field", "person", "t", "Type", Kind.ENUM,
                                      ("A", "Theirs"))])
    assert not p.created and list(p.also_made) == ["option:A"]

    def labels() -> list[str]:
        return [o["label"] for f in h.state()["fields"]["person"] if f["field_name"] == "Type"
                and not f["is_deleted"] for o in f["options"]]

    assert labels() == ["Theirs", "A"]
    d = h.dest()
    d.remove(p)
    assert labels() == ["Theirs"]
    d.remove(p)
    assert labels() == ["Theirs"]
