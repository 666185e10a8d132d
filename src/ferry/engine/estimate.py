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
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ferry.connectors.base import Destination, RateInfo, Source
from ferry.engine.prepare import schema_items
from ferry.errors import ConfigError
from ferry.mapping.model import MappingDoc

DAY_S = 86_400.0
FIRST = ("clinic", "practitioner", "patient")  # staged before the load starts
ROLLBACK_BATCH = 100  # records per writer call of a rollback (engine/rollback.py)
#: calls a step sends besides its records and schema items (sign-in, listings of users and
#: fields, describes, one page of each target for the load's snapshot of live ids): (fixed,
#: per record or attach map's target, written to or not; ``Limits.per_written``: per object
#: written). Measured per destination (``Limits.overhead``); these are Pipedrive's (with 6
#: and 3 targets: the recipe, the test's cut-down map; its sample lists users twice)
OVERHEAD_DEFAULT: dict[str, tuple[int, int]] = {
    "prepare": (1, 0), "sample": (4, 1), "load": (3, 1), "reconcile": (3, 0),
    "rollback": (1, 1)}

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
    #: how Ferry's client paces under ``rps``: calls a step may send before the pace holds
    #: (a sliding window's burst), its safety margin (1.1: 10 % slower than the limit) and a
    #: fixed real-time allowance per window (seconds, not divided by a time-scale)
    burst: int = 1
    pace: float = 1.0
    jitter_s: float = 0.0
    #: list endpoints a source reads at least once, records or not (an empty list, or a probe
    #: of an endpoint its account may lack, is still a paced request)
    lists: int = 0
    #: deletions are found by listing every id (no list of deletions at the source): a delta
    #: pass then reads each object whole, one request per page, after one probe of the list
    delta_sweep: bool = False
    #: after a full window the server says when it frees a slot, rounded up to this many
    #: seconds, and the client holds until then (Pipedrive: whole seconds); None: no such hold
    reset_s: float | None = None
    #: real seconds per call of an unpaced system (a local file's open, a round trip)
    latency_s: float = 0.0
    #: Ferry's CPU-seconds per step with this system: (fixed, per unit[, of the fixed: at the
    #: edges, before the first call and after the last]); see ``CPU_DEFAULT``
    cpu: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: calls per schema item made (prepare) and removed (rollback): Salesforce grants a new
    #: field's access in a second call; Odoo looks a field up before it unlinks it
    schema_calls: tuple[int, int] = (1, 1)
    #: the CPU-seconds per step of the threads that answer the step's own (the sandbox's in
    #: this process, Ferry's upload lanes and page readers): (fixed, per unit). They wake for
    #: each call and get a core sooner than the step's thread does (the share of a core a busy
    #: loop is given, ``machine_share``, where the step's thread got half of it at load 13)
    answer: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: see ``OVERHEAD_DEFAULT``
    overhead: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: a step whose records cost apart from its calls: (the step's thread, the answering
    #: threads') CPU-seconds per record; ``cpu`` and ``answer`` then price per call only. A
    #: Salesforce rollback of a 20-patient practice is its 135 field deletes, one call each,
    #: and a unit fitted there (call or record alike) priced a 600-patient one, 7,950 records
    #: in collections of 100, at 15 CPU-s where it took 3
    per_record: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: a step that moves file content (extract: its downloads; sample and load: their
    #: uploads): (the step's thread, the answering threads') CPU-seconds per byte moved, on
    #: top of ``cpu`` and ``answer`` for the file's call. Priced per call alone, 668
    #: downloads of 647 MB took 21 s where 12-13 were estimated (Salesforce, 600 patients)
    per_byte: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: calls per update batch of several records: Odoo writes the rows that share their
    #: values in one ``write`` and the others in one ``load`` (destinations/odoo/writer.py)
    update_calls: int = 1
    #: ``overhead`` per object written to (Salesforce: a describe, a lookup, a read-back per
    #: sObject with records), not per record or attach map's target, listed or not
    per_written: bool = False
    #: the sample reads each file back alone, once per attach map of its (source, target)
    #: pair (Pipedrive read 2 files 4 times, Odoo 2 attachments in 2 reads; Salesforce's
    #: sample sent the calls of one read per map, measured)
    file_reads: bool = True
    #: an asynchronous bulk API (Salesforce Bulk API 2.0): calls of at least ``bulk_threshold``
    #: rows go as jobs of at most ``bulk_max_rows``; after the upload the org queues a job
    #: (``job_queue_s``) and processes it in internal batches of ``job_batch`` rows,
    #: ``job_lanes`` at once, at ``job_rows_per_s`` each: the guide documents the states and the
    #: batches, not the durations, which are assumed (the sandbox's defaults, sandbox/
    #: salesforce/bulk.py ``BulkTiming``). The client polls after ``poll_first_s``, each wait
    #: ``poll_growth`` times the last, at most ``poll_max_s`` (destinations/salesforce/bulk.py)
    bulk_threshold: int | None = None
    bulk_max_rows: int = 100_000
    job_queue_s: float = 2.0
    job_rows_per_s: float = 1000.0
    job_batch: int = 10_000
    job_lanes: int = 4
    poll_first_s: float = 0.2
    poll_max_s: float = 5.0
    poll_growth: float = 1.6
    notes: str = ""

    def extra(self, step: str, targets: int) -> int:
        """The step's calls besides records and schema (``overhead``)."""
        fixed, per = self.overhead.get(step, OVERHEAD_DEFAULT.get(step, (0, 0)))
        return fixed + per * targets

    def cost(self, op: str, obj: str) -> int:
        return self.costs.get(f"{op}:{obj}", self.costs.get(op, 1 if self.daily_budget else 0))


SOURCES: dict[str, Limits] = {
    # no deletions list is documented: deltas compare id sets (sources/practicehub/reader.py)
    # the client paces 2 % under the limit (sources/practicehub: pace_margin)
    # 19 resources and the payment methods (sources/practicehub/wire.py RESOURCES)
    "practicehub": Limits("PracticeHub", 1.0, 100, per_key=False, delta_sweep=True, pace=1.02,
                          lists=20, cpu={"extract": (0.069, 0.00009, 0.057)},
                          # its downloads' bytes on the lanes and the server (TLS, the
                          # checksum, the encryption at rest): the same 600-patient practice
                          # at two document sizes (647 and 257 MB, the same 770 calls and
                          # 8,552 records), CPU difference per byte, two interleaved pairs,
                          # 7 December 05:22-05:45 UTC, load 6-11: 2.7 and 3.0 ns on the
                          # other threads, 0.0 on the step's
                          per_byte={"extract": (0.0, 2.9e-9)},
                          # (answer: the fit's line less the files' bytes at its two ends,
                          # 0.46 and 13.2 MB for 67 and 292 units: (0.030, 0.00012) before,
                          # all of its slope the files'; see ``Limits.per_byte``)
                          answer={"extract": (0.027, 0.0)},
                          notes="1 request/s per account (PracticeHub docs); extra keys help only"
                                " if the limit is applied per key"),
    "clinic_csv": Limits("CSV export", None, 10_000, latency_s=0.05,
                         notes="local files; parsing speed only"),
    "fhir_bulk": Limits("FHIR Bulk Data", None, 10_000, latency_s=0.05,
                        notes="NDJSON files; parsing speed"),
    "pulse": Limits("Pulse CSV export", None, 10_000, latency_s=0.05,
                    notes="CSV export folder"),
}
PIPEDRIVE_GROWTH = 30_000 * 2
DESTINATIONS: dict[str, Limits] = {
    "pipedrive": Limits(
        "Pipedrive", 20.0, 500, 1, PIPEDRIVE_GROWTH,
        {"create": 5, "update": 5, "delete": 3, "read": 1, "list": 10, "create:note": 10,
         "upload": 10, "create:activity": 5},
        # the client's window is 2 s × 1.1 + 30 ms real (destinations/pipedrive/client.py)
        per_key=False, burst=40, pace=1.1, jitter_s=0.03, reset_s=1.0,
        cpu={"prepare": (0.063, 0.00108, 0.063), "sample": (0.078, 0.00131, 0.078),
             "load": (0.108, 0.000134, 0.099), "reconcile": (0.060, 0.00019, 0.060),
             "rollback": (0.039, 0.00025, 0.039)},
        # (sample and load, cpu and answer: the fit's lines less the files' bytes at their
        # ends, 0.18 and 1.39 MB for 20 and 62 units, 0.27 and 11.84 MB for 16 and 524;
        # before: sample (0.078, 0.00132), (0.019, 0.00082), load (0.108, 0.00014), (0.013,
        # 0.00079))
        answer={"prepare": (0.014, 0.00116), "sample": (0.022, 0.00059), "load": (0.014, 0.00061),
                "reconcile": (0.006, 0.00027), "rollback": (0.028, 0.00051)},
        # an upload's bytes (multipart to /files: the file read and decrypted from the store
        # on the step's thread, sent by the upload lanes, parsed by the server): the same
        # 200-patient practice at --doc-size-scale 1 and 0.05 (145 and 7 MB uploaded, the same
        # 3,069 calls), two interleaved pairs, 7 December 08:10-08:30 UTC, load 17-22 (niced
        # beside other helpers' runs): 0.15 and 0.40 ns on the step's thread, 6.2 and 9.5 on
        # the others (``contention`` taken off, as ``cpu``); the sample uploads the same way
        # (its 1 MB too few to fit); reconcile and rollback no consistent price (-1.5 to 2.9)
        per_byte={"sample": (0.28e-9, 7.8e-9), "load": (0.28e-9, 7.8e-9)},
        notes="Growth plan, 1 seat: 60,000 tokens/day per company (30,000 ×"
                             " multiplier × seats); burst 40 requests / 2 s per token"),
    # no per-second limit (only concurrent long calls and the daily allocation): Ferry sends
    # one call after the other, so its own CPU (and the network's round trip) sets the pace
    "salesforce": Limits("Salesforce", None, 2000, 200, 100_000,
                         {"create": 1, "update": 1, "delete": 1, "read": 1, "list": 1,
                          "upload": 1}, schema_calls=(2, 1),
                         # fitted with the org's sandbox in a process of its own, as a real
                         # org is a server apart (``--calibrate --repeat 5`` and 3, median of
                         # 8 runs at each size, niced, load 5.6-11.7, 7 December 11:00-11:12
                         # UTC): in this process its answers took the step's thread's turns
                         # and GIL, and the table priced that at 1.4x (before: prepare (0.162,
                         # 0.00110, 0.060), sample (0.061, 0.00435), load (0.179, 0.00053),
                         # reconcile (0.084, 0.00035), rollback (0.041, 0.00163))
                         cpu={"prepare": (0.050, 0.00108, 0.050),
                              "sample": (0.044, 0.00173, 0.044),
                              "load": (0.097, 0.00017, 0.038),
                              "reconcile": (0.040, 0.0, 0.040),
                              "rollback": (0.019, 0.00096, 0.019)},
                         # the org's own time per call is its timed ``ping`` (``RoundTrip.
                         # away_s``: its CPU, its wake-ups, the network); what a call costs
                         # it beyond a ping's came out nil but for the files' bytes and the
                         # records (``per_byte``, ``per_record``; before, in this process:
                         # prepare (0.045, 0.00249), sample (0.045, 0.00138), load (0.039,
                         # 0.00062), reconcile (0.029, 0.00044), rollback (0.033, 0.00172))
                         answer={"prepare": (0.001, 0.00001), "sample": (0.004, 0.0),
                                 "load": (0.0, 0.0), "reconcile": (0.0, 0.0),
                                 "rollback": (0.0, 0.0)},
                         # the rollback's per call and per record, from its thread CPU at 20
                         # patients (177 calls, 233 records) and 600 (251, 7,950), main
                         # recipe, 7 December 02:36-02:50 UTC, load 7-10
                         # (reconcile: calls 19 and 83, records 233 and 7,950; its call's
                         # own CPU came out nil, the former per unit kept for it)
                         per_record={"rollback": (0.00022, 0.000057),
                                     "reconcile": (0.00019, 0.000076)},
                         # an upload's bytes (multipart ContentVersion): decrypted from the
                         # store and sent on the step's thread, parsed by the org (the
                         # sandbox's threads); the same pairs: load 3.9 and 4.1 ns on the
                         # step's thread, 8.5 and 9.2 on the others (645 and 256 MB); the
                         # sample uploads through the same path (its 2-20 files too few to
                         # fit); reconcile and rollback send no bytes (-0.2 to 0.3 ns)
                         per_byte={"sample": (4.0e-9, 8.9e-9), "load": (4.0e-9, 8.9e-9)},
                         # a describe, a lookup and a read-back query per written object
                         # (measured with 3 and 9 of them: the recipe, a cut-down map)
                         per_written=True, file_reads=False, bulk_threshold=2000,
                         overhead={"prepare": (15, 0), "sample": (0, 5), "load": (3, 3),
                                   "reconcile": (2, 1), "rollback": (23, 2)},
                         notes="100,000 API requests / 24 h (Enterprise org baseline);"
                               " 200 records per sObject-collection call"),
    "odoo": Limits("Odoo", 1.0, 500, 100, None, schema_calls=(1, 2), update_calls=2,
                   # per written model: its fields read, a lookup, a read-back (measured
                   # with 5 and 2 of them: the recipe, a cut-down map)
                   # (per record/attach target: 5 and 2 of them, the recipe and a cut-down map)
                   overhead={"prepare": (1, 4), "sample": (8, 3), "load": (3, 4),
                             "reconcile": (3, 1), "rollback": (23, 5)},
                   cpu={"prepare": (0.053, 0.00140, 0.053), "sample": (0.024, 0.00382, 0.023),
                        "load": (0.091, 0.00060, 0.090), "reconcile": (0.050, 0.00031, 0.050),
                        "rollback": (0.020, 0.00054, 0.020)},
                   # (sample and load: the fit's lines less the files' bytes at their ends,
                   # 0.18 and 1.39 MB for 24 and 55 units, 0.27 and 11.84 MB for 18 and 230;
                   # before: sample (0.023, 0.00385), (0.013, 0.00118), load (0.090, 0.00065),
                   # (0.009, 0.00080))
                   answer={"prepare": (0.0, 0.00196), "sample": (0.018, 0.00095),
                           "load": (0.013, 0.00047), "reconcile": (0.013, 0.00010),
                           "rollback": (0.0, 0.00152)},
                   # an upload's bytes (base64 in the JSON-RPC create of ir.attachment, built
                   # and sent by the upload lanes, decoded by the server): the same pairs as
                   # Pipedrive's, 08:30-08:36 UTC, load 11-22 (niced): 0.81 and 0.96 ns on the
                   # step's thread, 6.7 and 5.3 on the others; the sample as the load
                   per_byte={"sample": (0.89e-9, 6.0e-9), "load": (0.89e-9, 6.0e-9)}, notes="no documented limit; Ferry paces 1"
                   " call/s by default (destination.requests_per_second), batches of 100"),
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
                   burst=rate.burst or base.burst,
                   page_size=rate.page_size or base.page_size,
                   batch=max(rate.batch_size, base.batch),
                   daily_budget=rate.daily_budget or base.daily_budget,
                   notes=rate.notes or base.notes)


def source_objects(kind: str) -> tuple[str, ...] | None:
    """What a source of ``kind`` typically stages (its ``Source.typical_objects``, else every
    object it can produce); None when unknown. Priced on every object, a CSV export's estimate
    counted 19 objects' pages and 200 documents' downloads where the project staged 7 objects."""
    import importlib

    from ferry.connectors.registry import source_module

    try:  # each source package's reader holds its ``Source`` class
        mod = importlib.import_module(f"{source_module(kind).__name__}.reader")
    except (ConfigError, ImportError):  # an unknown kind: every object
        return None
    for value in vars(mod).values():
        if isinstance(value, type) and issubclass(value, Source) and \
                getattr(value, "name", None) == kind:
            return tuple(value.typical_objects or value.objects)
    return None


def counts_for(patients: int) -> dict[str, int]:
    """Typical counts for a practice of ``patients``: clinical records scale with patients;
    clinics, staff and practice-wide definitions grow slowly, with caps."""
    out = {o: max(FIXED.get(o, 0), round(r * patients)) for o, r in PER_PATIENT.items()}
    out.update(clinic=min(20, 1 + patients // 2500), practitioner=min(200, 2 + patients // 250),
               appointment_type=8, workflow=8, compliance_policy=7,
               campaign=min(500, 4 + patients // 250))
    return out


#: staged records per object the survey reads (first staged first): enough for its shares
SURVEY_RECORDS = 2000
#: bytes of a document's file when nothing staged says (``--patients N``, a listing without
#: sizes): the synthetic practice's mean, 647 MB over 668 documents at 600 patients (its
#: sizes drawn from 2 KB to 8 MB, a few large scans)
BYTES_PER_DOCUMENT = 970_000


def file_sizes(store: Any, doc: MappingDoc | None = None) -> dict[str, float]:
    """Mean bytes of a file, as the staged documents say before any file is sent: under
    ``document``, each listed file's size (the source's listing gives it, the download checks
    it); under each attach map that uploads a document's file, the mean of the files the
    extract kept (a file that failed to download is not uploaded). Read from the first
    ``SURVEY_RECORDS`` staged documents."""
    from ferry.model.entities import Document

    listed: list[int] = []
    kept: list[int] = []
    for batch in store.iter_batches("document", 500):
        for st in batch:
            rec = st.record
            if not isinstance(rec, Document) or rec.size is None:
                continue
            listed.append(rec.size)
            if rec.local_path and Path(rec.local_path).exists():
                kept.append(rec.size)
        if len(listed) >= SURVEY_RECORDS:
            break
    if not listed:
        return {}
    out = {"document": statistics.fmean(listed)}
    for om in doc.objects if doc else []:
        if om.mode == "attach" and om.source == "document" and (
                om.attach is None or om.attach.content == "file"):
            out[om.name] = statistics.fmean(kept) if kept else 0.0
    return out


def survey(store: Any, doc: MappingDoc, region: str | None = None) -> dict[str, float]:
    """Per object map, what share of its source object's records the writers send: the records
    its ``when`` accepts; for an attach map, those with a parent and (files) downloaded content
    (a fold keeps one update per parent, at most as many as its parent object has). Read from
    the first ``SURVEY_RECORDS`` staged records of each object, so it stays cheap at any size.

    Without it the estimate split conditional maps evenly: 18 uploads for 6 files sent
    (Pipedrive), 20 for 8 (Salesforce)."""
    from ferry.mapping.compile import compile_mapping
    from ferry.model.entities import Document

    compiled = {cm.om.name: cm for cm in compile_mapping(doc, need_keys=False, region=region)}
    shares: dict[str, float] = {}
    for om in doc.objects:
        if om.mode not in ("record", "attach") or om.name not in compiled or (
                om.mode == "record" and om.when is None):
            continue
        seen = kept = 0
        parents: set[str] = set()
        for batch in store.iter_batches(om.source, 500):
            for st in batch:
                seen += 1
                rec = st.record
                if not compiled[om.name].accepts(rec):
                    continue
                pid = getattr(rec, om.parent.via, None) if om.parent else None
                if om.mode != "record" and om.parent is not None and pid is None:
                    continue
                if om.mode == "attach" and (om.attach is None or om.attach.content == "file") \
                        and not (isinstance(rec, Document) and rec.local_path
                                 and Path(rec.local_path).exists()):
                    continue
                kept += 1
                if om.mode == "fold":
                    parents.add(str(pid))
            if seen >= SURVEY_RECORDS:
                break
        if seen:
            shares[om.name] = (len(parents) if om.mode == "fold" else kept) / seen
    return shares


def _routes(doc: MappingDoc | None, counts: dict[str, int],
            shares: dict[str, float] | None = None) -> list[tuple[str, str, str, str, int]]:
    """(map, source object, op, destination object, records) for each way records land;
    ``shares`` (``survey``) where measured, else even splits and one update per parent."""
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
        if shares is not None and om.name in shares:
            n = math.ceil(n * shares[om.name])
        elif om.mode in ("record", "attach") and om.when is not None:
            n = math.ceil(n / split[om.source])  # disjoint conditions share the records
        elif om.mode == "fold" and om.parent is not None:
            n = min(n, counts.get(om.parent.object, n))  # one update per parent record
        op = {"record": "create", "fold": "update", "attach": "upload"}.get(om.mode)
        if op and n:
            out.append((om.name, om.source, op, om.target, n))
    return out


#: Ferry's CPU per step, in CPU-seconds of the step's own thread: (a fixed part: open the
#: project and the store, compile the map, write the reports; a part per unit: a call, or a
#: record the step carries, as a batched call of 200 records costs more than a call of one;
#: of the fixed part, what runs at the edges, before the first call and after the last).
#: ``Limits.answer``: the CPU of the threads that answer it (the sandboxes in this process,
#: Ferry's own upload lanes and page readers). Fitted by ``bench/estimate_calibration.py
#: --calibrate --repeat 5`` (time-scale 2000 so no pacing, Salesforce at 1 as it has none; the
#: median CPU per step of five runs at each end of a line, each step after a full collection:
#: 20 patients on the recipe, 3 on the cut-down map of the calibrated test, whose few calls
#: and records show the fixed part; 6-7 December 2026 23:40-00:10 UTC, load average 4-10 on
#: 2 cores shared with other helpers; the mean of two, 21:05, kept a full collection of the
#: harness's heap in one run's load, 2.5x the other's CPU) per system;
#: these (Pipedrive's) serve a system not calibrated. At another share the CPU is scaled by
#: ``contention``. A step is CPU bound when this, at the machine's share of a core, exceeds
#: its pacing. The process's CPU over the share the step's thread was given (the fit before)
#: priced every step 25-170 % over at load 13: half of it ran on other threads, which were
#: given twice that thread's share.
CPU_DEFAULT: dict[str, tuple[float, ...]] = {
    "extract": (0.07, 0.0001, 0.06), "prepare": (0.06, 0.0011, 0.06),
    "sample": (0.08, 0.0013, 0.08), "load": (0.11, 0.0001, 0.10),
    "reconcile": (0.06, 0.0002, 0.06), "rollback": (0.04, 0.0003, 0.04)}


#: how much more CPU the same work takes on a contended machine, per unit of the core share
#: lost: refitted by ``bench/estimate_calibration.py --calibrate`` at load 3 (share 0.5-1),
#: the CPU per unit came out 1.2-1.8 times lower (median 1.5) than fitted at load 8-15 (share
#: 0.2-0.45), for every destination and step alike (cache and core siblings shared with
#: other processes, more turns for the GIL): a CPU-second priced at one load did not hold
#: at the other. ``FIT_SHARE``: the share the table's CPU is normalised to. Tried on 7
#: December: a power of the share, (share / 0.3)^-0.32, from one Pipedrive run at load 5
#: and one with two CPU hogs (1.09-1.69x the thread CPU): with two hogs the calibrated test
#: then passed 2 of 6 runs, 4 of its 5 misses steps given 0.05-0.10 of a core priced 29-56 %
#: over, where this form passed 2 of 3: the CPU does not keep rising as the share falls
CONTENTION = 0.75
FIT_SHARE = 0.3
#: the share of a core the threads that answer a step's calls get, per unit of the busy loop's
#: (``machine_share``): they sleep between calls and the scheduler runs a waking thread
#: sooner than one that has used its slice, on the core the step's thread frees as it waits.
#: Measured on Salesforce's in-process sandbox (7 December, 02:20-02:36 UTC, load 5-10, main
#: config): their CPU over the time the step's thread was blocked on them was 0.7-2.8x the
#: probe (median 1.4; the blocked time also holds other waits, so the gain is a little more);
#: dividing their CPU by the probe priced that wall 1.1-4x over (prepare 2.2 s for 0.9, load
#: 0.9 s for 0.3). At 2 the Salesforce steps of those runs came within +15 % (median) at the
#: share their thread was given, where they were +38 %; the same 2x as the step's thread got
#: half of theirs at load 13 (``Limits.answer``). Only for a destination without a per-second
#: limit: applied to Pipedrive's and Odoo's too, the calibrated test's 3-patient steps came
#: out 23-44 % under at shares of 0.05-0.15 (load 10-11, 03:25-03:30 UTC)
ANSWER_GAIN = 2.0
#: CPU-seconds per staged record a step reads before its first call: the sample's selection
#: (engine/sample.py ``select_sample``) reads every staged record of each object twice (its
#: strata, then the chosen patients' children), so its thread's CPU grows with the store, not
#: the slice: at 600 patients (15,600 staged records) 2.0-2.1 s passed before its first call
#: where 0.3-0.7 at 20, and its thread took 1.2-1.6 CPU-s where the estimate said 0.3 (4.5 s
#: and 3.9 s for 1.3 and 0.7 estimated, given 0.30 and 0.44 of a core; 7 December,
#: 02:47-02:53 UTC, load 8-10, Salesforce, main recipe). At 0.00006 a record both come within
#: 20 %. ``Limits.cpu`` was fitted between 3 and 20 patients (up to ``SCAN_FIT`` staged
#: records), which holds the scan up to there: only the records beyond are priced here (taking
#: the 520 records' 0.03 CPU-s off the fixed part instead put the calibrated test's 3-patient
#: Odoo sample 26 % under at load 10)
SCAN_CPU = 0.00006
#: a step whose calls keep its thread asleep this many times longer than their CPU at the
#: machine's share runs that CPU at the share a thread gets as it wakes (``RoundTrip.
#: wake_share``, measured in the 2 ms after each answer): a real org's 100-300 ms. Below it,
#: at the machine's share: with the org's sandbox in a process of its own answering in 1-3
#: ms beside two CPU hogs, the steps' threads were given 0.42-0.48 of a core where the wake
#: share read 0.9 (the sample 37 % under at it, 7 December 11:23 UTC)
WAKE_BOUND = 9.0
SCAN_FIT = 520


#: the least ``contention`` gives: the table's CPU was fitted among other processes' runs
#: that kept both cores busy, and on a machine idle but for Ferry (and its destination's
#: server, and CPU hogs) the same work takes more: its cores sleep between calls and wake
#: cold. Salesforce's sandbox in a process of its own, nice 0, 7 December 12:21-12:23 UTC
#: (main config, load 1.3-3.0): the step's thread took 1.10-1.22x the table's CPU alone and
#: 1.12-1.45x beside two ``yes`` hogs (median 1.2 both), where the linear form below, measured
#: with the sandbox in Ferry's process, said 0.74-0.81 and 0.81-0.92 (the steps 15-47 % under);
#: beside other helpers' niced runs (load 21, cores busy) 0.85-0.95. So it binds at every
#: share on this machine but the most starved
QUIET_CPU = 1.2


def contention(share: float) -> float:
    """Ferry's CPU at a core share of ``share`` per CPU-second of ``Limits.cpu`` (fitted at
    ``FIT_SHARE``): at least ``QUIET_CPU``."""
    def at(s: float) -> float:
        return 1.0 + CONTENTION * (1.0 - min(max(s, 0.0), 1.0))
    return max(QUIET_CPU, at(share) / at(FIT_SHARE))


def _seconds(calls: int, lim: Limits, keys: int, scale: float = 1.0, busy: float = 0.0
             ) -> float:
    """Wall seconds for ``calls`` in one step: the pacing, and each call's own ``busy`` wall
    seconds (Ferry's CPU for it at the machine's share of a core; 0: the pacing alone).

    ``scale`` is the system's time-scale (a sandbox's ``--time-scale`` divides every limit
    window; 1 for the real service). A sliding window lets ``burst`` calls go together, then
    the next ones wait for the window: calls go in groups, not one by one (11 calls at 3 per
    2 s take 3 windows, where a smooth rate would say 2.7), and a group's calls take their CPU
    one after the other. After a full window a server that sends its reset in whole seconds
    (``reset_s``) holds the client that long from the group's last call."""
    if calls <= 0:
        return 0.0
    if not lim.rps:
        return calls * (lim.latency_s + busy)
    rate = lim.rps * (keys if lim.per_key else 1)
    burst = max(lim.burst, 1)
    window = burst * lim.pace / (rate * scale) + lim.jitter_s
    group = burst * busy  # the group's own CPU, its last call's included
    server = burst / (rate * scale)  # the server's window
    if lim.reset_s is not None and (burst - 1) * busy < server:  # the group fills it
        left = server - (burst - 1) * busy
        # a sandbox at another time-scale sends its reset exactly; a real service (time-scale
        # 1, as the sandbox emulates it there) rounds it up
        hold = math.ceil(left / lim.reset_s) * lim.reset_s if lim.reset_s and scale == 1 \
            else left
        group += hold
    full, last = divmod(calls, burst)
    if not last:
        full, last = full - 1, burst
    return full * max(window, group) + last * busy


def probe_share(wall_s: float = 0.08) -> float:
    """The share of one core this thread got over ``wall_s``: the CPU time of a busy loop
    held that long over the wall time it took."""
    clock = time.thread_time  # this thread's CPU: other threads of the process do not count
    w0, c0 = time.perf_counter(), clock()
    while time.perf_counter() - w0 < wall_s:
        sum(range(2000))  # a fixed slice of work (~20 µs) between two reads of the clocks
    wall, cpu = time.perf_counter() - w0, clock() - c0
    return max(0.05, min(1.0, cpu / wall))


def machine_share(probes: int = 7) -> float:
    """The share of one core a CPU-bound Ferry gets on this machine now: the median of a few
    short probes (``probe_share``; 0.56 s in all), so a passing burst of another process does
    not set it (a single 0.15 s probe ranged 0.09-0.34 at a steady load; the median of five
    0.08 s ones, 0.21-0.32).

    The 1-minute load average it replaces lags and counts threads that wait on I/O: on the
    shared 2-core machine it said 0.1 where Ferry got 0.25, and missed both ways (the sample
    44 % over at low load, prepare 25 % under with two CPU hogs). It was this probe's floor
    (``load_share``) until 7 December: with two CPU hogs the floor said 0.20-0.25 where the
    steps' threads were given 0.09-0.15 and the probes read 0.09-0.16, and with four it set
    every forecast (0.11-0.13 at load 14-16, the steps given 0.04-0.09): the share
    ``ferry estimate`` forecast was twice what the steps got. Seven probes, not five, for
    the moment of starvation the floor was for (five read 0.05 once at load 9)."""
    try:
        return statistics.median(probe_share() for _ in range(max(probes, 1)))
    except (OSError, AttributeError):  # no per-thread CPU clock here: a core of its own
        return 1.0


def load_share() -> float:
    """The share of a core one more runnable process gets by the 1-minute load average:
    cores / (load + 1), at most 1: what the bench prints beside the probe (it was the probe's
    floor, and read twice the share the steps got under load: ``machine_share``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    return min(1.0, cores / (load + 1.0))


@dataclass(frozen=True)
class RoundTrip:
    """The destination's cheapest authenticated call (``Destination.ping``), timed a few times
    as the estimate is made: its wall seconds and this process's CPU-seconds per call."""

    wall_s: float
    cpu_s: float
    calls: int
    #: the share of a core this thread got in the 2 ms after each answer came back: a thread
    #: that slept on the network is run at once when it wakes, so a step that waits on every
    #: call gets its CPU between the waits at this share, not a busy loop's (measured with
    #: Salesforce answering 100 ms late at load 10: 134 ms a call where 100 ms plus its CPU
    #: at ``machine_share`` said 175)
    wake_share: float = 1.0
    #: the fastest call: the network and the server's floor, without the turns this process
    #: waited for a core (at load 15 a sandbox in this process averaged 3-5 ms a ping where
    #: its CPU at ``machine_share`` said 1-2 ms, and the difference read as latency)
    floor_s: float = 0.0
    #: the mean time a call kept the calling thread asleep, neither running nor waiting for
    #: a core (the kernel's per-thread times): the network, the server and the wake-ups
    #: between them, whatever this process's CPU; 0 where the kernel does not say. The mean
    #: (of all but the slowest of 10 or more: one pause of the server's), as a step's calls
    #: add up: beside other processes a call's answer often comes while the caller waits
    #: for its core, and its sleep then reads 0 where the next reads 0.7 ms; the median of
    #: 40 flipped between the two (0.06-0.74 ms in one minute at nice 0, load 20)
    away_s: float = 0.0
    #: the mean time a call kept the calling thread runnable but off a core, and on one
    #: (the kernel's per-thread times): woken by the answer, it waits its turn first. The
    #: mean, as a step's calls add them up: most wait nothing and some a slice of another
    #: process (at quiet a median of 0.12 ms, a mean of 0.2-0.3)
    wait_s: float = 0.0
    ran_s: float = 0.0

    def wake_wait(self, share: float) -> float:
        """Seconds per call the calling thread waits for a core beyond what its CPU at
        ``share`` waits: the turn it waits each time an answer wakes it, which a busy loop
        (``machine_share``) never sees (it never sleeps)."""
        return max(0.0, self.wait_s - self.ran_s * (1.0 / max(share, 0.05) - 1.0))

    def latency(self, share: float) -> float:
        """Seconds per call besides this process's CPU for it at ``share`` (a call's floor):
        the time each ping kept the thread asleep (``away_s``: the network, the server) and
        its turn for a core as the answer woke it (``wake_wait``), else the fastest round
        trip less its CPU at the share a waking thread gets. A real org answers in 100-300
        ms, far more than a call's CPU. A sandbox in a process of its own answers a ping in
        1-3 ms of its own CPU and wake-ups (on two shared cores, 7 December), which the
        fastest trip less Ferry's CPU at a loaded share read as 0: each call's floor was then
        missing from the estimate (priced instead by a CPU table 1.4x too dear)."""
        if self.away_s > 0:
            return self.away_s + self.wake_wait(share)
        return max(0.0, (self.floor_s or self.wall_s)
                   - self.cpu_s / max(self.wake_share, share, 0.05))


def wait_ns() -> int | None:
    """This thread's nanoseconds runnable but waiting for a core, so far (the kernel's
    ``/proc/thread-self/schedstat``, counted as the thread gets its core, so exact for a
    running thread, where its time on a core there lags by up to a tick: that one is
    ``time.thread_time``); None where the kernel does not say."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


#: the wake share (``RoundTrip.wake_share``) is read after the first timed ping and every
#: this many after it. After each one, 2 ms of busy loop before the next ping made the
#: calling thread a CPU-bound one to the scheduler: beside two CPU hogs the pings' wake-up
#: waits then forecast 200-ping bursts 11-169 % over (7 December 11:47 UTC)
WAKE_EVERY = 4


def round_trip(ping: Any, seconds: float = 0.3, most: int = 40) -> RoundTrip:
    """Time ``ping()`` (after one untimed call: the connection and sign-in) until ``seconds``
    or ``most`` calls have passed; 0.3 s is about 100 calls to a local sandbox, 1-3 to a real
    org, each counted in its daily allocation."""
    ping()
    n, wall, cpu, woke, fastest = 0, 0.0, 0.0, [], math.inf
    away: list[float] = []
    ran: list[float] = []
    waited: list[float] = []
    t_end = time.perf_counter() + seconds
    while n < most and time.perf_counter() < t_end:
        s0, r0, w0, c0 = wait_ns(), time.thread_time(), time.perf_counter(), time.process_time()
        ping()
        took, r1, s1 = time.perf_counter() - w0, time.thread_time(), wait_ns()
        if s0 is not None and s1 is not None:  # asleep: neither on a core nor waiting for one
            ran.append(r1 - r0)
            waited.append((s1 - s0) / 1e9)
            away.append(max(0.0, took - ran[-1] - waited[-1]))
        wall, cpu, n, fastest = wall + took, cpu + time.process_time() - c0, n + 1, min(
            fastest, took)
        if n % WAKE_EVERY != 1:  # the others back to back, as a step's calls go
            continue
        w1, c1 = time.perf_counter(), time.thread_time()
        while time.perf_counter() - w1 < 0.002:
            sum(range(200))
        woke.append((time.thread_time() - c1) / (time.perf_counter() - w1))
    if len(away) >= 10:
        away.remove(max(away))
    return RoundTrip(wall / n, cpu / n, n, min(1.0, statistics.median(woke)), fastest,
                     *(statistics.fmean(x) if x else 0.0 for x in (away, waited, ran)))


def _step_time(step: str, calls: int, lim: Limits, keys: int, scale: float,
               cpu_share: float, unpaced: int = 0, records: int = 0,
               wake_share: float | None = None, answer_share: float | None = None,
               scanned: int = 0, nbytes: float = 0.0) -> tuple[float, float, float, str]:
    """(wall seconds, pacing alone, CPU seconds, what binds) for a step of ``calls`` paced
    calls (and ``unpaced`` ones, e.g. file downloads) carrying ``records``. The CPU is the
    step's own thread's (``Limits.cpu``: fixed, per unit, at the edges), times its
    ``contention`` at ``cpu_share``, run at that share of a core. Only the edges' CPU (start-up
    before the first call, the reports after the last) adds to the pacing; the rest (the CPU
    per unit, a call or a record, and the fixed CPU between calls) runs inside the pace's
    windows, so a window takes the longer of its wait and its CPU (``_seconds``): measured
    on the test's Odoo prepare, 0.05 of its 0.14 CPU-s came before the first call, and the
    rest hid in 30 waits of 0.1 s where the sum had priced it on top (3.9 s for 2.9).
    ``nbytes``: the file content the step moves, priced by ``Limits.per_byte`` on each
    thread as its calls are."""
    fixed, per_unit, *rest = lim.cpu.get(step, CPU_DEFAULT.get(step, (0.0, 0.0)))
    edges = min(rest[0], fixed) if rest else fixed
    o_fixed, o_unit = lim.answer.get(step, (0.0, 0.0))
    rec, o_rec = lim.per_record.get(step, (per_unit, o_unit))
    k = contention(cpu_share)
    share = max(cpu_share, 0.01)
    # (the gain where it was measured, a destination without a per-second limit: a paced
    # one's answers hide in the pace's waits, and its ``Limits.answer`` was fitted without it)
    other = min(1.0, (1.0 if lim.rps else ANSWER_GAIN) * max(
        answer_share if answer_share is not None else cpu_share, 0.01))
    n = calls + unpaced
    # the fixed CPU not at the edges (compiling the map, the snapshot's index, the diff) runs
    # between the calls, as the per-unit CPU does: there it hides in the pace's waits
    b_main, b_other = lim.per_byte.get(step, (0.0, 0.0)) if n else (0.0, 0.0)
    cpu_calls = (n * per_unit + records * rec + nbytes * b_main
                 + (fixed - edges if n else 0.0)) * k
    answer = (o_fixed + n * o_unit + records * o_rec + nbytes * b_other) * k if n else 0.0
    busy = cpu_calls / max(n, 1) / share  # each call's wall seconds of Ferry's CPU
    wake = max(wake_share or 0.0, share)
    if not lim.rps and lim.latency_s > WAKE_BOUND * busy:
        busy = cpu_calls / max(n, 1) / wake  # run as it wakes from each round trip
    busy += answer / max(n, 1) / other  # and the answer's, on the threads that give it
    paced = _seconds(calls, lim, keys, scale)
    # and before its first call, the staged records the step reads through (``SCAN_CPU``)
    head = ((edges if n else fixed) + max(0, scanned - SCAN_FIT) * SCAN_CPU) * k
    wall = head / share + _seconds(calls, lim, keys, scale, busy) + unpaced * busy
    bound = ("rate" if lim.rps else "latency") if paced >= n * busy else "cpu"
    return wall, paced, head + cpu_calls + answer, bound


def _price(lim: Limits, dest: Destination | None, op: str, target: str, n: int
           ) -> tuple[int, int]:
    """(calls, tokens) for ``op`` on ``n`` records of ``target``: the connector's own price
    when it gives one, else the table's."""
    if n <= 0:
        return 0, 0
    c = None
    if dest is not None:
        try:
            c = dest.cost(op, target, n)
        except (KeyError, ValueError, NotImplementedError):
            c = None  # an op the connector does not price (uploads): the table's figure
    if c is not None:
        return c.calls, c.tokens or c.calls * lim.cost(op, target)
    batch = lim.batch if op in ("create", "delete") else 1
    calls = math.ceil(n / max(batch, 1))
    return calls, calls * lim.cost(op, target)


def _bulk(lim: Limits, dest: Destination | None) -> Limits:
    """The table's bulk figures, with the destination's own settings where it has them
    (``bulk_threshold``, ``bulk_max_rows``, ``poll_initial_s``, ``poll_max_s``)."""
    st = getattr(dest, "settings", None)
    if lim.bulk_threshold is None or st is None:
        return lim
    return replace(lim, bulk_threshold=int(getattr(st, "bulk_threshold", lim.bulk_threshold)),
                   bulk_max_rows=int(getattr(st, "bulk_max_rows", lim.bulk_max_rows)),
                   poll_first_s=float(getattr(st, "poll_initial_s", lim.poll_first_s)),
                   poll_max_s=float(getattr(st, "poll_max_s", lim.poll_max_s)))


def poll_wait(processing_s: float, first_s: float, max_s: float, growth: float = 1.6
              ) -> tuple[float, int]:
    """(seconds slept, polls) for a job the org takes ``processing_s`` to finish after
    ``UploadComplete``: the client polls at once, then after ``first_s``, each wait
    ``growth`` times the last up to ``max_s``, until a poll finds the job done. The first
    poll never does (a job shows InProgress before it completes): one wait at least."""
    slept, polls, delay = 0.0, 1, max(first_s, 1e-9)
    while True:
        slept, polls = slept + delay, polls + 1
        if slept >= processing_s:
            return slept, polls
        delay = min(max_s, delay * growth)


def job_wait(lim: Limits, op: str, n: int, scale: float = 1.0) -> float:
    """Wall seconds a writer call of ``n`` rows spends polling its bulk jobs (0 below the
    threshold, or for a destination without a bulk API): per job its queue and processing
    time (``Limits.job_*``) rounded up to the client's poll schedule, all at ``scale``."""
    if lim.bulk_threshold is None or op not in ("create", "update", "delete") or \
            n < lim.bulk_threshold:
        return 0.0
    total = 0.0
    for start in range(0, n, max(lim.bulk_max_rows, 1)):
        rows = min(lim.bulk_max_rows, n - start)
        batches = math.ceil(rows / max(lim.job_batch, 1))
        busy = math.ceil(batches / max(lim.job_lanes, 1)) * min(rows, lim.job_batch) \
            / lim.job_rows_per_s if lim.job_rows_per_s > 0 else 0.0
        total += poll_wait((lim.job_queue_s + busy) / scale, lim.poll_first_s / scale,
                           lim.poll_max_s / scale, lim.poll_growth)[0]
    return total


def _writes(routes: list[tuple[str, str, str, str, int]], lim: Limits,
            dest: Destination | None, batch_size: int = 100,
            folds: dict[str, tuple[str, str]] | None = None, scale: float = 1.0,
            written: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Calls per way records land. Updates go to the writer ``batch_size`` rows at a time
    (the project's ``options.batch_size``) and each such chunk first reads its records' current
    values in one read (the before-images rollback restores), priced as the destination reads
    that many ids (Pipedrive: one list call by ids, Salesforce: one query per 200).

    ``folds``: each fold map's (parent object, target). The load sends one update per parent
    for every fold map into it, after the last map (engine/load.py): the first map of a
    group carries the group's calls, for as many parents as its largest map.

    ``wait_s``: the seconds its bulk jobs wait on the org (``job_wait``, at ``scale``).
    ``written``: per map, records already written (the sample's) that its first write batch
    reads again: the sample picks the first records of the store, and the load reads every
    staged record, so that batch carries that many fewer creates (at a batch of 2,000, the
    sample's 87 appointments made its 1,913 creates collections where a Bulk job was priced)."""
    folds = folds or {}
    bulk = _bulk(lim, dest)
    widest: dict[tuple[str, str], int] = {}
    for name, _obj, op, _target, n in routes:
        if op == "update" and name in folds:
            widest[folds[name]] = max(widest.get(folds[name], 0), n)
    out = []
    for name, obj, op, target, n in routes:
        group = folds.get(name) if op == "update" else None
        sent = n if group is None else widest.pop(group, 0)
        skip = min((written or {}).get(name, 0), batch_size) if op == "create" else 0
        if op == "create" and sent + skip > batch_size > 0:
            # the load hands the writer one write batch (``batch_size`` records read) at a
            # time (engine/load.py ``_write``): priced per batch, as the destination prices
            # that many (Salesforce: collections of 200 below 2,000 rows, a Bulk API job at or
            # above them; priced whole, 5,000 creates were one Bulk job of 9 calls where the
            # load sends 50 collections of 100)
            first = batch_size - skip  # the first batch's creates
            full, rest = divmod(sent - first, batch_size)
            c0, t0 = _price(lim, dest, op, target, first)
            c1, t1 = _price(lim, dest, op, target, batch_size)
            c2, t2 = _price(lim, dest, op, target, rest)
            calls, tokens = c0 + full * c1 + c2, t0 + full * t1 + t2
            wait = job_wait(bulk, op, first, scale) + full * job_wait(
                bulk, op, batch_size, scale) + job_wait(bulk, op, rest, scale)
        else:
            calls, tokens = _price(lim, dest, op, target, sent)
            wait = job_wait(bulk, op, sent, scale)
        if op == "update" and sent:
            size = max(batch_size, 1)
            full, rest = divmod(sent, size)
            for chunk, times in ((size, full), (rest, 1 if rest else 0)):
                rc, rt = _price(lim, dest, "read", target, chunk)
                calls, tokens = calls + times * rc, tokens + times * rt
                if chunk > 1:
                    calls += times * (lim.update_calls - 1)
        out.append({"map": name, "object": obj, "op": op, "target": target, "records": n,
                    "calls": calls, "tokens": tokens, "wait_s": wait})
    return out


def _slice(counts: dict[str, int], size: int) -> dict[str, int]:
    """Records a ``sample --size`` slice takes per object when the staged store is not at
    hand: its share of every object (the slice also brings parents and a few children)."""
    total = sum(counts.values())
    if not total or not size:
        return {}
    frac = min(1.0, size / total)
    return {o: min(n, math.ceil(n * frac)) for o, n in counts.items() if n}


def estimate(counts: dict[str, int], *, source: Limits, destination: Limits,
             doc: MappingDoc | None = None, source_keys: int = 1, dest_keys: int = 1,
             dest: Destination | None = None, delta_passes: int = 48,
             sample_counts: dict[str, int] | None = None, sample_size: int = 200,
             source_scale: float = 1.0, dest_scale: float = 1.0,
             cpu_share: float | None = 1.0, batch_size: int = 100,
             shares: dict[str, float] | None = None, trip: RoundTrip | None = None,
             answer_share: float | None = None,
             file_bytes: dict[str, float] | None = None) -> dict[str, Any]:
    """Per-step calls, tokens and durations, the overlapped timeline and the budget days.

    A step's wall time is its API pacing with Ferry's CPU for each call between the waits,
    plus the CPU at its edges (``Limits.cpu``, else ``CPU_DEFAULT``; see ``_step_time``).
    ``sample_counts``: the records ``ferry sample`` would take per object (``select_sample``
    on the store); the run then writes only the rest. ``source_scale``/``dest_scale``: each
    system's time-scale (sandboxes; 1 for real services). ``cpu_share``: the share of one core
    the step's thread gets (1 on a machine of its own; None: this machine's now,
    ``machine_share``); ``answer_share``: the threads' that answer it (None: the same).
    ``file_bytes``: the mean bytes of a file (``file_sizes``: ``document``, each attach map;
    else ``BYTES_PER_DOCUMENT``), for the steps that move files (``Limits.per_byte``)."""
    if cpu_share is None:
        cpu_share = round(machine_share(), 2)
    if trip is not None and not destination.rps:  # unpaced: its round trip sets the pace
        destination = replace(destination, latency_s=trip.latency(cpu_share))
    steps: list[dict[str, Any]] = []
    # pages are paced; file downloads (pre-signed links, one per document) are not
    pages = {o: math.ceil(n / source.page_size) for o, n in counts.items() if n}
    if source.lists > len(pages):  # the lists it reads with nothing staged from them
        pages["(empty or absent lists)"] = source.lists - len(pages)
    extract_calls = {o: c + (counts.get(o, 0) if o == "document" else 0)
                     for o, c in pages.items()}
    downloads = sum(extract_calls.values()) - sum(pages.values())
    first_s = _seconds(sum(c for o, c in pages.items() if o in FIRST), source,
                       source_keys, source_scale)
    routes = _routes(doc, counts, shares)
    folds = {om.name: (om.parent.object, om.target) for om in doc.objects
             if om.mode == "fold" and om.parent is not None} if doc else {}
    # the whole migration, as if no sample ran
    full = _writes(routes, destination, dest, batch_size, folds)
    # the bytes of the files each step moves: the extract downloads every listed file, the
    # sample and the run upload those of their attach maps (a rendered record: a few KB, 0)
    sizes = {"document": BYTES_PER_DOCUMENT, **(file_bytes or {})}
    rendered = {om.name for om in doc.objects if om.mode == "attach" and om.attach is not None
                and om.attach.content == "render"} if doc else set()

    def sent(writes: list[dict[str, Any]]) -> float:
        return sum(p["records"] * sizes.get(p["map"], sizes["document"]
                                            if p["object"] == "document" else 0.0)
                   for p in writes if p["op"] == "upload" and p["map"] not in rendered)
    if sample_counts is None:
        sample_counts = _slice(counts, sample_size)
    rest = {o: max(0, n - sample_counts.get(o, 0)) for o, n in counts.items()}
    in_slice = _writes(_routes(doc, {o: n for o, n in sample_counts.items() if n}, shares),
                       destination, dest, batch_size, folds, dest_scale)
    run_routes = _routes(doc, rest, shares)
    # the sample's records each map's first write batch reads again (its share of them)
    again = {name: round(sample_counts.get(obj, 0) * n / max(rest.get(obj, 0), 1))
             for name, obj, _op, _t, n in run_routes}
    per_object = _writes(run_routes, destination, dest, batch_size, folds, dest_scale,
                         again)  # the run's
    # the load lists every record or attach map's target, records or not (its snapshot of
    # live ids, the finder's index): Pipedrive's sample listed 6 objects for 4 written
    targets = {om.target for om in doc.objects if om.mode in ("record", "attach")} if doc \
        else {p["target"] for p in full}
    n_over = len({p["target"] for p in full}) if destination.per_written else len(targets)
    # listings around the writes (measured): users for the owners, the written objects' field
    # lists and one page of each target (the finder's id index); the sample lists users twice
    load_calls = sum(p["calls"] for p in per_object) + destination.extra("load", n_over)
    load_tokens = sum(p["tokens"] for p in per_object)
    full_tokens = sum(p["tokens"] for p in full)
    rate_s = _seconds(load_calls, destination, dest_keys, dest_scale)
    budget = destination.daily_budget
    budget_days = 1
    load_s = rate_s
    days_s = 0.0  # the load's wall time when the daily budget binds
    if budget and full_tokens > budget:
        budget_days = math.ceil(full_tokens / budget)
        last = full_tokens - (budget_days - 1) * budget
        days_s = (budget_days - 1) * DAY_S / dest_scale + rate_s * last / max(full_tokens, 1)
        load_s = max(rate_s, days_s)
    # one call per schema item (Salesforce: two), after the listings of each object's fields,
    # the pipelines and each pipeline's stages; activity types are looked up, made if missing
    items = schema_items(doc) if doc else []
    n_schema = len(items) if doc else 25
    n_made = sum(i.kind != "activity_type" for i in items) if doc else 25
    prep_calls = n_schema * destination.schema_calls[0] + destination.extra(
        "prepare", n_over) + (len(doc.pipelines) if doc else 0)
    # records the destination holds afterwards, per object (updates land on existing ones)
    created: Counter[str] = Counter()
    for p in full:
        if p["op"] != "update":
            created[p["target"]] += p["records"]
    # reconcile lists every target, written to or not (pages), then reads back each record
    # map's target
    recon_calls = destination.extra("reconcile", n_over) + sum(
        max(1, math.ceil(created.get(t, 0) / max(destination.page_size, 1)))
        for t in targets | set(created))
    recon_tokens = recon_calls * destination.cost("list", "")
    # reconcile reads back each object a record map writes once, 100 ids a read, whatever
    # the number of maps landing in it (engine/reconcile.py; it read once per map before)
    record_targets = {om.target for om in doc.objects if om.mode == "record"} if doc else \
        {p["target"] for p in full if p["op"] == "create"}
    for target in sorted(record_targets):
        for i in range(0, created[target], 100):
            c, t = _price(destination, dest, "read", target, min(100, created[target] - i))
            recon_calls, recon_tokens = recon_calls + c, recon_tokens + t
    # rollback (a rehearsal's last step, not part of the migration): one delete per record and
    # file created (a batch where the API has one), one per schema item, newest first; the
    # records go to the writer ``ROLLBACK_BATCH`` at a time (engine/rollback.py), each group
    # priced as the destination prices that many (priced whole, 5,000 Salesforce contacts
    # were one Bulk job of 9 calls where the rollback sends 50 collections)
    rb_calls = rb_tokens = 0
    rb_wait = 0.0
    for target, n in created.items():
        full_groups, last = divmod(n, ROLLBACK_BATCH)
        for size, times in ((ROLLBACK_BATCH, full_groups), (last, 1 if last else 0)):
            c, t = _price(destination, dest, "delete", target, size)
            rb_calls, rb_tokens = rb_calls + times * c, rb_tokens + times * t
            rb_wait += times * job_wait(_bulk(destination, dest), "delete", size, dest_scale)
    rb_calls += n_made * destination.schema_calls[1] + destination.extra("rollback", n_over)
    rb_tokens += n_made * destination.cost("delete", "")
    for p in full:  # an updated record is read before it is restored (measured)
        if p["op"] == "update":
            c, t = _price(destination, dest, "read", p["target"], p["records"])
            rb_calls, rb_tokens = rb_calls + c, rb_tokens + t
    # the sample writes its slice for real, then reads back what it wrote
    sample_calls = sum(p["calls"] for p in in_slice)
    sample_tokens = sum(p["tokens"] for p in in_slice)
    # files written per (source, target): every attach map of that pair reads each back
    files = Counter({(p["object"], p["target"]): 0 for p in in_slice})
    for p in in_slice:
        if p["op"] == "upload":
            files[(p["object"], p["target"])] += p["records"]
    attach = [om for om in doc.objects if om.mode == "attach"] \
        if doc and destination.file_reads else []
    for p in in_slice:  # the diff reads back what each map wrote (a fold: its parents)
        if p["op"] == "upload" and doc is not None and destination.file_reads:
            continue
        c, t = _price(destination, dest, "read", p["target"], p["records"])
        sample_calls, sample_tokens = sample_calls + c, sample_tokens + t
    # a file is read back alone, once per attach map of its (source, target) pair, as the
    # diff finds the file by that pair whichever map uploaded it (Pipedrive's sample read
    # 2 files 4 times)
    for om in attach:
        n = files.get((om.source, om.target), 0)
        c, t = _price(destination, dest, "read", om.target, 1)
        sample_calls, sample_tokens = sample_calls + n * c, sample_tokens + n * t
    sample_calls += destination.extra("sample", n_over)
    d = (destination, dest_keys, dest_scale)
    # seconds the step's bulk jobs wait on the org, polled (``job_wait``)
    waits = {"sample": sum(p["wait_s"] for p in in_slice),
             "load": sum(p["wait_s"] for p in per_object), "rollback": rb_wait}
    written = sum(p["records"] for p in per_object)
    made = sum(created.values())
    held = sent(full)  # (reconcile and rollback: the files the destination then holds)
    moved = {"extract": counts.get("document", 0) * sizes["document"],
             "sample": sent(in_slice), "load": sent(per_object), "reconcile": held,
             "rollback": held}
    # (step, system's limits, keys, time-scale, paced calls, unpaced calls, records, tokens)
    plan = [("prepare", destination, 1, dest_scale, prep_calls, 0, 0,
             n_schema * destination.cost("create", "")),
            ("extract", source, source_keys, source_scale, sum(pages.values()), downloads,
             sum(counts.values()), 0),
            ("sample", destination, 1, dest_scale, sample_calls, 0,
             sum(p["records"] for p in in_slice), sample_tokens),
            ("load", *d, load_calls, 0, written, load_tokens),
            ("reconcile", *d, recon_calls, 0, made, recon_tokens),
            ("rollback", *d, rb_calls, 0,
             made + sum(p["records"] for p in full if p["op"] == "update"), rb_tokens)]
    # The brief's order: prepare, extract (all of it), sample, run, reconcile; rollback only
    # if needed (not in the total). ``ferry run --with-extract`` overlaps extract and load
    # instead: ``migration_seconds`` is that figure.
    t = 0.0
    walls: dict[str, float] = {}
    for name, lim, keys, scale, calls, unpaced, records, tokens in plan:
        wall, paced, cpu, bound = _step_time(
            name, calls, lim, keys, scale, cpu_share, unpaced, records,
            trip.wake_share if trip is not None and lim is destination else None,
            answer_share, sum(counts.values()) if name == "sample" else 0,
            moved.get(name, 0.0))
        wall += waits.get(name, 0.0)
        if waits.get(name, 0.0) > wall / 2:
            bound = "bulk jobs"
        if name == "load" and days_s > wall:
            wall, bound = days_s, "budget"
        walls[name] = wall
        calls += unpaced
        step = {"step": name, "start_s": round(t, 1), "end_s": round(t + wall, 1),
                "seconds": round(wall, 1), "paced_seconds": round(paced, 1),
                # (unrounded to a tenth: a step of a sandbox answering at once lasts 0.1-0.3 s)
                "wall_s": round(wall, 3),
                "cpu_seconds": round(cpu, 2), "bound": bound, "calls": calls,
                "job_wait_seconds": round(waits.get(name, 0.0), 1),
                "bytes": round(moved.get(name, 0.0)),
                "records": records, "tokens": tokens}
        if name == "rollback":
            step["if_needed"] = True
        else:
            t += wall
        steps.append(step)
    overlapped = max(walls["extract"], first_s + walls["load"])
    live = [o for o in counts if counts[o]]
    # a changes list per object, or (a sweep) a probe of the missing deletions list and every
    # page of the object, so that deletions are found by comparing id sets
    delta_calls = sum(1 + math.ceil(counts[o] / source.page_size) for o in live) \
        if source.delta_sweep else len(live)
    delta_pass_s = _seconds(delta_calls, source, source_keys, source_scale)
    by_keys = []
    for k in (1, 2, 3, 4):
        ek = _seconds(sum(pages.values()), source, k, source_scale)
        lk = max(_seconds(load_calls, destination, k, dest_scale),
                 load_s if budget_days > 1 else 0)
        by_keys.append({"keys": k, "extract_s": round(ek, 1), "load_s": round(lk, 1),
                        "migration_s": round(max(ek, lk), 1)})
    # what bounds the migration: the longer of its two overlapped parts, and what bounds that
    # step (pacing, Ferry's CPU, round trips, bulk jobs, the budget), not the pacing alone
    # (which said "source rate limit" for a CSV export whose every step was CPU bound)
    longer = "extract" if walls["extract"] >= first_s + walls["load"] else "load"
    side = "source" if longer == "extract" else "destination"
    how = next(s["bound"] for s in steps if s["step"] == longer)
    binds = "daily token budget" if budget_days > 1 or how == "budget" else {
        "rate": f"{side} rate limit", "latency": f"{side} latency",
        "bulk jobs": "destination's bulk jobs"}.get(how, f"Ferry's CPU ({longer})")
    return {"inputs": {"counts": counts, "source": source.name, "destination": destination.name,
                       "source_keys": source_keys, "dest_keys": dest_keys,
                       "source_limits": source.notes, "destination_limits": destination.notes,
                       "source_scale": source_scale, "dest_scale": dest_scale,
                       "cpu_share": cpu_share, "targets": len(targets),
                       "dest_latency_s": round(destination.latency_s, 4),
                       "sample": dict(sample_counts)},
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
                   burst=PIPEDRIVE_BURST.get(p, 40),
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


def pricing_destination(kind: str, workdir: Path) -> Destination | None:
    """The destination's own connector, built by its package's ``pricing`` to price calls only
    (nothing is called): an estimate without a project (``--patients N``) then counts calls as a
    project's does, where the table priced a call per record (1,512 load calls for Odoo at 200
    patients where the project said 40). None for a kind whose package has no ``pricing``."""
    from ferry.connectors.registry import destination_module

    try:
        pricing = getattr(destination_module(kind), "pricing", None)
    except ConfigError:  # a kind no package answers for
        return None
    return pricing(workdir) if pricing is not None else None


def estimate_practice(patients: int, source_kind: str, dest_kind: str, *,
                      doc: MappingDoc | None = None, plan: str | None = None,
                      seats: int | None = None, sample_size: int = 200,
                      cpu_share: float | None = None, source_keys: int = 1,
                      dest_keys: int = 1, counts: dict[str, int] | None = None
                      ) -> dict[str, Any]:
    """The estimate for a practice of ``patients`` without a project: the counts a synthetic
    practice of that size stages (``counts_for``), ``doc`` (the pair's recipe), and the same
    call counting as ``estimate_project``: the destination connector's own prices and limits
    (``pricing_destination``) and the write batch of a project's default options. ``counts``:
    records per object to price instead (a project's staged ones, with other systems)."""
    import tempfile

    from ferry.settings import Options

    if counts is None:
        counts = counts_for(patients)
        have = source_objects(source_kind)
        if have is not None:  # what the source stages, as ``ferry map`` fits the recipe to it
            counts = {o: n for o, n in counts.items() if o in have}
            if doc is not None:
                from ferry.mapping.adapt import fit_to_source

                doc = doc.model_copy(deep=True)
                fit_to_source(doc, counts)
    with tempfile.TemporaryDirectory(prefix="ferry-estimate-") as tmp:
        dest = pricing_destination(dest_kind, Path(tmp))
        try:
            s_lim, d_lim = limits_for(source_kind, dest_kind, dest=dest)
            d_lim = with_plan(d_lim, plan, seats)
            return estimate(counts, source=s_lim, destination=d_lim, doc=doc,
                            dest=dest, sample_size=sample_size, cpu_share=cpu_share,
                            source_keys=source_keys, dest_keys=dest_keys,
                            batch_size=Options().batch_size)
        finally:
            if dest is not None:
                dest.close()


def _scale(settings: Any) -> float:
    try:
        return float(settings.options().get("time_scale") or 1.0)
    except (AttributeError, TypeError, ValueError):
        return 1.0


def estimate_project(project: Any, *, sample_size: int = 200, cpu_share: float | None = None,
                     source_keys: int = 1, dest_keys: int = 1,
                     trip: RoundTrip | None = None, probe: bool = True,
                     answer_share: float | None = None) -> dict[str, Any]:
    """The estimate for a project: its staged counts, its mapping, the slice ``ferry sample
    --size N`` would take, the destination's own prices and each system's time-scale. A
    destination without a per-second limit is timed as it answers now (``round_trip`` of its
    ``ping``, unless ``trip`` is given or ``probe`` is off)."""
    from ferry.engine.pipeline import open_destination
    from ferry.engine.sample import select_sample
    from ferry.mapping.mapping_file import load

    doc = load(project.mapping_path) if project.mapping_path.exists() else None
    counts = project.store.counts()
    objects = {om.source for om in doc.objects if om.mode != "none"} if doc else set(counts)
    picked = Counter(obj for obj, _ in select_sample(project.store, sample_size, objects))
    s = project.settings
    dest = open_destination(project)
    try:
        s_lim, d_lim = limits_for(s.source.kind, s.destination.kind, dest=dest)
        if trip is None and probe and not d_lim.rps and hasattr(dest, "ping"):
            trip = round_trip(dest.ping)
        return estimate(counts, source=s_lim, destination=d_lim, doc=doc, dest=dest,
                        sample_counts=dict(picked), sample_size=sample_size,
                        source_scale=_scale(s.source), dest_scale=_scale(s.destination),
                        cpu_share=cpu_share, source_keys=source_keys, dest_keys=dest_keys,
                        batch_size=s.options.batch_size,
                        shares=survey(project.store, doc, project.phone_region) if doc else None,
                        trip=trip, answer_share=answer_share,
                        file_bytes=file_sizes(project.store, doc))
    finally:
        dest.close()
