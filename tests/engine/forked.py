"""``driver.py`` children forked from one preloaded ``driver.py --serve`` per test process,
instead of a fresh interpreter per verb: each fresh one spent ~0.5 CPU-s importing the engine
(pydantic models, email-validator, phonenumbers) before its first request, some 50 times in
the kill/resume tests. The child is still a process of its own, SIGKILLed by pid, with the
verb's env, its own stdout and stderr, its exit code or killing signal as ``returncode``.
``Forked`` answers the ``subprocess.Popen`` calls those tests make (pid, poll, wait,
communicate, kill, send_signal), ``run`` the ``subprocess.run`` ones.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ferry.sandbox.server import quiesce

DRIVER = Path(__file__).with_name("driver.py")
SRC = Path(__file__).resolve().parents[2] / "src"


class _Server:
    """One ``driver.py --serve``: one child at a time (a test runs one verb at a time)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, str(DRIVER), "--serve"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.dir = Path(tempfile.mkdtemp(prefix="ferry-driver-"))
        self.answers: queue.Queue[dict[str, int] | None] = queue.Queue()
        self.current: Forked | None = None
        threading.Thread(target=self._read, daemon=True, name="driver-server").start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.answers.put(json.loads(line))
        self.answers.put(None)  # the server is gone

    def send(self, req: dict[str, object]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()

    def next(self, timeout: float | None) -> dict[str, int]:
        msg = self.answers.get(timeout=timeout)  # queue.Empty on timeout
        if msg is None:
            raise RuntimeError(f"driver server exited ({self.proc.poll()})")
        return msg

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_server: _Server | None = None


def _the_server() -> _Server:
    global _server
    if _server is None or _server.proc.poll() is not None:
        _server = _Server()
        atexit.register(_server.close)
    return _server


class Forked:
    """A ``driver.py VERB ROOT`` child of the server, as ``subprocess.Popen(...,
    stdout=PIPE, stderr=PIPE, text=True)`` shows one."""

    def __init__(self, verb: str, root: str | Path, env: dict[str, str]) -> None:
        server = self._server = _the_server()
        if server.current is not None and server.current.returncode is None:
            server.current.kill()  # a test that left its child running: end it first
            server.current.wait()
        # what a killed child sent has landed (or been dropped) before the next one looks:
        # the projects' resume_settle_s is on the sandboxes' emulated clock (harness.py)
        quiesce()
        self._out, self._err = server.dir / "out", server.dir / "err"
        server.send({"verb": verb, "root": str(root), "env": env, "out": str(self._out),
                     "err": str(self._err)})
        self.pid: int = server.next(120)["pid"]
        self.returncode: int | None = None
        server.current = self

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self._server.next(timeout)["returncode"]
            except queue.Empty:
                raise subprocess.TimeoutExpired(f"driver.py (pid {self.pid})",
                                                timeout or 0) from None
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return self._out.read_text(), self._err.read_text()

    def send_signal(self, sig: int) -> None:
        # the server reaps a child only at the next request: until then its pid is its own
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def run(verb: str, root: str | Path, env: dict[str, str], timeout: float = 600
        ) -> subprocess.CompletedProcess[str]:
    """As ``subprocess.run([python, driver.py, verb, root], env=env, capture_output=True,
    text=True, timeout=timeout)``."""
    proc = Forked(verb, root, env)
    try:
        out, err = proc.communicate(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess([str(DRIVER), verb, str(root)], proc.wait(), out, err)
