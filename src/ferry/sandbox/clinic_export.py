"""Render a generated practice as a generic clinic export folder (``clinic_csv``), dirt included.

``ferry demo --source clinic_csv`` migrates this folder. The layout is what a small clinic's
"export everything" button gives: one file per table, headers in the software's own words (not
ours: ``DOB``, ``Gender``, ``Mobile Number``, ``Doctor ID``), appointments as an Excel workbook
with a title line above the header, and the dirt real exports carry: a byte-order mark, a
semicolon-separated file, day-first dates, stray whitespace, a row exported twice, a cut-short
row, and the practice's own extra columns (custom fields) at the end of the patient file.

Date-times are the practice's wall time with no zone (``2025-03-09 14:30:00`` in New York), as a
front desk's export writes them; no public document gives a generic export's date format, so the
shape is year first. The reader needs ``source.timezone`` (``ferry check`` says so) and the demo's
profile gives it the practice's zone (``Practice.timezone``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ferry.sandbox.synth import Practice
from ferry.sandbox.synth.dirt import mix

Col = tuple[str, str | Callable[[Any], Any]]


def _ec(part: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.emergency_contact, part) if r.emergency_contact else None


STAMPS: list[Col] = [("Date Created", "created_at"), ("Last Modified", "updated_at")]
#: object → (file name, columns); the ``.xlsx`` one is written as a workbook
FILES: dict[str, tuple[str, list[Col]]] = {
    "clinic": ("locations.csv", [
        ("Location ID", "source_id"), ("Location Name", "name"), ("Street", "street"),
        ("City", "city"), ("State", "region"), ("Zip", "postcode"), ("Country", "country"),
        ("Phone", "phone"), ("Email", "email"), ("Website", "website"),
        ("Billing Contact", "billing_contact"), *STAMPS]),
    "practitioner": ("staff.csv", [
        ("Staff ID", "source_id"), ("Title", "title"), ("First Name", "first_name"),
        ("Last Name", "last_name"), ("Email", "email"), ("Phone", "phone"),
        ("Job Title", "role"), ("Specialty", "specialty"), ("Qualifications", "credentials"),
        ("License Number", "license_number"), ("NPI", "npi"), ("Location ID", "clinic_id"),
        ("Active", "active"), *STAMPS]),
    "patient": ("patients.csv", [
        ("Patient ID", "source_id"), ("Chart Number", "patient_number"), ("MRN", "mrn"),
        ("Title", "title"), ("First Name", "first_name"), ("Last Name", "last_name"),
        ("Preferred Name", "preferred_name"), ("Gender", "sex"), ("DOB", "date_of_birth"),
        ("Mobile Number", "mobile"), ("Home Phone", "phone"), ("Email", "email"),
        # an address kept as one line (the generator's one-string dirt) is in Address 1, as
        # staff typed it; without it the export lost the patient's whole address
        ("Address 1", lambda r: r.street or r.address), ("Address 2", "street2"),
        ("City", "city"),
        ("State", "region"), ("Zip", "postcode"), ("Country", "country"),
        ("SSN", "national_id"), ("Blood Type", "blood_group"), ("Allergies", "allergies"),
        ("Medical History", "medical_history"),
        ("Emergency Contact Name", _ec("name")), ("Emergency Contact Phone", _ec("phone")),
        ("Emergency Contact Relationship", _ec("relationship")),
        ("Referred By", "referral_source"), ("Referring Physician", "referring_doctor"),
        ("Occupation", "occupation"), ("Patient Status", "status"),
        ("Location ID", "clinic_id"), ("Provider ID", "primary_practitioner_id"),
        ("Email Opt In", "consent_email"), ("SMS Opt In", "consent_sms"), *STAMPS]),
    "appointment": ("appointments.xlsx", [
        ("Appointment ID", "source_id"), ("Patient ID", "patient_id"),
        ("Provider ID", "practitioner_id"), ("Location ID", "clinic_id"),
        ("Visit Type", "type_name"), ("Appointment Status", "status"),
        ("Start Time", "start"), ("End Time", "end"), ("Duration", "duration_minutes"),
        ("Price", "fee"), ("Currency", "currency"), ("Cancel Reason", "cancellation_reason"),
        ("No Show", "no_show"), ("Comments", "notes"), *STAMPS]),
    "invoice": ("invoices.csv", [
        ("Invoice ID", "source_id"), ("Invoice Number", "number"), ("Patient ID", "patient_id"),
        ("Visit ID", "appointment_id"), ("Total Amount", "amount"), ("Balance Due", "balance"),
        ("Currency", "currency"), ("Billing Status", "status"), ("Invoice Date", "issue_date"),
        ("Due Date", "due_date"), ("Payment Date", "paid_date"),
        ("Payment Method", "payment_method"), *STAMPS]),
    "payment": ("payments.csv", [
        ("Payment ID", "source_id"), ("Patient ID", "patient_id"),
        ("Invoice ID", "invoice_id"), ("Amount", "amount"), ("Method", "method"),
        ("Paid At", "paid_at"), ("Note", "note"), *STAMPS]),
    "prescription": ("prescriptions.csv", [
        ("Prescription ID", "source_id"), ("Patient ID", "patient_id"),
        ("Prescriber ID", "practitioner_id"), ("Drug Name", "medication"),
        ("Dose", "dosage"), ("Frequency", "frequency"), ("Route", "route"),
        ("Prescribed Date", "prescribed_on"), ("Active", "active"), ("Pharmacy", "pharmacy"),
        *STAMPS]),
}
SEMICOLON = {"invoices.csv"}  # exported with a European list separator
DAY_FIRST = {"patient"}  # dates written dd/mm/yyyy (the clinic's locale)


def _cell(value: Any, *, tz: dt.tzinfo, day_first: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):  # the practice's wall time, no zone
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y" if day_first else "%Y-%m-%d")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _row(obj: str, rec: Any, cols: list[Col], customs: list[str], tz: dt.tzinfo
         ) -> list[str]:
    out = []
    for _, getter in cols:
        value = getter(rec) if callable(getter) else getattr(rec, getter)
        out.append(_cell(value, tz=tz, day_first=obj in DAY_FIRST))
    for key in customs:
        cv = rec.custom.get(key)
        out.append(_cell(cv.value if cv is not None else None, tz=tz, day_first=True))
    return out


def _customs(practice: Practice, obj: str) -> list[str]:
    if obj != "patient":
        return []
    keys: dict[str, None] = {}
    for rec in practice.iter(obj):
        keys.update(dict.fromkeys(rec.custom))
    return list(keys)


def write_clinic_export(folder: Path, practice: Practice, *, dirty: bool = True
                        ) -> dict[str, int]:
    """Write the export into ``folder``; returns data rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    tz = ZoneInfo(practice.timezone)
    for obj, (name, cols) in FILES.items():
        customs = _customs(practice, obj)
        header = [h for h, _ in cols] + [k.replace("_", " ").capitalize() for k in customs]
        rows = [_row(obj, rec, cols, customs, tz) for rec in practice.iter(obj)]
        if dirty:
            rows = [[f" {c} " if c and n % 4 == 2 and mix(practice.seed, 21, i) % 7 == 0
                     else c for n, c in enumerate(r)] for i, r in enumerate(rows)]
            if obj == "invoice" and len(rows) > 5:
                rows.insert(5, list(rows[4]))  # the same row exported twice
        written[name] = len(rows)
        if name.endswith(".xlsx"):
            _write_xlsx(folder / name, header, rows)
            continue
        encoding = "utf-8-sig" if dirty and obj == "patient" else "utf-8"
        with (folder / name).open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f, delimiter=";" if name in SEMICOLON else ",",
                           lineterminator="\r\n")
            w.writerow(header)
            for i, r in enumerate(rows):
                w.writerow(r)
                if dirty and obj == "patient" and i == 3:
                    f.write("BROKEN-1,10000,Zqxv\r\n")  # a row cut short
    return written


def _write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Appointments"
    ws.append(["Appointments report (all locations)"])  # a title line above the header
    ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
