"""Estimate vs measured, per step, on the sandboxes (PracticeHub → each destination).

    python bench/estimate_calibration.py [--dest all|pipedrive|salesforce|odoo] [--patients 20]
                                         [--time-scale T] [--source-scale 10] [--sample 20]
                                         [--hogs 0]
    python bench/estimate_calibration.py --calibrate     # CPU-s per step: fixed and per call

Runs the CLI in process: extract, prepare, sample, run, reconcile, rollback. For each step it
prints the API calls the sandboxes logged, the wall time and the process CPU time beside what
``ferry estimate`` says for the same project just before the step (its staged counts, its
mapping, each system's time-scale as ferry.yaml gives it, this machine's CPU share then), and
where the wall time went (before the first call, first to last call; 429s). The destination's
time-scale defaults to 1 (its real limits), 10 for Odoo (whose pace is Ferry's own 1 call/s
courtesy, not a limit of the API). ``--calibrate`` runs with the limits scaled away
(time-scale 2000) at two practice sizes and fits, per step, the fixed CPU and the CPU per call:
each system's ``Limits.cpu`` in ``ferry.engine.estimate`` comes from it (the sandboxes run in
this process, so their share of each call is in the figure). ``--hogs N`` starts N busy-loop
processes for the run.

A second table per run splits each step by thread (the kernel's times, ``/proc/self/task/*/
schedstat``): the step's thread's CPU, its run-queue wait and so the share it was given, the
other threads' CPU (the sandboxes answering, upload lanes, the page reader), the time the step's
thread was blocked, and the estimate at the given share (as the calibrated test takes it).
``--calibrate`` fits ``Limits.cpu`` on the step's thread (with the CPU at its edges, before
the first call and after the last) and ``Limits.answer`` on the others (a step whose records
are priced apart, ``Limits.per_record``, per call less its records).

``--process DESTS`` (default ``salesforce``) serves those destinations' sandboxes in a process
of their own (``ferry.sandbox.process``), as a real org is a server apart: Ferry's process CPU
is then Ferry's alone, and the server's CPU and run-queue wait are read from the child's kernel
times (the ``srv`` columns). In this process the Salesforce sandbox's answers took the step's
thread's turns and GIL (its thread given 0.5-0.8 of a core where the busy-loop probe read
0.9-1.0, 7 December), which the table covered by pricing CPU 1.4x high. Pipedrive and Odoo stay
in this process: their steps are bound by their pace, 6 of 6 within 5 % either way (11:27-11:35
UTC), and their tables were fitted so. An unpaced destination's ``Limits.answer`` is fitted on
the server's CPU less a ping's per call (its timed round trip holds that floor).

``--ref REV`` prices each step of the same run with revision REV's ``ferry/engine/estimate.py``
too (its table and model: a before/after without a second run); ``--json FILE`` appends each
run (rows, hogs, load average) as a JSON line, and ``--fit-from FILE`` fits from saved
``--calibrate`` runs. Each step also records the step probe (``step_probe.py``) and a busy
loop's CPU per slice just before it, which the model does not use (see there).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

STEPS = ("extract", "prepare", "sample", "load", "reconcile", "rollback")


def log(base: str) -> list[dict[str, Any]]:
    # the Salesforce sandbox serves TLS with its own certificate authority
    return list(httpx.get(base + "/_sandbox/requests", timeout=60, verify=False).json()
                ["requests"])


def calls(base: str) -> int:
    return len(log(base))


def threads_ns() -> dict[int, tuple[int, int]]:
    """Each thread of this process: (ns on a CPU, ns runnable but waiting for one)."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            ran, waited = (task / "schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        out[int(task.name)] = (int(ran), int(waited))
    return out


def settle_review(path: Path) -> None:
    """The fields `ferry map` leaves to review are left out (as a user unsure of them would)."""
    from ferry.mapping import mapping_file

    doc = mapping_file.load(path)
    for om in doc.objects:
        for fm in om.fields:
            if fm.status == "review":
                fm.status, fm.reason = "ignored", "left out by the bench"
    mapping_file.save(doc, path)


def measure(patients: int, time_scale: float, source_scale: float, sample: int,
            seed: int = 3, dest: str = "pipedrive", small: bool = False,
            latency_ms: float = 0.0, batch_size: int = 0,
            doc_size_scale: float = 1.0, ref: Any = None,
            process: bool = False) -> dict[str, Any]:
    from step_probe import probe_cpu
    from typer.testing import CliRunner

    from ferry.cli.app import app
    from ferry.engine.estimate import (
        ANSWER_GAIN,
        contention,
        estimate_project,
        limits_for,
        load_share,
        machine_share,
        round_trip,
    )
    from ferry.engine.pipeline import open_destination
    from ferry.mapping import mapping_file
    from ferry.sandbox.harness import start_pair

    tmp = Path(tempfile.mkdtemp(prefix="ferry-cal-"))
    rpcs: list[str] = []  # Odoo's calls by model and method (its log shows only the path)
    if os.environ.get("CAL_PATHS"):
        from ferry.destinations.odoo.rpc import OdooRpc

        execute = OdooRpc.execute

        def counted(self: Any, model: str, method: str, *args: Any, **kw: Any) -> Any:
            rpcs.append(f"{model}.{method}")
            return execute(self, model, method, *args, **kw)

        OdooRpc.execute = counted  # type: ignore[method-assign]
    runner = CliRunner()
    measured: dict[str, dict[str, float]] = {}
    with start_pair(tmp / "clinic", patients=patients, seed=seed, time_scale=time_scale,
                    destination=dest,
                    dest_faults=f"slow=1,slow_s={latency_ms / 1000}" if latency_ms else "",
                    source_time_scale=source_scale, env_prefix="FERRY_CAL_",
                    source_extra={"doc_size_scale": doc_size_scale} if doc_size_scale != 1
                    else None,
                    options={"batch_size": batch_size} if batch_size else None,
                    dest_process=process) as pair:
        bases = [pair.source_info["base_url"], pair.dest_info["base_url"]]
        # the destination's sandbox in a process of its own (``--process``): its CPU, read
        # from the kernel, is the server's, not Ferry's; else (0, 0) and in this process
        server = pair.servers[-1].cpu_ns if process else (lambda: (0, 0))
        unpaced = not limits_for(pair.project.settings.source.kind, dest)[1].rps
        pings: dict[str, float] = {}  # the server's CPU-s per ping (a call's floor there)
        root = str(pair.project.root)
        shares: dict[str, float] = {}
        floors: dict[str, float] = {}  # ``load_share``, the probe's floor until 7 December
        probes: dict[str, float] = {}  # the step probe's CPU-s just before the step
        speeds: dict[str, float] = {}
        trips: dict[str, Any] = {}

        ended = [0.0]

        def step(name: str, *args: str) -> None:
            # as a person starts each step (and the calibrated test does): the previous
            # step's calls out of Pipedrive's 2-second window, which the estimate assumes
            # fresh (back to back, a reconcile after the run took 4.7 s for 2.6 estimated)
            time.sleep(max(0.0, 2.2 - (time.monotonic() - ended[0])))
            # no full collection due from the harness's earlier steps (as the test does: a
            # person's verb is a fresh process; here one heap holds the sandboxes and every
            # step, and its collection, 0.12 CPU-s, fell in a step at random)
            gc.collect()
            shares[name], floors[name] = machine_share(), load_share()  # `ferry estimate`'s
            # what a unit of step-like work and of a busy loop cost now (recorded, not in
            # the model: bench/step_probe.py says why)
            probes[name], speeds[name] = probe_cpu(), loop_cpu()
            d = open_destination(pair.project)
            try:  # and the round trip of a destination without a per-second limit
                if hasattr(d, "ping"):
                    d.ping()
                    sv0 = server()[0]
                    trips[name] = round_trip(d.ping)
                    pings[name] = (server()[0] - sv0) / 1e9 / (trips[name].calls + 1)
            finally:
                d.close()
            n0 = {b: calls(b) for b in bases}
            me, th0, sv0 = threading.get_native_id(), threads_ns(), server()
            w0, t0, p0 = time.time(), time.monotonic(), time.process_time()
            res = runner.invoke(app, [*args, "-p", root], env={"COLUMNS": "80"}, input="y\n")
            secs, cpu = time.monotonic() - t0, time.process_time() - p0
            th1, sv1 = threads_ns(), server()
            d = {k: (v[0] - th0.get(k, (0, 0))[0], v[1] - th0.get(k, (0, 0))[1])
                 for k, v in th1.items()}
            main_ran, main_wait = d.get(me, (0, 0))
            # the other threads' CPU: the process's less the step's thread (a thread that
            # ended during the step, an upload or download lane, is in no /proc task then)
            other_ran = max(sum(v[0] for k, v in d.items() if k != me),
                            round(cpu * 1e9) - d.get(me, (0, 0))[0])
            other_wait = sum(v[1] for k, v in d.items() if k != me)
            ended[0] = time.monotonic()
            after = probe_cpu()  # (and just after it)
            # where the time went: before the first call, between first and last, after
            ts = sorted(e["t"] for b in bases for e in log(b)[n0[b]:])
            slow = sum(e["status"] == 429 for b in bases for e in log(b)[n0[b]:])
            if os.environ.get("CAL_PATHS"):  # what each step sends, by endpoint
                import re
                from collections import Counter

                ids = re.compile(r"/[0-9a-zA-Z]{15,18}\b|/\d+")
                hist = Counter(e["method"] + " " + ids.sub("/N", e["path"])
                               for b in bases for e in log(b)[n0[b]:])
                hist.update(rpcs)
                rpcs.clear()
                print(f"--- {name}: " + ", ".join(f"{k} x{v}" for k, v in hist.most_common()),
                      file=sys.stderr)
            if res.exit_code not in (0, 1):
                raise RuntimeError(f"{name}: {res.output[-2000:]}")
            measured[name] = {"calls": len(ts), "seconds": secs, "cpu": cpu,
                              "load": os.getloadavg()[0], "429": slow,
                              "main_cpu": main_ran / 1e9, "main_wait": main_wait / 1e9,
                              "other_cpu": other_ran / 1e9, "other_wait": other_wait / 1e9,
                              # the server's process (``--process``): its CPU and run-queue
                              # wait, and its CPU per ping just before the step
                              "server_cpu": (sv1[0] - sv0[0]) / 1e9,
                              "server_wait": (sv1[1] - sv0[1]) / 1e9,
                              "ping_server": pings.get(name, 0.0),
                              # what answers the step beyond a call's floor: Ferry's other
                              # threads and the server's CPU less a ping's per call (an
                              # unpaced destination's timed round trip holds that floor, the
                              # wake-ups and the network; a paced one's pace does not)
                              "answer_cpu": other_ran / 1e9 + max(
                                  0.0, (sv1[0] - sv0[0]) / 1e9
                                  - (pings.get(name, 0.0) * len(ts) if unpaced else 0.0)),
                              "given": main_ran / max(main_ran + main_wait, 1),
                              # the thread's CPU before the first call and after the last
                              # (start-up, reports): the wall time there at the step's share
                              "edge_cpu": (secs - (ts[-1] - ts[0] if ts else 0.0))
                              * main_ran / max(main_ran + main_wait, 1) if ts else
                              main_ran / 1e9,
                              "before": ts[0] - w0 if ts else secs,
                              "probe": probes[name], "probe_after": after,
                              "loop": speeds[name],
                              "span": ts[-1] - ts[0] if ts else 0.0}
            if os.environ.get("CAL_DEBUG"):
                import traceback

                print(f"--- {name} (exit {res.exit_code})\n{res.output[-1500:]}", file=sys.stderr)
                if res.exc_info and not isinstance(res.exception, SystemExit):
                    traceback.print_exception(*res.exc_info, file=sys.stderr)

        rpcs.clear()
        # everything migrates, as the estimate assumes: BAA recorded, PHI items approved
        runner.invoke(app, ["check", "--baa-by", "bench", "--baa-ref", "BAA-1", "-p", root])
        step("extract", "extract")
        if small:  # the cut-down map of tests/engine/test_estimate_calibrated.py
            from setup_pair import small_map

            mapping_file.save(small_map(pair.project), pair.project.mapping_path)
        else:
            runner.invoke(app, ["map", "-p", root])
            settle_review(pair.project.mapping_path)
        runner.invoke(app, ["map", "--confirm", "-p", root])
        runner.invoke(app, ["review", "--show", "0", "--rule", "approve", "-p", root])
        if os.environ.get("CAL_PATHS"):
            for p in estimate_project(pair.project, sample_size=sample)["load_by_object"]:
                print(f"  est load {p}", file=sys.stderr)
        step("prepare", "prepare")
        step("sample", "sample", "--size", str(sample))
        step("load", "run")
        step("reconcile", "reconcile")
        step("rollback", "rollback", "--yes")
        # the estimate from the staged counts and the confirmed map (as after `ferry map
        # --confirm`: nothing it reads changed since), at the share each step began with
        rows = []
        for name, m in measured.items():
            est = estimate_project(pair.project, sample_size=sample, cpu_share=shares[name],
                                   trip=trips.get(name), probe=False)
            s = {e["step"]: e for e in est["steps"]}[name]
            # the reference revision's model (--ref), on the same run
            r = {e["step"]: e for e in ref.estimate_project(
                pair.project, sample_size=sample, cpu_share=shares[name],
                trip=as_ref(ref, trips.get(name)), probe=False)["steps"]}[name] if ref else {}
            # and at the share the step's thread was given while it ran (as the test does)
            g = {e["step"]: e for e in estimate_project(
                pair.project, sample_size=sample, cpu_share=max(m["given"], 0.01),
                trip=trips.get(name), probe=False, answer_share=shares[name])["steps"]}[name]
            # the model's wall on the threads that answer (the sandbox's), at the probed
            # share, beside the time the step's thread was blocked
            lim = limits_for(pair.project.settings.source.kind, dest)[1]
            o_fixed, o_unit = lim.answer.get(name, (0.0, 0.0))
            o_rec = lim.per_record.get(name, (0.0, o_unit))[1]
            ans = (o_fixed + s["calls"] * o_unit + s.get("records", 0) * o_rec) * contention(
                m["given"]) / min(1.0, ANSWER_GAIN * max(shares[name], 0.01)) \
                if s["calls"] and name != "extract" \
                else 0.0
            rows.append({"step": name, "est_calls": s["calls"], "est_s": s.get("wall_s", s["seconds"]),
                         "ref_s": r.get("wall_s", r.get("seconds", 0.0)),
                         "ref_cpu": r.get("cpu_seconds", 0.0),
                         "est_answer": ans, "job_wait": s.get("job_wait_seconds", 0.0), "wake": getattr(trips.get(name), "wake_share",
                                                            0.0),
                         "records": s.get("records", 0), "bytes": s.get("bytes", 0),
                         "est_cpu": s.get("cpu_seconds", 0.0), "bound": s.get("bound", ""),
                         "est_g": g.get("wall_s", g["seconds"]), "paced": g["paced_seconds"],
                         "est_cpu_g": g["cpu_seconds"],
                         "share": shares[name], "floor": floors[name],
                         "trip_share": trip_share(trips.get(name)),
                         "latency": est["inputs"]["dest_latency_s"],
                         "targets": est["inputs"]["targets"], **m})
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)  # the project, its store and downloaded files
    return {"dest": dest, "patients": patients, "time_scale": time_scale, "small": small,
            "source_scale": source_scale, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=20)
    ap.add_argument("--time-scale", type=float, default=0.0,
                    help="the destination's (default: 1, Odoo 10)")
    ap.add_argument("--source-scale", type=float, default=10.0, help="the source's")
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--hogs", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="the destination answers"
                    " every call this late (a real org's round trip: 100-300 ms)")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--small", action="store_true", help="the test's cut-down map (3 object"
                    " maps, 4 custom fields) instead of the recipe as `ferry map` fits it")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size, the median taken"
                    " (with --calibrate)")
    ap.add_argument("--doc-size-scale", type=float, default=1.0, help="the source's ordinary"
                    " documents' sizes times this, (0, 1]: the same practice, calls and records"
                    " with fewer bytes (the CPU per byte is the difference)")
    ap.add_argument("--bytes", action="store_true", help="fit Limits.per_byte: --repeat"
                    " interleaved pairs of runs at doc-size-scale 1 and --doc-size-scale (the"
                    " same calls and records, fewer bytes), per step the median of the CPU"
                    " differences per byte")
    ap.add_argument("--json", default="", help="append each run's rows to this file, one"
                    " JSON line a run (with the hogs and the load average)")
    ap.add_argument("--fit-from", default="", help="fit Limits.cpu and Limits.answer from the"
                    " runs a --calibrate --json saved, without running anything")
    ap.add_argument("--ref", default="", help="a git revision: its ferry/engine/estimate.py"
                    " (its table and model) estimates each step of the same runs too")
    ap.add_argument("--dest", default="all", help="pipedrive, salesforce, odoo or all")
    ap.add_argument("--process", default="salesforce", help="the destinations whose sandbox"
                    " runs in a process of its own, comma-separated ('' none): a real org is a"
                    " server apart, and in this process the sandbox's answers took the step's"
                    " turns and GIL (a step's thread given 0.5-0.8 of a core at quiet)")
    ap.add_argument("--batch-size", type=int, default=0, help="options.batch_size (Salesforce"
                    " sends a write batch of bulk_threshold rows or more, 2,000 by default, as"
                    " a Bulk API 2.0 job; 0: the project's default)")
    a = ap.parse_args()
    ref = load_ref(a.ref) if a.ref else None
    if a.calibrate:
        a.time_scale = a.source_scale = 2000.0
    # CPU hogs as CI's neighbours are (``yes``), at this process's priority
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(a.hogs)]
    dests = ("pipedrive", "salesforce", "odoo") if a.dest == "all" else (a.dest,)
    fitted: list[dict[str, Any]] = []  # --calibrate's runs
    if a.fit_from:  # a fit of runs saved by --json (--calibrate ones)
        import json

        fit_runs([json.loads(line) for line in Path(a.fit_from).read_text().splitlines()
                  if line.strip()])
        return
    try:
        for d in dests:
            scale = a.time_scale or {"odoo": 10.0}.get(d, 1.0)
            if a.calibrate and d == "salesforce":
                # no per-second limit to scale away, and at source time-scale 2000 the sandbox
                # serves fewer files (another practice to load): both as in the main run
                scale, source_scale = 1.0, 10.0
            else:
                source_scale = a.source_scale
            apart = d in a.process.split(",")
            if a.bytes:
                pairs = []
                for _ in range(a.repeat):  # interleaved: full size, then few bytes
                    runs = [measure(a.patients, scale, source_scale, a.sample, dest=d,
                                    small=a.small, doc_size_scale=z, process=apart)
                            for z in (1.0, a.doc_size_scale)]
                    for r in runs:
                        report(r, a)
                    pairs.append(runs)
                fit_bytes(d, pairs)
                continue
            out = measure(a.patients, scale, source_scale, a.sample, dest=d, small=a.small,
                          latency_ms=a.latency_ms, batch_size=a.batch_size,
                          doc_size_scale=a.doc_size_scale, ref=ref, process=apart)
            report(out, a)
            if a.calibrate:
                # the other end of the line: 3 patients on the cut-down map of the test (a
                # few calls and records a step, so its fixed part shows)
                small = measure(3, scale, source_scale, 6, dest=d, small=True, process=apart)
                report(small, a)
                fitted += [out, small]
                for _ in range(a.repeat - 1):  # each again: the median CPU per step
                    for n, sz, sm in ((a.patients, a.sample, a.small), (3, 6, True)):
                        again = measure(n, scale, source_scale, sz, dest=d, small=sm,
                                        process=apart)
                        report(again, a)
                        fitted.append(again)
        if fitted:
            fit_runs(fitted)
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def loop_cpu(slices: int = 400) -> float:
    """CPU-seconds of this thread per slice of ``machine_share``'s busy loop (``sum(range(
    2000))``), the median of four runs of ``slices``: how fast the core runs plain Python."""
    out = []
    for _ in range(4):
        c0 = time.thread_time()
        for _ in range(slices):
            sum(range(2000))
        out.append((time.thread_time() - c0) / slices)
    return statistics.median(out)


def load_ref(rev: str) -> Any:
    """``ferry.engine.estimate`` as revision ``rev`` has it, as a module of its own."""
    import importlib.util
    import shutil

    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/ferry/engine/estimate.py"],
                          check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="ferry-ref-")) / "estimate_ref.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("estimate_ref", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["estimate_ref"] = mod  # (its dataclasses look their module up)
    spec.loader.exec_module(mod)
    shutil.rmtree(path.parent, ignore_errors=True)
    return mod


def as_ref(ref: Any, trip: Any) -> Any:
    """``trip`` as the reference revision's ``RoundTrip`` (its fields and its ``latency``)."""
    import dataclasses

    if trip is None:
        return None
    return ref.RoundTrip(**{f.name: getattr(trip, f.name)
                            for f in dataclasses.fields(ref.RoundTrip)})


def trip_share(trip: Any) -> float:
    """The process's CPU over the wall time of the timed pings: the share a step that sends
    one call after the other got just before it (0: no ping)."""
    return min(1.0, trip.cpu_s / trip.wall_s) if trip is not None and trip.wall_s else 0.0


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's rows with each figure the median of the runs' (repeats of one
    configuration): the mean of two kept an outlier (one 3-patient load at 2.5x the other's
    CPU, a full collection of the heap)."""
    rows = []
    for i, r in enumerate(runs[0]["rows"]):
        at = [o["rows"][i] for o in runs]
        rows.append({**r, **{k: statistics.median(x[k] for x in at)
                             for k in ("cpu", "share", "main_cpu", "given", "edge_cpu",
                                       "other_cpu", "answer_cpu", "server_cpu", "bytes",
                                       "probe", "loop") if k in r}})
    return {**runs[0], "rows": rows}


def fit_runs(runs: list[dict[str, Any]]) -> None:
    """Each destination's ``Limits.cpu`` and ``Limits.answer``: per destination, the median
    of the recipe's runs and of the cut-down map's (``small``), the line through both (the
    load average, the shares given and the step probes of the runs printed beside)."""
    loads = [run["loadavg"][0] for run in runs if "loadavg" in run]
    given = [r["given"] for run in runs for r in run["rows"]]
    probes = [r["probe"] for run in runs for r in run["rows"] if "probe" in r]
    print(f"# {len(runs)} runs, 1-min load {min(loads, default=0):.1f}-{max(loads, default=0):.1f},"
          f" shares given {min(given):.2f}-{max(given):.2f} (median {statistics.median(given):.2f})"
          + (f", step probe {1000 * min(probes):.1f}-{1000 * max(probes):.1f} ms (median"
             f" {1000 * statistics.median(probes):.1f})" if probes else ""))
    for dest in dict.fromkeys(run["dest"] for run in runs):
        mine = [run for run in runs if run["dest"] == dest]
        small = [run for run in mine if run["small"]]
        big = [run for run in mine if not run["small"]]
        if small and big:
            fit(dest, median(small), median(big))


def fit(dest: str, small: dict[str, Any], big: dict[str, Any]) -> None:
    """Fixed CPU, CPU per unit (a call the sandbox logged, or a record the estimate says the
    step carries) and the CPU at the step's edges (before its first call and after its last:
    start-up, reports) per step, from the two sizes (the line through both), and the calls
    the estimate missed (``Limits.overhead`` takes them). The CPU is the step's own thread's
    (what its wall time waits on; the sandboxes' threads answer as a server would), each
    run's less what the machine's contention then added, and less its files' bytes."""
    from ferry.engine.estimate import contention, limits_for

    a = {r["step"]: r for r in small["rows"]}
    answer: dict[str, tuple[float, float]] = {}
    lims = limits_for("practicehub", dest)
    print(f"{dest} Limits.cpu = {{")
    for r in big["rows"]:
        s = a[r["step"]]
        # less the files' bytes (``Limits.per_byte``, fitted apart by --bytes)
        lim = lims[0] if r["step"] == "extract" else lims[1]
        b_main, b_other = lim.per_byte.get(r["step"], (0.0, 0.0))
        # a step whose records are priced apart (``Limits.per_record``, fitted at 20 and 600
        # patients): its unit is a call, less its records' CPU; else a call or a record
        rec = lim.per_record.get(r["step"])
        if rec is None:
            u1, u2 = s["calls"] + s["records"], r["calls"] + r["records"]
            rec = (0.0, 0.0)
        else:
            u1, u2 = s["calls"], r["calls"]
        c1 = s["main_cpu"] / contention(s["given"]) - b_main * s["bytes"] - rec[0] * s["records"]
        c2 = r["main_cpu"] / contention(r["given"]) - b_main * r["bytes"] - rec[0] * r["records"]
        per = max(0.0, (c2 - c1) / (u2 - u1)) if u2 - u1 > 10 else c2 / u2
        fixed = max(0.0, c2 - per * u2)
        edges = min(fixed, (s["edge_cpu"] / contention(s["given"])
                            + r["edge_cpu"] / contention(r["given"])) / 2)
        print(f'    "{r["step"]}": ({fixed:.3f}, {per:.5f}, {edges:.3f}),  # calls missed:'
              f' {s["calls"] - s["est_calls"]:+.0f}, {r["calls"] - r["est_calls"]:+.0f}'
              f' (targets {s["targets"]}, {r["targets"]})')
        # (the answering threads: Ferry's others, and a server in a process of its own beyond
        # a ping's CPU per call, ``answer_cpu``)
        o1 = s.get("answer_cpu", s["other_cpu"]) / contention(s["share"]) \
            - b_other * s["bytes"] - rec[1] * s["records"]
        o2 = r.get("answer_cpu", r["other_cpu"]) / contention(r["share"]) \
            - b_other * r["bytes"] - rec[1] * r["records"]
        o_per = max(0.0, (o2 - o1) / (u2 - u1)) if u2 - u1 > 10 else o2 / u2
        answer[r["step"]] = (max(0.0, o2 - o_per * u2), o_per)
    print("}")
    print(f"{dest} Limits.answer = {{")
    for step, (f, p) in answer.items():
        print(f'    "{step}": ({f:.3f}, {p:.5f}),')
    print("}")


def fit_bytes(dest: str, pairs: list[list[dict[str, Any]]]) -> None:
    """CPU-seconds per byte a step moves, on its thread and on the others (``Limits.per_byte``):
    per pair of runs (the same practice at two document sizes: its calls and records alike),
    the difference of each thread's CPU (less the machine's contention then) over the
    difference of the bytes the estimate says the step moves; the median over the pairs."""
    from ferry.engine.estimate import contention

    print(f"{dest} Limits.per_byte = {{  # CPU-s per byte: step thread, others; n pairs"
          f" {len(pairs)}")
    for i, row in enumerate(pairs[0][0]["rows"]):
        mains, others = [], []
        for big, small in pairs:
            b, s = big["rows"][i], small["rows"][i]
            moved = b["bytes"] - s["bytes"]
            if moved <= 0:
                break
            mains.append((b["main_cpu"] / contention(b["given"])
                          - s["main_cpu"] / contention(s["given"])) / moved)
            others.append((b["other_cpu"] / contention(b["share"])
                           - s["other_cpu"] / contention(s["share"])) / moved)
        if mains:
            each = ", ".join(f"{m * 1e9:.2f}/{o * 1e9:.2f}"
                             for m, o in zip(mains, others, strict=True))
            print(f'    "{row["step"]}": ({statistics.median(mains) * 1e9:.3f}e-9,'
                  f' {statistics.median(others) * 1e9:.3f}e-9),  # {row["bytes"] / 1e6:.1f}'
                  f' MB; per pair {each} ns/B')
    print("}")


def report(out: dict[str, Any], a: argparse.Namespace) -> None:
    if a.json:
        import json

        with open(a.json, "a") as f:
            f.write(json.dumps({**out, "hogs": a.hogs, "at": time.time(),
                                "loadavg": os.getloadavg()}) + "\n")
    print(f"{out['dest']}: {out['patients']} patients{' (cut-down map)' if out['small'] else ''},"
          f" destination time-scale"
          f" {out['time_scale']:g}, source {out['source_scale']:g}, sample {a.sample},"
          f" {a.hogs} CPU hog(s)")
    print(f"{'step':<10} {'calls':>6} {'est':>6} {'est s':>7} {'meas s':>7} {'err%':>5}"
          f" {'cpu s':>6} {'cpu/call ms':>11} {'bound':>6} {'share':>5} {'load':>5}"
          f" {'before':>6} {'span':>6} {'429':>4} {'est cpu':>7} {'cpu/s':>5} {'trip':>5}"
          f" {'jobwait':>7} {'probe':>5} {'ref s':>6} {'ref%':>5} {'refcpu':>6}")
    for r in out["rows"]:
        err = 100 * (r["est_s"] - r["seconds"]) / max(r["seconds"], 0.001)
        print(f"{r['step']:<10} {r['calls']:>6.0f} {r['est_calls']:>6} {r['est_s']:>7.2f}"
              f" {r['seconds']:>7.1f} {err:>+5.0f} {r['cpu']:>6.2f}"
              f" {1000 * r['cpu'] / max(r['calls'], 1):>11.1f} {r['bound']:>6}"
              f" {r['share']:>5.2f} {r['load']:>5.1f} {r['before']:>6.1f} {r['span']:>6.1f}"
              f" {r['429']:>4} {r['est_cpu']:>7.2f} {r['cpu'] / max(r['seconds'], 1e-3):>5.2f}"
              f" {r.get('trip_share', 0.0):>5.2f} {r.get('job_wait', 0.0):>7.1f}"
              f" {1000 * r.get('probe', 0.0):>5.1f} {r.get('ref_s', 0.0):>6.2f}"
              f" {100 * (r.get('ref_s', 0.0) - r['seconds']) / max(r['seconds'], 0.001):>+5.0f}"
              f" {r.get('ref_cpu', 0.0):>6.2f}")
    print(f"{'step':<10} {'est@given':>9} {'meas s':>7} {'err%':>5} {'given':>5} {'paced':>6}"
          f" {'estcpu':>6} {'main cpu':>8} {'main wait':>9} {'other cpu':>9} {'other wait':>10}"
          f" {'blocked':>7} {'floor':>5} {'est ans':>7} {'ans eff':>7} {'wake':>5} {'MB':>6} {'recs':>6}"
          f" {'srv cpu':>7} {'srv wait':>8} {'ping ms':>7} {'lat ms':>6}")
    for r in out["rows"]:
        err = 100 * (r["est_g"] - r["seconds"]) / max(r["seconds"], 0.001)
        blocked = r["seconds"] - r["main_cpu"] - r["main_wait"]
        print(f"{r['step']:<10} {r['est_g']:>9.2f} {r['seconds']:>7.2f} {err:>+5.0f}"
              f" {r['given']:>5.2f} {r['paced']:>6.1f} {r['est_cpu_g']:>6.2f}"
              f" {r['main_cpu']:>8.2f} {r['main_wait']:>9.2f} {r['other_cpu']:>9.2f}"
              f" {r['other_wait']:>10.2f} {blocked:>7.2f} {r['floor']:>5.2f}"
              f" {r.get('est_answer', 0.0):>7.2f}"
              f" {r['other_cpu'] / max(blocked, 1e-3):>7.2f} {r.get('wake', 0.0):>5.2f}"
              f" {r.get('bytes', 0) / 1e6:>6.1f} {r.get('records', 0):>6}"
              f" {r.get('server_cpu', 0.0):>7.2f} {r.get('server_wait', 0.0):>8.2f}"
              f" {1000 * r.get('ping_server', 0.0):>7.2f} {1000 * r.get('latency', 0.0):>6.2f}")


if __name__ == "__main__":
    main()
