"""Recipes into Odoo CRM (seed 003 Pulse, seed 004 PracticeHub; the same logic for the rest).

Models: res.partner (patients, clinics as companies), crm.lead (appointments in seed 004,
treatment plans), mail.activity (appointments in seed 003, reminders, outreach), mail.message
(notes, chat history), ir.attachment (files; prescriptions rendered in seed 003), account.move
(invoices, only with Accounting; variant ``no_accounting`` folds billing into partner fields).
Custom field names are logical; the connector prefixes ``x_`` (Pulse recipes use the seed's
``x_studio_`` names: logical ``studio_<name>``).
"""

from __future__ import annotations

from ferry.mapping import value_maps as vm
from ferry.mapping.cookbook import odoo_more as more
from ferry.mapping.cookbook.common import IGN, Book, F, T
from ferry.mapping.cookbook.shared import (
    FILE_META,
    care_team_fold,
    compliance_rebuild,
    insurance_folds,
    no_times,
    prescription_folds,
    rebuild_only,
    relationship_fold,
    times,
)
from ferry.mapping.model import Attach, Fold
from ferry.model.fields import Kind

PARTNER, LEAD, ACT, MSG, ATT, MOVE = ("res.partner", "crm.lead", "mail.activity", "mail.message",
                                      "ir.attachment", "account.move")
PRACTITIONER_IGNORED = "practitioners are matched to Odoo users by email (seed 003/004); they " \
                       "reach records as user_id"


class Names:
    """Seed 003 names Pulse fields x_studio_*; seed 004 names them plainly (the seed's
    ``date_of_birth__c`` style is Salesforce's; Odoo requires the ``x_`` prefix)."""

    PULSE = {"blood_group": "blood_group", "allergies": "allergy_notes",
             "contact_status": "patient_status"}
    PH = {"blood_group": "blood_type"}

    def __init__(self, source: str) -> None:
        self.pulse = source == "pulse"

    def __call__(self, base: str) -> str:
        name = (self.PULSE if self.pulse else self.PH).get(base, base)
        return f"studio_{name}" if self.pulse else name


def build(source: str, variant: str | None = None) -> Book:
    b = Book(source, "odoo", variant=variant)
    n = Names(source)
    pulse = source == "pulse"
    _patient(b, n)
    _clinic(b, n)
    b.add("practitioner_user", "practitioner", "res.users", [
        F("email", "login", T("email"), required=True, reason="matched to res.users by email"),
        *[IGN(f, PRACTITIONER_IGNORED) for f in (
            "first_name", "last_name", "title", "phone", "role", "specialty", "credentials",
            "license_number", "npi", "clinic_id", "active", "is_patient", "created_at",
            "updated_at")],
    ], mode="users", note="Physicians / practitioners → res.users by email; unmatched → "
                          "fallback user (seeds 003, 004)")
    if pulse:
        _appointment_activity(b, n)
    else:
        _appointment_lead(b, n)
    more.notes(b, n, pulse)
    more.treatment(b, n, pulse)
    insurance_folds(b, PARTNER, n, primary="insurance_provider")
    if pulse:
        b.add("prescription_attachment", "prescription", ATT, [], mode="attach",
              parent=("patient", "patient_id"),
              attach=Attach(content="render", file_name="Prescription {prescribed_on:%Y-%m-%d} "
                                                        "{practitioner_name}.txt"),
              note="seed 003: prescriptions → ir.attachment on the partner, named with date "
                   "and physician")
    else:
        b.add("prescription_summary", "prescription", PARTNER, [
            F(None, b.cf(PARTNER, n("prescription_summary"), "Prescription summary",
                         Kind.LONG_TEXT),
              T("record_json", fields=["medication", "dosage", "frequency", "route",
                                       "practitioner_name", "prescribed_on", "active",
                                       "pharmacy"]),
              reason="seed 004: prescription_summary as JSON-serialised text"),
            *no_times("folded into the partner"),
        ], mode="fold", parent=("patient", "patient_id"), fold=Fold(strategy="join"),
            note="seed 004: prescriptions → prescription_summary on res.partner (PDFs arrive "
                 "as documents → ir.attachment)")
        prescription_folds(b, PARTNER, n)
    more.billing(b, n, variant)
    relationship_fold(b, PARTNER, n)
    care_team_fold(b, PARTNER, n)
    b.add("document_attachment", "document", ATT, [
        F("description", "description"),
        F("mime_type", "mimetype"),
        IGN("category", "kept in the file name"),
        IGN("parent_id", "files land on the patient's partner (res_model/res_id)"),
        *[f for f in FILE_META if f.source != "mime_type"],
        *no_times("the attachment keeps its own dates"),
    ], mode="attach", parent=("patient", "patient_id"),
        attach=Attach(content="file", file_name="{file_name}"),
        note="Documents → ir.attachment with res_model res.partner and res_id the partner")
    more.outreach(b, n)
    rebuild_only(b)
    compliance_rebuild(b)
    b.activity_types = ["Call", "Meeting", "To-Do", "Email"]
    return b


def _address(street2: bool = True) -> list:
    two = [F(["street2", "address"], "street2", T("address", part="street2"))] if street2 else \
        [F("address", "street2", T("address", part="street2"))]
    return [
        F(["street", "address"], "street", T("address", part="street")),
        *two,
        F(["city", "address"], "city", T("address", part="city")),
        F(["region", "address"], "state_id", T("address", part="region"),
          reason="state name/code; the connector resolves res.country.state"),
        F(["postcode", "address"], "zip", T("address", part="postcode")),
        F(["country", "address"], "country_id", T("address", part="country"),
          reason="country name/code; the connector resolves res.country"),
    ]


def _patient(b: Book, n: Names) -> None:
    P = PARTNER
    extra = [F("source_id", b.cf(P, "studio_patient_id", "Pulse patient ID", Kind.TEXT),
               reason="seed 003: Pulse patient_id in x_studio_patient_id")] if n.pulse else []
    b.add("patient_partner", "patient", P, [
        F(["first_name", "last_name"], "name", T("join"), required=True),
        F(None, "is_company", default=False, reason="seed 003: individuals"),
        F("email", "email", T("email")),
        F("phone", "phone", T("phone_e164")),
        F("mobile", "mobile", T("phone_e164"),
          reason="res.partner.mobile exists up to 18.0; the connector drops it on 19"),
        *_address(),
        F("primary_practitioner_id", "user_id", T("owner"),
          reason="seed 003: owner from the physician's matched res.users"),
        F("occupation", "function"),
        F("date_of_birth", b.cf(P, n("date_of_birth"), "Date of birth", Kind.DATE), T("date"),
          reason="seed 003/004: no native date of birth: custom Date field"),
        F("blood_group", b.cf(P, n("blood_group"), "Blood group", Kind.ENUM, vm.BLOOD_GROUPS),
          vm=vm.blood_group_map(), vmd="flag", reason="seed 003: selection A+ … O-; others flagged"),
        F("blood_group", b.cf(P, n("blood_group_other"), "Blood group (free text)", Kind.TEXT),
          vm=vm.blood_group_fallback_map(), vmd="keep",
          reason="seed 003: unrecognised values kept in a free-text fallback field"),
        F("allergies", b.cf(P, n("allergies"), "Allergies", Kind.LONG_TEXT), T("json_text"),
          reason="seed 003: structured JSON flattened to newline-delimited text"),
        F("medical_history", b.cf(P, n("medical_history"), "Medical history", Kind.LONG_TEXT),
          reason="seed 004: medical_history as a long-text custom field"),
        F("emergency_contact", b.cf(P, n("emergency_contact"), "Emergency contact",
                                    Kind.LONG_TEXT), T("json_text")),
        F("mrn", b.cf(P, n("mrn"), "Medical record number", Kind.TEXT)),
        F("patient_number", b.cf(P, n("patient_number"), "Patient number", Kind.TEXT)),
        F("national_id", b.cf(P, n("national_id"), "National / health ID", Kind.TEXT)),
        F("sex", b.cf(P, n("sex"), "Sex", Kind.ENUM, ["Female", "Male", "Other", "Unknown"]),
          vm=vm.SEX, vmd="keep"),
        F("title", "title", T("strip"),
          reason="Odoo 17 res.partner.title (Mister \"Mr.\", Doctor \"Dr.\"…), matched by"
                 " name or shortcut; a title Odoo lacks (Ms, Mx) is added; gone in 19"),
        F(None, "category_id", default="Patient",
          reason="patient category as a partner tag (res.partner.category): Contacts can"
                 " filter patients from clinics and staff"),
        F("preferred_name", b.cf(P, n("preferred_name"), "Preferred name", Kind.TEXT)),
        F("referral_source", b.cf(P, n("referral_source"), "Referral source", Kind.ENUM),
          vm={}, vmd="keep"),
        F("referring_doctor", b.cf(P, n("referring_doctor"), "Referring doctor", Kind.TEXT),
          reason="seed 004: free-text referring doctor"),
        F("referring_doctor_email", b.cf(P, n("referring_doctor_email"),
                                         "Referring doctor email", Kind.EMAIL), T("email")),
        F("status", b.cf(P, n("contact_status"), "Contact status", Kind.ENUM), vm={}, vmd="keep",
          reason="seed 004: contact_status"),
        F(None, b.cf(P, n("clinic_location"), "Clinic location", Kind.TEXT),
          T("template", template="{clinic_name}"),
          reason="seed 004: clinic location on the partner (the clinic's name; text, since "
                 "the locations are known only once the clinics are read)"),
        F(None, b.cf(P, n("primary_practitioner"), "Primary practitioner", Kind.TEXT),
          T("template", template="{primary_practitioner_name}")),
        F("consent_email", b.cf(P, n("consent_email"), "Email consent", Kind.BOOL)),
        F("consent_sms", b.cf(P, n("consent_sms"), "SMS consent", Kind.BOOL)),
        F("archived", b.cf(P, n("archived_in_source"), "Archived in source", Kind.BOOL)),
        *extra,
        *times(b, P),
    ], note="Patient → res.partner (is_company False); medical fields as custom fields "
            "(seeds 003, 004)")


def _clinic(b: Book, n: Names) -> None:
    P = PARTNER
    b.add("clinic_company", "clinic", P, [
        F("name", "name", required=True),
        F(None, "is_company", default=True),
        *_address(street2=False),
        F("phone", "phone", T("phone_e164")),
        F("email", "email", T("email")),
        F("website", "website"),
        F("billing_contact", b.cf(P, n("billing_contact"), "Billing contact", Kind.TEXT)),
        *times(b, P),
    ], note="Clinic / location → company partner (patients carry the clinic location field)")


def _appointment_activity(b: Book, n: Names) -> None:
    A = ACT
    b.add("appointment_activity", "appointment", A, [
        F(None, "res_model", default="res.partner",
          reason="activity on the patient partner (res_model_id resolved by the connector)"),
        F("patient_id", "res_id", T("ref", object="patient", dest_object=PARTNER),
          required=True, reason="seed 003: partner_id links the activity to the patient"),
        F("type_name", "activity_type_id", vm=vm.APPOINTMENT_TYPE_TO_ODOO_ACTIVITY,
          vmd="Meeting", reason="seed 003: Consultation → Call, Follow-up → Meeting, "
                                "Procedure → To-Do"),
        F(None, "summary", T("template", template="{type_name} – {start:%Y-%m-%d}"),
          default="Appointment"),
        F("start", "date_deadline", T("date"), required=True),
        F("practitioner_id", "user_id", T("owner"), reason="seed 003: physician → user_id"),
        F(["status", "end", "duration_minutes", "fee", "currency", "cancellation_reason",
           "no_show", "procedure_codes", "diagnosis_codes", "notes"], "note",
          T("labelled", labels=["Status", "Ends", "Minutes", "Fee", "Currency",
                                "Cancellation reason", "No-show", "Procedure codes",
                                "Diagnosis codes", "Notes"]),
          T("format", fmt="Location: {clinic_name}\n{value}"), T("html")),
        F("start", b.cf(A, n("appointment_time"), "Appointment time", Kind.DATETIME),
          T("datetime"), reason="seed 003: x_studio_appointment_time"),
        F("status", b.cf(A, n("appointment_status"), "Appointment status", Kind.TEXT),
          reason="seed 003: the original Pulse status string, for audit"),
        F("status", b.cf(A, n("appointment_stage"), "Appointment stage", Kind.ENUM,
                         list(vm.APPOINTMENT_STATUS_LABEL.values())),
          vm=vm.APPOINTMENT_STATUS_LABEL, vmd="keep",
          reason="seed 003: status → stage pick-list (Scheduled, Completed, Cancelled, No-Show);"
                 " new source values become new options"),
        F("type_name", b.cf(A, n("visit_type"), "Visit type", Kind.TEXT)),
        IGN("clinic_id", "the clinic's name is written into the activity note"),
        IGN("appointment_type_id", "the type's name (type_name) is what lands"),
        *times(b, A),
    ], note="seed 003: appointment → activity (crm.activity is mail.activity since Odoo 11)")


def _appointment_lead(b: Book, n: Names) -> None:
    L = LEAD
    b.pipeline("Appointments", ["New", "In Progress", "Completed", "Cancelled"])
    b.add("appointment_lead", "appointment", L, [
        F(None, "name", T("template", template="{type_name} – {start:%Y-%m-%d}"),
          default="Appointment", required=True, reason="seed 004: encoded in the lead name"),
        F(None, "type", default="opportunity"),
        F("patient_id", "partner_id", T("ref", object="patient", dest_object=PARTNER),
          required=True, reason="seed 004: patient linked via res.partner"),
        F("practitioner_id", "user_id", T("owner"),
          reason="seed 004: practitioner_email matched to res.users; fallback user"),
        F(None, "team_id", T("pipeline", pipeline="Appointments")),
        F("status", "stage_id", T("stage", pipeline="Appointments"),
          vm=vm.APPOINTMENT_STATUS_TO_ODOO_LEAD_STAGE,
          reason="seed 004: visit_status → crm.stage value by value"),
        F("start", "date_deadline", T("date")),
        F("fee", "expected_revenue", T("money")),
        F("notes", "description", T("html")),
        F("type_name", b.cf(L, n("visit_type"), "Visit type", Kind.ENUM), vm={}, vmd="keep",
          reason="seed 004: visit_type custom field"),
        F("type_name", "tag_ids",
          reason="treatment type as a lead tag (crm.tag), created on first use"),
        F("status", b.cf(L, n("visit_status"), "Visit status", Kind.TEXT),
          vm=vm.APPOINTMENT_STATUS_LABEL, vmd="keep"),
        F("start", b.cf(L, n("planned_date"), "Planned date", Kind.DATE), T("date"),
          reason="seed 004: planned_date"),
        F("start", b.cf(L, n("appointment_time"), "Appointment time", Kind.DATETIME),
          T("datetime"), reason="seed 004: appointment_time preserved"),
        F("end", b.cf(L, n("appointment_end"), "Appointment end", Kind.DATETIME), T("datetime")),
        F(["duration_minutes", "start", "end"], b.cf(L, n("duration_minutes"), "Duration (min)",
                                                      Kind.INT), T("minutes_between")),
        F("cancellation_reason", b.cf(L, n("cancellation_reason"), "Cancellation reason",
                                      Kind.TEXT)),
        F("no_show", b.cf(L, n("no_show"), "No-show", Kind.BOOL)),
        F("currency", b.cf(L, n("fee_currency"), "Fee currency", Kind.TEXT)),
        F("procedure_codes", b.cf(L, n("procedure_codes"), "Procedure codes", Kind.TEXT),
          T("list_text")),
        F("diagnosis_codes", b.cf(L, n("diagnosis_codes"), "Diagnosis codes", Kind.TEXT),
          T("list_text")),
        F(None, b.cf(L, n("clinic_location"), "Clinic location", Kind.TEXT),
          T("template", template="{clinic_name}")),
        IGN("appointment_type_id", "the type's name (type_name) is what lands"),
        *times(b, L),
    ], note="seed 004: appointment → crm.lead; stages New / In Progress / Completed / "
            "Cancelled")
    b.add("reminder_on_lead", "appointment_reminder", L, [
        F("completed", b.cf(L, n("reminder_sent"), "Reminder sent", Kind.BOOL),
          reason="seed 004: reminder_sent on crm.lead"),
        F("due_at", b.cf(L, n("reminder_due"), "Reminder due", Kind.DATETIME), T("datetime")),
        F("channel", b.cf(L, n("reminder_channel"), "Reminder channel", Kind.TEXT)),
        F("reminder_type", b.cf(L, n("reminder_type"), "Reminder type", Kind.TEXT)),
        IGN("patient_id", "the lead carries the patient"),
        *no_times("folded into the lead"),
    ], mode="fold", parent=("appointment", "appointment_id"),
        fold=Fold(strategy="latest", order_by="due_at"))
