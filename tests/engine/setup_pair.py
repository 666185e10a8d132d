"""Start a source/destination sandbox pair and a project ready for the engine verbs.

Shared by the engine end-to-end tests, the kill/resume driver's callers and ``bench/engine.py``:
the project gets the pair's default recipe (confirmed), a recorded BAA confirmation (so clinical
fields are not withheld) and, through :func:`approve_phi`, every flagged item approved, so the
expected destination state is the whole practice (see ``oracle.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ferry.engine.project import Project
from ferry.mapping import mapping_file
from ferry.mapping.model import MappingDoc
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import confirm_file
from ferry.model.fields import Kind
from ferry.sandbox.harness import Pair, start_pair
from ferry.settings import load_settings, save_settings


def recipe_for(source: str, destination: str, accounting: bool = False) -> MappingDoc:
    variant = "no_accounting" if destination == "odoo" and not accounting else None
    doc = load_recipe(source, destination, variant) if variant else load_recipe(source,
                                                                               destination)
    return open_kept_picklists(doc)


def open_kept_picklists(doc: MappingDoc) -> MappingDoc:
    """A pick-list the map fills with source labels as they are (value map ``keep``) must offer
    those labels: leave its options open so ``prepare`` derives them from the staged data.

    (The PracticeHub → Pipedrive recipe lists fixed referral-source options that the generated
    practice does not use; without this every patient is refused.)
    """
    doc = doc.model_copy(deep=True)
    kept: set[tuple[str, str]] = set()
    for om in doc.objects:
        for fm in om.fields:
            if fm.value_map is not None and fm.value_map_default == "keep" and \
                    fm.target.startswith("custom:"):
                kept.add((om.target, fm.target.removeprefix("custom:")))
    for obj, fields in doc.custom_fields.items():
        for cf in fields:
            if cf.kind in (Kind.ENUM, Kind.SET) and (obj, cf.name) in kept:
                cf.options = []
    return doc


def confirm_baa(project: Project) -> Project:
    settings = load_settings(project.settings_path)
    settings.baa.confirmed = True
    settings.baa.by = "engine tests"
    settings.baa.at = "2026-01-01T00:00:00+00:00"
    settings.baa.reference = "BAA-TEST"
    save_settings(settings, project.settings_path)
    return Project.at(project.root)


def approve_phi(project: Project) -> int:
    from ferry.phi import queue

    queue.scan(project.store)
    return queue.decide_rule(project.store, "approve", "engine tests")


def make_pair(directory: Path, *, destination: str, patients: int = 40, seed: int = 3,
              time_scale: float = 2000.0, source: str = "practicehub",
              options: dict[str, Any] | None = None, env_prefix: str = "FERRY_ENG_",
              dest_extra: dict[str, Any] | None = None,
              source_extra: dict[str, Any] | None = None) -> Pair:
    # extended: the oracle checks every canonical object, and clinical notes, locations,
    # treatment records... come only from PracticeHub's assumed (undocumented) endpoints
    pair = start_pair(directory, source=source, destination=destination, patients=patients,
                      seed=seed, time_scale=time_scale, options=options, env_prefix=env_prefix,
                      dest_extra=dest_extra, source_extra=source_extra, surface="extended")
    pair.project = confirm_baa(pair.project)
    mapping_file.save(recipe_for(source, destination), pair.project.mapping_path)
    confirm_file(pair.project.mapping_path, by="engine tests")
    return pair


def subprocess_env(pair: Pair) -> dict[str, str]:
    env = dict(os.environ)
    env.update(pair.env)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env
