"""``ferry.runtime``: a verb's process freezes its imports for the collector and exits without
the collector's walk over them, and still closes what it must (``ferry/runtime.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def test_a_store_held_at_exit_is_closed_and_its_wal_checkpointed(tmp_path: Path) -> None:
    """A store still reachable at exit, in a reference cycle, with everything frozen: the
    interpreter's teardown would not collect it, so the store closes itself at exit. A closed
    last connection checkpoints the WAL into the file and removes it."""
    _run("""
from ferry import runtime
from ferry.model.staging import StagingStore
store = StagingStore("s.db")
store.set_value("k", [1, 2])
store.me = store  # a cycle: only the collector would free it
runtime.started()
""", tmp_path)
    assert (tmp_path / "s.db").exists()
    assert not (tmp_path / "s.db-wal").exists()
    check = _run("""
from ferry.model.staging import StagingStore
print(StagingStore("s.db").get_value("k"))
""", tmp_path)
    assert check.stdout.strip() == "[1, 2]"


def test_garbage_at_exit_is_still_finalised(tmp_path: Path) -> None:
    """What is garbage when the process exits (a cycle with a finaliser, made after
    ``started``) is collected before the freeze, as the interpreter's teardown did."""
    _run("""
from ferry import runtime
runtime.started()

class Flush:
    def __del__(self):
        open("flushed", "w").write("yes")

def make():
    a, b = Flush(), Flush()
    a.other, b.other = b, a  # a cycle: freed by the collector only

make()
""", tmp_path)
    assert (tmp_path / "flushed").read_text() == "yes"


def test_started_freezes_once() -> None:
    """A second call does nothing: freezing again would keep that moment's objects from ever
    being collected (a process that calls it twice, e.g. a test runner)."""
    out = subprocess.run([sys.executable, "-c", """
import gc
from ferry import runtime
runtime.started()
frozen = gc.get_freeze_count()
junk = [[i] for i in range(1000)]
runtime.started()
print(frozen > 0, gc.get_freeze_count() == frozen)
"""], env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.split() == ["True", "True"]


def test_importing_pauses_the_collector_until_started() -> None:
    """No collector passes during the verb's imports, and on again after them; a collector
    the process had turned off itself stays off."""
    out = subprocess.run([sys.executable, "-c", """
import gc
from ferry import runtime
runtime.importing()
during = gc.isenabled()
runtime.started()
after = gc.isenabled()
gc.disable()
runtime.importing()  # after started: does nothing
runtime.started()
print(during, after, gc.isenabled())
"""], env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.split() == ["False", "True", "False"]


def test_importing_keeps_pydantic_plugins_out() -> None:
    """After ``importing`` no pydantic plugin is looked up (a plugin is handed every value
    validated: patients' records) and the verb's modules do not import ``importlib.metadata``
    for it; models validate and report errors as before."""
    out = subprocess.run([sys.executable, "-c", """
import sys
from ferry import runtime
runtime.importing()
from ferry.engine import pipeline
from ferry.engine.reconcile import run_reconcile
from ferry.model.entities import Patient
runtime.started()
import pydantic
try:
    Patient.model_validate({"source_id": "p1", "dob": "not a date"})
except pydantic.ValidationError as exc:
    print(sorted(e["loc"][0] for e in exc.errors()))
from pydantic.plugin import _loader
print(list(_loader.get_plugins()), "importlib.metadata" in sys.modules)
"""], env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.splitlines()[-1] == "[] False"
    assert "dob" in out.stdout.splitlines()[0]
