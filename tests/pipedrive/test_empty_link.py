"""Emptying a link, over HTTP against the sandbox (contract mode: every request checked against
Pipedrive's OpenAPI documents).

v2 takes no ``null`` for a link (``person_id``, ``deal_id`` are plain integers in v2.yaml), so
the writer used to leave an activity's person as it was when the engine emptied it (a campaign
activity of a patient deleted at the source kept pointing at the deleted person). An activity's
person is set through its primary participant (NOTES 5): none left empties it, and the request
stays inside the documented contract (``participants`` is an array).
"""

from __future__ import annotations

from typing import Any


def test_an_activity_s_person_is_emptied_through_its_participants(pd: Any) -> None:
    d = pd().dest()
    person = d.create("person", [{"name": "Ada Example"}])[0].dest_id
    act = d.create("activity", [{"subject": "Campaign", "person_id": person}])[0].dest_id
    assert d.read("activity", [act], ["person_id"])[act]["person_id"] == person
    res = d.update("activity", [(act, {"person_id": None})])
    assert res[0].ok, res[0].error
    assert d.read("activity", [act], ["person_id"])[act]["person_id"] in (None, "")
    # and back: a restore (rollback) gives the person again
    res = d.update("activity", [(act, {"person_id": person})])
    assert res[0].ok, res[0].error
    assert d.read("activity", [act], ["person_id"])[act]["person_id"] == person
