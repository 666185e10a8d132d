"""`ferry sample`'s FAIL line counts what failed it. A file the destination refuses (over
Pipedrive's upload limit) fails the sample as a record not written; the line said "FAIL sample:
0 difference(s) the map does not explain" (``ferry demo``, PracticeHub → Pipedrive, seed 173,
100 patients: a planted 90 MB scan in the slice), contradicting itself. Through the CLI against
the PracticeHub and Pipedrive sandboxes, the account's file limit set low so every file is
refused."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .test_column_placement import settle_reviews


def said(r: subprocess.CompletedProcess[str]) -> str:
    return " ".join((r.stdout + r.stderr).split())


def test_a_sample_failed_by_a_refused_file_says_so(tmp_path: Path, ferry: Any) -> None:
    from ferry.sandbox.harness import start_pair

    with start_pair(tmp_path / "p", source="practicehub", destination="pipedrive", patients=10,
                    seed=5, time_scale=1000.0, env_prefix="FERRY_SV_",
                    dest_extra={"max_file_bytes": 100}) as pair:
        p = str(pair.project.root)
        for args in (("extract",), ("map",)):
            r = ferry(*args, "-p", p)
            assert r.returncode == 0, said(r)[-2000:]
        settle_reviews(pair.project.mapping_path)
        for args in (("map", "--confirm", "--by", "tests"), ("prepare",)):
            r = ferry(*args, "-p", p)
            assert r.returncode == 0, said(r)[-2000:]
        r = ferry("sample", "--size", "20", "-p", p, env={"COLUMNS": "200"})
        out = said(r)
        assert r.returncode == 1, out[-2000:]
        assert "not written (load-file)" in out, out[-2000:]
        assert "record(s) not written" in out.split("FAIL sample:")[1], out[-2000:]
