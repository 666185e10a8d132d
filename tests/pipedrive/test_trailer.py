"""The values folded onto a Pipedrive activity's note or a note's content, as a person reads
them in Pipedrive: ``Start time: 2025-01-02T03:04:00Z``, not ``datetime|Start time: …`` (every
line had carried its kind before the label, found by a newcomer reading the CRM). Their kinds
ride in one ``[ferry-kinds:…]`` line beside the ``[ferry-id:…]`` one, so the read-back (sample,
reconcile, the delta's merge of an edited note) still gets typed values; notes written in the
old form are still read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ferry.destinations.pipedrive.values import join_trailer, split_trailer

FOLDED = {"~text:Provider": "Dr Hemi Walker", "~datetime:Start time":
          dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC), "~bool:Paid": True,
          "~money:Total (€)": Decimal("120.00"), "~date:Due": dt.date(2025, 2, 1),
          "~id": "appt-1"}


def test_each_line_reads_label_then_value_and_reads_back_typed() -> None:
    content = join_trailer("<p>Follow-up</p>", FOLDED)
    shown = content.split("<hr>", 1)[1]
    assert "<p>Provider: Dr Hemi Walker</p>" in shown
    assert "<p>Start time: 2025-01-02T03:04:00Z</p>" in shown
    assert "|" not in shown.replace("[ferry-kinds:", "")  # no kind before a label
    assert split_trailer(content) == ("<p>Follow-up</p>", FOLDED)


def test_a_text_only_trailer_has_no_kinds_line() -> None:
    content = join_trailer("", {"~text:Provider": "Dr A", "~id": "n-1"})
    assert "ferry-kinds" not in content
    assert split_trailer(content)[1] == {"~text:Provider": "Dr A", "~id": "n-1"}


def test_a_note_written_in_the_old_form_is_still_read() -> None:
    old = ("<p>x</p><hr><p>text|Provider: Dr A</p><p>datetime|Start time: 2025-01-02T03:04:00Z"
           "</p><p>[ferry-id:appt-1]</p>")
    assert split_trailer(old)[1] == {
        "~text:Provider": "Dr A", "~datetime:Start time": dt.datetime(2025, 1, 2, 3, 4,
                                                                      tzinfo=dt.UTC),
        "~id": "appt-1"}
