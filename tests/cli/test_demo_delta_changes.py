"""``ferry demo --delta``: the clinic's changes are made at every source the way that system
shows them (``ferry.sandbox.cutover``, the plan bench/truth.py checks against), not only at
PracticeHub. An export source gets a newer export in its folder: first with the edits and
additions, then without the deleted records; records the first step changed keep its stamp."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path

from ferry.cli.commands.demo import _staff_changes
from ferry.sandbox.clinic_export import write_clinic_export
from ferry.sandbox.synth import Practice
from ferry.sources.clinic_csv import create


def _patients(folder: Path) -> dict[str, object]:
    src = create({"path": str(folder)}, folder)

    async def go() -> list[object]:
        return [r for p in [p async for p in src.read("patient")] for r in p.records]

    return {r.source_id: r for r in asyncio.run(go())}


def test_demo_delta_changes_a_clinic_export_in_two_steps(tmp_path: Path) -> None:
    practice = Practice(1, 60)
    folder = tmp_path / "clinic-export"
    write_clinic_export(folder, practice)
    pair = types.SimpleNamespace(source_info={"kind": "clinic_csv", "base_url": str(folder)},
                                 practice=practice, source_sandbox=None)
    before = _patients(folder)
    staged = _staff_changes(pair, None)  # edits and additions (before: nothing changed here)
    first, full = staged
    assert not first.deletes and full.deletes
    after = _patients(folder)
    new_id = first.new_patient[0]
    assert new_id in after and new_id not in before
    edited = {sid for obj, sid, _ in first.sets if obj == "patient"}
    renamed = next(sid for obj, sid, f in first.sets if "first_name" in f)
    assert after[renamed].first_name == "Åsa-Renée" != before[renamed].first_name
    assert all(after[s].updated_at != before[s].updated_at for s in edited)
    gone = [sid for obj, sid in full.deletes if obj == "patient"]
    assert gone and all(s in after for s in gone)
    _staff_changes(pair, staged)  # the deletions
    last = _patients(folder)
    assert all(s not in last for s in gone) and new_id in last
    # the edited records are not edited again: the same stamp as after the first step
    assert all(last[s].updated_at == after[s].updated_at for s in edited if s in last)
