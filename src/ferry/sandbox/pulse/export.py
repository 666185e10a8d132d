"""Render a generated practice as a Pulse Digital Clinic export folder, dirt included.

ASSUMPTION: nothing public describes Pulse's export (NOTES §3), so the file names and column
headers here are our invention, in the style of Indian clinic software (``Registration No``,
``Mobile No``, ``Pincode``, ``Doctor ID``). The reader never relies on them: it matches headers
the way it would any clinic export. The dirt is what real exports carry: a BOM, per-patient
local date formats (``Practice.date_format``), stray whitespace, exact duplicate rows,
one-string addresses and JSON allergy notes (already in the generated records), and a few
broken rows (a cut-short row, a stray quote) with ids that are not real records.

Date-times are the practice's wall time with no zone, as a clinic's export writes them (nothing
public documents Pulse's date format: year first, or the patient's local format where the
dirt gives one). The reader needs ``source.timezone``; the demo's profile gives it the
practice's zone (``Practice.timezone``). The REST mode renders rows the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ferry.sandbox.synth import Practice
from ferry.sandbox.synth.dirt import mix

Col = tuple[str, str | Callable[[Any], Any]]


def _ec(part: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.emergency_contact, part) if r.emergency_contact else None


STAMPS: list[Col] = [("Created On", "created_at"), ("Modified On", "updated_at")]
FILES: dict[str, tuple[str, list[Col]]] = {
    "patient": ("patients.csv", [
        ("Patient ID", "source_id"), ("Registration No", "patient_number"), ("MRN", "mrn"),
        ("Title", "title"), ("First Name", "first_name"), ("Last Name", "last_name"),
        ("Preferred Name", "preferred_name"), ("Gender", "sex"),
        ("Date of Birth", "date_of_birth"), ("Mobile No", "mobile"), ("Phone", "phone"),
        ("Email ID", "email"), ("Address", "address"), ("Street", "street"), ("City", "city"),
        ("State", "region"), ("Pincode", "postcode"), ("Country", "country"),
        ("Aadhaar No", "national_id"), ("Blood Group", "blood_group"),
        ("Allergies", "allergies"), ("Medical History", "medical_history"),
        ("Emergency Contact Name", _ec("name")), ("Emergency Contact Phone", _ec("phone")),
        ("Emergency Contact Relation", _ec("relationship")),
        ("Referred By", "referral_source"), ("Referring Doctor", "referring_doctor"),
        ("Referring Doctor Email", "referring_doctor_email"), ("Occupation", "occupation"),
        ("Status", "status"), ("Branch ID", "clinic_id"), ("Doctor ID", "primary_practitioner_id"),
        ("Email Consent", "consent_email"), ("SMS Consent", "consent_sms"),
        ("Archived", "archived"), *STAMPS]),
    "practitioner": ("physicians.csv", [
        ("Doctor ID", "source_id"), ("Title", "title"), ("First Name", "first_name"),
        ("Last Name", "last_name"), ("Email", "email"), ("Phone", "phone"),
        ("Designation", "role"), ("Speciality", "specialty"), ("Qualification", "credentials"),
        ("Registration Number", "license_number"), ("Branch ID", "clinic_id"),
        ("Active", "active"), *STAMPS]),
    "appointment": ("appointments.csv", [
        ("Appointment ID", "source_id"), ("Patient ID", "patient_id"),
        ("Doctor ID", "practitioner_id"), ("Branch ID", "clinic_id"),
        ("Appointment Type ID", "appointment_type_id"), ("Appointment Type", "type_name"),
        ("Status", lambda r: {"no_show": "No-Show"}.get(r.status, r.status.capitalize())),
        ("Appointment Date", "start"), ("End Time", "end"), ("Duration (min)", "duration_minutes"),
        ("Fee", "fee"), ("Currency", "currency"), ("Cancellation Reason", "cancellation_reason"),
        ("No Show", "no_show"), ("Notes", "notes"), ("Procedure Codes", "procedure_codes"),
        ("Diagnosis Codes", "diagnosis_codes"), *STAMPS]),
    "invoice": ("bills.csv", [
        ("Bill ID", "source_id"), ("Bill No", "number"), ("Patient ID", "patient_id"),
        ("Appointment ID", "appointment_id"), ("Amount", "amount"), ("Balance", "balance"),
        ("Currency", "currency"), ("Status", lambda r: r.status.capitalize()),
        ("Bill Date", "issue_date"), ("Due Date", "due_date"), ("Paid Date", "paid_date"),
        ("Payment Mode", "payment_method"), *STAMPS]),
    "prescription": ("prescriptions.csv", [
        ("Prescription ID", "source_id"), ("Patient ID", "patient_id"),
        ("Doctor ID", "practitioner_id"), ("Medicine Name", "medication"), ("Dosage", "dosage"),
        ("Frequency", "frequency"), ("Route", "route"), ("Prescribed On", "prescribed_on"),
        ("Active", "active"), ("Pharmacy", "pharmacy"), *STAMPS]),
    "clinical_note": ("medical_records.csv", [
        ("Record ID", "source_id"), ("Patient ID", "patient_id"), ("Doctor ID", "practitioner_id"),
        ("Appointment ID", "appointment_id"), ("Record Type", "note_type"), ("Title", "title"),
        ("Notes", "body"), ("Author", "author_name"), *STAMPS]),
    "campaign": ("campaigns.csv", [
        ("Campaign ID", "source_id"), ("Campaign Name", "name"), ("Channel", "channel"),
        ("Patient ID", "patient_id"), ("Sent On", "sent_at"), ("Status", "status"), *STAMPS]),
    "message": ("chat_logs.csv", [
        ("Message ID", "source_id"), ("Patient ID", "patient_id"), ("Doctor ID", "practitioner_id"),
        ("Direction", "direction"), ("Channel", "channel"), ("Message", "body"),
        ("Sent At", "sent_at"), *STAMPS]),
}
CUSTOM_OBJECTS = {"patient"}  # custom fields exported as extra columns


@dataclass
class ExportReport:
    folder: Path
    rows: dict[str, int] = field(default_factory=dict)  # file → data rows written
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # file → ids written twice
    broken: dict[str, list[int]] = field(default_factory=dict)  # file → line numbers
    custom_columns: dict[str, list[str]] = field(default_factory=dict)


def _fmt(value: Any, fmt: str | None, tz: dt.tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):  # the practice's wall time, no zone
        return value.astimezone(tz).strftime(fmt or "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime(fmt or "%Y-%m-%d")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def render(practice: Practice, obj: str, rec: Any, custom_cols: list[str] | None = None
           ) -> dict[str, str]:
    """One record as a Pulse row: header → cell text (the CSV and the REST mode share it)."""
    _, cols = FILES[obj]
    tz = _zone(practice.timezone)
    out: dict[str, str] = {}
    for header, getter in cols:
        if callable(getter):
            value = getter(rec)
            fmt = None
        else:
            value = getattr(rec, getter)
            fmt = practice.date_format(obj, rec.source_id, getter)
        out[header] = _fmt(value, fmt, tz)
    for key in custom_cols or []:
        cv = rec.custom.get(key)
        fmt = practice.date_format(obj, rec.source_id, "date_of_birth") \
            if cv is not None and cv.type == "date" else None
        out[_label(key)] = _fmt(cv.value, fmt, tz) if cv is not None else ""
    return out


_zone = functools.cache(ZoneInfo)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def custom_keys(practice: Practice, obj: str, sample: int = 2000) -> list[str]:
    keys: dict[str, None] = {}
    for n, rec in enumerate(practice.iter(obj)):
        for k in rec.custom:
            keys.setdefault(k)
        if n >= sample:
            break
    return list(keys)


def write_export(folder: Path, practice: Practice, *, dirty: bool = True) -> ExportReport:
    """Write every Pulse file for ``practice`` into ``folder``; returns what was planted."""
    folder.mkdir(parents=True, exist_ok=True)
    report = ExportReport(folder)
    seed = practice.seed
    for obj, (name, cols) in FILES.items():
        customs = custom_keys(practice, obj) if obj in CUSTOM_OBJECTS else []
        report.custom_columns[name] = [_label(k) for k in customs]
        headers = [h for h, _ in cols] + [_label(k) for k in customs]
        encoding = "utf-8-sig" if dirty and obj == "patient" else "utf-8"
        with (folder / name).open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(headers)
            line, rows = 2, 0
            for i, rec in enumerate(practice.iter(obj)):
                cells = render(practice, obj, rec, customs)
                row = [cells[h] for h in headers]
                if dirty and mix(seed, 11, i) % 9 == 0:  # stray whitespace
                    row = [f" {c} " if c and n % 3 == 1 else c for n, c in enumerate(row)]
                line += _write(f, w, row)
                rows += 1
                if dirty and obj in ("appointment", "invoice") and mix(seed, 12, i) % 40 == 0:
                    line += _write(f, w, row)  # the same row exported twice
                    report.duplicates.setdefault(name, []).append(rec.source_id)
                if dirty and obj in ("patient", "appointment") and i in (3, 11):
                    report.broken.setdefault(name, []).append(line)
                    line += _broken(f, len(headers), i)
            report.rows[name] = rows
    (folder / "export_report.json").write_text(json.dumps({
        "rows": report.rows, "duplicates": report.duplicates, "broken": report.broken,
        "assumption": "Pulse export layout invented by Ferry; no public spec exists"}, indent=1))
    return report


def _write(f: Any, w: Any, row: list[str]) -> int:
    """Write a row; returns the physical lines it took (cells may hold newlines)."""
    w.writerow(row)
    return 1 + sum(c.count("\n") for c in row)


def _broken(f: Any, width: int, i: int) -> int:
    if i == 3:  # a row cut short
        f.write("BROKEN-1,10000,Zqxv\r\n")
    else:  # a stray quote after a closed quoted cell
        f.write('BROKEN-2,"Qzv"x' + "," * (width - 2) + "\r\n")
    return 1


def iter_rows(practice: Practice, obj: str) -> Iterator[dict[str, str]]:
    customs = custom_keys(practice, obj) if obj in CUSTOM_OBJECTS else []
    for rec in practice.iter(obj):
        yield render(practice, obj, rec, customs)
