"""Per-patient clinical and billing records: appointments, reminders, notes, treatment records,
insurance, prescriptions, invoices and payments.

Ids are derived from the patient's id (``key * 16 + slot`` and the like), so a child record's id
is known without counting, every object can be streamed on its own, and ``phi_spans`` can rebuild
one note from its id alone. Slots 12–15 are reserved for the dirt records (orphans, long notes).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from random import Random

from ferry.model.entities import (
    Appointment,
    AppointmentReminder,
    ClinicalNote,
    InsurancePolicy,
    Invoice,
    Payment,
    Prescription,
    TreatmentRecord,
)
from ferry.sandbox.synth import pools as P
from ferry.sandbox.synth.people import (
    ORPHAN_BASE,
    PRACTITIONER_BASE,
    REF_NOW,
    TYPES,
    UTC,
    Core,
    Ctx,
    practitioner_ro,
    ts_between,
)

SLOT_ORPHAN_NOTE, SLOT_ORPHAN_APPT, SLOT_LONG_NOTE = 14, 15, 15
N_CUM = tuple(itertools.accumulate((14, 12, 12, 11, 10, 9, 8, 7, 5, 4, 3, 3, 2)))  # 0..12 visits
CANCEL_REASONS = ("patient unwell", "work commitment", "rescheduled by clinic", "transport",
                  "forgot", "practitioner unavailable", None)
Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Visit:
    slot: int
    type: int
    status: str
    start: dt.datetime
    minutes: int
    practitioner: int
    fee: Decimal


def schedule(ctx: Ctx, c: Core) -> list[Visit]:
    """The patient's appointment history (and future bookings), oldest first."""
    r = ctx.rng("appointment", c.i)
    n = r.choices(range(13), cum_weights=N_CUM)[0]
    starts = sorted(ts_between(r, c.created_at, REF_NOW + dt.timedelta(days=90))
                    for _ in range(n))
    out = []
    for slot, start in enumerate(starts):
        start = opening_hours(ctx, start)
        t = 0 if slot == 0 else r.choices((1, 2, 3), (6, 3, 2))[0]
        if start > REF_NOW:
            status = "scheduled" if r.random() < 0.9 else "cancelled"
        else:
            status = r.choices(("completed", "cancelled", "no_show"), (82, 11, 7))[0]
        prac = c.practitioner if r.random() < 0.8 else (
            c.clinic + ctx.n_clinics * r.randrange(-(-(ctx.n_practitioners - c.clinic)
                                                    // ctx.n_clinics)))
        fee = Decimal(TYPES[t][3]) + Decimal(r.randrange(-10, 11) * 5)
        out.append(Visit(slot, t, status, start, TYPES[t][2], prac, fee))
    return out


def opening_hours(ctx: Ctx, at: dt.datetime) -> dt.datetime:
    """``at`` moved to a quarter hour between 08:00 and 17:45 of its day on the practice's
    clock (``Ctx.tz``), as UTC: a clinic books visits in its own opening hours, whatever its
    zone (drawn on UTC's clock, a Los Angeles practice's visits fell between midnight and
    10:00, a Sydney one's in the evening and night)."""
    local = at.astimezone(ctx.tz)
    local = local.replace(hour=8 + local.hour % 10, minute=15 * (local.minute // 15), second=0)
    return local.astimezone(UTC)


def _ts(r: Random, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    created = min(at, REF_NOW) - dt.timedelta(days=r.randrange(1, 30))
    return created, ts_between(r, created, max(created, min(at + dt.timedelta(days=2), REF_NOW)))


def appointments(ctx: Ctx, c: Core) -> list[Appointment]:
    r = ctx.rng("appointment+", c.i)
    key, out = int(c.id), []
    for v in schedule(ctx, c):
        created, updated = _ts(r, v.start)
        codes = v.status == "completed" and v.type in (2, 3)
        out.append(Appointment(
            source_id=str(key * 16 + v.slot), created_at=created, updated_at=updated,
            patient_id=c.id, practitioner_id=str(PRACTITIONER_BASE + v.practitioner),
            clinic_id=str(c.clinic + 1), appointment_type_id=str(v.type + 1),
            type_name=TYPES[v.type][0], status=v.status, start=v.start,
            end=v.start + dt.timedelta(minutes=v.minutes), duration_minutes=v.minutes,
            fee=v.fee, currency=c.pool.currency,
            cancellation_reason=r.choice(CANCEL_REASONS) if v.status == "cancelled" else None,
            no_show=v.status == "no_show",
            notes=r.choice(P.COMPLAINTS).capitalize() if r.random() < 0.3 else None,
            procedure_codes=[r.choice(P.CPT)[0]] if codes else [],
            diagnosis_codes=[r.choice(P.ICD10)[0]] if codes else []))
    if "orphan_appointment" in c.flags:
        start = opening_hours(ctx, ts_between(r, c.created_at, REF_NOW))
        out.append(Appointment(
            source_id=str(key * 16 + SLOT_ORPHAN_APPT), created_at=start, updated_at=start,
            patient_id=str(ORPHAN_BASE + c.i), practitioner_id=str(PRACTITIONER_BASE
                                                                   + c.practitioner),
            clinic_id=str(c.clinic + 1), appointment_type_id="2", type_name=TYPES[1][0],
            status="completed", start=start, end=start + dt.timedelta(minutes=20),
            duration_minutes=20, fee=Decimal(TYPES[1][3]), currency=c.pool.currency))
    return out


def reminders(ctx: Ctx, c: Core) -> list[AppointmentReminder]:
    r = ctx.rng("appointment_reminder", c.i)
    out = []
    for v in schedule(ctx, c):
        if v.status != "scheduled" and r.random() < 0.5:
            continue
        due = v.start - dt.timedelta(hours=r.choice((24, 48, 72)))
        created = min(due, REF_NOW) - dt.timedelta(days=r.randrange(1, 20))
        out.append(AppointmentReminder(
            source_id=str(int(c.id) * 16 + v.slot), created_at=created,
            updated_at=min(max(due, created), REF_NOW) if due <= REF_NOW else created,
            appointment_id=str(int(c.id) * 16 + v.slot), patient_id=c.id,
            channel=r.choice(("sms", "sms", "email", "call")), reminder_type="appointment",
            due_at=due, completed=due <= REF_NOW))
    return out


class Text:
    """A text built piece by piece that remembers where each piece of PHI sits."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.size = 0

    def add(self, s: str, phi: str | None = None) -> Text:
        if phi:
            self.spans.append((self.size, self.size + len(s), phi))
        self.parts.append(s)
        self.size += len(s)
        return self

    def text(self) -> str:
        return "".join(self.parts)


def _fmt_dob(r: Random, d: dt.date) -> str:
    return d.strftime(r.choice(("%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%m/%d/%Y")))


def note_text(ctx: Ctx, c: Core, r: Random, kind: str, long: bool = False) -> Text:
    """A clinical note naming the patient, DOB, MRN, phone, relatives, codes and medicines."""
    t = Text()
    pl = c.pool
    other, relation = P.person(r, pl, c.last)
    icd, diag = r.choice(P.ICD10)
    med, dose, freq, _ = r.choice(P.MEDICATIONS)
    t.add(f"{kind.capitalize()} for ").add(f"{c.first} {c.last}", "name").add(" (DOB ")
    t.add(_fmt_dob(r, c.dob), "dob").add(", ").add(c.mrn, "mrn").add("). ")
    t.add(f"Presenting with {r.choice(P.COMPLAINTS)}. ")
    if r.random() < 0.6:
        t.add("Attended with ").add(other, "person").add(f" ({relation}). ")
    t.add(f"Assessment consistent with {diag} (").add(icd, "icd10").add("). ")
    t.add("Plan: ").add(f"{med} {dose}", "medication").add(f" {freq}; review in "
                                                           f"{r.randrange(1, 7)} weeks. ")
    if r.random() < 0.5:
        t.add("Contact number confirmed: ").add(c.mobile, "phone").add(". ")
    if r.random() < 0.2:
        t.add("Email on file: ").add(c.email, "email").add(". ")
    if long:
        target = 100_001 + r.randrange(60_000)
        n = 0
        while t.size < target:
            n += 1
            t.add(f"\n\nInterval history, entry {n}: {r.choice(P.COMPLAINTS)}; patient ")
            t.add(c.first, "name").add(f" reports adherence to {med}. ")
            t.add("Pain score " + str(r.randrange(0, 11)) + "/10. No red flags identified. "
                  "Discussed home exercise programme, sleep hygiene and return-to-work plan. ")
    return t


def note(ctx: Ctx, c: Core, slot: int, visit: Visit | None) -> tuple[ClinicalNote, Text]:
    r = ctx.rng("clinical_note", int(c.id) * 16 + slot)
    key = int(c.id)
    long = slot == SLOT_LONG_NOTE and visit is None
    kind = (("initial assessment", "progress note", "consultation note", "procedure note")[
        visit.type] if visit else ("correspondence" if long else "progress note"))
    t = note_text(ctx, c, r, kind, long)
    prac = visit.practitioner if visit else c.practitioner
    p = practitioner_ro(ctx, prac)
    at = visit.start + dt.timedelta(minutes=visit.minutes) if visit else ts_between(
        r, c.created_at, REF_NOW)
    updated = ts_between(r, at, min(at + dt.timedelta(days=3), REF_NOW)) if at < REF_NOW else at
    orphan = slot == SLOT_ORPHAN_NOTE
    return ClinicalNote(
        source_id=str(key * 16 + slot), created_at=at, updated_at=max(at, updated),
        patient_id=str(ORPHAN_BASE + c.i) if orphan else c.id,
        practitioner_id=p.source_id,
        appointment_id=str(key * 16 + visit.slot) if visit else None,
        title=kind.capitalize(), body=t.text(), note_type=kind.split()[0],
        author_name=f"{p.title} {p.first_name} {p.last_name}"), t


def notes(ctx: Ctx, c: Core) -> list[tuple[ClinicalNote, Text]]:
    r = ctx.rng("clinical_note?", c.i)
    out = [note(ctx, c, v.slot, v) for v in schedule(ctx, c)
           if v.status == "completed" and r.random() < 0.75]
    if "orphan_note" in c.flags:
        out.append(note(ctx, c, SLOT_ORPHAN_NOTE, None))
    if "long_note" in c.flags:
        out.append(note(ctx, c, SLOT_LONG_NOTE, None))
    return out


def treatments(ctx: Ctx, c: Core) -> list[TreatmentRecord]:
    r = ctx.rng("treatment_record", c.i)
    visits = [v for v in schedule(ctx, c) if v.status == "completed"]
    out = []
    for k in range(r.choices((0, 1, 2), (55, 35, 10))[0] if visits else 0):
        v = visits[r.randrange(len(visits))]
        icd = r.sample(P.ICD10, r.randrange(1, 3))
        status = "active" if r.random() < 0.4 else r.choice(("completed", "completed",
                                                              "cancelled"))
        start = v.start.date()
        created = min(v.start, REF_NOW)
        out.append(TreatmentRecord(
            source_id=str(int(c.id) * 4 + k), created_at=created,
            updated_at=ts_between(r, created, REF_NOW), patient_id=c.id,
            practitioner_id=str(PRACTITIONER_BASE + v.practitioner),
            appointment_id=str(int(c.id) * 16 + v.slot), title=f"Treatment plan: {icd[0][1]}",
            diagnosis_codes=[x for x, _ in icd],
            procedure_codes=[x for x, _ in r.sample(P.CPT, r.randrange(1, 4))],
            goals=f"Reduce symptoms of {icd[0][1]}; restore function within "
                  f"{r.randrange(4, 13)} weeks.", status=status, start_date=start,
            end_date=None if status == "active" else start + dt.timedelta(days=r.randrange(14,
                                                                                          120)),
            estimated_cost=Decimal(r.randrange(100, 3000)), notes=None))
    return out


def policies(ctx: Ctx, c: Core) -> list[InsurancePolicy]:
    r = ctx.rng("insurance_policy", c.i)
    out = []
    for k in range(r.choices((0, 1, 2), (30, 50, 20))[0]):
        eff = (c.created_at - dt.timedelta(days=r.randrange(0, 900))).date()
        out.append(InsurancePolicy(
            source_id=str(int(c.id) * 2 + k), created_at=c.created_at,
            updated_at=ts_between(r, c.created_at, REF_NOW), patient_id=c.id,
            carrier=r.choice(P.CARRIERS[c.pool.country]),
            member_id=f"{r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{r.randrange(10**8, 10**9)}",
            group_number=f"GRP-{r.randrange(1000, 99999)}" if r.random() < 0.6 else None,
            coverage_type=r.choice(("medical", "medical", "dental", "vision", "other")),
            priority="primary" if k == 0 else "secondary", effective_date=eff,
            termination_date=eff + dt.timedelta(days=365 * r.randrange(1, 4))
            if r.random() < 0.3 else None, active=r.random() < 0.85))
    return out


def prescriptions(ctx: Ctx, c: Core) -> list[Prescription]:
    r = ctx.rng("prescription", c.i)
    out = []
    for k in range(r.choices((0, 1, 2, 3), (55, 25, 13, 7))[0]):
        med, dose, freq, route = r.choice(P.MEDICATIONS)
        created = ts_between(r, c.created_at, REF_NOW)
        out.append(Prescription(
            source_id=str(int(c.id) * 4 + k), created_at=created,
            updated_at=ts_between(r, created, REF_NOW), patient_id=c.id,
            practitioner_id=str(PRACTITIONER_BASE + c.practitioner), medication=med,
            dosage=dose, frequency=freq, route=route, prescribed_on=created.date(),
            active=r.random() < 0.5,
            pharmacy=f"{r.choice(c.pool.cities)} Pharmacy" if r.random() < 0.5 else None))
    return out


def invoices(ctx: Ctx, c: Core) -> list[tuple[Invoice, Payment | None]]:
    """One invoice per completed (and some no-show) visit, with its payment if any was made."""
    r = ctx.rng("invoice", c.i)
    out: list[tuple[Invoice, Payment | None]] = []
    for v in schedule(ctx, c):
        if not (v.status == "completed" or (v.status == "no_show" and r.random() < 0.3)):
            continue
        sid = str(int(c.id) * 16 + v.slot)
        issue = v.start.date()
        status = r.choices(("paid", "pending", "overdue", "cancelled"), (75, 12, 10, 3))[0]
        if issue > (REF_NOW - dt.timedelta(days=30)).date() and status == "overdue":
            status = "pending"
        part = status == "pending" and r.random() < 0.3
        paid = v.fee if status == "paid" else (v.fee / 2 if part else Decimal(0))
        paid_at = v.start + dt.timedelta(days=r.randrange(0, 20), hours=1) if paid else None
        if paid_at and paid_at > REF_NOW:
            paid_at = REF_NOW
        created = min(v.start, REF_NOW)
        upd = max(created, paid_at or created)
        inv = Invoice(
            source_id=sid, created_at=created, updated_at=upd, patient_id=c.id,
            appointment_id=sid, number=f"INV-{sid}", amount=v.fee,
            balance=Decimal(0) if status in ("paid", "cancelled") else v.fee - paid,
            currency=c.pool.currency, status=status, issue_date=issue,
            due_date=issue + dt.timedelta(days=30),
            paid_date=paid_at.date() if status == "paid" and paid_at else None,
            payment_method=r.choice(("card", "cash", "insurance", "bank transfer")) if paid
            else None)
        pay = Payment(source_id=sid, created_at=upd, updated_at=upd, patient_id=c.id,
                      invoice_id=sid, amount=paid, method=inv.payment_method, paid_at=paid_at,
                      note="part payment" if part else None) if paid else None
        out.append((inv, pay))
    return out
