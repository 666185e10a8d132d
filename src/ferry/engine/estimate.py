"""``ferry estimate``: how long each step takes under every API's limits.

A cutover is scheduled from this, so it is computed from the published limits, not guessed:
PracticeHub's 1 request/s per account bounds extraction; Pipedrive's daily token budget
(30,000 × plan multiplier × seats per company, whatever the number of keys) can make a load span
several days even when its burst rate would finish in hours. Per-call figures come from the
connectors themselves (``Source.rate()``, ``Destination.rate()`` / ``cost()``) when a project
can open them, else from the table of published limits below. Counts come from an audit (the
staging store) or from ``--patients N`` times typical per-patient ratios.

The timeline follows the verbs in order (prepare, extract, sample, run, reconcile); with
``ferry run --with-extract`` the engine overlaps extraction and load (the load follows the
staging store once clinics, practitioners and patients are staged), so the migration's wall
time is about max(extract, load): ``migration_seconds``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ferry.connectors.base import Destination, RateInfo, Source
from ferry.mapping.model import MappingDoc

DAY_S = 86_400.0
FIRST = ("clinic", "practitioner", "patient")  # staged before the load starts
PREPARE_LISTINGS = 25  # field, pipeline, stage and activity-type lists prepare reads

#: records per patient in a typical practice (the synthetic practice's proportions)
PER_PATIENT: dict[str, float] = {
    "clinic": 0.013, "practitioner": 0.027, "appointment_type": 0.013, "patient": 1.0,
    "patient_relationship": 0.1, "practitioner_patient": 1.3, "appointment": 4.1,
    "appointment_reminder": 2.3, "clinical_note": 2.3, "treatment_record": 0.52,
    "insurance_policy": 0.98, "prescription": 0.76, "invoice": 3.0, "payment": 2.3,
    "document": 1.0, "campaign": 0.017, "message": 2.1, "workflow": 0.027,
    "compliance_policy": 0.023}
FIXED = {"clinic": 1, "practitioner": 2, "appointment_type": 3, "workflow": 5,
         "compliance_policy": 3, "campaign": 2}


@dataclass(frozen=True)
class Limits:
    """One system's published limits, as the estimator uses them."""

    name: str
    rps: float | None  # steady requests per second per key (None: not limited)
    page_size: int = 100
    batch: int = 1  # records per create call
    daily_budget: int | None = None  # tokens (or requests) per day for the whole account
    costs: dict[str, int] = field(default_factory=dict)  # tokens per call: op or op:object
    per_key: bool = True  # does a second API key add throughput?
    #: deletions are found by listing every id (no list of deletions at the source): a delta
    #: pass then reads each object whole, one request per page, after one probe of the list
    delta_sweep: bool = False
    notes: str = ""

    def cost(self, op: str, obj: str) -> int:
        return self.costs.get(f"{op}:{obj}", self.costs.get(op, 1 if self.daily_budget else 0))


SOURCES: dict[str, Limits] = {
    # no deletions list is documented: deltas compare id sets (sources/practicehub/reader.py)
    "practicehub": Limits("PracticeHub", 1.0, 100, per_key=False, delta_sweep=True,
                          notes="1 request/s per account (PracticeHub docs); extra keys help only"
                                " if the limit is applied per key"),
    "clinic_csv": Limits("CSV export", None, 10_000, notes="local files; parsing speed only"),
    "fhir_bulk": Limits("FHIR Bulk Data", None, 10_000, notes="NDJSON files; parsing speed"),
    "pulse": Limits("Pulse CSV export", None, 10_000, notes="CSV export folder"),
}
PIPEDRIVE_GROWTH = 30_000 * 2
DESTINATIONS: dict[str, Limits] = {
    "pipedrive": Limits(
        "Pipedrive", 20.0, 500, 1, PIPEDRIVE_GROWTH,
        {"create": 5, "update": 5, "delete": 3, "read": 1, "list": 10, "create:note": 10,
         "upload": 10, "create:activity": 5},
        per_key=False, notes="Growth plan, 1 seat: 60,000 tokens/day per company (30,000 ×"
                             " multiplier × seats); burst 40 requests / 2 s per token"),
    "salesforce": Limits("Salesforce", 10.0, 2000, 200, 100_000,
                         {"create": 1, "update": 1, "delete": 1, "read": 1, "list": 1,
                          "upload": 1},
                         notes="100,000 API requests / 24 h (Enterprise org baseline);"
                               " 200 records per sObject-collection call"),
    "odoo": Limits("Odoo", 4.0, 500, 100, None, notes="no documented limit; 1 call in flight"
                   " per database, batches of 100"),
}
#: how each object lands when no mapping says otherwise: op (create/update/upload/none), object
DEFAULT_ROUTE: dict[str, tuple[str, str]] = {
    "practitioner": ("none", "user"), "workflow": ("none", ""),
    "compliance_policy": ("none", ""), "appointment_type": ("none", ""),
    "insurance_policy": ("update", "person"), "document": ("upload", "file"),
    "clinical_note": ("create", "note"), "message": ("create", "note"),
    "appointment_reminder": ("create", "activity"), "prescription": ("upload", "file"),
}


def from_rate(base: Limits, rate: RateInfo) -> Limits:
    """A connector's own figures override the table where it gives them."""
    return replace(base, rps=rate.requests_per_second or base.rps,
                   page_size=rate.page_size or base.page_size,
                   batch=max(rate.batch_size, base.batch),
                   daily_budget=rate.daily_budget or base.daily_budget,
                   notes=rate.notes or base.notes)


def counts_for(patients: int) -> dict[str, int]:
    """Typical counts for a practice of ``patients``: clinical records scale with patients;
    clinics, staff and practice-wide definitions grow slowly, with caps."""
    out = {o: max(FIXED.get(o, 0), round(r * patients)) for o, r in PER_PATIENT.items()}
    out.update(clinic=min(20, 1 + patients // 2500), practitioner=min(200, 2 + patients // 250),
               appointment_type=8, workflow=8, compliance_policy=7,
               campaign=min(500, 4 + patients // 250))
    return out


def _routes(doc: MappingDoc | None, counts: dict[str, int]
            ) -> list[tuple[str, str, str, str, int]]:
    """(map, source object, op, destination object, records) for each way records land."""
    out = []
    if doc is None:
        for obj, n in counts.items():
            op, target = DEFAULT_ROUTE.get(obj, ("create", obj))
            if op != "none" and n:
                out.append((obj, obj, op, target, n))
        return out
    split = Counter(om.source for om in doc.objects
                    if om.mode in ("record", "attach") and om.when is not None)
    for om in doc.objects:
        n = counts.get(om.source, 0)
        if om.mode in ("record", "attach") and om.when is not None:
            n = math.ceil(n / split[om.source])  # disjoint conditions share the records
        if om.mode == "fold" and om.parent is not None:
            n = min(n, counts.get(om.parent.object, n))  # one update per parent record
        op = {"record": "create", "fold": "update", "attach": "upload"}.get(om.mode)
        if op and n:
            out.append((om.name, om.source, op, om.target, n))
    return out


def _seconds(calls: int, lim: Limits, keys: int) -> float:
    if not lim.rps:
        return calls * 0.05  # local files / unthrottled: per-call overhead only
    return calls / (lim.rps * (keys if lim.per_key else 1))


def estimate(counts: dict[str, int], *, source: Limits, destination: Limits,
             doc: MappingDoc | None = None, source_keys: int = 1, dest_keys: int = 1,
             dest: Destination | None = None, delta_passes: int = 48) -> dict[str, Any]:
    """Per-step calls, tokens and durations, the overlapped timeline and the budget days."""
    steps: list[dict[str, Any]] = []
    extract_calls = {o: math.ceil(n / source.page_size) + (n if o == "document" else 0)
                     for o, n in counts.items() if n}
    ex_s = _seconds(sum(extract_calls.values()), source, source_keys)
    first_s = _seconds(sum(c for o, c in extract_calls.items() if o in FIRST), source,
                       source_keys)
    load_calls = load_tokens = 0
    per_object = []
    for name, obj, op, target, n in _routes(doc, counts):
        c = None
        if dest is not None:
            try:
                c = dest.cost(op, target, n)
            except (KeyError, ValueError, NotImplementedError):
                c = None  # an op the connector does not price (uploads): the table's figure
        if c is not None:
            calls, tokens = c.calls, c.tokens or c.calls * destination.cost(op, target)
        else:
            batch = destination.batch if op == "create" else 1
            calls = math.ceil(n / max(batch, 1))
            tokens = calls * destination.cost(op, target)
        load_calls += calls
        load_tokens += tokens
        per_object.append({"map": name, "object": obj, "op": op, "target": target, "records": n,
                           "calls": calls, "tokens": tokens})
    rate_s = _seconds(load_calls, destination, dest_keys)
    budget = destination.daily_budget
    budget_days = 1
    load_s = rate_s
    if budget and load_tokens > budget:
        budget_days = math.ceil(load_tokens / budget)
        last = load_tokens - (budget_days - 1) * budget
        load_s = max(rate_s, (budget_days - 1) * DAY_S + rate_s * last / load_tokens)
    n_schema = sum(len(v) for v in doc.custom_fields.values()) + len(doc.pipelines) * 5 \
        if doc else 25
    # measured (bench/estimate_calibration.py): each schema item is listed, then created,
    # plus the pipelines' and activity types' own listings
    prep_calls = 2 * n_schema + PREPARE_LISTINGS
    prep_s = _seconds(prep_calls, destination, 1)
    dest_records = sum(p["records"] for p in per_object if p["op"] != "update")
    recon_calls = math.ceil(dest_records / max(destination.page_size, 1)) + len(per_object)
    if destination.name == "Pipedrive":
        # notes cannot be listed by source id: each note map reads every note it wrote, one by
        # one (measured), and deals/activities with sums or references are read back once
        note_maps = [p for p in per_object if p["target"] == "note" and p["op"] == "create"]
        notes = sum(p["records"] for p in note_maps)
        note_reads = notes * len(note_maps)
    else:
        note_reads = 0
    recon_tokens = recon_calls * destination.cost("list", "") + \
        note_reads * destination.cost("read", "")
    recon_calls += note_reads
    recon_s = _seconds(recon_calls, destination, dest_keys)
    # rollback (a rehearsal's last step, not part of the migration): one delete per record and
    # file created, one per schema item, newest first
    rb_calls = math.ceil(dest_records / max(destination.batch if destination.name != "Pipedrive"
                                            else 1, 1)) + n_schema
    rb_tokens = rb_calls * destination.cost("delete", "")
    rb_s = _seconds(rb_calls, destination, dest_keys)
    sample_records = min(sum(p["records"] for p in per_object), 200)
    sample_calls = min(load_calls, sample_records) * 2  # write, then read back
    sample_s = _seconds(sample_calls, destination, 1)  # the slice is already staged
    t = 0.0
    # The brief's order: prepare, extract (all of it), sample, run, reconcile. ``ferry run
    # --with-extract`` overlaps the two instead: ``migration_seconds`` is that figure.
    ex_end = prep_s + ex_s
    load_start = ex_end + sample_s
    load_end = load_start + load_s
    overlapped = max(ex_s, first_s + load_s)
    plan = [("prepare", 0.0, prep_s, prep_calls, n_schema * destination.cost("create", "")),
            ("extract", prep_s, ex_end, sum(extract_calls.values()), 0),
            ("sample", ex_end, load_start, sample_calls, 0),
            ("load", load_start, load_end, load_calls, load_tokens),
            ("reconcile", load_end, load_end + recon_s, recon_calls, recon_tokens)]
    rollback_step = ("rollback", load_end + recon_s, load_end + recon_s + rb_s, rb_calls,
                     rb_tokens)
    for name, start, end, calls, tokens in plan:
        steps.append({"step": name, "start_s": round(start, 1), "end_s": round(end, 1),
                      "seconds": round(end - start, 1), "calls": calls, "tokens": tokens})
        t = max(t, end)
    name, start, end, calls, tokens = rollback_step  # if needed: not in the total
    steps.append({"step": name, "start_s": round(start, 1), "end_s": round(end, 1),
                  "seconds": round(end - start, 1), "calls": calls, "tokens": tokens,
                  "if_needed": True})
    live = [o for o in counts if counts[o]]
    # a changes list per object, or (a sweep) a probe of the missing deletions list and every
    # page of the object, so that deletions are found by comparing id sets
    delta_calls = sum(1 + math.ceil(counts[o] / source.page_size) for o in live) \
        if source.delta_sweep else len(live)
    delta_pass_s = _seconds(delta_calls, source, source_keys)
    by_keys = []
    for k in (1, 2, 3, 4):
        ek = _seconds(sum(extract_calls.values()), source, k)
        lk = max(_seconds(load_calls, destination, k), load_s if budget_days > 1 else 0)
        by_keys.append({"keys": k, "extract_s": round(ek, 1), "load_s": round(lk, 1),
                        "migration_s": round(max(ek, lk), 1)})
    binds = "daily token budget" if budget_days > 1 else (
        "source rate limit" if ex_s >= load_s else "destination rate limit")
    return {"inputs": {"counts": counts, "source": source.name, "destination": destination.name,
                       "source_keys": source_keys, "dest_keys": dest_keys,
                       "source_limits": source.notes, "destination_limits": destination.notes},
            "steps": steps, "load_by_object": per_object,
            "total_seconds": round(t, 1), "migration_seconds": round(overlapped, 1),
            "budget_days": budget_days, "daily_budget": budget, "binding_limit": binds,
            "delta_pass_seconds": round(delta_pass_s, 1), "delta_pass_calls": delta_calls,
            "delta_deletions": "id-set sweep (every page of every object)"
            if source.delta_sweep else "changes and deletions lists", "delta_passes_per_day":
                min(delta_passes, int(DAY_S / max(delta_pass_s, 1))),
            "by_keys": by_keys}


#: Pipedrive plan multipliers of the 30,000-token daily base (per seat, per company)
PIPEDRIVE_MULTIPLIER = {"lite": 1, "essential": 1, "growth": 2, "advanced": 2, "professional": 3,
                        "premium": 5, "power": 5, "ultimate": 7, "enterprise": 7}
PIPEDRIVE_BURST = {"lite": 20, "essential": 20, "growth": 40, "advanced": 40,
                   "professional": 80, "premium": 100, "power": 100, "ultimate": 120,
                   "enterprise": 120}


def with_plan(lim: Limits, plan: str | None, seats: int | None) -> Limits:
    """Pipedrive limits for a plan and seat count (other destinations are returned as is)."""
    if lim.name != "Pipedrive" or (plan is None and seats is None):
        return lim
    p = (plan or "growth").lower()
    n = max(seats or 1, 1)
    budget = 30_000 * PIPEDRIVE_MULTIPLIER.get(p, 2) * n
    return replace(lim, daily_budget=budget, rps=PIPEDRIVE_BURST.get(p, 40) / 2,
                   notes=f"{p.title()} plan, {n} seat(s): {budget:,} tokens/day per company"
                         f" (30,000 × {PIPEDRIVE_MULTIPLIER.get(p, 2)} × {n}); burst"
                         f" {PIPEDRIVE_BURST.get(p, 40)} requests / 2 s per token")


def limits_for(source_kind: str, dest_kind: str, *, source: Source | None = None,
               dest: Destination | None = None) -> tuple[Limits, Limits]:
    """The table's limits for two kinds, refined by live connectors when they are open."""
    s = SOURCES.get(source_kind, Limits(source_kind, 5.0))
    d = DESTINATIONS.get(dest_kind, Limits(dest_kind, 5.0))
    if source is not None:
        s = from_rate(s, source.rate())
    if dest is not None:
        d = from_rate(d, dest.rate())
    return s, d
