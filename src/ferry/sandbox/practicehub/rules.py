"""How the emulated PracticeHub renders the canonical practice as API JSON.

Provenance (see ``../shared/specs/sources/NOTES.md`` §1-2):

* [doc]   envelope ``{total_entries, data, links}``, ``page``/``page_size`` ≤ 100, the ``updated``
          filter, 1 request/s per account with 429, ``x-practicehub-key`` + ``x-app-details``.
* [code]  resources ``patients``, ``practitioners``, ``appointments``, ``appointment_types``,
          ``files``, ``invoices``, ``payments``, ``patient_logs`` and the fields third-party
          importers read from them; ``created`` (not ``created_at``) timestamps; money as
          strings; ``patient_id`` sometimes a string, sometimes an int; appointment ``start`` as
          ``YYYY-MM-DD HH:MM:SS``; appointment status ``processed`` / ``cancelled``; files with
          a pre-signed ``url`` and ``entity_type``.
* ASSUMPTION (modelled on Cliniko, PracticeHub publishes nothing): ``locations`` (Cliniko
          ``businesses``), ``clinical_notes`` (``treatment_notes``), ``treatment_records``,
          ``insurance_policies``, ``prescriptions``, ``appointment_reminders``,
          ``practitioner_patients``, ``patient_relationships``, ``policies``, ``workflows``,
          ``campaigns``, the ``/{resource}/deleted`` lists, Cliniko-style ``custom_fields`` on
          patients, the field names marked below, and the ``booked`` / ``dna`` statuses.

The connector (``ferry.sources.practicehub.reader``) keeps its own, independent table of these
names: the emulator stands in for the real service, so the two must agree by test, not by import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from ferry.model.entities import Record, entity
from ferry.model.fields import Kind, field_info

#: API resource path → canonical object
RESOURCES: dict[str, str] = {
    "locations": "clinic",
    "practitioners": "practitioner",
    "patients": "patient",
    "patient_relationships": "patient_relationship",
    "practitioner_patients": "practitioner_patient",
    "appointment_types": "appointment_type",
    "appointments": "appointment",
    "appointment_reminders": "appointment_reminder",
    "clinical_notes": "clinical_note",
    "treatment_records": "treatment_record",
    "insurance_policies": "insurance_policy",
    "prescriptions": "prescription",
    "invoices": "invoice",
    "payments": "payment",
    "files": "document",
    "campaigns": "campaign",
    "patient_logs": "message",
    "workflows": "workflow",
    "policies": "compliance_policy",
}
OBJECT_RESOURCE = {v: k for k, v in RESOURCES.items()}
#: [code] resources public client code calls (with ``payment_methods``, which has no canonical
#: object of its own: it names the ``payment_type_id`` of payments); served on every surface
DOCUMENTED: frozenset[str] = frozenset({
    "patients", "practitioners", "appointments", "appointment_types", "files", "invoices",
    "payments", "payment_methods", "patient_logs"})
#: ASSUMPTION: no public source names these; served only with ``surface="extended"``
EXTENDED_ONLY: frozenset[str] = frozenset(set(RESOURCES) - DOCUMENTED)
SURFACES = ("documented", "extended")

#: canonical field → API field, where the names differ (others keep the canonical name)
RENAMES: dict[str, dict[str, str]] = {
    "clinic": {"street": "address_line_1", "region": "state", "postcode": "zip"},
    "practitioner": {"clinic_id": "location_id", "credentials": "designation"},
    "patient": {"street": "address_line_1", "street2": "address_line_2", "region": "state",
                "postcode": "zip", "blood_group": "blood_type", "clinic_id": "location_id",
                "primary_practitioner_id": "practitioner_id", "status": "contact_status",
                "consent_email": "accepted_email_marketing",
                "consent_sms": "accepted_sms_marketing", "mobile": "mobilephone"},
    "appointment_type": {"duration_minutes": "duration", "default_fee": "price"},
    "appointment": {"clinic_id": "location_id", "type_name": "appointment_type",
                    "fee": "price", "no_show": "did_not_arrive", "duration_minutes": "duration",
                    "cancellation_reason": "cancelReason"},
    "appointment_reminder": {"channel": "type", "due_at": "send_at", "completed": "sent"},
    "clinical_note": {"body": "content"},
    "treatment_record": {"diagnosis_codes": "icd10_codes", "procedure_codes": "cpt_codes",
                         "estimated_cost": "estimate"},
    "insurance_policy": {"carrier": "insurance_provider", "member_id": "policy_number",
                         "termination_date": "expiry_date"},
    "prescription": {"medication": "medication_name", "prescribed_on": "prescription_date"},
    "invoice": {"amount": "total", "balance": "owing"},
    "payment": {"method": "payment_method", "paid_at": "payment_date"},
    "document": {"parent_object": "entity_type", "parent_id": "entity_id",
                 "mime_type": "mime_type", "category": "file_type"},
    "message": {"channel": "type", "direction": "sub_type", "body": "data"},
    "compliance_policy": {"body": "content"},
}

#: API status values that differ from the canonical ones
APPOINTMENT_STATUS = {"scheduled": "booked", "completed": "processed", "cancelled": "cancelled",
                      "no_show": "dna"}
#: fields never rendered: ``url``/``local_path`` of a document are the emulator's own business
SKIP = {"document": {"url", "local_path"}}
#: datetimes shown as the account's local wall time, the way ``start`` is documented
LOCAL_DATETIMES = {("appointment", "start"), ("appointment", "end")}


def api_id(source_id: str) -> int | str:
    """PracticeHub ids are integers; a non-numeric id is passed through as text."""
    return int(source_id) if source_id.isdigit() else source_id


def created_text(value: dt.datetime, tz: dt.tzinfo = dt.UTC) -> str:
    """The ``created`` quirk: ``YYYY-MM-DD HH:MM:SS`` with no zone, fraction only if any.

    Its zone is undocumented; like ``start`` it is taken as the practice's wall time."""
    v = value.astimezone(tz)
    return v.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if v.microsecond else ""))


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _ref(value: str, mixed: bool) -> int | str:
    # [code] ``patient_id`` arrives as a string on some rows and a number on others.
    if mixed and value.isdigit() and int(value) % 3 == 0:
        return value
    return api_id(value)


def _custom(bag: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, cv in bag.items():
        value = cv.value
        if isinstance(value, dt.datetime):
            value = iso(value)
        elif isinstance(value, dt.date | Decimal):
            value = str(value)
        elif isinstance(value, set | tuple):
            value = sorted(value)
        out.append({"key": key, "name": cv.label, "type": cv.type, "value": value,
                    "options": cv.options})
    return out


DateFormat = Callable[[str, str, str], str | None]


@cache
def _plan(obj: str) -> tuple[tuple[str, str, Kind], ...]:
    """(canonical name, API name, kind) of every rendered field (metadata is costly per row)."""
    model = entity(obj)
    renames, skip = RENAMES.get(obj, {}), SKIP.get(obj, set())
    return tuple((name, renames.get(name, name), field_info(model, name).kind)
                 for name in model.model_fields
                 if name not in ("source_id", "custom", "created_at", "updated_at")
                 and name not in skip)


def render(rec: Record, date_format: DateFormat | None = None, *,
           tz: dt.tzinfo = dt.UTC, method_id: Callable[[str], int] | None = None,
           surface: str = "extended") -> dict[str, Any]:
    """One canonical record as the API shows it (without volatile parts such as file urls).

    ``tz`` is the practice's zone: appointment ``start``/``end`` are its wall time [code].
    ``method_id`` numbers payment methods: payments name theirs by ``payment_type_id`` [code]
    (a string, like every foreign key of a payment); the documented surface drops the
    assumed ``payment_method`` text."""
    obj = rec.OBJECT
    out: dict[str, Any] = {"id": api_id(rec.source_id)}
    for name, key, kind in _plan(obj):
        value = getattr(rec, name)
        if value is None:
            out[key] = None
        elif kind == Kind.REF:
            out[key] = _ref(value, mixed=name == "patient_id")
        elif kind == Kind.MONEY:
            out[key] = str(value)
        elif kind == Kind.DATE:
            fmt = date_format(obj, rec.source_id, name) if date_format else None
            out[key] = value.strftime(fmt) if fmt else value.isoformat()
        elif kind == Kind.DATETIME:
            if (obj, name) in LOCAL_DATETIMES:
                out[key] = value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            else:
                out[key] = iso(value)
        elif kind == Kind.JSON:
            out[key] = value.model_dump() if hasattr(value, "model_dump") else value
        elif kind == Kind.SET:
            out[key] = list(value)
        else:
            out[key] = value
    if obj == "payment" and method_id is not None:
        method = out.get("payment_method")
        out["payment_type_id"] = None if method is None else str(method_id(method))
        if surface == "documented":
            out.pop("payment_method", None)
    if obj == "appointment":
        out["status"] = APPOINTMENT_STATUS.get(rec.status, rec.status)  # type: ignore[attr-defined]
    if obj == "patient":
        out["custom_fields"] = _custom(rec.custom)
    elif rec.custom:
        out["custom_fields"] = _custom(rec.custom)
    out["created"] = created_text(rec.created_at, tz) if rec.created_at else None
    out["updated"] = iso(rec.updated_at) if rec.updated_at else None
    return out


def mutable_field(obj: str) -> str | None:
    """A plain optional text field the mutation mode may change (never a name or reference)."""
    preferred = {"patient": "occupation", "appointment": "notes", "practitioner": "specialty",
                 "invoice": "payment_method", "clinical_note": "title", "document": "description",
                 "payment": "note"}
    if obj in preferred:
        return preferred[obj]
    model = entity(obj)
    for name, f in model.model_fields.items():
        info = field_info(model, name)
        if info.kind in (Kind.TEXT, Kind.LONG_TEXT) and not f.is_required() \
                and name != "custom":  # the custom-field bag is a mapping, not a text
            return name
    return None
