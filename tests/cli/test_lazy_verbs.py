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


def _probe(code: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_extract_and_the_scan_do_not_import_the_map_compiler() -> None:
    """Each verb is a process: what it imports is CPU every run pays. The extract and the
    review's scan use neither the map's compiler and transforms (email_validator,
    phonenumbers' formatter) nor the load; ``engine/pipeline.py`` imports those in the verbs
    that do."""
    got = _probe("""
import json, sys
import ferry.engine.pipeline, ferry.engine.project, ferry.phi.queue
from ferry.connectors.registry import source_module
source_module("practicehub")
print(json.dumps({m: m in sys.modules for m in (
    "ferry.mapping.compile", "ferry.mapping.transforms", "email_validator", "ferry.engine.load",
    "ferry.engine.rollback", "ferry.phi.gate")}))
""")
    assert not any(got.values()), got


def test_the_entities_validators_are_built_at_first_use() -> None:
    """pydantic built each entity's validator at class creation and ``Record``'s subclass hook
    built it again; now once, when the entity is first validated, with the same required
    fields."""
    got = _probe("""
import json
from ferry.errors import RecordError
from ferry.model.entities import ENTITIES, parse_record
before = sum(m.__pydantic_complete__ for m in ENTITIES.values())
try:
    parse_record("clinic", {"source_id": "1"})
    error = None
except RecordError as exc:
    error = str(exc)
print(json.dumps({"before": before, "clinic": ENTITIES["clinic"].__pydantic_complete__,
                  "error": error}))
""")
    assert got["before"] == 0
    assert got["clinic"] is True and "'name'" in str(got["error"])


def test_the_log_filter_imports_the_detector_at_its_first_text() -> None:
    got = _probe("""
import json, sys
from ferry.cli import app
from ferry.phi import scrub
scrub.install()
at_start = "ferry.phi.detect" in sys.modules or "phonenumbers" in sys.modules
text = scrub.scrub("write to jane.smith@example.org, born 12/03/1980")
print(json.dumps({"at_start": at_start, "redacted": "@" not in text and "1980" not in text}))
""")
    assert got == {"at_start": False, "redacted": True}


def test_the_reconcile_verb_does_not_import_what_it_never_calls() -> None:
    """``ferry reconcile`` rebuilds payloads only for the fields it sums: the transforms'
    libraries (email_validator, dateutil, phonenumbers), the extract and asyncio (the rate
    limiter's async side), ruamel (the map's and ferry.yaml's writer) are imported where they
    are used, not at its start (each verb's process pays its imports: ~0.07 CPU-s for these)."""
    got = _probe("""
import json, sys
from ferry.cli.app import build_app
build_app(["reconcile"])
# what run_reconcile and its set-up import on the way (mapping, destination, owners, lookup)
import ferry.engine.pipeline, ferry.engine.prepare, ferry.engine.context, ferry.engine.owners
import ferry.mapping.mapping_file, ferry.connectors.ratelimit
import ferry.engine.audit_source  # the practice's phone region, when ferry.yaml names none
from ferry.connectors.registry import destination_module
destination_module("odoo")
print(json.dumps({m: m in sys.modules for m in (
    "email_validator", "dateutil", "phonenumbers", "asyncio", "ruamel.yaml",
    "ferry.engine.extract", "ferry.engine.load")}))
""")
    assert not any(got.values()), got


def test_the_mapping_models_are_built_at_first_use() -> None:
    """The extract and the review import ``ferry.mapping.model`` (through the engine) but read
    no map: its twelve models are built when a map is first read, with the same checks
    (an unknown key still names where it is)."""
    got = _probe("""
import json
from ferry.errors import MappingError
from ferry.engine import pipeline
from ferry.mapping import model
from ferry.mapping.mapping_file import parse_doc
built = [m.__name__ for m in vars(model).values() if isinstance(m, type)
         and issubclass(m, model.BaseModel) and m.__pydantic_complete__]
try:
    parse_doc({"source": "a", "destination": "b", "objects": [], "bogus": 1})
    error = None
except MappingError as exc:
    error = str(exc)
print(json.dumps({"built": built, "doc": model.MappingDoc.__pydantic_complete__,
                  "error": error}))
""")
    assert got["built"] == []
    assert got["doc"] is True
    assert got["error"] == "mapping.yaml: bogus: Extra inputs are not permitted"
