"""Links, files, messages and the practice-wide records (campaigns, workflows, policies).

File content is never stored: ``file_bytes`` rebuilds it from the document's id on demand, so a
practice can declare 100 MB attachments without anyone holding them until a test asks.
A share (``TEXT_PDF_SHARE``) of the referral letters, lab results and consent forms are real,
small PDFs of clinical text with planted PHI (``pdf_text``; the size declared is the PDF's);
every other file is a format signature and random bytes of the declared size. Benchmarks may
ask for ~100 MB text files and PDFs (``large_text_file`` / ``large_pdf`` dirt): a note's text
repeated, and a PDF of a note padded with an unreferenced stream (cheap to build).
"""

from __future__ import annotations

import datetime as dt
from random import Random

from ferry.model.entities import (
    Campaign,
    CompliancePolicy,
    Document,
    Message,
    PatientRelationship,
    PractitionerPatient,
    Workflow,
)
from ferry.sandbox.synth import pools as P
from ferry.sandbox.synth.clinical import Text, note_text, schedule
from ferry.sandbox.synth.dirt import code, mix
from ferry.sandbox.synth.pdf import text_pdf
from ferry.sandbox.synth.people import (
    PATIENT_BASE,
    PRACTITIONER_BASE,
    REF_NOW,
    Core,
    Ctx,
    ts_between,
)

SLOT_OVERSIZE = 7
SLOT_LARGE_TEXT = 5  # the slots of the benchmark-only large files (no patient has 5 others)
SLOT_LARGE_PDF = 6
LARGE_FILES = {SLOT_LARGE_TEXT: ("clinical_log", "correspondence", "text/plain", "txt"),
               SLOT_LARGE_PDF: ("referral_letter", "referral", "application/pdf", "pdf")}
MB = 1024 * 1024
DOC_KINDS = (("referral_letter", "referral", "application/pdf", "pdf"),
             ("lab_results", "lab_result", "application/pdf", "pdf"),
             ("xray", "imaging", "image/jpeg", "jpg"), ("consent_form", "consent_form",
                                                        "application/pdf", "pdf"),
             ("wound_photo", "imaging", "image/png", "png"),
             ("discharge_summary", "correspondence", "application/vnd.openxmlformats-"
              "officedocument.wordprocessingml.document", "docx"),
             ("insurance_card", "id_scan", "image/jpeg", "jpg"))
#: document categories whose PDFs may carry text, and the heading of that text
TEXT_PDF_KINDS = {"referral": "referral letter", "lab_result": "laboratory report",
                  "consent_form": "consent record"}
TEXT_PDF_SHARE = 0.4
MAGIC = {"pdf": b"%PDF-1.7\n", "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
         "png": b"\x89PNG\r\n\x1a\n", "docx": b"PK\x03\x04"}


def relationships(ctx: Ctx, c: Core) -> list[PatientRelationship]:
    r = ctx.rng("patient_relationship", c.i)
    if c.i == 0 or r.random() >= 0.08:
        return []
    j = c.i - 1 - r.randrange(min(c.i, 25))
    return [PatientRelationship(
        source_id=c.id, created_at=c.created_at, updated_at=c.created_at, patient_id=c.id,
        related_patient_id=str(PATIENT_BASE + j),
        relationship=r.choice(("spouse", "parent", "child", "guarantor", "sibling", "other")))]


def care_team(ctx: Ctx, c: Core) -> list[PractitionerPatient]:
    r = ctx.rng("practitioner_patient", c.i)
    others = {v.practitioner for v in schedule(ctx, c)} - {c.practitioner}
    team = [c.practitioner] + sorted(others)[:3]
    return [PractitionerPatient(
        source_id=str(int(c.id) * 4 + k), created_at=c.created_at,
        updated_at=ts_between(r, c.created_at, REF_NOW),
        practitioner_id=str(PRACTITIONER_BASE + p), patient_id=c.id,
        role="primary" if k == 0 else r.choice(("consulting", "covering", "specialist")),
        primary=k == 0) for k, p in enumerate(team)]


def documents(ctx: Ctx, c: Core) -> list[Document]:
    r = ctx.rng("document", c.i)
    n = r.choices((0, 1, 2, 3, 4), (40, 30, 15, 10, 5))[0]
    slots = list(range(n)) + ([SLOT_OVERSIZE] if "oversize_file" in c.flags else []) + \
        ([SLOT_LARGE_TEXT] if "large_text_file" in c.flags else []) + \
        ([SLOT_LARGE_PDF] if "large_pdf" in c.flags else [])
    out = []
    for k in slots:
        stem, cat, mime, ext = r.choice(DOC_KINDS)
        if k in LARGE_FILES:
            size = r.randrange(96 * MB, 104 * MB)
            stem, cat, mime, ext = LARGE_FILES[k]
        elif k == SLOT_OVERSIZE:
            size = r.randrange(52 * MB, 140 * MB)
            stem, cat, mime, ext = "mri_series", "imaging", "application/dicom", "dcm"
        else:
            band = r.random()
            size = (r.randrange(2_000, 200_000) if band < 0.6 else
                    r.randrange(200_000, 2 * MB) if band < 0.93 else r.randrange(2 * MB, 8 * MB))
            if ctx.doc_size_scale != 1.0:  # a benchmark's smaller profile (same draws)
                size = max(64, int(size * ctx.doc_size_scale))
        created = ts_between(r, c.created_at, REF_NOW)
        sid = int(c.id) * 8 + k
        text = pdf_text(ctx, c, sid, cat) if mime == "application/pdf" else None
        if text is not None and k != SLOT_LARGE_PDF:
            size = len(text_pdf(text.text()))
        out.append(Document(
            source_id=str(sid), created_at=created, updated_at=created,
            patient_id=c.id, parent_object="patient", parent_id=c.id,
            file_name=f"{stem}_{P.ascii_slug(c.last)}_{created:%Y%m%d}.{ext}", mime_type=mime,
            size=size, category=cat,
            description=f"{stem.replace('_', ' ').capitalize()} for {c.first} {c.last}"
            if r.random() < 0.5 else None))
    return out


def pdf_text(ctx: Ctx, c: Core, doc_id: int, category: str | None) -> Text | None:
    """The clinical text (PHI spans recorded) of a text-bearing PDF, or None for a PDF that
    holds no text. Drawn from its own stream, so the other documents do not change."""
    if category not in TEXT_PDF_KINDS or doc_id % 8 == SLOT_OVERSIZE:
        return None
    r = Random(mix(ctx.seed, code("document_text"), doc_id))
    if r.random() >= TEXT_PDF_SHARE and doc_id % 8 != SLOT_LARGE_PDF:
        return None
    return note_text(ctx, c, r, TEXT_PDF_KINDS[category])


def large_text(ctx: Ctx, c: Core, doc_id: int) -> Text:
    """The clinical text a benchmark's large text file repeats (its PHI is the patient's)."""
    return note_text(ctx, c, Random(mix(ctx.seed, code("large_text"), doc_id)), "clinical log")


def large_bytes(ctx: Ctx, c: Core, doc: Document) -> bytes | None:
    """Content of a benchmark's large file (``doc.size`` bytes), None for any other file."""
    sid = int(doc.source_id) if doc.source_id.isdigit() else -1
    size = doc.size or 0
    if sid % 8 == SLOT_LARGE_TEXT and doc.mime_type == "text/plain":
        block = (large_text(ctx, c, sid).text() + "\n").encode()
        return (block * (size // len(block) + 1))[:size]
    if sid % 8 == SLOT_LARGE_PDF and doc.mime_type == "application/pdf":
        text = pdf_text(ctx, c, sid, doc.category)
        return text_pdf(text.text() if text else "", pad_to=size)
    return None


def file_bytes(seed: int, doc: Document) -> bytes:
    """Deterministic content of ``doc``: a format signature, then a repeated 64 KiB random block;
    exactly ``doc.size`` bytes (0 when the size is unknown)."""
    size = doc.size or 0
    ext = doc.file_name.rsplit(".", 1)[-1]
    head = MAGIC.get(ext, b"") + f"ferry-synth {doc.source_id}\n".encode()
    block = Random(mix(seed, int(doc.source_id) if doc.source_id.isdigit() else 0)).randbytes(
        min(65536, max(size, 1)))
    if size <= len(head):
        return head[:size]
    # (head + block * n)[:size] in one copy of the body, not three (every download
    # regenerates its file: ~1 MB per patient through the emulator)
    reps, rest = divmod(size - len(head), len(block))
    return b"".join([head, *([block] * reps), block[:rest]])


def thread(ctx: Ctx, c: Core) -> list[tuple[Message, Text]]:
    """A patient's chat / SMS history; inbound messages carry the patient's own PHI."""
    r = ctx.rng("message", c.i)
    n = r.choices((0, 1, 2, 3, 4, 6, 8), (35, 15, 15, 12, 10, 8, 5))[0]
    at = ts_between(r, c.created_at, REF_NOW)
    channel = r.choice(("sms", "email", "portal"))
    out = []
    for m in range(n):
        t = Text()
        inbound = m % 2 == 0
        if inbound:
            t.add("Hi, this is ").add(f"{c.first} {c.last}", "name")
            if r.random() < 0.5:
                t.add(" (DOB ").add(c.dob.strftime("%d/%m/%Y"), "dob").add(")")
            t.add(r.choice((". Can I move my appointment to next week?",
                            ". My prescription for ")))
            if t.parts[-1].endswith("for "):
                t.add(r.choice(P.MEDICATIONS)[0], "medication").add(" has run out.")
            if r.random() < 0.4:
                t.add(" Call me on ").add(c.mobile, "phone").add(".")
        else:
            t.add("Hello ").add(c.first, "name").add(r.choice((
                ", we have booked you in. Reply YES to confirm.",
                ", your repeat prescription is ready to collect.",
                ", please complete the intake form before your visit.")))
        at = min(at + dt.timedelta(minutes=r.randrange(5, 2880)), REF_NOW)
        out.append((Message(
            source_id=str(int(c.id) * 16 + m), created_at=at, updated_at=at, patient_id=c.id,
            practitioner_id=None if inbound else str(PRACTITIONER_BASE + c.practitioner),
            direction="inbound" if inbound else "outbound", channel=channel, body=t.text(),
            sent_at=at), t))
    return out


def campaign(ctx: Ctx, k: int) -> Campaign:
    r = ctx.rng("campaign", k)
    name = r.choice(("Flu vaccine reminder", "Annual check-up recall", "New clinic opening",
                     "Newsletter", "Physio winter offer", "Dental hygiene recall",
                     "Patient survey"))
    created = ts_between(r, REF_NOW - dt.timedelta(days=1500), REF_NOW)
    target = r.random() < 0.3 and ctx.n > 0
    sent = created + dt.timedelta(days=r.randrange(0, 10))
    return Campaign(
        source_id=str(k + 1), created_at=created, updated_at=min(sent, REF_NOW) if sent <= REF_NOW
        else created, name=f"{name} {created:%Y-%m}", channel=r.choice(("email", "sms")),
        patient_id=str(PATIENT_BASE + r.randrange(ctx.n)) if target else None,
        sent_at=sent if sent <= REF_NOW else None,
        status="sent" if sent <= REF_NOW else "scheduled")


WORKFLOWS = (
    ("Appointment reminder 24h", "appointment.created", ["status = scheduled"],
     ["send sms 24h before start"]),
    ("No-show follow-up", "appointment.status_changed", ["status = no_show"],
     ["create task for reception", "send email template 'missed'"]),
    ("New patient welcome", "patient.created", [], ["send email template 'welcome'",
                                                    "add tag new"]),
    ("Overdue invoice chase", "invoice.overdue", ["balance > 0"], ["send email reminder",
                                                                   "notify practice manager"]),
    ("Recall after treatment", "treatment_record.completed", [], ["wait 180 days",
                                                                  "send recall sms"]),
    ("Birthday greeting", "schedule.daily", ["date_of_birth = today"], ["send sms template"]),
    ("Consent renewal", "schedule.monthly", ["consent older than 1 year"],
     ["email consent form"]),
    ("Referral acknowledgement", "document.created", ["category = referral"],
     ["email referring doctor"]),
)
POLICIES = (
    ("HIPAA Privacy Policy", "privacy"), ("GDPR Data Processing Notice", "privacy"),
    ("Records Retention Schedule", "retention"), ("Patient Consent Procedure", "consent"),
    ("Data Breach Response Plan", "security"), ("Infection Control Policy", "clinical"),
    ("Chaperone Policy", "clinical"),
)


def workflow(ctx: Ctx, k: int) -> Workflow:
    name, trigger, cond, act = WORKFLOWS[k]
    r = ctx.rng("workflow", k)
    created = ts_between(r, REF_NOW - dt.timedelta(days=2000), REF_NOW - dt.timedelta(days=100))
    return Workflow(source_id=str(k + 1), created_at=created,
                    updated_at=ts_between(r, created, REF_NOW), name=name, trigger=trigger,
                    conditions=list(cond), actions=list(act), active=r.random() < 0.8)


def policy(ctx: Ctx, k: int) -> CompliancePolicy:
    name, cat = POLICIES[k]
    r = ctx.rng("compliance_policy", k)
    created = ts_between(r, REF_NOW - dt.timedelta(days=2000), REF_NOW - dt.timedelta(days=100))
    signers = sorted({r.randrange(ctx.n_practitioners) for _ in range(min(12,
                                                                          ctx.n_practitioners))})
    return CompliancePolicy(
        source_id=str(k + 1), created_at=created, updated_at=ts_between(r, created, REF_NOW),
        name=name, category=cat, version=f"{r.randrange(1, 5)}.{r.randrange(0, 10)}",
        body=f"{name}. This policy sets out how {ctx.brand} handles {cat} obligations. "
             "All staff must read and acknowledge it annually.",
        acknowledged_by=[str(PRACTITIONER_BASE + j) for j in signers])
