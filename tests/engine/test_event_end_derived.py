"""An export with a visit's length but no end time (hout2's Irish clinic, 7 December: a
Duration column, End Time empty) -> Salesforce: each Event is sent StartDateTime and
DurationInMinutes, and Salesforce derives EndDateTime from them [specs/salesforce/NOTES.md:
"EndDateTime or DurationInMinutes"]. The sample read that end back as 'unexpected EndDateTime'
(a false FAIL, x5) though every value was right. The sample now names the rule, and only
where the read-back Event bears it out (end = start + minutes)."""

from __future__ import annotations

from pathlib import Path

from ferry.engine import pipeline as P
from ferry.engine.readback import run_sample

from .setup_pair import approve_phi, make_pair


def _no_end_times(export: Path) -> int:
    """Empty every appointment's End Time (its Duration kept): how many rows had one."""
    import openpyxl

    path = export / "appointments.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    line = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Appointment ID")  # titled
    head = [c.value for c in ws[line]]
    end, length = head.index("End Time") + 1, head.index("Duration") + 1
    n = 0
    for r in range(line + 1, ws.max_row + 1):
        if ws.cell(r, end).value not in (None, "") and ws.cell(r, length).value not in (None, ""):
            ws.cell(r, end).value = None
            n += 1
    wb.save(path)
    return n


def test_an_end_salesforce_derives_from_the_length_is_not_a_fault(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="salesforce", source="clinic_csv",
                   patients=12, seed=5, env_prefix="FERRY_EVEND_") as pair:
        proj = pair.project
        assert _no_end_times(Path(pair.source_info["base_url"])) > 5
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        _, diff, _ = run_sample(proj, 40)
        ends = [f for f in diff.fields if f.key == "EndDateTime" and f.stored is not None]
        assert ends, "no Event read back with an end"
        derived = [f for f in ends if f.sent is None]
        assert derived, "no Event sent without an end"
        assert all(f.explained and "derives an Event's EndDateTime" in f.note
                   for f in derived), [(f.category, f.note) for f in derived]
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained]


def test_an_end_the_length_does_not_bear_out_stays_unexplained() -> None:
    from ferry.destinations.salesforce.writer import _event_span

    row = {"StartDateTime": "2026-03-02T09:00:00.000+0000", "DurationInMinutes": 30,
           "EndDateTime": "2026-03-02T09:30:00.000+0000"}
    assert _event_span("EndDateTime", row)
    assert _event_span("EndDateTime", {**row, "EndDateTime": "2026-03-02T10:00:00.000+0000"}) \
        is None
    assert _event_span("EndDateTime", {**row, "DurationInMinutes": None}) is None
