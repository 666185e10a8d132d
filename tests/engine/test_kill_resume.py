"""SIGKILL at random points of extract / prepare / run / rollback, then resume: the migration
always converges to exactly the state derived from the practice (``oracle.py``), with no
duplicate, nothing missing and the audit chain intact; the rollback, killed too, still gives the
account back.

Each verb runs in its own process (``driver.py``, forked from a preloaded one: ``forked.py``)
while the sandboxes live in this one. Two kinds of kill point, drawn at random:

* after a random number of requests the process made to the sandbox it works against (polled on
  ``/_sandbox/requests``), plus a few random milliseconds: anywhere, including local work;
* inside the sandbox (``KillSwitch``): the n-th create / unlink / page request is *applied* and
  the process is killed before it reads the answer — the narrow window where the destination
  holds a write the audit log does not confirm, which resume (and rollback) must look up.

The same verb is then run again, and again killed, until its quota of kills is used and it runs
to the end.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.engine.project import Project
from ferry.sandbox.faults import discard, read_body, replaying
from ferry.sandbox.harness import Pair
from ferry.sandbox.synth import Practice

from .forked import Forked
from .oracle import actual, diff, duplicates, expected, live_records
from .setup_pair import make_pair, subprocess_env

DRIVER = Path(__file__).with_name("driver.py")
SEED, PATIENTS = 28, 40
#: verb, sandbox it talks to, kill points: ("requests", max n) or ("switch", body marker, max n)
#: (Odoo calls go over JSON-RPC, the default: the method is a JSON string in the body)
PHASES: list[tuple[str, str, list[tuple[Any, ...]]]] = [
    ("extract", "source", [("requests", 25), ("switch", b"", 20)] * 2),
    ("prepare", "dest", [("requests", 25), ("switch", b'"create"', 20)] * 2),
    # (a run makes about 60 requests since a group of files is one search and one create)
    ("run", "dest", [("requests", 12), ("switch", b'"create"', 3)] * 5),
    ("rollback", "dest", [("requests", 25), ("switch", b'"unlink"', 3)] * 2),
]


def _get(info: dict[str, Any], path: str) -> Any:
    r = httpx.get(info["base_url"] + path, verify=False, timeout=120)
    r.raise_for_status()
    return r.json()


def _requests(info: dict[str, Any]) -> int:
    return int(_get(info, "/_sandbox/requests")["count"])


def run_verb(pair: Pair, verb: str, info: dict[str, Any], env: dict[str, str],
             kill: tuple[Any, ...] | None, rng: random.Random, log: list[str],
             switch: KillSwitch | None = None, jitter: float = 0.03) -> bool:
    """Run ``verb``, SIGKILLed at the ``kill`` point if it gets there. True when killed."""
    base = _requests(info)
    proc = Forked(verb, pair.project.root, env)
    try:
        if kill is not None and kill[0] == "switch":
            assert switch is not None
            nth = rng.randint(1, kill[2])
            switch.arm(proc.pid, nth, kill[1])
            out, err = proc.communicate(timeout=600)
            switch.disarm()
            if switch.fired:
                log.append(f"{verb}: killed inside the sandbox at request {nth} {kill[1]!r}")
                return True
        elif kill is not None:
            n = rng.randint(1, kill[1])
            while proc.poll() is None:
                if _requests(info) - base >= n:
                    time.sleep(rng.random() * jitter)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(30)
                    log.append(f"{verb}: killed after {n}+ requests")
                    return True
                time.sleep(0.01)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"{verb} failed ({proc.returncode}):\n{out}\n{err[-3000:]}"
    log.append(f"{verb}: completed ({_requests(info) - base} requests) {out.strip()[:200]}")
    return False


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with make_pair(tmp_path_factory.mktemp("kill") / "proj", destination="odoo", seed=SEED,
                   patients=PATIENTS, env_prefix="FERRY_KILL_", settle_on_clock=True) as p:
        yield p


def _verify_log(root: Path) -> tuple[bool, str, int]:
    project = Project.at(root)
    try:
        ok, msg = project.audit.verify()
        return ok, msg, len(project.audit.open_intents())
    finally:
        project.store.close()


def test_kill_anywhere_then_resume_converges(pair: Pair) -> None:
    rng = random.Random(int(os.environ.get("FERRY_KILL_SEED", "20261121")))
    env = subprocess_env(pair)
    dest = "odoo"
    practice = Practice(seed=SEED, patients=PATIENTS)
    want = expected(practice, dest)
    before = _get(pair.dest_info, "/_sandbox/state")
    log: list[str] = []
    kills = 0
    switches = {"source": KillSwitch(pair.servers[0]), "dest": KillSwitch(pair.servers[1])}
    for verb, where, points in PHASES:
        info = pair.source_info if where == "source" else pair.dest_info
        todo = list(points)
        rng.shuffle(todo)
        while True:
            point = todo.pop() if todo else None
            if not run_verb(pair, verb, info, env, point, rng, log, switches[where]):
                break
            kills += 1
        state = _get(pair.dest_info, "/_sandbox/state")
        if verb == "extract":
            project = Project.at(pair.project.root)
            try:
                for obj in ("patient", "appointment", "clinical_note", "document", "message"):
                    assert project.store.count(obj) == practice.count(obj), obj
            finally:
                project.store.close()
        if verb == "run":
            got = actual(state, dest)
            assert not duplicates(got), (duplicates(got)[:5], log)
            problems = diff(want, got)
            assert not problems, "\n".join(problems + log)
        if verb == "rollback":
            b, a = live_records(before, dest), live_records(state, dest)
            for obj in sorted(set(b) | set(a)):
                assert a.get(obj, {}) == b.get(obj, {}), (obj, sorted(
                    set(a.get(obj, {})) ^ set(b.get(obj, {})))[:5], log)
            assert state["custom_fields"] == before["custom_fields"], log
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok, (verb, msg, log)
        if verb in ("run", "rollback"):  # a resumed load settles every open intent first
            assert open_intents == 0, (verb, open_intents, log)
    assert kills >= 20, "\n".join(log)  # 22 points: a late one may find the verb done


class KillSwitch:
    """Wraps a running sandbox's ASGI app: once armed, the n-th emulated request whose body
    contains ``match`` is applied by the sandbox and then the client process is SIGKILLed
    *before* it gets the answer: the write landed, the engine never learns its outcome."""

    def __init__(self, running: Any) -> None:
        self.config = running.server.config
        self.inner = self.config.loaded_app
        self.config.loaded_app = self  # connections opened from now on go through us
        self.pid: int | None = None
        self.left = 0
        self.match = b""
        self.path: str | None = None
        self.fired = False
        self.posts: dict[str, int] = {}

    def arm(self, pid: int, nth: int, match: bytes, path: str | None = None) -> None:
        """Kill ``pid`` at the ``nth`` request whose body holds ``match`` (and, given ``path``,
        that is a POST to a path ending so)."""
        self.pid, self.left, self.match, self.fired = pid, nth, match, False
        self.path = path

    def posted(self, path: str) -> int:
        """POSTs (any client, armed or not) to paths ending in ``path`` so far."""
        return sum(n for p, n in self.posts.items() if p.rstrip("/").endswith(path))

    def disarm(self) -> None:
        self.pid = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox") or (
                self.pid is None and scope.get("method") != "POST"):
            await self.inner(scope, receive, send)
            return
        chunks: list[bytes] = []
        held: list[dict[str, Any]] = []

        async def rec() -> Any:
            msg = await receive()
            if msg["type"] == "http.request":
                chunks.append(msg.get("body", b""))
            return msg

        async def hold(msg: dict[str, Any]) -> None:
            held.append(msg)

        await self.inner(scope, rec, hold)
        if scope.get("method") == "POST":
            self.posts[scope["path"]] = self.posts.get(scope["path"], 0) + 1
        wanted = self.path is None or (scope.get("method") == "POST"
                                       and scope["path"].rstrip("/").endswith(self.path))
        if self.pid is not None and wanted and self.match in b"".join(chunks):
            self.left -= 1
            if self.left <= 0:
                # fired is set before the kill: the test thread, woken by the child's death,
                # read it while this thread had not set it yet (a "prepare failed (-9)")
                pid, self.pid, self.fired = self.pid, None, True
                os.kill(pid, signal.SIGKILL)
        try:
            for msg in held:
                await send(msg)
        except Exception:  # noqa: BLE001 - the client is gone: nobody reads the answer
            pass


class LateWrite:
    """Wraps a running sandbox's ASGI app: the ``nth`` ``method`` request to a path ending
    ``path`` from the armed process is read whole, the process is SIGKILLed, and the sandbox
    applies the write only once a later process has made its first look: a request to a path
    ending ``look[0]`` whose query holds ``look[1]``. A server finishing a request whose client
    is gone, after the resume looked. Every other request waits until the write is applied,
    so the order is fixed whatever the machine's load."""

    def __init__(self, running: Any, method: str, path: str, *,
                 look: tuple[str, bytes]) -> None:
        self.config = running.server.config
        self.inner = self.config.loaded_app
        self.config.loaded_app = self  # connections opened from now on go through us
        self.method, self.path, self.look = method, path, look
        self.pid: int | None = None
        self.left = 0
        self.held = self.released = self.landed = False

    def arm(self, pid: int, nth: int) -> None:
        self.pid, self.left = pid, nth

    def kill_then_resume(self, root: Path, env: dict[str, str], nth: int = 2) -> None:
        """``ferry run`` killed at its ``nth`` held write, then run again to the end; the held
        write must have landed after the resume's first look."""
        proc = Forked("run", root, env)
        self.arm(proc.pid, nth)
        _, err = proc.communicate(timeout=600)
        assert self.held and proc.returncode == -signal.SIGKILL, err[-3000:]
        proc = Forked("run", root, env)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        assert self.landed  # the held write was stored after the resume's first look

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.inner(scope, receive, send)
            return
        while self.released and not self.landed:
            await asyncio.sleep(0.01)
        if self.pid is not None and scope["method"] == self.method and \
                scope["path"].rstrip("/").endswith(self.path):
            self.left -= 1
            if self.left <= 0:
                await self._hold(scope, receive)
                return
        if not (self.held and scope["path"].rstrip("/").endswith(self.look[0])
                and self.look[1] in scope.get("query_string", b"")):
            await self.inner(scope, receive, send)
            return

        async def answer(message: dict[str, Any]) -> None:
            # released as the first look's answer (already made) starts: the client may send
            # its second look the moment it has the answer, before this call returns
            if message["type"] == "http.response.start":
                self.released = True
            await send(message)

        await self.inner(scope, receive, answer)

    async def _hold(self, scope: dict[str, Any], receive: Any) -> None:
        body = await read_body(receive)
        pid, self.pid, self.held = self.pid, None, True
        assert pid is not None and body is not None
        os.kill(pid, signal.SIGKILL)
        while not self.released:
            await asyncio.sleep(0.01)
        try:
            await self.inner(scope, replaying(body), discard)  # its client is dead
        finally:
            self.landed = True


def _applied_unconfirmed(pair: Pair) -> int:
    """Creates the killed process sent, the sandbox applied, and the log does not confirm."""
    project = Project.at(pair.project.root)
    try:
        open_ids = {(e.dest_object, e.src_ref.rsplit(":", 1)[1]) for e in
                    project.audit.open_intents() if e.op == "create" and e.src_ref}
    finally:
        project.store.close()
    models = _get(pair.dest_info, "/_sandbox/state")["models"]
    landed = {(m, str(r.get(k))) for m in ("res.partner", "crm.lead", "mail.message")
              for r in models[m].values()
              for k in ("x_ferry_source_id", "x_ferry_message_id", "x_ferry_clinic_id",
                        "x_ferry_treatment_record_id") if r.get(k)}
    return len(open_ids & landed)


def test_rollback_of_a_killed_run_removes_what_it_wrote(tmp_path: Path) -> None:
    """A run killed right after the destination applied a create, before the engine logged its
    outcome, and then rolled back (not resumed), leaves nothing behind: the rollback looks the
    unconfirmed writes up by source id before undoing."""
    from ferry.engine import pipeline as P

    from .setup_pair import approve_phi

    with make_pair(tmp_path / "proj", destination="odoo", seed=SEED, patients=30,
                   env_prefix="FERRY_KILLRB_", settle_on_clock=True) as pair:
        rng = random.Random(7)
        env = subprocess_env(pair)
        switch = KillSwitch(pair.servers[1])
        before = _get(pair.dest_info, "/_sandbox/state")
        P.run_extract(pair.project)
        for nth in (1, rng.randint(2, 6)):
            P.run_prepare(pair.project)
            approve_phi(pair.project)
            pair.project.store.close()
            proc = Forked("run", pair.project.root, env)
            switch.arm(proc.pid, nth, b'"create"')
            out, err = proc.communicate(timeout=600)
            switch.disarm()
            assert switch.fired and proc.returncode == -signal.SIGKILL, err[-2000:]
            assert _applied_unconfirmed(pair) > 0
            log: list[str] = []
            run_verb(pair, "rollback", pair.dest_info, env, None, rng, log)
            state = _get(pair.dest_info, "/_sandbox/state")
            b, a = live_records(before, "odoo"), live_records(state, "odoo")
            for obj in sorted(set(b) | set(a)):
                assert a.get(obj, {}) == b.get(obj, {}), (nth, obj, sorted(
                    set(a.get(obj, {})) ^ set(b.get(obj, {})))[:5], log)
            ok, msg, open_intents = _verify_log(pair.project.root)
            assert ok, msg
            assert open_intents == 0
            pair.project = Project.at(pair.project.root)
