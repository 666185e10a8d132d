"""A run killed right after Salesforce stored a file (its outcome never logged) resumes without
uploading it again: every ContentVersion carries its source tag in the same call, and recovery
finds it by that tag on the parent (it used to build ``SELECT Id,  FROM ContentVersion WHERE
IN (...)`` and fail with MALFORMED_QUERY on every retry)."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from ferry.engine import pipeline as P
from ferry.engine.project import Project

from . import forked
from .setup_pair import make_pair, subprocess_env
from .test_kill_resume import LateWrite, _get, _verify_log

TAG = re.compile(r"\[ferry-id:([^\]]+)\]")


def _salesforce_files(pair: Any) -> tuple[list[dict[str, Any]], Counter[str]]:
    files = _get(pair.dest_info, "/_sandbox/state")["objects"]["ContentVersion"]
    return files, Counter(m.group(1) for f in files
                          if (m := TAG.search(str(f.get("Description") or ""))))


def test_salesforce_upload_killed_after_it_landed_resumes(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="salesforce", seed=9, patients=6,
                   env_prefix="FERRY_SFUP_", settle_on_clock=True) as pair:
        env = subprocess_env(pair)
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        for point in ("after-call:upload@ContentVersion:2", "after-intent:upload:1", None):
            run_env = {**env, "FERRY_KILL_AT": point} if point else env
            proc = forked.run("run", pair.project.root, run_env)
            if point:
                assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-3000:])
            else:
                assert proc.returncode == 0, proc.stderr[-3000:]
        files, tags = _salesforce_files(pair)
        assert files and sum(tags.values()) == len(files)  # every file tagged
        assert not [t for t, n in tags.items() if n > 1]  # none uploaded twice
        project = Project.at(pair.project.root)
        try:
            mapped = {m.source_id for m in project.store.iter_idmap(src_object="document")
                      if m.dest_object == "ContentVersion"}
        finally:
            project.store.close()
        assert set(tags) == mapped
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)


def test_salesforce_upload_landing_after_the_resume_looked_is_adopted(tmp_path: Path) -> None:
    """A run killed while Salesforce still holds a ContentVersion it sent; the file lands just
    after the resume's first look for it (its query of the parent's files). The resume looks
    again after ``resume_settle_s`` and adopts it, as on Pipedrive
    (``test_kill_resume_pipedrive``): before, it decided on one look and uploaded it again."""
    with make_pair(tmp_path / "proj", destination="salesforce", seed=9, patients=6,
                   env_prefix="FERRY_SFLATE_", settle_on_clock=True) as pair:
        env = subprocess_env(pair)
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        late = LateWrite(pair.servers[1], "POST", "/sobjects/ContentVersion",
                         look=("/query", b"ContentVersion"))
        late.kill_then_resume(pair.project.root, env)
        files, tags = _salesforce_files(pair)
        assert files and sum(tags.values()) == len(files)
        assert not [t for t, n in tags.items() if n > 1]  # none uploaded twice
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)
