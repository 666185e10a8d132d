"""Start a source/destination sandbox pair and a project ready for the engine verbs.

Shared by the engine end-to-end tests, the kill/resume driver's callers and ``bench/engine.py``:
the project gets the pair's default recipe (confirmed), a recorded BAA confirmation (so clinical
fields are not withheld) and, through :func:`approve_phi`, every flagged item approved, so the
expected destination state is the whole practice (see ``oracle.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.engine.project import Project
from ferry.model.fields import Kind
from ferry.settings import Options, load_settings, save_settings

if TYPE_CHECKING:  # the sandboxes and the map's modules imported where they are used:
    # ``driver.py`` imports this module for ``approve_phi`` in the verbs it times, whose CPU
    # their import (the sandboxes ~0.1 s, the map's compiler and transforms ~0.1 s) inflated
    from ferry.mapping.model import MappingDoc
    from ferry.sandbox.harness import Pair


def recipe_for(source: str, destination: str, accounting: bool = False) -> MappingDoc:
    from ferry.mapping.recipes import load_recipe

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
              source_extra: dict[str, Any] | None = None,
              settle_on_clock: bool = False) -> Pair:
    """``settle_on_clock``: a resume's second look (``resume_settle_s``, 5 s) on the
    destination sandbox's emulated clock, as the profile puts every other wait of its
    connectors (5 s / ``time_scale``). For tests that run their killed processes through
    ``forked.py``: it starts the next process only once the sandboxes have finished what the
    killed one sent (``sandbox.server.quiesce``), the real-time reason for the wait. (Such a
    test waited the whole 5 s in each resume that missed an open intent: a few dozen times in
    the suite. ``bench/kill_resume.py`` runs its processes directly and keeps the 5 s.)"""
    # extended: the oracle checks every canonical object, and clinical notes, locations,
    # treatment records... come only from PracticeHub's assumed (undocumented) endpoints
    from ferry.sandbox.harness import start_pair

    if settle_on_clock:
        settle = Options.model_fields["resume_settle_s"].default / time_scale
        options = {"resume_settle_s": settle, **(options or {})}
    pair = start_pair(directory, source=source, destination=destination, patients=patients,
                      seed=seed, time_scale=time_scale, options=options, env_prefix=env_prefix,
                      dest_extra=dest_extra, source_extra=source_extra, surface="extended")
    pair.project = confirm_baa(pair.project)
    write_confirmed_recipe(pair.project.mapping_path, source, destination)
    return pair


#: the confirmed recipe's mapping.yaml per (source, destination), as bytes: built once per
#: process (saved, then confirmed in place: ruamel's round-trip dump, load and dump of a
#: ~2,000-line file, ~2.4 of make_pair's ~3 CPU-s) and copied into each later project. The
#: file does not depend on the project: the recipe, its content hash and ``by`` are the same
#: each time; only ``confirmed.at`` is the first project's instant, not this one's.
_CONFIRMED: dict[tuple[str, str], bytes] = {}


def write_confirmed_recipe(path: Path, source: str, destination: str) -> None:
    """``path``: the pair's default recipe (``recipe_for``), confirmed by "engine tests"."""
    from ferry.mapping import mapping_file
    from ferry.mapping.validate import confirm_file

    key = (source, destination)
    if key not in _CONFIRMED:
        mapping_file.save(recipe_for(source, destination), path)
        confirm_file(path, by="engine tests")
        _CONFIRMED[key] = path.read_bytes()
    else:
        path.write_bytes(_CONFIRMED[key])


def subprocess_env(pair: Pair) -> dict[str, str]:
    env = dict(os.environ)
    env.update(pair.env)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


#: a cut-down map per destination (``small_map``): an organisation, the patients, the users
#: match, a fold (updates with their before-images) and the files
SMALL_KEEP: dict[str, set[str]] = {
    "pipedrive": {"clinic_organization", "patient_person", "practitioner_user",
                  "insurance_primary", "document_on_person"},
    "salesforce": {"clinic_account", "patient_contact", "practitioner_user",
                   "insurance_carrier_on_contact", "file_on_patient"},
    "odoo": {"clinic_company", "patient_partner", "practitioner_user", "insurance_primary",
             "document_attachment"},
}


def small_map(project: Project, custom: int = 4) -> MappingDoc:
    """The pair's recipe cut down to ``SMALL_KEEP`` with ``custom`` plain custom fields (first
    come; source ids and a fold's fields besides), so prepare and rollback do not dwarf the
    rest; fitted to the account as `ferry map` drafts it (Pipedrive: no contact sync)."""
    from ferry.engine.pipeline import open_destination
    from ferry.mapping.draft import keep_absent_standard

    kind = project.settings.destination.kind
    doc = recipe_for(project.settings.source.kind, kind)
    dest = open_destination(project)
    try:
        keep_absent_standard(doc, dest.describe())
    finally:
        dest.close()
    used: set[tuple[str, str]] = set()
    for om in doc.objects:
        if om.name not in SMALL_KEEP[kind]:
            om.mode = "none"
            continue
        kept = []
        for fm in om.fields:
            name = fm.target.removeprefix("custom:")
            cf = doc.custom_field(om.target, name) if fm.target.startswith("custom:") else None
            plain = cf is not None and cf.kind not in (Kind.ENUM, Kind.SET)
            if cf is not None and not (cf.external_id or fm.required) and not (
                    plain and (len(used) < custom or om.mode == "fold")):
                continue
            if cf is not None:
                used.add((om.target, name))
            kept.append(fm)
        om.fields = kept
    doc.custom_fields = {o: [c for c in cfs if (o, c.name) in used or c.external_id]
                         for o, cfs in doc.custom_fields.items()}
    doc.pipelines = []
    return doc
