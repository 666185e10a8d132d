"""State of the FHIR Bulk Data emulator: the practice, changes made since, and export jobs.

A job writes NDJSON files to a temporary folder in a background thread (one type per file,
``file_lines`` resources per file at most, so large types span several files as in the IG).
Changes for delta tests are made through the admin surface: a *touched* record gets a new
``lastUpdated`` (now), a *deleted* one leaves the output and enters the ``deleted`` list.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.sandbox.fhir.resources import convert
from ferry.sandbox.synth import Practice

#: canonical object → the resource type its source id is the id of (for deletions)
PRIMARY = {"clinic": "Organization", "practitioner": "Practitioner", "patient": "Patient",
           "patient_relationship": "RelatedPerson", "appointment": "Appointment",
           "clinical_note": "DocumentReference", "document": "DocumentReference",
           "treatment_record": "CarePlan", "insurance_policy": "Coverage",
           "prescription": "MedicationRequest", "invoice": "Invoice"}
SUPPORTED = ("Organization", "Location", "Practitioner", "PractitionerRole", "Patient",
             "RelatedPerson", "AllergyIntolerance", "Condition", "Observation", "Appointment",
             "Encounter", "DocumentReference", "CarePlan", "Coverage", "MedicationRequest",
             "Invoice")


def fhir_instant(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    id: str
    request: str
    types: set[str] | None
    since: dt.datetime | None
    transaction_time: str
    folder: Path
    started: float
    min_seconds: float
    done_objects: int = 0
    total_objects: int = 1
    finished: bool = False
    cancelled: bool = False
    error: str | None = None
    output: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    last_poll: float = 0.0


class FhirState:
    def __init__(self, seed: int, patients: int, dirt: Any = None, file_lines: int = 10_000
                 ) -> None:
        self.practice = Practice(seed, patients, dirt)
        self.file_lines = file_lines
        self.root = Path(tempfile.mkdtemp(prefix="ferry-fhir-"))
        # the export files: removed when the sandbox stops (``close``), else when the state is
        # collected or the process exits (each run of the suite left two or three folders of
        # synthetic NDJSON behind: 125 on one machine)
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        self.jobs: dict[str, Job] = {}
        self.touched: dict[tuple[str, str], dt.datetime] = {}
        self.deleted: dict[tuple[str, str], dt.datetime] = {}  # (rtype, id) → when
        self._docs: dict[str, Any] | None = None
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.touched.clear()
            self.deleted.clear()
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Remove the export files' folder (a job still writing stops with an error)."""
        with self.lock:
            for job in self.jobs.values():
                job.cancelled = True
        self._cleanup()

    def running(self) -> Job | None:
        """The export still in progress as a client sees it: not cancelled, and either still
        writing or inside its minimum duration (a status poll would still answer 202)."""
        now = time.monotonic()
        return next((j for j in self.jobs.values() if not j.cancelled
                     and (not j.finished or now - j.started < j.min_seconds)), None)

    def document(self, source_id: str) -> Any:
        if self._docs is None:
            self._docs = {d.source_id: d for d in self.practice.iter("document")}
        return self._docs.get(source_id)

    def touch(self, obj: str, source_id: str) -> None:
        self.touched[(obj, source_id)] = dt.datetime.now(dt.UTC)

    def delete(self, obj: str, source_id: str) -> None:
        self.deleted[(PRIMARY[obj], _fhir_id(obj, source_id))] = dt.datetime.now(dt.UTC)

    def start(self, request: str, types: set[str] | None, since: dt.datetime | None,
              min_seconds: float, base_url: str) -> Job:
        job = Job(uuid.uuid4().hex[:16], request, types, since,
                  fhir_instant(dt.datetime.now(dt.UTC)), self.root / uuid.uuid4().hex[:8],
                  time.monotonic(), min_seconds)
        job.folder.mkdir(parents=True)
        self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, base_url), daemon=True).start()
        return job

    def _run(self, job: Job, base_url: str) -> None:
        try:
            self._write(job, base_url)
        except Exception as exc:  # noqa: BLE001 - surfaced to the client as an OperationOutcome
            job.error = type(exc).__name__
        job.finished = True

    def _write(self, job: Job, base_url: str) -> None:
        objects = [o for o in self.practice.objects() if o in PRIMARY]
        job.total_objects = len(objects)
        writers: dict[str, tuple[Any, int, int]] = {}  # type → (handle, file no, lines)
        counts: dict[str, list[int]] = {}
        gone = {k for k, t in self.deleted.items()}
        try:
            for obj in objects:
                for rec in self.practice.iter(obj):
                    if job.cancelled:
                        return
                    when = self.touched.get((obj, rec.source_id))
                    if when is not None:
                        rec = rec.model_copy(update={"updated_at": when})
                    for res in convert(obj, rec, base_url):
                        rtype = res["resourceType"]
                        if job.types is not None and rtype not in job.types:
                            continue
                        if (rtype, res["id"]) in gone:
                            continue
                        res.setdefault("meta", {})["lastUpdated"] = \
                            res.get("meta", {}).get("lastUpdated") or \
                            fhir_instant(rec.updated_at or rec.created_at
                                         or dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
                        if job.since is not None and _parse(res["meta"]["lastUpdated"]) <= \
                                job.since:
                            continue
                        handle, n, lines = writers.get(rtype, (None, 0, 0))
                        if handle is None or lines >= self.file_lines:
                            if handle is not None:
                                handle.close()
                                n += 1
                            handle = (job.folder / f"{rtype}.{n:03d}.ndjson").open("w")
                            lines = 0
                            counts.setdefault(rtype, []).append(0)
                        handle.write(json.dumps(res, separators=(",", ":")) + "\n")
                        counts[rtype][-1] += 1
                        writers[rtype] = (handle, n, lines + 1)
                job.done_objects += 1
        finally:
            for handle, _, _ in writers.values():
                if handle is not None:
                    handle.close()
        for rtype, files in sorted(counts.items()):
            for n, c in enumerate(files):
                job.output.append({"type": rtype, "count": c,
                                   "url": f"{base_url}/_output/{job.id}/{rtype}.{n:03d}.ndjson"})
        dels = [(t, i) for (t, i), when in self.deleted.items()
                if job.since is None or when > job.since]
        if dels:
            with (job.folder / "deleted.000.ndjson").open("w") as f:
                for t, i in dels:
                    f.write(json.dumps({"resourceType": "Bundle", "type": "transaction",
                                        "entry": [{"request": {"method": "DELETE",
                                                               "url": f"{t}/{i}"}}]}) + "\n")
            job.deleted.append({"type": "Bundle",
                                "url": f"{base_url}/_output/{job.id}/deleted.000.ndjson"})


def _fhir_id(obj: str, source_id: str) -> str:
    return f"note-{source_id}" if obj == "clinical_note" else source_id


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
