"""Plan: the order in which object maps load, and what each step will cost.

Order follows dependencies object by object: the canonical model's declaration order puts every
parent before its children (clinics, practitioners, patients, their appointments, notes, …), and
within one object users come first, then records, folds into parents, file attachments. So a
fold or an attachment runs as soon as its own object is in (its parents are already loaded),
and while extraction overlaps the load only the last object's maps trail the extract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ferry.connectors.base import Destination
from ferry.mapping.model import MappingDoc, ObjectMap
from ferry.model.entities import ENTITIES
from ferry.model.staging import StagingStore

MODE_RANK = {"users": 0, "record": 1, "fold": 2, "attach": 3, "none": 4}
OBJECT_RANK = {name: i for i, name in enumerate(ENTITIES)}


def load_order(doc: MappingDoc) -> list[ObjectMap]:
    """Object maps in the order the run executes them."""
    return sorted(doc.objects, key=lambda om: (OBJECT_RANK.get(om.source, 99), MODE_RANK[om.mode],
                                               doc.objects.index(om)))


@dataclass
class Step:
    map: str
    source: str
    target: str
    mode: str
    records: int
    create: int = 0
    update: int = 0
    skip: int = 0
    calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def estimate_seconds(dest: Destination, calls: int) -> float:
    rate = dest.rate()
    if rate.requests_per_second:
        return calls / rate.requests_per_second
    if rate.burst and rate.burst_window_s:
        return calls * rate.burst_window_s / rate.burst
    return calls * 0.05


def plan_steps(doc: MappingDoc, store: StagingStore, dest: Destination) -> list[Step]:
    """Counts, calls and time per step before classification (see load.dry_run for that)."""
    steps = []
    for om in load_order(doc):
        n = store.count(om.source)
        step = Step(om.name, om.source, om.target, om.mode, n)
        if om.mode in ("record", "fold"):
            cost = dest.cost("create" if om.mode == "record" else "update", om.target, n)
            step.calls, step.tokens = cost.calls, cost.tokens
        elif om.mode == "attach":
            step.calls = n
        step.seconds = estimate_seconds(dest, step.calls)
        steps.append(step)
    return steps
