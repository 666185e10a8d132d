"""How xdist shares the suite between workers (pyproject: ``--dist loadgroup
--no-loadscope-reorder``): the slowest tests are handed out first, so the run does not end
with one worker on a minute-long test picked up last while the other idles; and the tests
that share a module- or class-scoped fixture (a started Temporal server, a migrated pair)
go to one worker as one unit, so that fixture is not built once per worker.

Order and grouping only: no test is skipped, changed or given a fixture here. A test missing
from ``SLOW_FIRST`` is only handed out later.

Also one ``FERRY_EMBED_CACHE`` folder per run: the column proposer's MiniLM vectors of the
headers and labels, computed once for every worker and every CLI process a test starts (each
paid them again before, the largest CPU cost of a file source's pair). A fresh, empty folder
per run: every vector is still computed by this run's code.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_EMBED_CACHE = "FERRY_EMBED_CACHE"
_MADE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """(in the controller, before xdist starts the workers, who inherit the environment)"""
    if hasattr(config, "workerinput") or _EMBED_CACHE in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="ferry-embed-")
    os.environ[_EMBED_CACHE] = folder
    config.stash[_MADE] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_MADE, None)
    if folder is not None:
        os.environ.pop(_EMBED_CACHE, None)
        shutil.rmtree(folder, ignore_errors=True)


#: the slowest tests (or modules), slowest first, from ``pytest --durations`` of a full run
#: under two CPU hogs; matched as a prefix of the node id (parameters aside)
SLOW_FIRST = [
    "tests/engine/test_kill_resume.py::test_kill_anywhere_then_resume_converges",
    "tests/ui/test_browser.py::test_migration_clicked_through",
    "tests/engine/test_e2e_oracle.py",
    "tests/fleet/test_workflow.py",
    "tests/engine/test_matrix.py::test_pair_end_to_end",
    "tests/mapping/test_csv_columns.py",
    "tests/phi/test_logs.py::test_cli_error_paths_leak_no_phi",
    "tests/mapping/test_yaml12.py::test_recipes_parse_to_the_same_documents",
    "tests/ui/test_report_pages.py::test_report_pages_open_with_a_verdict_and_a_picture",
    "tests/engine/test_kill_resume_pipedrive.py",
    "tests/cli/test_lazy_verbs.py::test_the_demo_from_a_shell_runs_every_step",
    "tests/engine/test_kill_resume.py::test_rollback_of_a_killed_run_removes_what_it_wrote",
    "tests/cli/test_dry_run_plan.py",
    "tests/engine/test_rollback_resume.py",
    "tests/verification/test_reports_render.py",
    "tests/engine/test_phone_region_e2e.py",
    "tests/engine/test_delta_accounting.py",
    "tests/mapping/test_propose.py::test_minilm_backend",
    "tests/engine/test_upload_resume.py",
    "tests/engine/test_timezones.py",
    "tests/engine/test_estimate_calibrated.py",
    "tests/cli/test_demo_rollback_lines.py",
    "tests/verification/test_e2e_reconcile.py",
    "tests/verification/test_fold_one_update.py",
    "tests/practicehub/test_resume.py",
    "tests/verification/test_delta_folds.py",
    "tests/sources/test_pulse.py",
    "tests/odoo/test_rpc_dumps.py",
    "tests/ui/test_mapping_edit.py",
    "tests/verification/test_e2e_delta.py",
    "tests/sources/test_fuzz_readers.py",
    "tests/engine/test_fold_child_json.py",
    "tests/phi/test_at_rest.py",
    "tests/cli/test_init_check.py",
    "tests/verification/test_optional_value.py",
    "tests/odoo/test_e2e_engine.py",
    "tests/cli/test_owner_fallback.py",
    "tests/foundation/test_roundtrip_property.py",
    "tests/salesforce/test_bulk_load.py",
    "tests/odoo/test_tags_e2e.py",
    "tests/verification/test_reconcile_problems.py",
    "tests/phi/test_attachments.py",
]

_SHARED_SCOPES = ("module", "package", "class")
_GROUP = pytest.StashKey[str]()


def _group(item: pytest.Item) -> str | None:
    """The unit ``item`` must run in: its module (or class) plus the parameters of the shared
    fixtures it uses, when it uses a fixture wider than one test (session fixtures aside: each
    worker has its own session anyway); None when it can run anywhere."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    keys: list[str] = []
    for name in item.fixturenames:
        defs = info.name2fixturedefs.get(name)
        if not defs or defs[-1].scope not in _SHARED_SCOPES:
            continue
        scope = defs[-1].scope
        node = item.getparent(pytest.Class) if scope == "class" else None
        base = (node or item.getparent(pytest.Module) or item).nodeid
        if scope == "package":
            base = base.rsplit("/", 1)[0]
        param = getattr(getattr(item, "callspec", None), "params", {}).get(name, "")
        keys.append(f"{base}[{param}]" if param != "" else base)
    return "+".join(sorted(set(keys))) if keys else None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the groups as the tests are collected, before xdist reads the ``xdist_group``
    marks (it names a grouped test's node id after its group)."""
    group = _group(item)
    if group is not None:
        item.stash[_GROUP] = group
        item.add_marker(pytest.mark.xdist_group(group))


def _rank(nodeid: str) -> int:
    for i, prefix in enumerate(SLOW_FIRST):
        if nodeid.startswith(prefix):
            return i
    return len(SLOW_FIRST)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest units first, after pytest's own ordering by fixture scope; a group stays
    together and in its order, the rest keep theirs."""
    rank: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        unit = item.stash.get(_GROUP, None) or item.nodeid
        rank[unit] = min(rank.get(unit, len(SLOW_FIRST)), _rank(item.nodeid))
        first.setdefault(unit, i)
    order = {id(item): i for i, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, int, int]:
        unit = item.stash.get(_GROUP, None) or item.nodeid
        return rank[unit], first[unit], order[id(item)]

    items.sort(key=key)
