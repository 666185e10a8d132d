"""A visit with no type in the export (a FHIR Appointment without serviceType, a clinic CSV
without a type column) is sent to Pipedrive without one, and Pipedrive gives it the type Call,
as its v1 API documents ("When value for type is not set, it will be given a default value
`Call`"). The sample called that "a value the map did not send" and FAILed a first migration
of a hand-written FHIR export (2 of 4 visits) on the destination's own documented rule."""

from __future__ import annotations

import datetime as dt

from ferry.engine.diff import classify


def test_an_activity_sent_without_a_type_is_call_by_pipedrives_rule(pd) -> None:  # type: ignore[no-untyped-def]
    d = pd().dest()
    [person] = d.create("person", [{"name": "Aroha Te Whiu"}])
    [a] = d.create("activity", [{"subject": "Visit", "person_id": person.dest_id,
                                 "due_date": dt.date(2025, 12, 23), "due_time": "20:00"}])
    assert a.ok, a.error
    stored = d.read("activity", [a.dest_id])[a.dest_id]["type"]
    assert stored == "call"
    rule = lambda sent, got: d.design_rule("activity", "type", sent, got)  # noqa: E731
    cat, explained, note = classify(None, None, stored, [], rule=rule)
    assert (cat, explained) == ("unexpected", True) and "given the type Call" in note
    # a type the map sent and Pipedrive changed stays a difference; so does another object's
    assert d.design_rule("activity", "type", "meeting", "call") is None
    assert d.design_rule("deal", "type", None, "call") is None
