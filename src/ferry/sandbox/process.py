"""A sandbox in a process of its own, as the real service is a server apart from Ferry.

``serve`` (``registry.serve``) runs a sandbox in a thread of the caller's process: quick, and
what the tests use, but its answers then share the caller's interpreter (its GIL, its cores'
turns) and its CPU counts as the caller's. A real org is a remote server: timing Ferry
against one needs Ferry's process to be Ferry alone. ``serve_process`` starts the same
sandbox with ``python -m ferry.sandbox.process`` and returns once it answers; the child
prints the same ``{"kind", "base_url", "credentials"}`` line ``ferry sandbox serve`` does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ferry.sandbox.registry import SandboxOptions


@dataclass
class ProcessRunning:
    """A sandbox served by a child process (``stop`` ends it and its clean-up runs there)."""

    base_url: str
    proc: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_ns(self) -> tuple[int, int]:
        """The child's threads' nanoseconds on a CPU and runnable but waiting for one, so far
        (the kernel's ``schedstat``; (0, 0) where it does not say)."""
        ran = waited = 0
        try:
            tasks = list(Path(f"/proc/{self.pid}/task").iterdir())
        except OSError:
            return 0, 0
        for task in tasks:
            try:
                r, w = (task / "schedstat").read_text().split()[:2]
            except (OSError, ValueError):
                continue
            ran, waited = ran + int(r), waited + int(w)
        return ran, waited

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def serve_process(kind: str, options: SandboxOptions, port: int = 0
                  ) -> tuple[ProcessRunning, dict[str, Any]]:
    """Start sandbox ``kind`` in a child process (at this process's priority); returns (the
    running child, {"kind", "base_url", "credentials"}) once it accepts connections."""
    src = str(Path(__file__).resolve().parents[2])  # this tree's ferry, whatever the venv has
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ferry.sandbox.process", kind, json.dumps(asdict(options)),
         str(port)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"sandbox {kind} process did not start (exit {proc.returncode})")
    info: dict[str, Any] = json.loads(line)
    return ProcessRunning(info["base_url"], proc), info


def main(argv: list[str]) -> None:
    """``python -m ferry.sandbox.process KIND OPTIONS_JSON [PORT]``: serve until SIGTERM, or
    until the parent that started it is gone."""
    from ferry.sandbox.registry import serve

    kind, opts = argv[0], SandboxOptions(**json.loads(argv[1]))
    running, info = serve(kind, opts, port=int(argv[2]) if len(argv) > 2 else 0)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    parent = os.getppid()
    print(json.dumps(info), flush=True)  # noqa: T201 - the contract is a plain first line
    while not done.wait(1.0):
        if os.getppid() != parent:  # orphaned: no one will stop it
            break
    running.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
