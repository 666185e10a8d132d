"""``ferry demo --keep`` prints what another shell runs to roll the demo's run back; those lines,
run in a shell that has nothing of this process's environment, roll back and verify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.cli.commands.demo import rollback_lines
from ferry.sandbox.harness import start_pair

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_printed_lines_roll_back_from_a_new_shell(tmp_path: Path) -> None:
    runner = CliRunner()
    with start_pair(tmp_path / "proj", patients=4, seed=2, time_scale=2000.0,
                    env_prefix="FERRY_DEMOK_") as pair:
        root = pair.project.root
        for verb in (["extract"], ["map"], ["map", "--confirm"], ["prepare"], ["run"]):
            r = runner.invoke(app, [*verb, "-p", str(root)], env={"COLUMNS": "80"})
            assert r.exit_code == 0, (verb, r.output[-2000:])
        lines = rollback_lines(pair, root, key_line=None)
        assert lines[-1] == f"ferry rollback -p {root}"
        assert all(line.startswith("export FERRY_DEMOK_") for line in lines[:-1])
        script = "\n".join([*lines[:-1], f"{sys.executable} -m ferry rollback --yes -p {root}"])
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": SRC,
                 "HOME": str(tmp_path), "COLUMNS": "80"}
        done = subprocess.run(["bash", "-c", script], env=clean, capture_output=True,
                              text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "rolled back and verified" in done.stdout, done.stdout[-2000:]
