"""The sample's field-level diff at 80 columns: an entry too long for one line wraps with its
continuation lines indented under it, so each difference reads as one and none is cut
(issue 18; the PracticeHub → Pipedrive transcript's phone note ran back to column 0)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ferry.cli.common import print_item
from ferry.cli.console import console

NOTE = ("left empty: not a phone number (NL numbering plan) (from ['phone', 'mobile']); fix it"
        " at the source (in the skip file and the audit)")


@pytest.fixture
def at_80() -> Iterator[None]:
    was = console.width
    console.width = 80
    yield
    console.width = was


def test_a_long_difference_wraps_under_itself_within_80_columns(at_80: None) -> None:
    with console.capture() as cap:
        print_item(f"[red]missing[/] x1 patient.phones: {NOTE}")
        print_item("[red]not found[/] practicehub:patient:17")
    *entry, last = cap.get().splitlines()
    assert len(entry) > 1 and entry[0].startswith("  missing x1 patient.phones: left empty")
    assert all(x.startswith("    ") and x[4] != " " for x in entry[1:]), entry
    assert last == "  not found practicehub:patient:17"
    assert all(len(line) <= 80 for line in [*entry, last])
    # nothing lost or split inside a word: the entry reads back as it was written
    assert " ".join(x.strip() for x in entry) == f"missing x1 patient.phones: {NOTE}"
