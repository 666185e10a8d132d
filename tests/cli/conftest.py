"""``ferry``: a command line through the CLI's own entry point, in the test's process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ferry import runtime
from ferry.cli import app as cli_app


@pytest.fixture
def ferry(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``ferry(*args, env={...}, unset=VAR)``: the command line through ``ferry.cli.app.main``
    as ``python -m ferry`` runs it (the verb's app built alone, errors turned into messages and
    exit codes), at 80 columns, in this process: a finished process's exit code, stdout and
    stderr (captured apart). ``env``: variables set for the command; ``unset``: one it lacks.
    A ``python -m ferry`` process paid Python's start and the verb's imports each time (about
    a CPU-second; a map's embedding model too). ``main``'s collector settings for a short
    process (``ferry.runtime``: the heap frozen once the verb is imported) are left out: here
    they would freeze the test worker's heap for the rest of the suite."""

    def run(*args: str, env: dict[str, str] | None = None,
            unset: str | None = None) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.setattr(runtime, "importing", lambda: None)
            m.setattr(runtime, "started", lambda: None)
            m.setattr(sys, "argv", ["ferry", *args])
            m.setenv("COLUMNS", "80")
            for name, value in (env or {}).items():
                m.setenv(name, value)
            if unset:
                m.delenv(unset, raising=False)
            try:
                cli_app.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(["ferry", *args], code, out.out, out.err)

    return run
