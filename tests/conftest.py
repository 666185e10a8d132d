"""Compiled bytecode for Ferry and the test helpers, written once per run: this machine (and
CI's) runs with PYTHONDONTWRITEBYTECODE=1, so every process the suite starts (two workers, each
driver, CLI and worker subprocess: some hundreds) compiled each Ferry module it imported from
source again, ~0.1-0.2 CPU-s a process. ``compileall`` writes the .pyc files where Python looks
for them (``__pycache__``, git-ignored); a process still compiles a file whose .pyc is stale.

One ``FERRY_EMBED_CACHE`` folder per run: the column proposer's MiniLM vectors of the
headers and labels, computed once for every worker and every CLI process a test starts (each
paid them again before, the largest CPU cost of a file source's pair). A fresh, empty folder
per run: every vector is still computed by this run's code. Likewise one
``FERRY_PIPEDRIVE_SPEC_CACHE`` folder: the Pipedrive sandbox's OpenAPI documents (2.8 MB of
YAML, 0.7 CPU-s to parse) parsed once per run, not once per process that starts a sandbox.

The heaviest test files first, each whole and in its own order (``HEAVY_FIRST``), and handed
out whole, one file at a time, in that order (``--dist loadfile --no-loadscope-reorder`` in
pyproject.toml), so a minute-long test is not picked up last by one worker while the other idles
(in collection order the browser tests, tests/ui and tests/verification, came last), and a
module fixture is built once per run. (xdist's default ``load`` gave each of two workers a first
chunk of a quarter of its share: 133 consecutive tests, so one worker got the heaviest 133 and
ran nothing else all run, while the other took every other test and then idled: 1453 s against
1275 s of tests in a run at load 5-11, 7 December. ``loadgroup`` is no help: xdist 3.8 names a
grouped test by writing ``item._nodeid``, which this pytest no longer reads.) Order only: no
test, fixture or assertion changes.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: test files by their longest test, longest first: the longer of two full ``-n 2 --durations=60``
#: runs on a loaded box (7 December, load 8-22: other helpers' suites and CPU hogs); a file not
#: named here keeps its place after these. Every file with a test over ~12 s in either is named:
#: those left out before (tests/verification's and tests/ui's last files, 13-36 s) were
#: collected last, where a worker that drew one could run it alone at the end
HEAVY_FIRST = (
    "tests/cli/test_first_migration_output.py",
    "tests/ui/test_browser.py",
    "tests/fleet/test_workflow.py",
    "tests/engine/test_kill_resume.py",
    "tests/engine/test_kill_resume_pipedrive.py",
    "tests/ui/test_report_pages.py",
    "tests/cli/test_column_placement.py",
    "tests/engine/test_estimate_calibrated.py",
    "tests/engine/test_e2e_oracle.py",
    "tests/engine/test_phone_region_e2e.py",
    "tests/engine/test_delta_truth.py",
    "tests/engine/test_timezones.py",
    "tests/engine/test_upload_resume.py",
    "tests/engine/test_payload_hash.py",
    "tests/engine/test_delta_accounting.py",
    "tests/engine/test_matrix.py",
    "tests/phi/test_prefilter.py",
    "tests/phi/test_logs.py",
    "tests/cli/test_lazy_verbs.py",
    "tests/engine/test_phone_clinic_country.py",
    "tests/verification/test_e2e_reconcile.py",
    "tests/cli/test_owner_fallback.py",
    "tests/cli/test_demo_rollback_lines.py",
    "tests/engine/test_export_deletions.py",
    "tests/cli/test_dry_run_plan.py",
    "tests/engine/test_estimate_practice.py",
    "tests/engine/test_rollback_resume.py",
    "tests/engine/test_fold_latest_whole.py",
    "tests/verification/test_fold_one_update.py",
    "tests/verification/test_delta_folds.py",
    "tests/verification/test_e2e_delta.py",
    "tests/salesforce/test_e2e_engine.py",
    "tests/verification/test_optional_value.py",
    "tests/verification/test_reports_render.py",
    "tests/phi/test_at_rest.py",
    "tests/engine/test_phone_truth.py",
    "tests/engine/test_fold_child_json.py",
    "tests/odoo/test_e2e_engine.py",
    "tests/mapping/test_csv_columns.py",
    "tests/phi/test_gate_e2e.py",
    "tests/practicehub/test_resume.py",
    "tests/ui/test_mapping_edit.py",
    "tests/salesforce/test_bulk_load.py",
    "tests/verification/test_reconcile_problems.py",
    "tests/odoo/test_rpc_dumps.py",
    "tests/sources/test_pulse.py",
    "tests/ui/test_security.py",
    "tests/mapping/test_yaml12.py",
)

#: per-run cache folders: environment variable -> mkdtemp prefix
_CACHES = {"FERRY_EMBED_CACHE": "ferry-embed-", "FERRY_PIPEDRIVE_SPEC_CACHE": "ferry-pdspec-"}
_MADE = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """(in the controller, before xdist starts the workers, who inherit the environment)"""
    if hasattr(config, "workerinput"):
        return
    _compile_bytecode()
    _sweep_caches()
    made = config.stash[_MADE] = {}
    for name, prefix in _CACHES.items():
        if name not in os.environ:
            made[name] = os.environ[name] = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


def _sweep_caches() -> None:
    """Remove the cache folders of runs that are gone: a run stopped by a signal (a CI
    timeout, ``timeout`` in a script) never reaches ``pytest_unconfigure``, and its folders
    stayed in the temp folder. Each folder names its run's process."""
    for prefix in _CACHES.values():
        for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
            pid = folder.name[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, folder in config.stash.get(_MADE, {}).items():
        os.environ.pop(name, None)
        shutil.rmtree(folder, ignore_errors=True)


def _compile_bytecode() -> None:
    """Ferry's modules and the tests' helpers (``driver.py`` imports ``setup_pair``) compiled
    once, before the workers start. (Test files themselves are rewritten by pytest.)"""
    import ferry

    for folder in (Path(ferry.__file__).parent, Path(__file__).parent):
        if os.access(folder, os.W_OK):
            compileall.compile_dir(folder, quiet=2, workers=1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``HEAVY_FIRST`` files first; a stable sort, so each file keeps pytest's order."""
    rank = {f: i for i, f in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def sealed_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory: ``size`` random bytes stored as the staging store keeps a file (AES-GCM,
    ``files/scan.bin`` under ``tmp_path``): (plain content, stored path, codec)."""
    from ferry.model.crypto import AesGcmCodec, encrypt_file

    def seal(size: int) -> tuple[bytes, Path, AesGcmCodec]:
        content = os.urandom(size)
        stored = tmp_path / "files" / "scan.bin"
        stored.parent.mkdir()
        stored.write_bytes(content)
        codec = AesGcmCodec(bytes(range(32)))
        encrypt_file(stored, codec)
        assert content[:64] not in stored.read_bytes()
        return content, stored, codec

    return seal


class EmulatedTime:
    """``time`` for a connector's modules on a sandbox's frozen ``Clock``: ``monotonic`` and
    ``time`` read that clock (in real seconds, as the connector counts them: emulated seconds
    divided by the time scale) and ``sleep`` moves it on instead of waiting. The connector's
    waits and the sandbox's windows then count one clock, which stands still during a round
    trip however long a loaded machine makes it; other functions are the ``time`` module's.

    ``settled``: with requests in flight on other threads, a wait moves the clock only once
    it says True (every request that took its turn reached the sandbox), so a request that
    left late on a loaded machine is not stamped at the later instant another one waited
    for."""

    def __init__(self, clock: Any, settled: Callable[[], bool] | None = None) -> None:
        clock.freeze()
        self.clock = clock
        self.settled = settled
        self._wall = time.time() - self.monotonic()
        self._lock = threading.Lock()
        self.slept = 0.0  # seconds the connector waited (real seconds, as it asked)

    def monotonic(self) -> float:
        return self.clock.monotonic() / self.clock.time_scale

    def time(self) -> float:
        return self._wall + self.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            deadline = time.monotonic() + 120
            while self.settled is not None and not self.settled():
                assert time.monotonic() < deadline, "a request never reached the sandbox"
                time.sleep(0.001)
            with self._lock:
                self.clock.advance(seconds * self.clock.time_scale)
                self.slept += seconds

    def until(self, at: float) -> None:
        """Move the clock on to ``at`` (a ``time()`` value), if it is not there yet."""
        self.sleep(at - self.time())

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def emulated_time(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A factory: ``emulated_time(clock, *modules)`` freezes ``clock`` and gives each module
    an ``EmulatedTime`` on it as its ``time`` (undone after the test). ``asleep``: whether an
    ``asyncio.sleep`` called now waits on the clock too (say, on the connector's I/O thread;
    other loops, such as the sandbox's server, keep real time); ``settled``: see
    ``EmulatedTime``."""

    def on(clock: Any, *modules: Any, settled: Callable[[], bool] | None = None,
           asleep: Callable[[], bool] | None = None) -> EmulatedTime:
        emulated = EmulatedTime(clock, settled)
        for module in modules:
            monkeypatch.setattr(module, "time", emulated)
        if asleep is not None:
            real_sleep = asyncio.sleep

            async def sleep(delay: float, result: Any = None) -> Any:
                if not asleep():
                    return await real_sleep(delay, result)
                deadline = time.monotonic() + 120
                while settled is not None and not settled():
                    assert time.monotonic() < deadline, "a request never reached the sandbox"
                    await real_sleep(0.001)
                emulated.sleep(delay)
                await real_sleep(0)
                return result

            monkeypatch.setattr(asyncio, "sleep", sleep)
        return emulated

    return on
