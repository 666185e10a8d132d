"""``Practice``: the public face of the synthetic practice generator.

A practice is fully described by (seed, patients, dirt); nothing is generated until a caller
iterates, and each object streams on its own with flat memory (children of patient ``i`` are
rebuilt from ``i``, never looked up). Exporters and sandboxes ask it for the few facts a record
cannot carry itself: the date format of a dirty export, file content, planted PHI positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from zoneinfo import ZoneInfo

from ferry.model.entities import Document, Record, entity
from ferry.model.fields import Kind, field_info
from ferry.sandbox.synth import clinical as C
from ferry.sandbox.synth import extras as X
from ferry.sandbox.synth import people as H
from ferry.sandbox.synth import pools as P
from ferry.sandbox.synth.dirt import DirtRates, Ledger, code, mix
from ferry.sandbox.synth.pdf import text_pdf

OBJECTS = ("clinic", "practitioner", "appointment_type", "patient", "patient_relationship",
           "practitioner_patient", "appointment", "appointment_reminder", "clinical_note",
           "treatment_record", "insurance_policy", "prescription", "invoice", "payment",
           "document", "campaign", "message", "workflow", "compliance_policy")

PER_PATIENT: dict[str, Callable[[H.Ctx, H.Core], list[Record]]] = {
    "patient_relationship": X.relationships,
    "practitioner_patient": X.care_team,
    "appointment": C.appointments,
    "appointment_reminder": C.reminders,
    "clinical_note": lambda ctx, c: [n for n, _ in C.notes(ctx, c)],
    "treatment_record": C.treatments,
    "insurance_policy": C.policies,
    "prescription": C.prescriptions,
    "invoice": lambda ctx, c: [i for i, _ in C.invoices(ctx, c)],
    "payment": lambda ctx, c: [p for _, p in C.invoices(ctx, c) if p is not None],
    "document": X.documents,
    "message": lambda ctx, c: [m for m, _ in X.thread(ctx, c)],
}
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%b-%Y", "%Y%m%d")
#: the IANA zone a practice's system is set to, by its home country (a US practice's by seed)
ZONES = {"GB": ("Europe/London",), "AU": ("Australia/Sydney",), "NL": ("Europe/Amsterdam",),
         "ES": ("Europe/Madrid",), "US": ("America/New_York", "America/Chicago",
                                          "America/Denver", "America/Los_Angeles")}
DATETIME_FORMATS = ("%d/%m/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M:%S",
                    "%d-%b-%Y %H:%M", "%Y%m%d%H%M%S")


class Practice:
    """A deterministic synthetic practice: same (seed, patients, dirt) → the same records."""

    def __init__(self, seed: int = 1, patients: int = 100, dirt: DirtRates | None = None,
                 doc_size_scale: float = 1.0, timezone: str | None = None) -> None:
        """``doc_size_scale`` multiplies the sizes of the ordinary documents (not the text
        PDFs, the oversize dirt or a benchmark's large files): a benchmark at 100k patients
        would otherwise stage ~100 GB. The records and every other draw stay the same.
        ``timezone``: the IANA zone the practice's system is set to, when a sandbox account
        names its own (default: its home country's, ``ZONES``); visits are booked in its
        opening hours."""
        if patients < 0:
            raise ValueError("patients must be >= 0")
        if not 0 < doc_size_scale <= 1:
            raise ValueError("doc_size_scale must be in (0, 1]")
        self.seed, self.patients = seed, patients
        self.dirt = dirt if dirt is not None else DirtRates()
        self._ctx = H.Ctx(seed, patients, self.dirt, doc_size_scale)
        self._zone = timezone
        self._ctx.tz = ZoneInfo(self.timezone)
        self._counts: dict[str, int] = {}

    @property
    def country(self) -> str:
        """The practice's home country (ISO 3166 alpha-2): seed % 5 picks GB, AU, NL, ES, US;
        most clinics and patients are there, a few elsewhere."""
        return P.pool(self._ctx.home).country

    @property
    def timezone(self) -> str:
        """The IANA zone the practice's own system is set to (its home country's unless
        given)."""
        if self._zone is not None:
            return self._zone
        zones = ZONES[self.country]
        return zones[mix(self.seed, code("timezone")) % len(zones)]

    def objects(self) -> list[str]:
        """Every object this practice generates, parents before children."""
        return list(OBJECTS)

    def _fixed(self, obj: str) -> int:
        return {"clinic": self._ctx.n_clinics, "practitioner": self._ctx.n_practitioners,
                "appointment_type": len(H.TYPES), "patient": self.patients,
                "campaign": min(500, 4 + self.patients // 250), "workflow": len(X.WORKFLOWS),
                "compliance_policy": len(X.POLICIES)}[obj]

    def iter(self, obj: str) -> Iterator[Record]:
        """Stream the records of ``obj`` in source-id order of their parent patient."""
        entity(obj)  # unknown names fail here, not halfway through
        ctx = self._ctx
        if obj in PER_PATIENT:
            gen = PER_PATIENT[obj]
            for i in range(self.patients):
                yield from gen(ctx, ctx.core(i))
            return
        make: Callable[[H.Ctx, int], Record] = {
            "clinic": H.clinic, "practitioner": H.practitioner,
            "appointment_type": H.appointment_type, "patient": H.patient,
            "campaign": X.campaign, "workflow": X.workflow, "compliance_policy": X.policy}[obj]
        for k in range(self._fixed(obj)):
            yield make(ctx, k)

    def document(self, source_id: str) -> Document | None:
        """One document by its id, from its patient's documents alone (a document's id is its
        patient's key times 8 plus its slot), not by generating the practice's."""
        if not source_id.isdigit():
            return None
        i = int(source_id) // 8 - H.PATIENT_BASE
        if not 0 <= i < self.patients:
            return None
        return next((d for d in X.documents(self._ctx, self._ctx.core(i))
                     if d.source_id == source_id), None)

    def count(self, obj: str) -> int:
        """Exact number of ``obj`` records (iterates once for per-patient objects; cached)."""
        if obj not in self._counts:
            if obj in PER_PATIENT:
                gen, ctx = PER_PATIENT[obj], self._ctx
                self._counts[obj] = sum(len(gen(ctx, ctx.core(i))) for i in range(self.patients))
            else:
                entity(obj)
                self._counts[obj] = self._fixed(obj)
        return self._counts[obj]

    def crm_user_emails(self) -> list[str]:
        """Emails of the practitioners that have a user in the destination CRM."""
        no_user = self.ledger.ids("no_crm_user")
        return [p.email for p in self.iter("practitioner")  # type: ignore[attr-defined]
                if p.source_id not in no_user and p.email]

    def file_bytes(self, doc: Document) -> bytes:
        """The content of ``doc`` (exactly ``doc.size`` bytes), built on demand: a real PDF
        of clinical text for a text-bearing PDF (``document_text``), else signature + noise."""
        large = self._large_bytes(doc)
        if large is not None:
            return large
        text = self._document_text(doc)
        if text is not None:
            return text_pdf(text.text())
        return X.file_bytes(self.seed, doc)

    def _large_bytes(self, doc: Document) -> bytes | None:
        if doc.mime_type not in ("text/plain", "application/pdf") or not doc.source_id.isdigit():
            return None
        i = int(doc.source_id) // 8 - H.PATIENT_BASE
        if not 0 <= i < self.patients:
            return None
        return X.large_bytes(self._ctx, self._ctx.core(i), doc)

    def document_text(self, doc: Document) -> tuple[str, list[tuple[int, int, str]]] | None:
        """(text, planted PHI spans) of a text-bearing PDF document, None for other files."""
        text = self._document_text(doc)
        return (text.text(), list(text.spans)) if text is not None else None

    def _document_text(self, doc: Document) -> C.Text | None:
        if doc.mime_type != "application/pdf" or not doc.source_id.isdigit():
            return None
        sid = int(doc.source_id)
        i = sid // 8 - H.PATIENT_BASE
        if not 0 <= i < self.patients:
            return None
        return X.pdf_text(self._ctx, self._ctx.core(i), sid, doc.category)

    @cached_property
    def ledger(self) -> Ledger:
        """Which source ids carry which dirt (replayed from the decisions; O(patients))."""
        def ids(kind: str, i: int) -> str:
            key = H.PATIENT_BASE + i
            return {"long_note": str(key * 16 + C.SLOT_LONG_NOTE),
                    "orphan_note": str(key * 16 + C.SLOT_ORPHAN_NOTE),
                    "orphan_appointment": str(key * 16 + C.SLOT_ORPHAN_APPT),
                    "oversize_file": str(key * 8 + X.SLOT_OVERSIZE),
                    "large_text_file": str(key * 8 + X.SLOT_LARGE_TEXT),
                    "large_pdf": str(key * 8 + X.SLOT_LARGE_PDF)}.get(kind, str(key))

        return Ledger(self.seed, self.dirt, self.patients, self._ctx.n_practitioners, ids,
                      lambda j: str(H.PRACTITIONER_BASE + j))

    def date_format(self, obj: str, source_id: str, field: str) -> str | None:
        """The strftime format an exporter should render this date/datetime in; None = ISO 8601.

        Only patients carrying ``mixed_date_format`` dirt get one, the same local style for all
        their date fields (another for their datetime fields), as a per-site export would.
        """
        if obj != "patient" or not source_id.isdigit():
            return None
        i = int(source_id) - H.PATIENT_BASE
        if not 0 <= i < self.patients or "mixed_date_format" not in self._ctx.flags(i):
            return None
        model = entity(obj)
        if field not in model.model_fields:
            return None
        kind = field_info(model, field).kind
        style = mix(self.seed, code("date_format"), i)
        if kind == Kind.DATE:
            return DATE_FORMATS[style % len(DATE_FORMATS)]
        if kind == Kind.DATETIME:
            return DATETIME_FORMATS[style % len(DATETIME_FORMATS)]
        return None

    def phi_spans(self, note_source_id: str, obj: str = "clinical_note"
                  ) -> list[tuple[int, int, str]]:
        """(start, end, phi_type) of every piece of PHI planted in a note's (or a message's)
        body. Types: name, dob, mrn, phone, email, person, icd10, medication."""
        sid = int(note_source_id)
        key, slot = divmod(sid, 16)
        i = key - H.PATIENT_BASE
        if not 0 <= i < self.patients:
            raise KeyError(f"no {obj} {note_source_id}")
        c = self._ctx.core(i)
        if obj == "message":
            found = [t for m, t in X.thread(self._ctx, c) if m.source_id == note_source_id]
        elif obj == "clinical_note":
            found = [t for n, t in C.notes(self._ctx, c) if n.source_id == note_source_id]
        else:
            raise ValueError("phi_spans covers clinical_note and message bodies")
        if not found:
            raise KeyError(f"no {obj} {note_source_id}")
        return list(found[0].spans)
