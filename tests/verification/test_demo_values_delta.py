"""``bench/demo_values.py --delta`` expects what the clinic's staff left, not the practice as it
was before the delta. The cutover's plan edits one patient's phone (a national-format number
in the plan of where the patient lives); Ferry read it right (the destination held the plan's
own E.164), and the bench, checking against the unchanged practice, reported 'phone lost' and
'phone wrong' for that patient (practicehub -> pipedrive seed 2718, 150 patients: 2 problems)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.bench_modules import load_bench

from ferry.mapping.phones import record_country
from ferry.sandbox import cutover
from ferry.sandbox.synth import Practice

BENCH = Path(__file__).resolve().parents[2] / "bench" / "demo_values.py"
SEED, PATIENTS, TODAY = 2718, 30, "2026-12-07"


def _bench() -> Any:
    return load_bench(BENCH, "demo_values")


def test_delta_expects_the_edited_phone(tmp_path: Path) -> None:
    bench = _bench()
    base = Practice(SEED, PATIENTS)
    plan = cutover.plan(base, TODAY, False)
    (obj, edited, fields), *_ = plan.sets
    (_, wanted_id, _, new_e164), *_ = plan.wanted
    assert obj == "patient" and wanted_id == edited
    field = next(f for f in fields if f in ("phone", "mobile"))
    # the destination as the delta left it: every patient's numbers, the edited field now
    # holding the number the plan says the source changed it to (its own E.164, not the bench's)
    people: dict[str, dict[str, Any]] = {}
    for r in base.iter("patient"):
        plan_of = record_country(r)
        numbers = {f: bench.e164(getattr(r, f), plan_of) for f in ("phone", "mobile",
                                                                   "work_phone")}
        if r.source_id == edited:
            numbers[field] = new_e164
        people[f"person {r.source_id}"] = {"cf:Ferry source ID": r.source_id,
                                           "phone": [n for n in numbers.values() if n]}
    norm = {"person": people}

    def phone_problems(practice: Any) -> dict[str, int]:
        counts, _ = bench.check(practice, norm, "pipedrive")
        return {k: n for k, n in counts.items() if "phone" in k and k.endswith(("lost", "wrong"))}

    # the unchanged practice is the wrong expectation: the edit shows as lost + wrong
    assert phone_problems(base) == {"patient phone lost": 1, "patient phone wrong": 1}
    expected = bench.expected_practice(SEED, PATIENTS, delta=True, today=TODAY)
    assert phone_problems(expected) == {}
    assert bench.expected_practice(SEED, PATIENTS).__class__ is Practice  # no --delta: as was
