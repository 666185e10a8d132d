"""`ferry run --dry-run` prints the plan the run then carries out: per object map the same
create / update / same / attach / merged / excluded / held / skip counts, with the reasons, and
its API cost against today's budget. Driven through the CLI's commands, as a user would, in
this process (as test_demo_rollback_lines does): seven ``python -m ferry`` processes paid
Python's start and Ferry's imports seven times for verbs that exit 0 (the CLI's error exits are
tested as processes in test_init_check)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner, Result

from ferry.cli.app import app
from ferry.cli.common import outcome


def ferry(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def test_dry_run_plan_equals_the_runs_buckets(tmp_path: Path) -> None:
    from ferry.sandbox.harness import start_pair

    with start_pair(tmp_path / "proj", patients=12, seed=5, time_scale=2000.0,
                    env_prefix="FERRY_DRY_") as pair:
        root = str(pair.project.root)
        yaml = pair.project.settings_path
        # a small file cap, so the plan must also foresee the destination refusing big files
        yaml.write_text(yaml.read_text().replace("destination:\n",
                                                 "destination:\n  max_file_bytes: 60000\n", 1))
        for verb in (["extract"], ["map"], ["map", "--confirm"], ["prepare"]):
            r = ferry(*verb, "-p", root)
            assert r.exit_code == 0, (verb, r.stdout[-2000:], r.stderr[-2000:])
        dry = ferry("run", "--dry-run", "-p", root)
        assert dry.exit_code == 0, dry.stdout[-3000:] + dry.stderr[-2000:]
        assert "plan (dry run)" in dry.stdout and "cost: about" in dry.stdout
        assert "tokens left today" in dry.stdout
        # only a report's path longer than the line runs past it, alone and whole
        assert all(len(line) <= 80 or line.startswith(root)
                   for line in dry.stdout.splitlines())
        run = ferry("run", "-p", root)
        assert run.exit_code == 0, run.stdout[-3000:] + run.stderr[-2000:]
        # the records the run held for review: the queue shows two of them and counts the rest
        # (streamed: the CLI no longer lists the whole queue to show a few)
        review = ferry("review", "--show", "2", "-p", root)
        assert review.exit_code == 0, review.stdout[-2000:] + review.stderr[-2000:]
        more = re.search(r"… ([\d,]+) more pending", review.stdout)
        assert more and int(more[1].replace(",", "")) > 0, review.stdout[-2000:]
        (listed,) = (Path(root) / "reports" / "review").glob("*.json")
        assert 2 < len(json.loads(listed.read_text())["items"]) <= 5000
    reports = Path(root) / "reports" / "run"
    plan = json.loads((reports / "dry-run.json").read_text())
    (done_path,) = [p for p in reports.glob("*-run-*.json")]
    done = json.loads(done_path.read_text())
    planned = {m["map"]: outcome(m, dry_run=True) for m in plan["maps"]}
    actual = {m["map"]: outcome(m, dry_run=False) for m in done["maps"]}
    assert planned == actual
    assert sum(o["created"] for o in actual.values()) > 12  # the plan is not all zeros
    assert any(o["skipped"] for o in actual.values())  # …and it foresaw what was refused
    reasons = {r for m in plan["maps"] for r in m.get("reasons", {})}
    assert any("byte limit" in r for r in reasons), reasons
    assert plan["cost"]["tokens"] > 0 and plan["cost"]["budget_remaining"] is not None
