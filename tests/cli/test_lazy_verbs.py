"""A verb run from the shell imports its own command module, not every verb's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
PROBE = """
import json, sys
from ferry.cli.app import main
sys.argv = ["ferry", *ARGS]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("ferry.cli.commands."))))
"""


def _commands_imported(*args: str) -> tuple[list[str], str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", PROBE.replace("ARGS", repr(list(args)))],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    *text, last = out.stdout.strip().splitlines()
    return json.loads(last), "\n".join(text)


def test_a_verb_imports_only_its_own_command_module() -> None:
    mods, text = _commands_imported("status", "--help")
    assert mods == ["ferry.cli.commands.status"]
    assert "--project" in text  # the verb's own help, not the app's list of commands


def test_the_app_help_still_lists_every_verb() -> None:
    mods, text = _commands_imported("--help")
    assert "ferry.cli.commands.extract" in mods and "ferry.cli.commands.reconcile" in mods
    for verb in ("extract", "prepare", "review", "reconcile", "rollback", "worker"):
        assert verb in text


def test_the_demo_from_a_shell_runs_every_step(tmp_path: Path) -> None:
    """``ferry demo`` drives the other verbs in its process: from a shell (``main()``, which
    registers only the demo's command) every step must still find its verb."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "ferry", "demo", "--dir", str(tmp_path / "d"),
                          "--patients", "4", "--time-scale", "1000"],
                         capture_output=True, text=True, env=env, timeout=280)
    assert "No such command" not in out.stdout + out.stderr
    rows = [line for line in out.stdout.splitlines() if "│" in line and "exit" in line]
    assert out.returncode == 0 and not rows, (out.returncode, rows)
    for step in ("extract", "prepare", "run", "reconcile"):
        assert any(step in line and "ok" in line for line in out.stdout.splitlines()), step
