"""``bench/truth.py``'s rollback check compares the account's schema too: an option ``prepare``
added to the account's own pick-list and left there by a rollback was invisible to its records'
comparison (truth.py said "rollback ... 0 difference(s)" over it, fhir_folder -> Pipedrive, seed
131, with such a field; fixed in the rollback since). Against the Pipedrive sandbox's own state,
read over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.bench_modules import load_bench

BENCH = Path(__file__).resolve().parents[2] / "bench" / "truth.py"


def _truth() -> Any:
    return load_bench(BENCH, "truth_bench")


def test_an_option_left_on_their_field_is_a_difference(pd: Any) -> None:
    truth = _truth()
    h = pd()
    with h.raw() as c:
        code = c.post("/api/v2/personFields", json={
            "field_name": "Sex", "field_type": "enum",
            "options": [{"label": "Prefer not to say"}]}).json()["data"]["field_code"]
        before = h.state()
        assert c.post(f"/api/v2/personFields/{code}/options",
                      json=[{"label": "Female"}]).status_code == 200
    after = h.state()
    records, _ = truth.compare(truth.normalize(before, "pipedrive"),
                               truth.normalize(after, "pipedrive"))
    assert sum(records.values()) == 0  # the records cannot show it
    table, examples = truth.compare_schema(truth.schema_view(before, "pipedrive"),
                                           truth.schema_view(after, "pipedrive"))
    assert table == {("schema", "field", "extra"): 1, ("schema", "field", "lost"): 1}
    assert examples == ["schema field person.Sex (enum): extra",
                        "schema field person.Sex (enum): lost"]
    assert "Female" not in " ".join(examples)  # labels are compared, never printed
