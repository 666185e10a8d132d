"""Engine benchmark: overhead per record at unlimited API speed, and overlap at real-scale limits.

Sandboxes run in this process; every engine verb runs in its own child process
(``tests/engine/driver.py``), so the CPU seconds (from ``wait4``) and peak RSS (the child's own
VmHWM) reported are the engine's alone, not the emulators'. Each row also splits the verb's
wall: the emulators' CPU (this process's threads meanwhile), the time when neither side ran nor
waited for a core (sleeps, pacing, polling, fsync, lock waits), and the time each side was
runnable but waiting for a core (schedstat: the machine's other load).

1. ``overhead`` — for each ``--patients`` N, a fresh practice, sandboxes at ``--fast-scale``
   (every limit divided away): extract, prepare, load (and ``--rollback``). Prints records/s, CPU s per 10k records and
   peak RSS per verb. Memory should stay flat as N grows. With ``--e2e`` the verbs are what a
   person runs: extract, prepare, review (the PHI scan and a bulk approval), run, reconcile,
   and a total row; ``--big-files N`` adds ~100 MB text files and PDFs to about N patients.
2. ``overlap`` — sandboxes at ``--time-scale`` (real limits, scaled): extract alone and load alone
   on one project (the extract bound and the load bound), then ``migrate`` (extract and load
   overlapped) on a fresh, identical project. Prints migrate's wall time against
   max(extract, load) and extract + load.

    .venv/bin/python bench/engine.py [--dest odoo] [--patients 200 1000] [--time-scale 50]
                                     [--overlap-patients 60] [--skip-overlap]
    # 100k end to end into Salesforce, files included (one command):
    .venv/bin/python bench/engine.py --dest salesforce --e2e --patients 100000 --skip-overlap
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))

DRIVER = ROOT / "tests" / "engine" / "driver.py"


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (the PHI scan's worker processes among them)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _schedstat(pids: list[int], skip: int = 0) -> dict[tuple[int, int], tuple[int, int]]:
    """(ns on a core, ns runnable but waiting for one) of every thread of ``pids`` (but the
    thread ``skip``), from /proc/PID/task/TID/schedstat."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for p in pids:
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            if int(t) == skip:
                continue
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as fh:
                    run, wait, _ = fh.read().split()
            except (OSError, ValueError):
                continue
            out[(p, int(t))] = (int(run), int(wait))
    return out


class WallSampler(threading.Thread):
    """Where a verb's wall goes: every ``period`` s, the CPU time of Ferry's process tree (the
    child and its workers) and of this process's threads (the sandboxes' servers: the
    emulators), and the time each spent runnable but waiting for a core (schedstat).

    Per interval, time when neither ran nor waited for a core is ``max(0, dt - ferry -
    emulators - their waits)`` (a lower bound: when both ran at once, more of the interval was
    idle): sleeps, pacing, polling, fsync, lock waits, and the network between them. A thread that ends between two samples loses its last
    interval (at most ``period`` of its CPU)."""

    def __init__(self, pid: int, period: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.stop = threading.Event()
        self.ferry: dict[tuple[int, int], tuple[int, int]] = {}
        self.emu: dict[tuple[int, int], tuple[int, int]] = {}
        self.idle = 0.0
        self.both = 0.0  # intervals where the two together used more than the interval
        self.own = 0.0  # this thread's CPU, taken out of the emulators'
        self.emu0: dict[tuple[int, int], tuple[int, int]] = {}  # each server thread at start
        self.started_emu = False

    def _sample(self) -> tuple[int, int, int, int]:
        f = _schedstat(_tree(self.pid))
        e = _schedstat([os.getpid()], skip=threading.get_native_id())
        for k, v in e.items():  # the servers' threads outlive the verb: from the first sample
            self.emu0.setdefault(k, (0, 0) if self.started_emu else v)
        self.started_emu = True
        self.ferry.update(f)
        self.emu.update(e)
        return (sum(r for r, _ in self.ferry.values()),
                sum(r - self.emu0[k][0] for k, (r, _) in self.emu.items()),
                sum(w for _, w in self.ferry.values()),
                sum(w - self.emu0[k][1] for k, (_, w) in self.emu.items()))

    def run(self) -> None:
        t, (f, e, wf, we) = time.monotonic(), self._sample()
        while not self.stop.wait(self.period):
            t2, (f2, e2, wf2, we2) = time.monotonic(), self._sample()
            dt, used, queued = t2 - t, (f2 - f + e2 - e) / 1e9, (wf2 - wf + we2 - we) / 1e9
            self.idle += max(0.0, dt - used - queued)
            self.both += max(0.0, used - dt)
            t, f, e, wf, we = t2, f2, e2, wf2, we2
        self.own = time.thread_time()

    def finish(self) -> dict[str, float]:
        self.stop.set()
        self.join()
        return {"ferry_wait": sum(w for _, w in self.ferry.values()) / 1e9,
                "emu_wait": sum(w - self.emu0[k][1] for k, (_, w) in self.emu.items()) / 1e9,
                "idle": self.idle, "overlap": self.both, "own": self.own}


def run_child(verb: str, project_root: Path, env: dict[str, str], profile: Path | None = None,
              say: bool = True) -> dict[str, Any]:
    """Run one verb in a child process; wall, CPU (user+sys) and peak RSS of that child.

    With ``profile`` the child runs under cProfile on its CPU clock (its CPU is then inflated by
    the profiler) and writes its statistics there. Its stdout and stderr are drained at the
    same time: read one after the other, a child that wrote more than a pipe holds (64 KiB) to
    the second would wait on the bench forever. A line on stderr says when each verb starts,
    so a run that stops shows where."""
    t0 = time.monotonic()
    cmd = [sys.executable, str(DRIVER), verb, str(project_root)]
    if profile is not None:
        cmd.append(f"--profile={profile}")
    if say:
        print(f"  … {verb} started {time.strftime('%H:%M:%S')}, load average"
              f" {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    emu0 = resource.getrusage(resource.RUSAGE_SELF)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = WallSampler(proc.pid)
    sampler.start()
    # both pipes drained at once (a thread for stderr), then the child reaped with its rusage
    errs: list[bytes] = []
    reader = threading.Thread(target=lambda: errs.append(proc.stderr.read() if proc.stderr
                                                         else b""), daemon=True)
    reader.start()
    out = proc.stdout.read() if proc.stdout else b""
    reader.join()
    err = errs[0] if errs else b""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    split = sampler.finish()
    emu1 = resource.getrusage(resource.RUSAGE_SELF)
    # this process's CPU meanwhile: the sandboxes' servers (and the sampler, taken out)
    emu = (emu1.ru_utime + emu1.ru_stime - emu0.ru_utime - emu0.ru_stime - split.pop("own"))
    if proc.returncode != 0:
        raise SystemExit(f"{verb} failed ({proc.returncode}) after {wall:.0f} s:"
                         f" {err.decode(errors='replace')[-2000:]}")
    lines = [ln for ln in out.decode().strip().splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    # the child's own VmHWM: wait4's ru_maxrss includes this (big, sandbox-holding) parent's
    # high-water mark, which Linux carries into the child across fork + exec
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "emu": emu, **split,
            "rss_mb": result.get("vmhwm_mb") or float("nan"), "out": result,
            "load": os.getloadavg()[0]}


def top_functions(profile: Path, n: int) -> list[str]:
    """The ``n`` functions with the most own CPU time in a cProfile dump, as printable lines."""
    import pstats

    stats = pstats.Stats(str(profile))
    total = stats.total_tt or 1.0  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out = []
    for (file, line, func), (_cc, calls, tottime, cumtime, _callers) in rows[:n]:
        where = f"{Path(file).name}:{line}" if line else file
        out.append(f"{tottime:7.2f} s {100 * tottime / total:5.1f} %  cum {cumtime:7.2f} s"
                   f"  {calls:>9} calls  {func} ({where})")
    return out


def fill_open_picklists(doc: Any, practice: Any) -> Any:
    """Options of the open pick-lists from the generated practice itself, so ``prepare`` can run
    before anything is staged (as ``migrate`` needs: it loads while extraction goes on)."""
    from ferry.mapping.transforms import get_value
    from ferry.mapping.value_maps import apply_value_map
    from ferry.model.fields import Kind

    doc = doc.model_copy(deep=True)
    for obj, fields in doc.custom_fields.items():
        for cf in fields:
            if cf.kind not in (Kind.ENUM, Kind.SET) or cf.options:
                continue
            labels: set[str] = set()
            for om in doc.objects:
                for fm in om.fields:
                    if om.target != obj or fm.target != f"custom:{cf.name}" or \
                            not isinstance(fm.source, str):
                        continue
                    for rec in practice.iter(om.source):
                        value = get_value(rec, fm.source)
                        try:
                            if fm.value_map is not None:
                                value = apply_value_map(value, fm.value_map,
                                                        fm.value_map_default)
                        except ValueError:
                            continue
                        for v in value if isinstance(value, list) else [value]:
                            if v not in (None, ""):
                                labels.add(str(v))
            cf.options = sorted(labels) or ["(none)"]
    return doc


#: how long a signed file link lives, in real seconds, whatever the time scale. A link's
#: lifetime is no limit to divide away: at ``--fast-scale 1e6`` the sandbox's 600 emulated
#: seconds were 0.6 ms, every download failed and the load skipped every attachment.
LINK_TTL_REAL_S = 600.0


def source_files(patients: int, big_files: int = 0, doc_size_scale: float = 1.0,
                 oversize: int = -1) -> dict[str, Any]:
    """The source sandbox's ``extra`` options that shape its files: ``big_files`` patients
    each get a ~100 MB text file and a ~100 MB PDF; the ordinary documents' sizes multiplied
    by ``doc_size_scale``; ``oversize`` patients (-1: the practice's usual 0.3 %) get one
    52-140 MB scan."""
    from ferry.sandbox.synth import DirtRates

    rates: dict[str, float] = {}
    if big_files:
        rates["large_text_file"] = rates["large_pdf"] = min(1.0, big_files / max(patients, 1))
    if oversize >= 0:
        rates["oversize_file"] = min(1.0, oversize / max(patients, 1))
    extra: dict[str, Any] = {"dirt": DirtRates(**rates)} if rates else {}
    if doc_size_scale != 1.0:
        extra["doc_size_scale"] = doc_size_scale
    return extra


def declared_files(seed: int, patients: int, extra: dict[str, Any]) -> tuple[int, int, int]:
    """(files, bytes, bytes of files over 50 MB) the source offers: what the extract moves."""
    from ferry.sandbox.synth import Practice

    practice = Practice(seed, patients, extra.get("dirt"),
                        doc_size_scale=extra.get("doc_size_scale", 1.0))
    n = total = big = 0
    for doc in practice.iter("document"):
        n, total = n + 1, total + (doc.size or 0)
        big += (doc.size or 0) if (doc.size or 0) > 50 * 2**20 else 0
    return n, total, big


def _du(path: Path) -> int:
    """Bytes of the files under ``path`` (the project's staging: database and sealed files)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def new_pair(work: Path, name: str, dest: str, patients: int, scale: float, seed: int,
             big_files: int = 0, batch_size: int = 0, doc_size_scale: float = 1.0,
             oversize: int = -1) -> Any:
    from setup_pair import make_pair

    from ferry.settings import load_settings, save_settings

    extra: dict[str, Any] = {"file_ttl_s": LINK_TTL_REAL_S * scale,
                             **source_files(patients, big_files, doc_size_scale, oversize)}
    pair = make_pair(work / name, destination=dest, patients=patients, seed=seed,
                     time_scale=scale, env_prefix=f"FERRY_BENCH_{name.upper()}_",
                     source_extra=extra)
    if batch_size:
        settings = load_settings(pair.project.settings_path)
        settings.options.batch_size = batch_size
        save_settings(settings, pair.project.settings_path)
    return pair


def _split(r: dict[str, Any]) -> str:
    """The emulators' CPU, the time when neither ran, and the time each waited for a core."""
    return (f" {r['emu']:>7.1f} {r['idle']:>7.1f} {r['ferry_wait']:>6.1f}/{r['emu_wait']:<6.1f}")


def _note(verb: str, out: dict[str, Any]) -> str:
    """Files moved: a bench whose files all failed (an expired link, a spent budget) would
    look fast for the wrong reason."""
    if verb == "extract" and "files" in out:
        return (f"  ({out['files']} files downloaded; project folder"
                f" {out.get('staged_gb', 0):.2f} GB)")
    if verb in ("load", "reviewed") and "totals" in out:
        t = out["totals"]
        api = f"; {out['api']}" if "api" in out else ""
        return (f"  ({t.get('uploaded', 0)} files uploaded, {t.get('skipped', 0)} skipped"
                f"{api})")
    if verb == "review":
        return f"  (text fields; {out.get('approved', 0)} flagged items approved)"
    if verb == "reconcile":
        return (f"  ({'balanced' if out.get('balanced') else 'NOT balanced'},"
                f" {out.get('discrepancies', 0)} discrepancy lines)")
    return ""


def api_usage(pair: Any) -> tuple[int, int, int]:
    """Pipedrive: (requests, PATCHes, tokens) the destination sandbox has seen so far (tokens
    by operation, which no emulated day resets: at ``--fast-scale`` a day lasts 0.09 s)."""
    import httpx

    base = pair.dest_info["base_url"] + "/_sandbox"
    log = httpx.get(base + "/requests", timeout=120).json()["requests"]
    tokens = httpx.get(base + "/state", timeout=120).json()["tokens"]["by_operation"]
    return (len(log), sum(1 for r in log if r["method"] == "PATCH"), sum(tokens.values()))


#: ``--e2e``: what a person runs, in order (``review`` = the scan and a bulk approval)
E2E = ("extract", "prepare", "review", "reviewed", "reconcile")


def overhead(args: argparse.Namespace, work: Path) -> None:
    from setup_pair import subprocess_env

    if max(args.patients) >= 2000:  # ~1 MB of files per patient: the sandboxes keep no content
        os.environ["FERRY_SANDBOX_DROP_FILE_CONTENT"] = "1"

    print(f"== engine {'end to end' if args.e2e else 'overhead'}, {args.dest}, sandboxes at"
          f" time_scale={args.fast_scale:g} (limits divided away); figures are the engine"
          f" process alone; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    print("   wall split: emu = the sandboxes' CPU (this process's threads); idle = time when"
          " neither ran nor waited for a core (sleeps, pacing, polling, fsync, locks);\n"
          "   queue = runnable but waiting for a core (Ferry / emulators)", flush=True)
    tiny = args.fixed_start if args.e2e else 0
    if tiny:
        print(f"   fixed s = the same verb's median CPU on {tiny} fresh {FIXED_PATIENTS}-patient"
              " projects (same flags, no oversize or big files), each run just before it;"
              " marg s/10k = (CPU s - fixed s) per 10k of the records (fields) beyond the"
              " small project's: the per-record cost without the verb's start. CPU s/10k is"
              " the literal figure", flush=True)
    print(f"{'patients':>8} {'verb':<9} {'records':>8} {'wall s':>8} {'rec/s':>8}"
          f" {'CPU s':>7} {'rec/CPU-s':>9} {'CPU s/10k':>9}"
          + (f" {'fixed s':>7} {'marg s/10k':>10}" if tiny else "")
          + f" {'peak RSS MB':>11} {'load':>5}"
          f" {'emu s':>7} {'idle s':>7} {'queue F/E s':>13}", flush=True)
    for n in args.patients:
        batch = args.batch_size or (5000 if args.dest == "salesforce" else 0)
        files, declared, big = declared_files(
            args.seed, n, source_files(n, args.big_files, args.doc_size_scale, args.oversize))
        print(f"{n:>8} files offered: {files} files, {declared / 1e9:.2f} GB ({big / 1e9:.2f} GB"
              f" in files over 50 MB; ordinary documents' sizes x{args.doc_size_scale:g})",
              flush=True)
        pair = new_pair(work, f"o{n}", args.dest, n, args.fast_scale, args.seed,
                        args.big_files, batch, args.doc_size_scale, args.oversize)
        smalls = [new_pair(work, f"s{n}_{i}", args.dest, FIXED_PATIENTS, args.fast_scale,
                           args.seed, 0, batch, args.doc_size_scale, 0) for i in range(tiny)]
        try:
            env = subprocess_env(pair)
            records = 0
            small_units: list[dict[str, int]] = [{} for _ in smalls]
            verbs: list[str] = list(E2E) if args.e2e else [
                "extract", "prepare", *(["scan"] if args.prescan else []), "load",
                *(["rollback"] if args.rollback else [])]
            totals = {"wall": 0.0, "cpu": 0.0, "rss": 0.0, "emu": 0.0, "idle": 0.0,
                      "ferry_wait": 0.0, "emu_wait": 0.0}
            for verb in verbs:
                prof = work / f"{verb}.prof" if verb in args.profile else None
                fixed, fixed_units = _fixed_start(verb, smalls, small_units)
                used = api_usage(pair) if args.dest == "pipedrive" else None
                r = run_child(verb, pair.project.root, env, prof)  # each row printed as it ends
                if used is not None and verb in ("load", "reviewed"):
                    calls, patches, tokens = (b - a for a, b in zip(used, api_usage(pair),
                                                                 strict=True))
                    r["out"]["api"] = f"{calls} requests, {patches} PATCH, {tokens} tokens"
                for k in ("wall", "cpu", "emu", "idle", "ferry_wait", "emu_wait"):
                    totals[k] += r[k]
                totals["rss"] = max(totals["rss"], r["rss_mb"])
                if verb == "extract":
                    records = int(r["out"].get("records", 0))
                    r["out"]["staged_gb"] = _du(pair.project.root) / 1e9
                if verb in ("scan", "review"):  # text fields screened (the queue's scan)
                    recs = int(r["out"].get("fields", 0))
                else:
                    recs = records if verb not in ("prepare",) else 0
                rate = recs / r["wall"] if recs else 0.0
                per10k = r["cpu"] * 10_000 / recs if recs else 0.0
                per_cpu = recs / r["cpu"] if recs and r["cpu"] else 0.0
                marginal = ""
                if tiny:
                    marg = ((r["cpu"] - fixed) * 10_000 / (recs - fixed_units)
                            if recs > fixed_units else 0.0)
                    marginal = f" {fixed:>7.3f} {marg:>10.3f}" if recs else f" {fixed:>7.3f} {'':>10}"
                print(f"{n:>8} {verb:<9} {recs:>8} {r['wall']:>8.1f} {rate:>8.0f}"
                      f" {r['cpu']:>7.2f} {per_cpu:>9.0f} {per10k:>9.3f}{marginal}"
                      f" {r['rss_mb']:>11.0f}"
                      f" {r['load']:>5.1f}" + _split(r) + _note(verb, r["out"])
                      + ("  (under cProfile)" if prof else ""), flush=True)
                if prof is not None:
                    for line in top_functions(prof, args.top):
                        print(f"{'':>10}{line}")
            print(f"{n:>8} {'all':<9} {records:>8} {totals['wall']:>8.1f} {'':>8}"
                  f" {totals['cpu']:>7.2f} {'':>9} {'':>9} {totals['rss']:>11.0f}"
                  f" {os.getloadavg()[0]:>5.1f}" + _split(totals)
                  + f"  (wall: {totals['wall'] / 60:.1f} min)",
                  flush=True)
        finally:
            for p in (pair, *smalls):
                p.stop()
                shutil.rmtree(p.project.root, ignore_errors=True)


#: the small projects whose verbs give each verb's fixed start (``--fixed-start``)
FIXED_PATIENTS = 3


def _fixed_start(verb: str, smalls: list[Any], units: list[dict[str, int]]
                 ) -> tuple[float, int]:
    """Run ``verb`` on each small project (they advance through the verbs with the large one,
    so each verb is measured just before the large project's, at the same load): the median
    CPU, and the median of the records (the review: text fields) it counts."""
    import statistics

    from setup_pair import subprocess_env

    if not smalls:
        return 0.0, 0
    cpus, counted = [], []
    for small, u in zip(smalls, units, strict=True):
        out = run_child(verb, small.project.root, subprocess_env(small), say=False)
        cpus.append(out["cpu"])
        if verb == "extract":
            u["records"] = int(out["out"].get("records", 0))
        counted.append(int(out["out"].get("fields", 0)) if verb in ("scan", "review")
                       else u.get("records", 0))
    return statistics.median(cpus), int(statistics.median(counted))


def overlap(args: argparse.Namespace, work: Path) -> None:
    from setup_pair import recipe_for, subprocess_env

    from ferry.mapping import mapping_file
    from ferry.mapping.validate import confirm_file
    from ferry.settings import load_settings, save_settings

    n = args.overlap_patients
    print(f"\n== overlap, {args.dest}, {n} patients, sandboxes at time_scale={args.time_scale:g}"
          f" (real limits, scaled); source page size {args.src_page_size or 'default'},"
          f" destination pace {args.dest_rps or 'default'} req/s")
    walls: dict[str, float] = {}
    for name, verbs in (("sep", ("extract", "load")), ("mig", ("migrate",))):
        pair = new_pair(work, f"{name}{n}", args.dest, n, args.time_scale, args.seed)
        try:
            settings = load_settings(pair.project.settings_path)
            if args.src_page_size:
                settings.source.__pydantic_extra__["page_size"] = args.src_page_size
            if args.dest_rps:
                settings.destination.__pydantic_extra__["requests_per_second"] = args.dest_rps
            save_settings(settings, pair.project.settings_path)
            doc = fill_open_picklists(recipe_for("practicehub", args.dest), pair.practice)
            mapping_file.save(doc, pair.project.mapping_path)
            confirm_file(pair.project.mapping_path, by="bench")
            env = subprocess_env(pair)
            run_child("prepare", pair.project.root, env)
            for verb in verbs:
                r = run_child(verb, pair.project.root, env)
                walls[verb] = r["wall"]
                print(f"  {verb:<8} wall {r['wall']:>7.1f} s  CPU {r['cpu']:>6.1f} s"
                      f"  peak RSS {r['rss_mb']:>5.0f} MB  {json.dumps(r['out'])[:160]}",
                      flush=True)
        finally:
            pair.stop()
            shutil.rmtree(pair.project.root, ignore_errors=True)
    e, ld, m = walls["extract"], walls["load"], walls["migrate"]
    print(f"  extract bound {e:.1f} s, load bound {ld:.1f} s: max {max(e, ld):.1f} s,"
          f" sum {e + ld:.1f} s; migrate {m:.1f} s = {m / max(e, ld):.2f} x max,"
          f" {m / (e + ld):.2f} x sum (each child includes ~2 s of interpreter start)")


def compile_bytecode() -> None:
    """Ferry's modules as an installed Ferry has them, compiled: with PYTHONDONTWRITEBYTECODE=1
    (this machine and CI) each verb's process compiled every module it imported from source
    again, ~0.1 CPU-s a verb that no user pays (pip writes the .pyc files) and that weighed on
    the small sizes' CPU per record."""
    import compileall

    for folder in (ROOT / "src" / "ferry", ROOT / "tests" / "engine"):
        if os.access(folder, os.W_OK):
            compileall.compile_dir(folder, quiet=2, workers=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default="odoo", choices=["odoo", "pipedrive", "salesforce"])
    ap.add_argument("--patients", type=int, nargs="*", default=[200, 1000])
    ap.add_argument("--fast-scale", type=float, default=1e6)
    ap.add_argument("--time-scale", type=float, default=50.0)
    ap.add_argument("--overlap-patients", type=int, default=60)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--skip-overlap", action="store_true")
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--rollback", action="store_true", help="also time the rollback")
    ap.add_argument("--e2e", action="store_true",
                    help="extract, prepare, review (scan + bulk approval), run (decisions"
                         " honoured), reconcile: each verb's wall, CPU and peak RSS, and the"
                         " total")
    ap.add_argument("--big-files", type=int, default=0, metavar="N",
                    help="about N patients each get a ~100 MB text file and a ~100 MB PDF"
                         " (besides the practice's usual files, some over 50 MB)")
    ap.add_argument("--doc-size-scale", type=float, default=1.0, metavar="F",
                    help="multiply the ordinary documents' sizes (mean ~0.8 MB) by F, e.g."
                         " 0.15 for ~120 KB scanned letters; the text PDFs, the oversize scans"
                         " and --big-files keep theirs (100k patients stage ~100 GB at 1)")
    ap.add_argument("--oversize", type=int, default=-1, metavar="N",
                    help="about N patients get a 52-140 MB scan (default: 0.3 %% of them)")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="where the project folders go (default: a temporary folder);"
                         " a large run needs the disk, and /tmp may be cleaned under it")
    ap.add_argument("--batch-size", type=int, default=0,
                    help="the project's options.batch_size (default: the settings' 100;"
                         " 5000 for Salesforce, so its loads go through Bulk API 2.0)")
    ap.add_argument("--prescan", action="store_true",
                    help="time the PHI review queue's scan on its own before the load (the"
                         " load then finds it done)")
    ap.add_argument("--profile", nargs="*", default=[], metavar="VERB",
                    help="run these verbs under cProfile and print their top functions")
    ap.add_argument("--top", type=int, default=15, help="functions printed per profile")
    ap.add_argument("--fixed-start", type=int, default=3, metavar="N",
                    help=f"--e2e: run each verb first on N fresh {FIXED_PATIENTS}-patient"
                         " projects (same flags, no oversize or big files) and print its"
                         " median CPU (the verb's fixed start, measured at the same load) and"
                         " the CPU per 10k records with it taken away; 0: not")
    ap.add_argument("--src-page-size", type=int, default=0,
                    help="overlap: source page size (smaller pages: a longer extract)")
    ap.add_argument("--dest-rps", type=float, default=0.0,
                    help="overlap: destination requests_per_second (Odoo's is a courtesy)")
    args = ap.parse_args()
    compile_bytecode()
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ferry-bench-engine-", dir=args.work_dir))
    try:
        if not args.skip_overhead:
            overhead(args, work)
        if not args.skip_overlap:
            overlap(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
