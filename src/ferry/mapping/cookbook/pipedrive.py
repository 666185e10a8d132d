"""Recipes into Pipedrive (seeds 000 and 001).

Pipedrive v2 objects: organization, person, deal, activity; v1: note, file (attach), user.
Pipedrive has no custom objects and its API cannot create activity or note custom fields
(``activityFields``/``noteFields`` are read-only), so what the seeds put in activity custom fields
is written into the activity's ``note`` instead, and clinical objects fold into person/deal
custom fields.
"""

from __future__ import annotations

from ferry.mapping import value_maps as vm
from ferry.mapping.cookbook.common import IGN, Book, F, T, when_in, when_not_in
from ferry.mapping.cookbook.pipedrive_more import outreach
from ferry.mapping.cookbook.shared import (
    FILE_META,
    STANDARD_TYPES_001,
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

ORG, PERSON, DEAL, ACT, NOTE = "organization", "person", "deal", "activity", "note"
NO_ACT_CF = "Pipedrive's API cannot create activity custom fields; the activity note keeps it"


def build(source: str) -> Book:
    b = Book(source, "pipedrive")
    deals_for_appointments = source == "practicehub"  # seed 001; seed 000: activities
    _clinic(b)
    _patient(b)
    _practitioner(b)
    if deals_for_appointments:
        _appointment_deal(b)
    else:
        _appointment_activity(b)
    _reminder(b, deals_for_appointments)
    _note(b, deals_for_appointments)
    _treatment(b)
    _invoice(b)
    insurance_folds(b, PERSON)
    prescription_folds(b, PERSON)
    _relationships(b)
    _documents(b, deals_for_appointments)
    outreach(b)
    rebuild_only(b)
    compliance_rebuild(b)
    b.activity_types = ["Meeting", "Call", "Task", "Email"]
    return b


def _clinic(b: Book) -> None:
    b.add("clinic_organization", "clinic", ORG, [
        F("name", "name", required=True, reason="practice name → Organization name"),
        F(["address", "street", "city", "region", "postcode", "country"], "address",
          T("address_line"), reason="practice address → Organization address"),
        F("phone", b.cf(ORG, "phone", "Phone", Kind.PHONE), T("phone_e164"),
          reason="v2 organizations have no phone field: custom phone field"),
        F("email", b.cf(ORG, "email", "Email", Kind.EMAIL), T("email")),
        F("website", "website"),
        F("billing_contact", b.cf(ORG, "billing_contact", "Billing contact", Kind.TEXT),
          reason="seed 000: billing contact"),
        F(None, "industry", default="Healthcare",
          reason="seed 001: industry defaults to Healthcare"),
        *times(b, ORG),
    ], note="Clinic / practice location → Organization, one per location (seeds 000, 001)")


def _patient(b: Book) -> None:
    P = PERSON
    b.add("patient_person", "patient", P, [
        F(["first_name", "last_name"], "name", T("join"), required=True,
          reason="Person name; Pipedrive derives first_name/last_name from it (read-only)"),
        F("preferred_name", b.cf(P, "preferred_name", "Preferred name", Kind.TEXT)),
        F("title", b.cf(P, "salutation", "Salutation", Kind.TEXT)),
        F("date_of_birth", "birthday", T("date"), reason="seed 001: DOB → Person birth date"),
        F("sex", b.cf(P, "sex", "Sex", Kind.ENUM, ["Female", "Male", "Other", "Unknown"]),
          vm=vm.SEX, vmd="keep"),
        F("email", "emails", T("email")),
        F(["phone", "mobile"], "phones", T("phone_e164")),
        F(["address", "street", "street2", "city", "region", "postcode", "country"],
          "postal_address", T("address_line")),
        F("mrn", b.cf(P, "mrn", "Medical record number (MRN)", Kind.TEXT),
          reason="seed 000/001: MRN as a read-only custom text field"),
        F("patient_number", b.cf(P, "patient_number", "Patient number", Kind.TEXT)),
        F("national_id", b.cf(P, "national_id", "National / health ID", Kind.TEXT)),
        F("blood_group", b.cf(P, "blood_group", "Blood group", Kind.ENUM, vm.BLOOD_GROUPS),
          vm=vm.blood_group_map(), vmd="flag", reason="blood group pick-list; other values flagged"),
        F("blood_group", b.cf(P, "blood_group_other", "Blood group (other)", Kind.TEXT),
          vm=vm.blood_group_fallback_map(), vmd="keep",
          reason="free-text fallback for values outside the pick-list"),
        F("allergies", b.cf(P, "allergies", "Allergies", Kind.LONG_TEXT), T("json_text"),
          reason="seed 000: allergy custom field (JSON flattened to lines)"),
        F("medical_history", b.cf(P, "medical_history", "Medical history", Kind.LONG_TEXT)),
        F("emergency_contact", b.cf(P, "emergency_contact", "Emergency contact",
                                    Kind.LONG_TEXT), T("json_text")),
        F("referral_source", b.cf(P, "referral_source", "Referral source", Kind.ENUM,
                                  ["Google", "Partner Clinic", "Word of Mouth"]), vmd="keep",
          vm={}, reason="seed 001: referral source pick-list, labels kept as in the source"),
        F("referring_doctor", b.cf(P, "referring_doctor", "Referring doctor", Kind.TEXT)),
        F("referring_doctor_email", b.cf(P, "referring_doctor_email", "Referring doctor email",
                                         Kind.EMAIL), T("email")),
        F("status", b.cf(P, "patient_status", "Patient status", Kind.ENUM), vm={}, vmd="keep",
          reason="seed 001: patient status custom field"),
        F("clinic_id", "org_id", T("ref", object="clinic", dest_object=ORG),
          reason="primary clinic → the Person's Organization"),
        F("primary_practitioner_id", "owner_id", T("owner"),
          reason="owner by practitioner email match, else the fallback owner"),
        F(None, b.cf(P, "primary_practitioner", "Primary practitioner", Kind.TEXT),
          T("template", template="{primary_practitioner_name}"),
          reason="seed 000: provider stored as a custom field"),
        F("occupation", "job_title"),
        F("consent_email", b.cf(P, "consent_email", "Email consent", Kind.BOOL)),
        F("consent_sms", b.cf(P, "consent_sms", "SMS consent", Kind.BOOL)),
        F("archived", b.cf(P, "archived_in_source", "Archived in source", Kind.BOOL)),
        *times(b, P),
    ], note="Patient → Person (seeds 000, 001); source ID kept for delta pickup")


def _practitioner(b: Book) -> None:
    b.add("practitioner_user", "practitioner", "user", [
        F("email", "email", T("email"), required=True, reason="matched to users by email"),
    ], mode="users", note="Practitioners → Pipedrive users by email; unmatched → fallback owner "
                          "(seeds 000, 001)")
    P = PERSON
    b.add("practitioner_person", "practitioner", P, [
        F(["first_name", "last_name"], "name", T("join"), required=True),
        F("email", "emails", T("email")),
        F("phone", "phones", T("phone_e164")),
        F("title", b.cf(P, "salutation", "Salutation", Kind.TEXT)),
        F(None, b.cf(P, "is_provider", "Is provider", Kind.BOOL), default=True,
          reason="seed 000: 'Is Provider' flag"),
        F("role", b.cf(P, "clinical_role", "Clinical role", Kind.ENUM, ["MD", "NP", "PA", "RN"]),
          vm={}, vmd="keep", reason="seed 000: clinical role pick-list"),
        F("specialty", b.cf(P, "specialty", "Specialty", Kind.TEXT)),
        F("credentials", b.cf(P, "credentials", "Credentials", Kind.TEXT)),
        F("license_number", b.cf(P, "license_number", "License number", Kind.TEXT)),
        F("npi", b.cf(P, "npi", "NPI", Kind.TEXT)),
        F("clinic_id", "org_id", T("ref", object="clinic", dest_object=ORG)),
        F("is_patient", b.cf(P, "is_patient", "Is patient", Kind.BOOL)),
        IGN("active", "inactive staff keep their history; user matching reports them"),
        *times(b, P),
    ], when=when_in("is_patient", [True]),
        note="seed 000: a provider who is also a patient → Person with 'Is Provider'")


def _appointment_activity(b: Book) -> None:
    b.add("appointment_activity", "appointment", ACT, [
        # a cancelled or missed visit says so where it is seen: Pipedrive creates no custom
        # field on activities (activityFields is read-only), and the note may be withheld
        F("status", "subject", T("template", template="{type_name} – {start:%Y-%m-%d}{value}"),
          vm=vm.APPOINTMENT_STATUS_SUBJECT, vmd="", default="Appointment",
          reason="activity subject from visit type, date and a status that is not done"),
        F("type_name", "type", vm=vm.APPOINTMENT_TYPE_TO_PIPEDRIVE_ACTIVITY, vmd="meeting",
          reason="seed 000: appointment → activity type Meeting or Call"),
        # an activity's due_date + due_time are one UTC instant [v1 spec: "in UTC"]: a 09:00
        # Sydney visit is due 22:00 the day before in UTC, which Pipedrive shows at 09:00
        F("start", "due_date", T("date", tz="UTC"), required=True,
          reason="original start date (UTC)"),
        F("start", "due_time", T("time", tz="UTC"), reason="original start time (UTC)"),
        F(["duration_minutes", "start", "end"], "duration", T("minutes_between"), T("hhmm"),
          reason="duration HH:MM from the source or start/end"),
        F("status", "done", vm=vm.APPOINTMENT_STATUS_DONE, reason="completed → done"),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("clinic_id", "org_id", T("ref", object="clinic", dest_object=ORG)),
        F("practitioner_id", "owner_id", T("owner"), reason="provider → owner by email"),
        F(["status", "cancellation_reason", "no_show", "end", "fee", "currency",
           "procedure_codes", "diagnosis_codes", "notes"], "note",
          T("labelled", labels=["Status", "Cancellation reason", "No-show", "Ends", "Fee",
                                "Currency", "Procedure codes", "Diagnosis codes", "Visit notes"]),
          T("format", fmt="Provider: {practitioner_name}\n{value}"), T("html"),
          reason=f"seed 000: provider, status, cancellation, no-show; {NO_ACT_CF}"),
        IGN("appointment_type_id", "the type's name (type_name) is what lands"),
        *no_times(NO_ACT_CF),
    ], note="Appointment → Activity with original start/end times and owner (seed 000)")


def _appointment_deal(b: Book) -> None:
    by = {"field": "type_name", "map": {t: t for t in STANDARD_TYPES_001},
          "default": "Appointments"}
    for name in [*STANDARD_TYPES_001, "Appointments"]:
        b.pipeline(name, ["Scheduled", "Completed", "Cancelled", "No-show"])
    b.add("appointment_deal", "appointment", DEAL, [
        F(None, "title", T("template", template="{type_name} – {start:%Y-%m-%d}"),
          default="Appointment", required=True,
          reason="seed 001: the appointment type becomes the Deal name"),
        F("fee", "value", T("money"), default=0,
          reason="seed 001: fee → Deal amount, else zero"),
        F("currency", "currency", T("upper")),
        F(None, "pipeline_id", T("pipeline", pipeline_by=by),
          reason="seed 001: each appointment type gets its own pipeline"),
        F("status", "stage_id", T("stage", pipeline_by=by), vm=vm.APPOINTMENT_STATUS_TO_STAGE,
          reason="seed 001: status → pipeline stage by value"),
        F("status", "status", vm=vm.APPOINTMENT_STATUS_TO_DEAL_STATUS,
          reason="seed 001: Completed → won, Cancelled → lost, Scheduled → open"),
        F("cancellation_reason", "lost_reason", T("truncate", max=255)),
        F("start", "expected_close_date", T("date"),
          reason="seed 001: appointment date becomes the close date"),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("clinic_id", "org_id", T("ref", object="clinic", dest_object=ORG)),
        F("practitioner_id", "owner_id", T("owner"),
          reason="seed 001: practitioner → Deal owner by email; fallback owner"),
        F("type_name", b.cf(DEAL, "appointment_type", "Appointment type", Kind.ENUM,
                            STANDARD_TYPES_001), vm={}, vmd="keep",
          reason="seed 001: appointment type pick-list on the Deal"),
        F("status", b.cf(DEAL, "appointment_status", "Appointment status", Kind.ENUM,
                         list(vm.APPOINTMENT_STATUS_LABEL.values())),
          vm=vm.APPOINTMENT_STATUS_LABEL, vmd="keep", reason="original status preserved"),
        F("start", b.cf(DEAL, "appointment_start", "Appointment start", Kind.DATETIME),
          T("datetime")),
        F("end", b.cf(DEAL, "appointment_end", "Appointment end", Kind.DATETIME),
          T("datetime")),
        F(["duration_minutes", "start", "end"], b.cf(DEAL, "duration_minutes",
                                                      "Duration (minutes)", Kind.INT),
          T("minutes_between")),
        F("no_show", b.cf(DEAL, "no_show", "No-show", Kind.BOOL)),
        F("notes", b.cf(DEAL, "visit_notes", "Visit notes", Kind.LONG_TEXT)),
        F("procedure_codes", b.cf(DEAL, "procedure_codes", "Procedure codes (CPT)", Kind.TEXT),
          T("list_text")),
        F("diagnosis_codes", b.cf(DEAL, "diagnosis_codes", "Diagnosis codes (ICD-10)",
                                  Kind.TEXT), T("list_text")),
        F(None, b.cf(DEAL, "provider", "Provider", Kind.TEXT),
          T("template", template="{practitioner_name}")),
        IGN("appointment_type_id", "the type's name (type_name) is what lands"),
        *times(b, DEAL),
    ], note="Appointment → Deal; status → stage / won / lost (seed 001)")


def _reminder(b: Book, on_deal: bool) -> None:
    fields = [
        F("reminder_type", "subject", default="Appointment Reminder",
          reason="seed 001: subject reflects the reminder type"),
        F(None, "type", default="task"),
        F("due_at", "due_date", T("date", tz="UTC"), required=True,
          reason="original reminder date (UTC, with due_time)"),
        F("due_at", "due_time", T("time", tz="UTC")),
        F("completed", "done", T("bool"), reason="seed 001: completed status preserved"),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON)),
        F(None, "owner_id", T("owner"), reason="fallback owner"),
        F("channel", "note", T("labelled", labels=["Channel"]), T("html")),
        *no_times(NO_ACT_CF),
    ]
    if on_deal:
        fields.append(F("appointment_id", "deal_id",
                        T("ref", object="appointment", dest_object=DEAL),
                        reason="seed 001: task on the appointment's Deal"))
    else:
        fields.append(IGN("appointment_id", "activities cannot link to activities; the reminder"
                                            " sits on the same person"))
    b.add("reminder_activity", "appointment_reminder", ACT, fields,
          note="Appointment reminder → Activity task (seed 001)")


def _note(b: Book, on_deal: bool) -> None:
    fields = [
        F(["title", "body", "note_type", "author_name"], "content",
          T("labelled", labels=["", "", "Type", "Author"]), T("html"), required=True,
          reason="note text with author (seed 000: author preserved)"),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("practitioner_id", "user_id", T("owner"), reason="author by email match"),
        F("created_at", "add_time", T("datetime"), reason="original note creation date"),
        IGN("updated_at", "Pipedrive notes take no custom fields; the create date is kept"),
    ]
    if on_deal:
        fields.append(F("appointment_id", "deal_id",
                        T("ref", object="appointment", dest_object=DEAL),
                        reason="seed 001: notes attach to the appointment's Deal"))
    else:
        fields.append(IGN("appointment_id", "notes cannot attach to activities; on the Person"))
    b.add("clinical_note_note", "clinical_note", NOTE, fields,
          note="Clinical / progress note → Note on the Person (PHI review queue first)")


def _treatment(b: Book) -> None:
    b.pipeline("Treatment", ["In treatment", "Completed", "Cancelled"])
    b.add("treatment_deal", "treatment_record", DEAL, [
        F("title", "title", default="Treatment plan", required=True),
        F("status", "status", vm=vm.TREATMENT_STATUS_TO_DEAL_STATUS,
          reason="seed 000: completed plans archived as closed deals"),
        F(None, "pipeline_id", T("pipeline", pipeline="Treatment")),
        F("status", "stage_id", T("stage", pipeline="Treatment"),
          vm=vm.TREATMENT_STATUS_TO_STAGE, reason="seed 000: 'Treatment' pipeline stage"),
        F("estimated_cost", "value", T("money"), default=0,
          reason="seed 000: Deal amount = estimated treatment cost"),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("practitioner_id", "owner_id", T("owner")),
        F("end_date", "expected_close_date", T("date")),
        F("diagnosis_codes", b.cf(DEAL, "diagnosis_codes", "Diagnosis codes (ICD-10)",
                                  Kind.TEXT), T("list_text")),
        F("procedure_codes", b.cf(DEAL, "procedure_codes", "Procedure codes (CPT)", Kind.TEXT),
          T("list_text"), reason="seed 000: procedure codes in custom fields"),
        F("goals", b.cf(DEAL, "plan_goals", "Plan goals", Kind.LONG_TEXT)),
        F("start_date", b.cf(DEAL, "plan_start_date", "Plan start", Kind.DATE), T("date")),
        F("end_date", b.cf(DEAL, "plan_end_date", "Plan end", Kind.DATE), T("date")),
        F("notes", b.cf(DEAL, "treatment_notes", "Treatment notes", Kind.LONG_TEXT)),
        F("status", b.cf(DEAL, "plan_status", "Plan status", Kind.ENUM,
                         ["Active", "Completed", "Cancelled"]),
          vm={"active": "Active", "completed": "Completed", "cancelled": "Cancelled"}),
        IGN("appointment_id", "Pipedrive deals cannot link to other deals or activities"),
        *times(b, DEAL),
    ], note="Treatment / care plan → Deal in a Treatment pipeline + custom fields (seed 000)")


def _invoice(b: Book) -> None:
    b.pipeline("Billing", ["Pending", "Overdue", "Paid", "Cancelled"])
    b.add("invoice_deal", "invoice", DEAL, [
        F(None, "title", T("template", template="Invoice {number}"), required=True),
        F("amount", "value", T("money"), reason="seed 000: Deal amount = patient responsibility"),
        F("currency", "currency", T("upper")),
        F("status", "status", vm=vm.INVOICE_STATUS_TO_DEAL_STATUS),
        F(None, "pipeline_id", T("pipeline", pipeline="Billing")),
        F("status", "stage_id", T("stage", pipeline="Billing"), vm=vm.INVOICE_STATUS),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=PERSON),
          required=True),
        F("due_date", "expected_close_date", T("date")),
        F("number", b.cf(DEAL, "invoice_number", "Invoice number", Kind.TEXT)),
        F("status", b.cf(DEAL, "invoice_status", "Invoice status", Kind.ENUM,
                         list(vm.INVOICE_STATUS.values())), vm=vm.INVOICE_STATUS,
          reason="seed 000: current invoice status"),
        F("balance", b.cf(DEAL, "outstanding_balance", "Outstanding balance", Kind.MONEY),
          T("money"), reason="seed 000: outstanding patient balance"),
        F("issue_date", b.cf(DEAL, "invoice_date", "Invoice date", Kind.DATE), T("date")),
        F("paid_date", b.cf(DEAL, "invoice_paid_date", "Paid date", Kind.DATE), T("date")),
        F("payment_method", b.cf(DEAL, "payment_method", "Payment method", Kind.ENUM),
          vm={}, vmd="keep"),
        IGN("appointment_id", "Pipedrive deals cannot link to activities or other deals"),
        IGN("treatment_record_id", "Pipedrive deals cannot link to other deals"),
        *times(b, DEAL),
    ], note="Billing / invoice → Deal (Billing pipeline) + custom fields (seed 000)")
    pay = [IGN("patient_id", "the invoice's Deal carries the person"),
           *no_times("payments fold into the invoice Deal")]
    b.add("payment_last", "payment", DEAL, [
        F("paid_at", b.cf(DEAL, "last_payment_date", "Last payment date", Kind.DATE), T("date")),
        F("method", b.cf(DEAL, "last_payment_method", "Last payment method", Kind.ENUM),
          vm={}, vmd="keep", reason="seed 000: payment method"),
        F("note", b.cf(DEAL, "last_payment_note", "Last payment note", Kind.TEXT)),
        *pay,
    ], mode="fold", parent=("invoice", "invoice_id"),
        fold=Fold(strategy="latest", order_by="paid_at"),
        note="seed 000: last payment date and method on the Deal")
    b.add("payment_total", "payment", DEAL, [
        F("amount", b.cf(DEAL, "amount_paid_to_date", "Amount paid to date", Kind.MONEY),
          T("money"), reason="seed 000: total paid to date"),
    ], mode="fold", parent=("invoice", "invoice_id"), fold=Fold(strategy="sum"))


def _relationships(b: Book) -> None:
    P = PERSON
    relationship_fold(b, P)
    b.add("relationship_note", "patient_relationship", NOTE, [
        F(None, "content", T("template", template="Related patient ({relationship}): "
                                                  "{related_patient_name}"), T("html"),
          required=True),
        F("patient_id", "person_id", T("ref", object="patient", dest_object=P), required=True),
        F("created_at", "add_time", T("datetime")),
        IGN("updated_at", "Pipedrive notes take no custom fields"),
    ], note="seed 000: the relationship as a Note on the Person")
    care_team_fold(b, P)


def _documents(b: Book, deals: bool) -> None:
    meta = [IGN("description", "Pipedrive file uploads carry no description"),
            IGN("category", "Pipedrive file uploads carry no category"),
            *FILE_META, *no_times("the file keeps its own dates")]
    if deals:
        b.add("document_on_deal", "document", "file", meta, mode="attach",
              parent=("appointment", "parent_id"), when=when_in("parent_object", ["appointment"]),
              attach=Attach(content="file", file_name="{file_name}"),
              note="seed 001: note attachments re-uploaded to the appointment's Deal")
    if not deals:
        meta = [*meta, IGN("parent_id", "every document lands on the patient's Person")]
    b.add("document_on_person", "document", "file", meta, mode="attach",
          parent=("patient", "patient_id"),
          when=when_not_in("parent_object", ["appointment"]) if deals else None,
          attach=Attach(content="file", file_name="{file_name}"),
          note="Documents → file attachments on the Person (seed 000); over-limit files flagged")
