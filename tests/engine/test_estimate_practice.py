"""``ferry estimate --patients N`` (no project) counts calls as a project's estimate does: the
destination connector's own prices, the objects the source stages, the recipe fitted to them.
It priced a call per record instead (issue #18: Odoo at 200 patients, 1,512 load calls and
2,627 reconcile calls where the staged project said about 50 and 40)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.estimate import estimate_practice, estimate_project
from ferry.mapping.recipes import load_recipe
from ferry.sandbox.harness import start_pair

PATIENTS = 100


@pytest.mark.parametrize("dest_kind", ["odoo", "pipedrive"])
def test_a_practice_size_is_priced_as_its_staged_project(tmp_path: Path, dest_kind: str
                                                         ) -> None:
    runner = CliRunner()
    with start_pair(tmp_path / "proj", source="clinic_csv", destination=dest_kind,
                    patients=PATIENTS, seed=1, time_scale=2000,
                    env_prefix="FERRY_ESTP_") as pair:
        root = str(pair.project.root)
        for verb in (["extract"], ["map"]):
            r = runner.invoke(app, [*verb, "-p", root])
            assert r.exit_code == 0, (verb, r.output[-2000:])
        staged = {s["step"]: s["calls"] for s in estimate_project(
            pair.project, cpu_share=0.5, probe=False)["steps"]}
    free = {s["step"]: s["calls"] for s in estimate_practice(
        PATIENTS, "clinic_csv", dest_kind, doc=load_recipe("clinic_csv", dest_kind),
        cpu_share=0.5)["steps"]}
    # the steps that move records: within 15 % (and a few calls: the synthetic practice's
    # clinics and staff are drawn, the typical ratios are means)
    for step in ("extract", "load", "reconcile"):
        assert abs(free[step] - staged[step]) <= max(0.15 * staged[step], 5), (
            step, free[step], staged[step])
    # (not compared: prepare and rollback make and remove a custom field per column of the
    # export the project's map found, which a practice size cannot know; the sample's slice
    # is picked by strata from the store, else a share of every object)


def test_every_step_cpu_bound_is_not_called_a_rate_limit() -> None:
    """A CSV export into Salesforce (no per-second limit, local files) is bound by Ferry's CPU,
    not by "source rate limit" as the pacing alone said."""
    out = estimate_practice(200, "clinic_csv", "salesforce",
                            doc=load_recipe("clinic_csv", "salesforce"), cpu_share=0.5)
    bounds = {s["bound"] for s in out["steps"] if s["step"] in ("extract", "load")}
    assert "rate" not in bounds
    assert "rate limit" not in out["binding_limit"]
    assert out["binding_limit"] in ("Ferry's CPU (extract)", "Ferry's CPU (load)",
                                    "destination latency", "source latency")
