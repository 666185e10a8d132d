"""Run one engine verb on a project folder, as its own process (the kill/resume tests SIGKILL it).

    python tests/engine/driver.py VERB PROJECT_DIR [--profile=FILE]

VERB: prepare | extract | scan (the PHI review queue's scan) | run (PHI queue scanned and every item approved, then the full load) |
load (the full load, every item written as is) | migrate (extract and load overlapped, every item
written as is) | rollback | review (the queue scanned, every flagged item approved: what a
reviewer's bulk approval does) | reviewed (the full load of a reviewed project, decisions
honoured) | reconcile. Connector secrets come from the environment (the pair's env vars).
Exit code 0 when the verb completed; it prints one JSON line of what it did.

    python tests/engine/driver.py --serve

imports what every verb imports once, then forks one child per request read from stdin (the
tests' ``forked.py``): each child is a process of its own running ``main`` as above, without
paying the ~0.5 CPU-s import again (the kill/resume tests start some 50 drivers).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(verb: str, root: str) -> int:
    from ferry import runtime

    runtime.importing()  # as the CLI's main does around the verb's imports
    from ferry.engine import pipeline as P
    from ferry.engine.project import Project

    runtime.started()
    project = Project.at(root)
    if verb in ("run", "review"):  # (the sandbox package it imports is no part of a verb's CPU)
        from setup_pair import approve_phi

    if verb == "prepare":
        _, provisioned = P.run_prepare(project)
        out = {"provisioned": len(provisioned)}
    elif verb == "extract":
        _, stats = P.run_extract(project)
        out = {"pages": stats.pages, "staged": sum(stats.staged.values()),
               "records": sum(project.store.counts().values()), "files": stats.files}
    elif verb == "run":
        approve_phi(project)
        report = P.load(project)
        out = {"totals": report.totals(), "recovery": report.recovery.__dict__}
    elif verb == "load":  # every flagged item approved as it is loaded (no review pass)
        report = P.load(project, hold=lambda om, rec: None)
        out = {"totals": report.totals()}
    elif verb == "migrate":  # every flagged item approved as it streams in
        _, report = P.migrate(project, hold=lambda om, rec: None)
        out = {"totals": report.totals(), "records": sum(project.store.counts().values())}
    elif verb == "scan":  # the PHI review queue's scan alone (bench/engine.py --prescan)
        from ferry.phi import queue

        flagged = queue.scan(project.store)
        out = {"fields": sum(project.store.count(o) * len(f)
                             for o, f in queue.TEXT_FIELDS.items()),
               "flagged": sum(flagged.values())}
    elif verb == "review":  # bench/engine.py --e2e: the scan and a bulk approval
        from ferry.phi import queue

        approved = approve_phi(project)
        out = {"fields": sum(project.store.count(o) * len(f)
                             for o, f in queue.TEXT_FIELDS.items()), "approved": approved}
    elif verb == "reviewed":  # the run after ``review``: the gate honours the decisions
        report = P.load(project)
        out = {"totals": report.totals()}
    elif verb == "reconcile":
        from ferry.engine.reconcile import run_reconcile

        result = run_reconcile(project)
        out = {"balanced": result.balanced, "objects": len(result.objects),
               "discrepancies": len(result.discrepancies)}
    elif verb == "rollback":
        result = P.run_rollback(project)
        out = {"verified": result.verified, "deleted": result.deleted,
               "failures": result.failures[:5]}
        if not result.verified:
            sys.stdout.write(json.dumps(out, default=str) + "\n")
            return 3
    else:
        raise SystemExit(f"unknown verb {verb}")
    out["vmhwm_mb"] = _vmhwm_mb()
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    return 0


def _vmhwm_mb() -> float | None:
    """Peak RSS of this process image (VmHWM). Not ru_maxrss: Linux carries the forking
    parent's high-water mark across exec into it, so a child of a big process looks big."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _profiled(verb: str, root: str, path: str) -> int:
    """``main`` under cProfile timed by this process's CPU clock (waits on the network and on
    the sandboxes, which run in another process, cost nothing here)."""
    import cProfile
    import time

    prof = cProfile.Profile(time.process_time)
    try:
        return prof.runcall(main, verb, root)
    finally:
        prof.dump_stats(path)


def serve() -> int:
    """Requests on stdin, one JSON line each: {verb, root, env, out, err}. Answers on stdout:
    {"pid": n} once the child runs, then {"returncode": rc} (negative: killed by that signal)
    when it ended. The child is reaped only when the next request comes or stdin closes, so
    its pid is not reused while the test may still signal it."""
    from setup_pair import approve_phi  # noqa: F401

    from ferry.engine import pipeline  # noqa: F401 - what each verb imports: the cost shared
    from ferry.engine.project import Project  # noqa: F401
    from ferry.engine.reconcile import run_reconcile  # noqa: F401
    from ferry.phi import queue  # noqa: F401

    def answer(msg: dict[str, int]) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    zombie: int | None = None
    for line in sys.stdin:
        if zombie is not None:
            os.waitpid(zombie, 0)
            zombie = None
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: becomes ``driver.py VERB ROOT`` with the request's env
            os.environ.clear()
            os.environ.update(req["env"])
            for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                    (1, req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                    (2, req["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                os.dup2(os.open(path, flags, 0o600), fd)
            # SystemExit unwinds to the interpreter's own exit (atexit, thread joins), and an
            # exception is printed and exits 1, as in a process started for the verb
            sys.exit(main(req["verb"], req["root"]))
        answer({"pid": pid})
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        assert info is not None
        rc = -info.si_status if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else info.si_status
        zombie = pid
        answer({"returncode": rc})
    if zombie is not None:
        os.waitpid(zombie, 0)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    if len(sys.argv) > 3 and sys.argv[3].startswith("--profile="):
        sys.exit(_profiled(sys.argv[1], sys.argv[2], sys.argv[3].removeprefix("--profile=")))
    sys.exit(main(sys.argv[1], sys.argv[2]))
