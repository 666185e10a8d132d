"""No PHI at rest beside the encryption (issue 21): after extract and load with encryption on,
the staging file and its WAL hold none of the generated practice's emails, phone numbers, names
or dates of birth — not in plain text, and not as the unkeyed digests the dedup table used to
keep (a list of addresses reversed those); decrypted copies never go to the shared TMPDIR, and
the ones a killed process leaves in the project's private folder are swept on the next open."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.engine import pipeline as P
from ferry.engine.project import Project
from ferry.sandbox.harness import Pair


@pytest.fixture
def loaded(tmp_path: Path, prepared_pair: Any, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Pair, Path]]:
    tmp = tmp_path / "shared-tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    with prepared_pair(tmp_path / "proj", "FERRY_REST_") as p:
        P.load(p.project)
        p.project.store.close()
        yield p, tmp


def _phi(pair: Pair) -> dict[str, set[str]]:
    emails, phones, names, dobs = set(), set(), set(), set()
    for pt in pair.practice.iter("patient"):
        if pt.email:
            emails.add(pt.email.strip().lower())
        for n in (pt.phone, pt.mobile):
            digits = re.sub(r"\D", "", n or "")
            if len(digits) >= 8:
                phones |= {n, digits, digits[-9:]}
        if pt.first_name and pt.last_name:
            names.add(f"{pt.first_name} {pt.last_name}")
            if len(pt.last_name) >= 6:
                names.add(pt.last_name)
        # staging timestamps (watermarks, runs) are recent and not PHI: dates of birth before
        # 2000 cannot be mistaken for one
        if pt.date_of_birth and pt.date_of_birth.year < 2000:
            dobs.add(pt.date_of_birth.isoformat())
    return {"email": emails, "phone": phones, "name": names, "dob": dobs}


def _unkeyed(pair: Pair) -> set[str]:
    """The digests the dedup table kept before it was keyed (sha256, first 32 hex)."""
    out = set()
    for pt in pair.practice.iter("patient"):
        texts = [pt.email.strip().lower()] if pt.email else []
        texts += [re.sub(r"\D", "", n)[-9:] for n in (pt.phone, pt.mobile) if n]
        if pt.first_name and pt.last_name and pt.date_of_birth:
            texts.append(f"{pt.first_name.strip().lower()}|{pt.last_name.strip().lower()}|"
                         f"{pt.date_of_birth}")
        out |= {hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts}
    return out


def test_staging_holds_no_phi_in_plain_or_unkeyed(loaded: tuple[Pair, Path]) -> None:
    pair, shared_tmp = loaded
    files = glob.glob(str(pair.project.state_dir / "staging.db*"))
    assert any(f.endswith("staging.db") for f in files)
    blob = b"".join(Path(f).read_bytes() for f in files)
    phi = _phi(pair)
    assert all(phi.values()), {k: len(v) for k, v in phi.items()}
    leaked = {kind: sorted(v for v in values if v.encode() in blob)[:3]
              for kind, values in phi.items()}
    assert not any(leaked.values()), {k: len(v) for k, v in leaked.items() if v}
    digests = _unkeyed(pair)
    assert not [d for d in digests if d.encode() in blob]
    # the dedup table is filled, with keyed digests
    n = pair.project.store.conn.execute("SELECT count(email) FROM dedup_keys").fetchone()[0]
    assert n > 0
    assert not list(shared_tmp.iterdir())  # no plain copy went to the shared TMPDIR


CHILD = """
import sys, time
from pathlib import Path
from ferry.model.crypto import private_copy
with private_copy(b"decrypted letter", Path(sys.argv[1]), ".pdf") as p:
    print(p, flush=True)
    time.sleep(60)
"""


def test_plain_copy_left_by_a_kill_is_swept_on_open(tmp_path: Path) -> None:
    proj = Project.at(tmp_path)
    tmp_dir = proj.state_dir / "tmp"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_dir)],
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.stdout is not None
    left = Path(child.stdout.readline().strip())
    assert left.parent == tmp_dir and left.exists()
    assert oct(tmp_dir.stat().st_mode & 0o777) == "0o700"
    # the owner is alive: opening the project leaves its copy alone
    Project.at(tmp_path).store.close()
    assert left.exists()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    time.sleep(0.1)
    assert left.exists()  # a kill skips the cleanup
    Project.at(tmp_path).store.close()
    assert not left.exists()
