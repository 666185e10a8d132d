"""A PracticeHub → Odoo pair, extracted and prepared on the confirmed no-accounting recipe:
what the PHI end-to-end tests start from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from ferry.engine import pipeline as P
from ferry.mapping import mapping_file
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import confirm_file
from ferry.sandbox.harness import Pair, start_pair
from ferry.settings import save_settings


@contextmanager
def prepared_odoo_pair(root: Path, env_prefix: str, *, baa: bool = False) -> Iterator[Pair]:
    """30 patients, seed 4; ``baa``: a BAA confirmation recorded before anything runs."""
    with start_pair(root, source="practicehub", destination="odoo", patients=30, seed=4,
                    time_scale=500, env_prefix=env_prefix,
                    surface="extended") as p:  # clinical notes come from an assumed endpoint
        mapping_file.save(load_recipe("practicehub", "odoo", "no_accounting"),
                          p.project.mapping_path)
        confirm_file(p.project.mapping_path, by="test")
        if baa:
            settings = p.project.settings
            settings.baa.confirmed, settings.baa.by, settings.baa.reference = True, "DPO", "BAA-1"
            settings.baa.at = "2026-11-21T00:00:00+00:00"
            save_settings(settings, p.project.settings_path)
        P.run_extract(p.project)
        P.run_prepare(p.project)
        yield p


@pytest.fixture
def prepared_pair() -> Callable[..., AbstractContextManager[Pair]]:
    """``prepared_odoo_pair`` for the tests here (a conftest is not imported by name)."""
    return prepared_odoo_pair
