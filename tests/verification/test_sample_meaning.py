"""The sample compares a date, date-time or amount by meaning, not by what the map built.

Before 989c265 the PracticeHub -> Pipedrive recipe sent an Australian visit's wall time as its
activity's ``due_date`` + ``due_time``, which Pipedrive reads as UTC: 09:00 AEDT stored as
09:00 UTC. ``ferry sample`` passed, because it counted the difference "as the map says" (the
``date``/``time`` transforms in the trace). Here each destination gets the same shape of fault
through its own recipe (wall time sent where the destination reads UTC) from a practice in
Sydney, and the sample must fail naming the record and the field; the rest of the recipe, run
on the same Sydney data, must stay explained (no false alarm from the practice's offset)."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.engine.readback import run_sample
from ferry.mapping.model import MappingDoc, Transform
from ferry.mapping.recipes import load_recipe
from ferry.mapping.review import leave_out_invalid

SYDNEY = {"timezone": "Australia/Sydney"}


def _rewired(destination: str, changes: dict[tuple[str, str], list[Transform]]) -> MappingDoc:
    doc = load_recipe("practicehub", destination)
    leave_out_invalid(doc)  # the reviewer's decision for numbers no numbering plan accepts
    hit = set()
    for om in doc.objects:
        for fm in om.fields:
            if (om.name, fm.target) in changes:
                fm.transform = changes[(om.name, fm.target)]
                hit.add((om.name, fm.target))
    assert hit == set(changes), hit
    return doc


# destination -> (map, target) -> the faulty transforms: the practice's wall time (Sydney)
# written where the destination reads UTC. Pipedrive: the old recipe's shape, an activity's
# due_date + due_time as the wall time (a PracticeHub reminder is staged in UTC, so the
# transforms are told the practice's zone to give its wall time); Odoo: a naive datetime;
# Salesforce: a dateTime marked Z.
WALL = {"tz": "Australia/Sydney"}
FAULTS: dict[str, dict[tuple[str, str], list[Transform]]] = {
    "pipedrive": {("reminder_activity", "due_date"): [Transform(name="date", args=WALL)],
                  ("reminder_activity", "due_time"): [Transform(name="time", args=WALL)]},
    "odoo": {("appointment_lead", "custom:appointment_time"): [
        Transform(name="strftime", args={"fmt": "%Y-%m-%d %H:%M:%S", **WALL})]},
    "salesforce": {("reminder_task", "ReminderDateTime"): [
        Transform(name="strftime", args={"fmt": "%Y-%m-%dT%H:%M:%SZ", **WALL})]},
}


@pytest.mark.parametrize("destination", sorted(FAULTS))
def test_wall_time_sent_as_utc_fails_the_sample(migration: Any, destination: str) -> None:
    faults = FAULTS[destination]
    pair = migration(destination=destination, doc=_rewired(destination, faults), patients=10,
                     source_extra=SYDNEY, seed=7,
                     dest_extra={"accounting": True} if destination == "odoo" else None)
    _, diff, _ = run_sample(pair.project, 40)
    assert not diff.passed
    bad = diff.unexplained
    # only the rewired fields fail: the recipe's own dates, days and amounts, from the same
    # Sydney data, are read as meaning what the source meant
    assert {(f.map, f.field) for f in bad} == set(faults), \
        [(f.map, f.field, f.category, f.note) for f in bad]
    for f in bad:
        obj = "appointment_reminder" if f.map.startswith("reminder") else "appointment"
        assert f.ref.startswith(f"source:{obj}:") and f.category == "transformed"
        assert "is not the source's instant" in f.note and "change of form" in f.note
    # every record of the map was caught (Sydney is never at UTC+0)
    for key in faults:
        seen = [f for f in diff.fields if (f.map, f.field) == key and f.sent is not None]
        assert seen and all(not f.explained for f in seen), key
