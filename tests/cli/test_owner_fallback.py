"""A practitioner with no CRM user is a finding (their records go to the fallback owner), not a
skip: the run's banner reads DONE when nothing else was left out, and a real skip still shows."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.sandbox.harness import start_pair


def test_unmatched_practitioner_is_a_fallback_and_real_skips_still_show(tmp_path: Path) -> None:
    runner = CliRunner()
    with start_pair(tmp_path / "proj", patients=6, seed=5, time_scale=2000.0,
                    env_prefix="FERRY_OWNFB_") as pair:
        # the synthetic practice keeps one practitioner without a CRM user
        assert len(pair.practice.crm_user_emails()) < len(list(
            pair.practice.iter("practitioner")))
        root = str(pair.project.root)
        yaml = pair.project.settings_path
        # a small file cap: the destination refuses the bigger documents (real skips)
        yaml.write_text(yaml.read_text().replace("destination:\n",
                                                 "destination:\n  max_file_bytes: 60000\n", 1))
        for verb in (["extract"], ["map"], ["map", "--confirm"], ["prepare"]):
            r = runner.invoke(app, [*verb, "-p", root], env={"COLUMNS": "80"})
            assert r.exit_code == 0, (verb, r.output[-2000:])
        run = runner.invoke(app, ["run", "-p", root], env={"COLUMNS": "80"})
        assert run.exit_code == 0, run.output[-3000:]
    assert "practitioner(s) have no user in pipedrive" in " ".join(run.output.split())
    reports = Path(root) / "reports" / "run"
    (done_path,) = reports.glob("*-run-*.json")
    done = json.loads(done_path.read_text())
    users = next(m for m in done["maps"] if m["map"] == "practitioner_user")
    assert users["fallback"] == 1 and users["skipped"] == 0
    assert done["owner_fallbacks"] and all(s["stage"] != "owners" for s in done["skips"])
    skipped = sum(m["skipped"] for m in done["maps"])
    assert skipped > 0 and any(s["ref"].startswith("source:document:") for s in done["skips"])
    html = done_path.with_suffix(".html").read_text()
    assert "DONE WITH SKIPS" in html and f"{skipped:,} not written" in html
    assert "1 practitioner(s) with no CRM user" in html
