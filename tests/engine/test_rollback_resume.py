"""A rollback killed right after the destination applied a schema removal (the engine never logged
it) runs again to the end: what is already gone counts as removed (404/410 settles it), on
every destination and for every kind (custom field, stage, custom object). The rollback also
removes what ``prepare`` made to open the new fields: the Salesforce permission set and its
assignment.

The kill is deterministic: ``FERRY_KILL_AT`` names the point (``ferry.connectors.killpoint``).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ferry.engine import pipeline as P

from . import forked
from .setup_pair import make_pair, subprocess_env
from .test_kill_resume import _get, _verify_log


def schema_view(state: dict[str, Any], destination: str) -> dict[str, Any]:
    """What ``prepare`` can make in each account, in a comparable form."""
    if destination == "pipedrive":
        return {"fields": {obj: sorted(f["field_name"] for f in fields if not f["is_deleted"])
                           for obj, fields in state["fields"].items()},
                "pipelines": sorted(p["id"] for p in state["pipelines"] if not p["is_deleted"]),
                "stages": sorted(s["id"] for s in state["stages"] if not s["is_deleted"])}
    if destination == "salesforce":
        perms = state["permissions"]
        return {"custom": sorted((o, sorted(m["fields"]))
                                 for o, m in state["custom_metadata"].items()),
                "permission_sets": sorted(p["Name"] for p in perms["permission_sets"]),
                "assignments": sorted(a["Id"] for a in perms["assignments"]),
                "grants": len(perms["field_permissions"]) + len(perms["object_permissions"])}
    return {"custom_fields": state["custom_fields"]}


def _driver(root: Path, verb: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return forked.run(verb, root, env)


@pytest.mark.parametrize(("destination", "kill_at"), [
    ("pipedrive", "after-call:unprovision@custom_field:2"),
    ("pipedrive", "after-call:unprovision@stage:1"),
    ("salesforce", "after-call:unprovision@custom_object:1"),
    ("odoo", "after-call:unprovision@custom_field:2"),
])
def test_rollback_killed_after_a_removal_resumes(tmp_path: Path, destination: str,
                                                 kill_at: str) -> None:
    with make_pair(tmp_path / "proj", destination=destination, seed=5, patients=8,
                   env_prefix="FERRY_RBRES_", settle_on_clock=True) as pair:
        before = schema_view(_get(pair.dest_info, "/_sandbox/state"), destination)
        P.run_extract(pair.project)
        P.run_prepare(pair.project)
        pair.project.store.close()
        assert schema_view(_get(pair.dest_info, "/_sandbox/state"), destination) != before
        env = subprocess_env(pair)
        killed = _driver(pair.project.root, "rollback", {**env, "FERRY_KILL_AT": kill_at})
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr[-2000:]
        again = _driver(pair.project.root, "rollback", env)
        assert again.returncode == 0, again.stdout + again.stderr[-3000:]
        assert json.loads(again.stdout.splitlines()[-1])["verified"] is True
        after = schema_view(_get(pair.dest_info, "/_sandbox/state"), destination)
        assert after == before
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)


def test_second_rollback_still_reports_what_the_first_left(tmp_path: Path) -> None:
    """A rollback that is NOT verified (a record it cannot account for is still live) leaves
    its runs open: running it again checks again and says NOT verified, not "0 runs, verified"."""
    from .setup_pair import approve_phi

    with make_pair(tmp_path / "proj", destination="odoo", seed=5, patients=6,
                   env_prefix="FERRY_RBTWICE_") as pair:
        project = pair.project
        P.run_extract(project)
        P.run_prepare(project)
        approve_phi(project)
        P.load(project)
        stray = P.open_destination(project).create("res.partner", [{"name": "Left behind"}])
        assert stray[0].ok
        first = P.run_rollback(project)
        assert not first.verified and first.counts_after != first.counts_before
        second = P.run_rollback(project)
        assert second.runs == first.runs
        assert not second.verified and second.counts_after.get("res.partner") == \
            first.counts_after.get("res.partner")


@pytest.mark.parametrize("resume_prepare", [False, True])
def test_rollback_removes_the_permission_set_of_a_killed_prepare(tmp_path: Path,
                                                                 resume_prepare: bool) -> None:
    """``prepare`` killed right after Salesforce made the first item — and with it the
    permission set and its assignment — before the outcome was logged. Rollback (straight away,
    or after the prepare was resumed to the end) removes the item and finds the permission set
    and assignment by their name and Ferry's tag: nothing ``prepare`` made stays behind."""
    with make_pair(tmp_path / "proj", destination="salesforce", seed=5, patients=6,
                   env_prefix="FERRY_RBPS_", settle_on_clock=True) as pair:
        before = schema_view(_get(pair.dest_info, "/_sandbox/state"), "salesforce")
        P.run_extract(pair.project)
        pair.project.store.close()
        env = subprocess_env(pair)
        killed = _driver(pair.project.root, "prepare",
                         {**env, "FERRY_KILL_AT": "after-call:provision:1"})
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr[-2000:]
        made = schema_view(_get(pair.dest_info, "/_sandbox/state"), "salesforce")
        assert made["permission_sets"] and made["assignments"], made
        if resume_prepare:
            done = _driver(pair.project.root, "prepare", env)
            assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        rolled = _driver(pair.project.root, "rollback", env)
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr[-3000:]
        assert json.loads(rolled.stdout.splitlines()[-1])["verified"] is True
        assert schema_view(_get(pair.dest_info, "/_sandbox/state"), "salesforce") == before
        ok, msg, open_intents = _verify_log(pair.project.root)
        assert ok and open_intents == 0, (msg, open_intents)
