"""Odoo file uploads alone, code trees taking turns: the serial chain of one call in flight.

The Odoo sandbox runs in this process (its CPU is this process's meanwhile); each tree's upload
runs in a child process (``PYTHONPATH`` = the tree) that creates partners and sends the same
encrypted stored files through ``upload_many`` in groups of 50, as the engine does. Per run:
wall, the child's CPU, the sandbox's CPU, and the time each waited for a core (schedstat), so
a change that overlaps Ferry's work with the server's shows as wall against the two CPUs.

    .venv/bin/python bench/upload_chain.py --files 300 --kb 800 --rounds 3 OLD/src NEW/src
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
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CHILD = textwrap.dedent('''
    import json, os, resource, sys, time
    from pathlib import Path
    from ferry.connectors.base import FileUpload
    from ferry.connectors.registry import make_destination
    from ferry.model.crypto import AesGcmCodec, PlainView
    url, db, login, folder, n = sys.argv[1:6]
    codec = AesGcmCodec(bytes(range(32)))
    dest = make_destination("odoo", {"kind": "odoo", "url": url, "db": db, "login": login,
                                     "api_key_env": "FERRY_UPLOAD_CHAIN_KEY",
                                     "time_scale": 1e6}, Path(folder) / "dest")
    files = sorted(Path(folder, "files").iterdir())
    parents = dest.create("res.partner", [{"name": f"P{i}"} for i in range(len(files) // 2 + 1)])
    t0, c0 = time.monotonic(), time.process_time()
    ok = 0
    for k in range(0, len(files), 50):
        group = [FileUpload("res.partner", parents[i // 2].dest_id, PlainView.of_file(p, codec),
                            p.name, "application/pdf", {"_source_id": p.name})
                 for i, p in enumerate(files[k:k + 50], start=k)]
        ok += sum(r.ok for r in dest.upload_many(group))
    print(json.dumps({"wall": time.monotonic() - t0, "cpu": time.process_time() - c0,
                      "ok": ok, "calls": dest.rpc.total_calls}))
''')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+")
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--kb", type=int, default=800, help="each file's size")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ["FERRY_SANDBOX_DROP_FILE_CONTENT"] = "1"  # size and checksum kept, not content
    import httpx

    from engine import WallSampler
    from ferry.model.crypto import AesGcmCodec, encrypt_file
    from ferry.sandbox.odoo import build
    from ferry.sandbox.registry import SandboxOptions
    from ferry.sandbox.server import serve_in_thread

    sb = build(SandboxOptions(users=["dr.grey@clinic.test"], time_scale=1e6))
    running = serve_in_thread(sb.app)
    creds = sb.credentials(running.base_url)
    work = Path(tempfile.mkdtemp(prefix="ferry-upload-chain-"))
    try:
        (work / "files").mkdir()
        codec = AesGcmCodec(bytes(range(32)))
        for i in range(args.files):
            p = work / "files" / f"f{i:05d}.pdf"
            p.write_bytes(os.urandom(args.kb * 1024))
            encrypt_file(p, codec)
        env = dict(os.environ, FERRY_UPLOAD_CHAIN_KEY=creds["api_key"])
        print(f"{args.files} files of {args.kb} KB, groups of 50, load"
              f" {os.getloadavg()[0]:.1f}", flush=True)
        for rnd in range(args.rounds):
            for tree in (args.trees if rnd % 2 == 0 else args.trees[::-1]):
                httpx.post(f"{running.base_url}/_sandbox/reset").raise_for_status()
                shutil.rmtree(work / "dest", ignore_errors=True)
                (work / "dest").mkdir()
                e0 = resource.getrusage(resource.RUSAGE_SELF)
                proc = subprocess.Popen(
                    [sys.executable, "-c", CHILD, running.base_url, creds["db"], creds["login"],
                     str(work), str(args.files)], env=dict(env, PYTHONPATH=tree),
                    stdout=subprocess.PIPE)
                sampler = WallSampler(proc.pid)
                sampler.start()
                out = proc.communicate()[0]
                split = sampler.finish()
                e1 = resource.getrusage(resource.RUSAGE_SELF)
                emu = e1.ru_utime + e1.ru_stime - e0.ru_utime - e0.ru_stime - split["own"]
                r = json.loads(out.decode().strip().splitlines()[-1])
                print(f"round {rnd} {tree}: upload wall {r['wall']:.2f} s, Ferry CPU"
                      f" {r['cpu']:.2f} s, sandbox CPU {emu:.2f} s (whole child), queue F/E"
                      f" {split['ferry_wait']:.1f}/{split['emu_wait']:.1f} s, idle"
                      f" {split['idle']:.1f} s, {r['ok']} files, {r['calls']} calls, load"
                      f" {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        running.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
