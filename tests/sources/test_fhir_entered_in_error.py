"""A FHIR resource marked ``entered-in-error`` (R4: it "should not have been part of this
patient's record") is not migrated. Before, an Appointment so marked landed in the CRM as a
cancelled visit, and an Invoice as a cancelled bill, a record the clinic had voided. Now each
is left out with one line naming the record and why, and is not listed among the export's ids,
so a delta takes out a copy an earlier run wrote before the clinic voided it."""

from __future__ import annotations

import json
from pathlib import Path

from ferry.sources.fhir_bulk import create


def _appointment(id_: str, status: str) -> dict:
    return {"resourceType": "Appointment", "id": id_, "status": status,
            "start": "2025-06-03T09:00:00Z", "end": "2025-06-03T09:30:00Z",
            "participant": [{"actor": {"reference": "Patient/pat-1"}, "status": "accepted"}]}


def test_a_voided_appointment_is_left_out_listed_and_not_among_the_exports_ids(
        h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    rows = [_appointment("kept", "booked"), _appointment("voided", "entered-in-error"),
            _appointment("called-off", "cancelled")]
    (folder / "Appointment.000.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = create({"mode": "folder", "path": str(folder)}, tmp_path / "work")
    recs, errs, pages = h.read_all(src, "appointment")
    assert {r.source_id: r.status for r in recs} == {"kept": "scheduled",
                                                     "called-off": "cancelled"}
    [err] = errs
    assert err.ref.endswith(":voided") and err.field == "status"
    assert "entered-in-error" in err.reason and not getattr(err, "kept", False)
    listed = {i for p in pages for i in p.listed_ids}
    assert "voided" not in listed and {"kept", "called-off"} <= listed
