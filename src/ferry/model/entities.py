"""The canonical practice model: one type per concept the seed pages name.

Sources translate into these types; the mapping reads from them. Each type names its object
(``OBJECT``) and declares every field's kind and PHI class through ``meta``. Validation is strict
(unknown keys are refused) and ``parse_record`` turns pydantic's errors into ``RecordError``s that
name the record and field but never the offending value.
"""

# No ``from __future__ import annotations`` here: pydantic would evaluate each field's
# annotation from its text at class creation (a compile and an eval per field, in every
# verb's process); written as objects they are taken as they are. Same schemas.

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticUndefined

from ferry.errors import RecordError
from ferry.model.fields import Kind, PhiClass, meta

CustomType = Literal["text", "long_text", "int", "decimal", "bool", "date", "datetime", "enum", "set"]


class CustomValue(BaseModel):
    """One custom field's value with its declared type (and options for enum/set)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: CustomType
    value: Any = None
    label: str | None = None
    options: list[str] | None = None

    @model_validator(mode="after")
    def _typed(self) -> "CustomValue":
        # JSON has no date or decimal: after a round trip through the staging store the value
        # comes back as text. The declared type says what it was, so restore it (text that is
        # not in ISO form is left as it is; sources normalise their own formats).
        v = self.value
        if v is None or self.type not in ("date", "datetime", "decimal", "set"):
            return self
        try:
            if isinstance(v, str) and self.type == "date":
                self.value = dt.date.fromisoformat(v)
            elif isinstance(v, str) and self.type == "datetime":
                self.value = dt.datetime.fromisoformat(v)
            elif isinstance(v, str) and self.type == "decimal":
                self.value = Decimal(v)
        except (ValueError, ArithmeticError):
            pass
        if isinstance(v, tuple | set | frozenset) and self.type == "set":
            self.value = sorted(v) if isinstance(v, set | frozenset) else list(v)
        return self


TIMESTAMPS = ("created_at", "updated_at", "start", "end", "due_at", "paid_at", "sent_at",
              "cancelled_at")


def _allows_none(annotation: Any) -> bool:
    return annotation is None or annotation is Any or type(None) in get_args(annotation)


class Record(BaseModel):
    """Fields every staged record has."""

    # deferred: pydantic would build each subclass's validator at class creation, and the hook
    # below built it again (~0.1 CPU-s in every process); now once, on the class's first use
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)
    OBJECT: ClassVar[str] = ""

    source_id: str = Field(min_length=1)
    created_at: dt.datetime | None = meta(Kind.DATETIME)
    updated_at: dt.datetime | None = meta(Kind.DATETIME)
    custom: dict[str, CustomValue] = Field(default_factory=dict)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # ``meta()`` gives every field a default of None, which made fields typed ``str`` (not
        # ``str | None``) silently optional. A None default on a type that cannot hold None
        # means "required": make it so, so a missing name/status/start is a RecordError.
        super().__pydantic_init_subclass__(**kwargs)
        changed = False
        for f in cls.model_fields.values():
            if f.default is None and f.default_factory is None and not _allows_none(f.annotation):
                f.default = PydanticUndefined
                changed = True
        if changed and cls.__pydantic_complete__:
            cls.model_rebuild(force=True)

    @field_validator("source_id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        # Source ids arrive as int or str (PracticeHub mixes both); they are compared as text.
        return str(v) if isinstance(v, int) else v

    @field_validator(*TIMESTAMPS, check_fields=False)
    @classmethod
    def _aware(cls, v: Any) -> Any:
        # Every timestamp must say its time zone: a naive one shifts by hours when a
        # destination reads it in its own zone. (Named, not "*": this runs per field per record;
        # tests/foundation/test_model.py checks the list covers every datetime field.)
        if isinstance(v, dt.datetime) and v.tzinfo is None:
            raise ValueError("timestamp has no time zone")
        return v


ID, D, C, K, F = (PhiClass.IDENTIFIER, PhiClass.DEMOGRAPHIC, PhiClass.CONTACT, PhiClass.CLINICAL,
                 PhiClass.FINANCIAL)


class Clinic(Record):
    """A clinic, practice or location (→ Organization / Account / company partner)."""

    OBJECT: ClassVar[str] = "clinic"
    name: str = meta(Kind.TEXT)
    address: str | None = meta(Kind.ADDRESS)
    street: str | None = meta(Kind.TEXT)
    city: str | None = meta(Kind.TEXT)
    region: str | None = meta(Kind.TEXT)
    postcode: str | None = meta(Kind.TEXT)
    country: str | None = meta(Kind.TEXT)
    phone: str | None = meta(Kind.PHONE)
    email: str | None = meta(Kind.EMAIL)
    website: str | None = meta(Kind.TEXT)
    billing_contact: str | None = meta(Kind.TEXT)


class Practitioner(Record):
    """A provider or staff member; matched to a CRM user by email."""

    OBJECT: ClassVar[str] = "practitioner"
    first_name: str | None = meta(Kind.TEXT)
    last_name: str | None = meta(Kind.TEXT)
    title: str | None = meta(Kind.TEXT)
    email: str | None = meta(Kind.EMAIL)
    phone: str | None = meta(Kind.PHONE)
    role: str | None = meta(Kind.ENUM, label="Clinical role")
    specialty: str | None = meta(Kind.TEXT)
    credentials: str | None = meta(Kind.TEXT)
    license_number: str | None = meta(Kind.TEXT)
    npi: str | None = meta(Kind.TEXT, label="NPI")
    clinic_id: str | None = meta(Kind.REF, ref="clinic")
    active: bool = meta(Kind.BOOL, default=True)
    is_patient: bool = meta(Kind.BOOL, default=False)
    gender: str | None = meta(Kind.ENUM)
    address: str | None = meta(Kind.ADDRESS, label="Practice address")
    city: str | None = meta(Kind.TEXT)
    region: str | None = meta(Kind.TEXT)
    postcode: str | None = meta(Kind.TEXT)


class EmergencyContact(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str | None = None
    phone: str | None = None
    relationship: str | None = None


class Patient(Record):
    """A patient / client record with demographics, contact data and clinical flags."""

    OBJECT: ClassVar[str] = "patient"
    first_name: str | None = meta(Kind.TEXT, phi=D)
    last_name: str | None = meta(Kind.TEXT, phi=D)
    preferred_name: str | None = meta(Kind.TEXT, phi=D)
    title: str | None = meta(Kind.TEXT)
    date_of_birth: dt.date | None = meta(Kind.DATE, phi=D, label="Date of birth")
    sex: str | None = meta(Kind.ENUM, phi=D)
    email: str | None = meta(Kind.EMAIL, phi=C)
    phone: str | None = meta(Kind.PHONE, phi=C)
    mobile: str | None = meta(Kind.PHONE, phi=C)
    address: str | None = meta(Kind.ADDRESS, phi=C, label="Address (one line)")
    street: str | None = meta(Kind.TEXT, phi=C)
    street2: str | None = meta(Kind.TEXT, phi=C)
    city: str | None = meta(Kind.TEXT, phi=C)
    region: str | None = meta(Kind.TEXT, phi=C)
    postcode: str | None = meta(Kind.TEXT, phi=C)
    country: str | None = meta(Kind.TEXT, phi=C)
    mrn: str | None = meta(Kind.TEXT, phi=ID, label="Medical record number")
    patient_number: str | None = meta(Kind.TEXT, phi=ID)
    national_id: str | None = meta(Kind.TEXT, phi=ID)
    blood_group: str | None = meta(Kind.ENUM, phi=K, options=["A+", "A-", "B+", "B-", "AB+",
                                                               "AB-", "O+", "O-"])
    allergies: str | None = meta(Kind.LONG_TEXT, phi=K)
    medical_history: str | None = meta(Kind.LONG_TEXT, phi=K)
    emergency_contact: EmergencyContact | None = meta(Kind.JSON, phi=C)
    referral_source: str | None = meta(Kind.ENUM)
    referring_doctor: str | None = meta(Kind.TEXT)
    referring_doctor_email: str | None = meta(Kind.EMAIL)
    status: str | None = meta(Kind.ENUM, label="Patient status")
    clinic_id: str | None = meta(Kind.REF, ref="clinic")
    primary_practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    occupation: str | None = meta(Kind.TEXT, phi=D)
    # concepts real exports carry (issue 16): each with its PHI class
    middle_name: str | None = meta(Kind.TEXT, phi=D)
    name_suffix: str | None = meta(Kind.TEXT, phi=D)
    marital_status: str | None = meta(Kind.ENUM, phi=D)
    race: str | None = meta(Kind.ENUM, phi=D)
    ethnicity: str | None = meta(Kind.ENUM, phi=D)
    preferred_language: str | None = meta(Kind.TEXT, phi=D)
    deceased_date: dt.date | None = meta(Kind.DATE, phi=D, label="Date of death")
    guardian_name: str | None = meta(Kind.TEXT, phi=C)
    work_phone: str | None = meta(Kind.PHONE, phi=C)
    notes: str | None = meta(Kind.LONG_TEXT, phi=K, label="Patient notes")
    consent_email: bool | None = meta(Kind.BOOL)
    consent_sms: bool | None = meta(Kind.BOOL)
    archived: bool = meta(Kind.BOOL, default=False)


class PatientRelationship(Record):
    """A family or guarantor link between two patients."""

    OBJECT: ClassVar[str] = "patient_relationship"
    patient_id: str = meta(Kind.REF, ref="patient")
    related_patient_id: str = meta(Kind.REF, ref="patient")
    relationship: str = meta(Kind.ENUM, options=["spouse", "parent", "child", "guarantor",
                                                 "sibling", "other"])


class PractitionerPatient(Record):
    """A practitioner–patient association (the N:M junction in seed 002)."""

    OBJECT: ClassVar[str] = "practitioner_patient"
    practitioner_id: str = meta(Kind.REF, ref="practitioner")
    patient_id: str = meta(Kind.REF, ref="patient")
    role: str | None = meta(Kind.ENUM)
    primary: bool = meta(Kind.BOOL, default=False)


class AppointmentType(Record):
    OBJECT: ClassVar[str] = "appointment_type"
    name: str = meta(Kind.TEXT)
    category: str | None = meta(Kind.ENUM)
    duration_minutes: int | None = meta(Kind.INT)
    default_fee: Decimal | None = meta(Kind.MONEY)


class Appointment(Record):
    """A booked visit: type, status, times, location, practitioner, fee, cancellation."""

    OBJECT: ClassVar[str] = "appointment"
    patient_id: str | None = meta(Kind.REF, ref="patient")
    practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    clinic_id: str | None = meta(Kind.REF, ref="clinic")
    appointment_type_id: str | None = meta(Kind.REF, ref="appointment_type")
    type_name: str | None = meta(Kind.ENUM, label="Appointment type")
    status: str = meta(Kind.ENUM, options=["scheduled", "completed", "cancelled", "no_show"])
    start: dt.datetime = meta(Kind.DATETIME)
    end: dt.datetime | None = meta(Kind.DATETIME)
    duration_minutes: int | None = meta(Kind.INT)
    fee: Decimal | None = meta(Kind.MONEY, phi=F)
    currency: str | None = meta(Kind.TEXT)
    cancellation_reason: str | None = meta(Kind.TEXT)
    no_show: bool = meta(Kind.BOOL, default=False)
    notes: str | None = meta(Kind.LONG_TEXT, phi=K)
    title: str | None = meta(Kind.TEXT, phi=K, label="Appointment title")
    reason: str | None = meta(Kind.TEXT, phi=K, label="Reason for visit")
    cancelled_at: dt.datetime | None = meta(Kind.DATETIME)
    procedure_codes: list[str] = meta(Kind.SET, phi=K, default=[])
    diagnosis_codes: list[str] = meta(Kind.SET, phi=K, default=[])


class AppointmentReminder(Record):
    OBJECT: ClassVar[str] = "appointment_reminder"
    appointment_id: str = meta(Kind.REF, ref="appointment")
    patient_id: str | None = meta(Kind.REF, ref="patient")
    channel: str | None = meta(Kind.ENUM, options=["sms", "email", "call"])
    reminder_type: str | None = meta(Kind.TEXT)
    due_at: dt.datetime = meta(Kind.DATETIME)
    completed: bool = meta(Kind.BOOL, default=False)


class ClinicalNote(Record):
    """A clinical / progress / appointment note; free text that may hold PHI."""

    OBJECT: ClassVar[str] = "clinical_note"
    patient_id: str = meta(Kind.REF, ref="patient")
    practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    appointment_id: str | None = meta(Kind.REF, ref="appointment")
    title: str | None = meta(Kind.TEXT, phi=K)
    body: str = meta(Kind.LONG_TEXT, phi=K)
    note_type: str | None = meta(Kind.ENUM)
    author_name: str | None = meta(Kind.TEXT)


class TreatmentRecord(Record):
    """A treatment plan or treatment record with ICD-10 / CPT codes and goals."""

    OBJECT: ClassVar[str] = "treatment_record"
    patient_id: str = meta(Kind.REF, ref="patient")
    practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    appointment_id: str | None = meta(Kind.REF, ref="appointment")
    title: str | None = meta(Kind.TEXT, phi=K)
    diagnosis_codes: list[str] = meta(Kind.SET, phi=K, default=[], label="Diagnosis codes (ICD-10)")
    procedure_codes: list[str] = meta(Kind.SET, phi=K, default=[], label="Procedure codes (CPT)")
    goals: str | None = meta(Kind.LONG_TEXT, phi=K)
    status: str = meta(Kind.ENUM, options=["active", "completed", "cancelled"])
    start_date: dt.date | None = meta(Kind.DATE)
    end_date: dt.date | None = meta(Kind.DATE)
    estimated_cost: Decimal | None = meta(Kind.MONEY, phi=F)
    notes: str | None = meta(Kind.LONG_TEXT, phi=K)


class InsurancePolicy(Record):
    OBJECT: ClassVar[str] = "insurance_policy"
    patient_id: str = meta(Kind.REF, ref="patient")
    carrier: str = meta(Kind.TEXT, phi=F, label="Insurance carrier")
    member_id: str | None = meta(Kind.TEXT, phi=ID, label="Member / policy number")
    group_number: str | None = meta(Kind.TEXT, phi=F)
    coverage_type: str | None = meta(Kind.ENUM, phi=F, options=["medical", "dental", "vision",
                                                                 "other"])
    priority: str = meta(Kind.ENUM, options=["primary", "secondary"], default="primary")
    effective_date: dt.date | None = meta(Kind.DATE)
    termination_date: dt.date | None = meta(Kind.DATE)
    active: bool = meta(Kind.BOOL, default=True)


class Prescription(Record):
    OBJECT: ClassVar[str] = "prescription"
    patient_id: str = meta(Kind.REF, ref="patient")
    practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    medication: str = meta(Kind.TEXT, phi=K)
    dosage: str | None = meta(Kind.TEXT, phi=K)
    frequency: str | None = meta(Kind.TEXT, phi=K)
    route: str | None = meta(Kind.TEXT, phi=K)
    prescribed_on: dt.date | None = meta(Kind.DATE)
    active: bool = meta(Kind.BOOL, default=True)
    pharmacy: str | None = meta(Kind.TEXT)
    medication_code: str | None = meta(Kind.TEXT, phi=K, label="Medication code (RxNorm/NDC)")
    stop_date: dt.date | None = meta(Kind.DATE)
    cost: Decimal | None = meta(Kind.MONEY, phi=F)


class Invoice(Record):
    OBJECT: ClassVar[str] = "invoice"
    patient_id: str | None = meta(Kind.REF, ref="patient")
    appointment_id: str | None = meta(Kind.REF, ref="appointment")
    treatment_record_id: str | None = meta(Kind.REF, ref="treatment_record")
    number: str | None = meta(Kind.TEXT)
    amount: Decimal = meta(Kind.MONEY, phi=F)
    balance: Decimal | None = meta(Kind.MONEY, phi=F)
    currency: str | None = meta(Kind.TEXT)
    status: str = meta(Kind.ENUM, options=["paid", "pending", "overdue", "cancelled"])
    issue_date: dt.date | None = meta(Kind.DATE)
    due_date: dt.date | None = meta(Kind.DATE)
    paid_date: dt.date | None = meta(Kind.DATE)
    payment_method: str | None = meta(Kind.ENUM)


class Payment(Record):
    OBJECT: ClassVar[str] = "payment"
    patient_id: str | None = meta(Kind.REF, ref="patient")
    invoice_id: str | None = meta(Kind.REF, ref="invoice")
    amount: Decimal = meta(Kind.MONEY, phi=F)
    method: str | None = meta(Kind.ENUM)
    paid_at: dt.datetime | None = meta(Kind.DATETIME)
    note: str | None = meta(Kind.TEXT)


class Document(Record):
    """A file attached to a patient (or another record); content is fetched separately."""

    OBJECT: ClassVar[str] = "document"
    patient_id: str | None = meta(Kind.REF, ref="patient")
    parent_object: str = meta(Kind.TEXT, default="patient")
    parent_id: str | None = meta(Kind.TEXT)
    file_name: str = meta(Kind.TEXT, phi=K)
    mime_type: str | None = meta(Kind.TEXT)
    size: int | None = meta(Kind.INT)
    sha256: str | None = meta(Kind.TEXT)
    category: str | None = meta(Kind.ENUM)
    description: str | None = meta(Kind.TEXT, phi=K)
    url: str | None = meta(Kind.TEXT)
    local_path: str | None = meta(Kind.TEXT)


class Campaign(Record):
    OBJECT: ClassVar[str] = "campaign"
    name: str = meta(Kind.TEXT)
    channel: str | None = meta(Kind.ENUM)
    patient_id: str | None = meta(Kind.REF, ref="patient")
    sent_at: dt.datetime | None = meta(Kind.DATETIME)
    status: str | None = meta(Kind.ENUM)


class Message(Record):
    """One chat / SMS / email message of a patient's conversation history."""

    OBJECT: ClassVar[str] = "message"
    patient_id: str = meta(Kind.REF, ref="patient")
    practitioner_id: str | None = meta(Kind.REF, ref="practitioner")
    direction: str = meta(Kind.ENUM, options=["inbound", "outbound"])
    channel: str | None = meta(Kind.ENUM)
    body: str = meta(Kind.LONG_TEXT, phi=K)
    sent_at: dt.datetime = meta(Kind.DATETIME)


class Workflow(Record):
    """A workflow / automation definition; never migrated, exported to the rebuild guide."""

    OBJECT: ClassVar[str] = "workflow"
    name: str = meta(Kind.TEXT)
    trigger: str = meta(Kind.TEXT)
    conditions: list[str] = meta(Kind.SET, default=[])
    actions: list[str] = meta(Kind.SET, default=[])
    active: bool = meta(Kind.BOOL, default=True)


class CompliancePolicy(Record):
    OBJECT: ClassVar[str] = "compliance_policy"
    name: str = meta(Kind.TEXT)
    category: str | None = meta(Kind.ENUM)
    version: str | None = meta(Kind.TEXT)
    body: str | None = meta(Kind.LONG_TEXT)
    acknowledged_by: list[str] = meta(Kind.SET, default=[])


ENTITIES: dict[str, type[Record]] = {
    m.OBJECT: m
    for m in (Clinic, Practitioner, Patient, PatientRelationship, PractitionerPatient,
              AppointmentType, Appointment, AppointmentReminder, ClinicalNote, TreatmentRecord,
              InsurancePolicy, Prescription, Invoice, Payment, Document, Campaign, Message,
              Workflow, CompliancePolicy)
}


def entity(object_name: str) -> type[Record]:
    """The model class of an object name; unknown names are a programming error."""
    try:
        return ENTITIES[object_name]
    except KeyError:
        raise KeyError(f"unknown object {object_name!r}") from None


def parse_record(object_name: str, data: dict[str, Any], *, system: str = "source") -> Record:
    """Validate ``data`` as ``object_name``; errors name the record and field, never the value."""
    model = entity(object_name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        ref = f"{system}:{object_name}:{data.get('source_id', '?')}"
        raise RecordError(ref, field, err["msg"]) from None


def owner_ref(record: Record) -> str | None:
    """The practitioner a record belongs to (its CRM owner): ``practitioner_id``, else a
    patient's ``primary_practitioner_id``."""
    # read from the instance's fields: ``getattr`` of a field the model lacks goes through
    # pydantic's ``__getattr__`` and an AttributeError, per record staged
    fields = record.__dict__
    return fields.get("practitioner_id") or fields.get("primary_practitioner_id")
