"""A bench script (``bench/*.py``, not a package) loaded as a module, for tests that check what
it computes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_bench(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
