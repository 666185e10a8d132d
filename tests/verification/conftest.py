"""End-to-end fixtures: a PracticeHub sandbox and a destination sandbox (Pipedrive unless told)
wired to a project with a small confirmed map (``mapping_pd`` unless given) — extracted and
prepared, ready for sample/run."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .mapping_pd import write_confirmed


@pytest.fixture
def migration(tmp_path: Path) -> Iterator[Any]:
    """``migration(patients=, dest_extra=, options=)`` → a Pair, extracted and prepared."""
    from ferry.engine.pipeline import run_extract, run_prepare
    from ferry.sandbox.harness import start_pair

    pairs: list[Any] = []

    def start(patients: int = 24, dest_extra: dict[str, Any] | None = None,
              options: dict[str, Any] | None = None, seed: int = 5,
              destination: str = "pipedrive", doc: Any = None, review: str | None = None,
              source_extra: dict[str, Any] | None = None) -> Any:
        """``review`` (approve/redact): confirm a BAA and decide every flagged item so."""
        pair = start_pair(tmp_path / f"proj{len(pairs)}", patients=patients, seed=seed,
                          destination=destination, time_scale=200.0, dest_extra=dest_extra,
                          source_extra=source_extra,
                          options=options, env_prefix=f"FERRY_VT{len(pairs)}_",
                          # the whole canonical model: clinical notes, insurance, treatment
                          # records and /deleted come only from PracticeHub's assumed endpoints
                          surface="extended")
        pairs.append(pair)
        write_confirmed(pair.project.mapping_path, doc)
        run_extract(pair.project)
        if review:
            from ferry.phi.queue import decide_rule, scan
            from ferry.settings import save_settings

            settings = pair.project.settings
            settings.baa.confirmed, settings.baa.by, settings.baa.reference = True, "t", "BAA-1"
            save_settings(settings, pair.project.settings_path)
            scan(pair.project.store)
            decide_rule(pair.project.store, review, "tests")
        run_prepare(pair.project)
        return pair

    yield start
    gc.collect()  # connectors the engine opened and dropped close their keep-alive sockets,
    for p in reversed(pairs):  # so the sandboxes stop at once instead of waiting for them
        p.close()  # to time out; close() also restores the variables start_pair set
