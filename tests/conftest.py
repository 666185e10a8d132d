"""Compiled bytecode for Ferry and the test helpers, written once per run: this machine (and
CI's) runs with PYTHONDONTWRITEBYTECODE=1, so every process the suite starts (two workers, each
driver, CLI and worker subprocess: some hundreds) compiled each Ferry module it imported from
source again, ~0.1-0.2 CPU-s a process. ``compileall`` writes the .pyc files where Python looks
for them (``__pycache__``, git-ignored); a process still compiles a file whose .pyc is stale.

One ``FERRY_EMBED_CACHE`` folder per run: the column proposer's MiniLM vectors of the
headers and labels, computed once for every worker and every CLI process a test starts (each
paid them again before, the largest CPU cost of a file source's pair). A fresh, empty folder
per run: every vector is still computed by this run's code.

(No test ordering or xdist grouping here: xdist 3.8's ``loadgroup`` names a grouped test by
writing ``item._nodeid``, which this pytest no longer reads, so its groups are not kept and
tests sharing a module fixture were split across workers, each building the fixture.)
"""

from __future__ import annotations

import compileall
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_EMBED_CACHE = "FERRY_EMBED_CACHE"
_MADE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """(in the controller, before xdist starts the workers, who inherit the environment)"""
    if hasattr(config, "workerinput"):
        return
    _compile_bytecode()
    if _EMBED_CACHE in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="ferry-embed-")
    os.environ[_EMBED_CACHE] = folder
    config.stash[_MADE] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_MADE, None)
    if folder is not None:
        os.environ.pop(_EMBED_CACHE, None)
        shutil.rmtree(folder, ignore_errors=True)



def _compile_bytecode() -> None:
    """Ferry's modules and the tests' helpers (``driver.py`` imports ``setup_pair``) compiled
    once, before the workers start. (Test files themselves are rewritten by pytest.)"""
    import ferry

    for folder in (Path(ferry.__file__).parent, Path(__file__).parent):
        if os.access(folder, os.W_OK):
            compileall.compile_dir(folder, quiet=2, workers=1)
