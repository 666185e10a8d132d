"""Recipes into Salesforce Sales Cloud (seed 002, and the same logic for the other sources).

Objects: Account, Contact, Task, Event, custom objects Practitioner_Patient_Relationship__c,
Treatment_Record__c, Insurance_Record__c, Invoice__c; files as ContentVersion (attach).
Custom field names are the seed's API names without ``__c`` (the connector adds the suffix);
Task/Event custom fields live on the shared Activity object in Salesforce.
"""

from __future__ import annotations

from ferry.mapping import value_maps as vm
from ferry.mapping.cookbook.common import IGN, Book, F, T, when_in, when_not_in
from ferry.mapping.cookbook.shared import (
    FILE_META,
    campaign_definitions,
    compliance_rebuild,
    no_times,
    prescription_folds,
    rebuild_only,
    relationship_fold,
    title_case,
)
from ferry.mapping.model import Attach, Fold
from ferry.model.fields import Kind

ACC, CON, TASK, EVT = "Account", "Contact", "Task", "Event"
JUNCTION, TREAT, INS, INV = ("Practitioner_Patient_Relationship__c", "Treatment_Record__c",
                             "Insurance_Record__c", "Invoice__c")


def build(source: str) -> Book:
    b = Book(source, "salesforce")
    _account(b)
    _patient(b)
    _practitioner(b)
    _junction(b)
    _appointments(b)
    _reminders_notes(b)
    _treatment(b)
    _insurance(b)
    _invoice(b)
    _patient_folds(b)
    _files(b)
    _outreach(b)
    rebuild_only(b)
    compliance_rebuild(b)
    return b


def _times(b: Book, obj: str) -> list:
    return [F("created_at", b.cf(obj, "Source_Created_Date", "Source created date",
                                 Kind.DATETIME), T("datetime"),
              reason="seed 002: original createdate as a custom datetime field"),
            F("updated_at", b.cf(obj, "Source_Last_Modified", "Source last modified",
                                 Kind.DATETIME), T("datetime"))]


def _address(prefix: str, lines: list[str]) -> list:
    """Mailing*/Billing* parts from structured fields, else parsed from the one-line address."""
    return [
        F([*lines, "address"], f"{prefix}Street", T("address", part="street_lines"),
          T("truncate", max=255)),
        F(["city", "address"], f"{prefix}City", T("address", part="city"), T("truncate", max=40)),
        F(["region", "address"], f"{prefix}State", T("address", part="region")),
        F(["postcode", "address"], f"{prefix}PostalCode", T("address", part="postcode"),
          T("truncate", max=20)),
        F(["country", "address"], f"{prefix}Country", T("address", part="country")),
    ]


def _account(b: Book) -> None:
    b.add("clinic_account", "clinic", ACC, [
        F("name", "Name", T("truncate", max=255), required=True),
        *_address("Billing", ["street"]),
        F("phone", "Phone", T("phone_e164")),
        F("website", "Website"),
        F("email", b.cf(ACC, "Email", "Email", Kind.EMAIL), T("email")),
        F("billing_contact", b.cf(ACC, "Billing_Contact", "Billing contact", Kind.TEXT)),
        F(None, "Industry", default="Healthcare"),
        *_times(b, ACC),
    ], note="Clinic / location → Account (parent of patient and practitioner Contacts)")


def _patient(b: Book) -> None:
    C = CON
    b.add("patient_contact", "patient", C, [
        F("first_name", "FirstName", T("truncate", max=40)),
        F("last_name", "LastName", T("truncate", max=80), required=True,
          reason="LastName is required on Contact"),
        F("title", "Salutation"),
        F("date_of_birth", "Birthdate", T("date"), reason="seed 002: DOB"),
        F("email", "Email", T("email")),
        F("phone", "Phone", T("phone_e164")),
        F("mobile", "MobilePhone", T("phone_e164")),
        *_address("Mailing", ["street", "street2"]),
        F("clinic_id", "AccountId", T("ref", object="clinic", dest_object=ACC)),
        F("primary_practitioner_id", "OwnerId", T("owner"),
          reason="seed 002: owner from the practitioner's User, else the fallback User"),
        F("primary_practitioner_id", b.cf(C, "Primary_Practitioner", "Primary practitioner",
                                          Kind.REF, ref=C),
          T("ref", object="practitioner", dest_object=C)),
        F("occupation", "Title", T("truncate", max=128)),
        F("consent_email", "HasOptedOutOfEmail", vm={"true": False, "false": True}),
        F("consent_sms", b.cf(C, "SMS_Consent", "SMS consent", Kind.BOOL)),
        F("preferred_name", b.cf(C, "Preferred_Name", "Preferred name", Kind.TEXT)),
        F("sex", b.cf(C, "Sex", "Sex", Kind.ENUM, ["Female", "Male", "Other", "Unknown"]),
          vm=vm.SEX, vmd="keep"),
        F("mrn", b.cf(C, "MRN", "Medical record number", Kind.TEXT), reason="seed 002: MRN"),
        F("patient_number", b.cf(C, "Patient_Number", "Patient number", Kind.TEXT)),
        F("national_id", b.cf(C, "National_Id", "National / health ID", Kind.TEXT)),
        F("blood_group", b.cf(C, "Blood_Group", "Blood group", Kind.ENUM, vm.BLOOD_GROUPS),
          vm=vm.blood_group_map(), vmd="flag", reason="blood group pick-list; other values flagged"),
        F("blood_group", b.cf(C, "Blood_Group_Other", "Blood group (other)", Kind.TEXT),
          vm=vm.blood_group_fallback_map(), vmd="keep", reason="free-text fallback"),
        F("allergies", b.cf(C, "Allergies", "Allergies", Kind.LONG_TEXT), T("json_text")),
        F("medical_history", b.cf(C, "Medical_History", "Medical history", Kind.LONG_TEXT)),
        F("emergency_contact", b.cf(C, "Emergency_Contact", "Emergency contact",
                                    Kind.LONG_TEXT), T("json_text")),
        F("referral_source", b.cf(C, "Referral_Source", "Referral source", Kind.ENUM),
          vm={}, vmd="keep"),
        F("referring_doctor", b.cf(C, "Referring_Doctor", "Referring doctor", Kind.TEXT)),
        F("referring_doctor_email", b.cf(C, "Referring_Doctor_Email", "Referring doctor email",
                                         Kind.EMAIL), T("email")),
        F("status", b.cf(C, "Patient_Status", "Patient status", Kind.ENUM), vm={}, vmd="keep"),
        F("archived", b.cf(C, "Archived_In_Source", "Archived in source", Kind.BOOL)),
        F(None, b.cf(C, "Contact_Type", "Contact type", Kind.ENUM, ["Patient", "Practitioner"]),
          default="Patient"),
        *_times(b, C),
    ], note="Patient → Contact; healthcare fields as Contact custom fields (seed 002)")


def _practitioner(b: Book) -> None:
    C = CON
    b.add("practitioner_user", "practitioner", "User", [
        F("email", "Email", T("email"), required=True, reason="matched to Users by email"),
    ], mode="users", note="seed 002: practitioner → Salesforce User (matched by email; "
                          "provisioning is an admin step; unmatched → fallback User)")
    b.add("practitioner_contact", "practitioner", C, [
        F("first_name", "FirstName", T("truncate", max=40)),
        F("last_name", "LastName", T("truncate", max=80), required=True),
        F("email", "Email", T("email")),
        F("phone", "Phone", T("phone_e164")),
        F("title", "Salutation"),
        F("clinic_id", "AccountId", T("ref", object="clinic", dest_object=ACC)),
        F("license_number", b.cf(C, "License_Number", "License number", Kind.TEXT),
          reason="seed 002: credential fields on the practitioner Contact"),
        F("npi", b.cf(C, "NPI", "NPI", Kind.TEXT)),
        F("specialty", b.cf(C, "Specialty", "Specialty", Kind.TEXT)),
        F("credentials", b.cf(C, "Credentials", "Credentials", Kind.TEXT)),
        F("role", b.cf(C, "Clinical_Role", "Clinical role", Kind.ENUM), vm={}, vmd="keep"),
        F("active", b.cf(C, "Practitioner_Active", "Active practitioner", Kind.BOOL)),
        F("is_patient", b.cf(C, "Is_Patient", "Is also a patient", Kind.BOOL)),
        F(None, b.cf(C, "Contact_Type", "Contact type", Kind.ENUM), default="Practitioner"),
        *_times(b, C),
    ], note="seed 002: practitioner → Contact (clinical data) + User (ownership), many:1")


def _junction(b: Book) -> None:
    J = JUNCTION
    b.add("practitioner_patient_junction", "practitioner_patient", J, [
        F("patient_id", b.cf(J, "Patient_Contact", "Patient", Kind.REF, ref=CON),
          T("ref", object="patient", dest_object=CON), required=True),
        F("practitioner_id", b.cf(J, "Practitioner_Contact", "Practitioner", Kind.REF, ref=CON),
          T("ref", object="practitioner", dest_object=CON), required=True),
        F("role", b.cf(J, "Role", "Role", Kind.TEXT)),
        F("primary", b.cf(J, "Primary", "Primary", Kind.BOOL)),
        *_times(b, J),
    ], custom_object=True, note="seed 002: junction object with two Contact lookups, loaded "
                                "after both Contact populations")


def _appt_common(b: Book, obj: str) -> list:
    return [
        F(None, "Subject", T("template", template="{type_name} – {start:%Y-%m-%d}"),
          T("truncate", max=255), default="Appointment"),
        F("patient_id", "WhoId", T("ref", object="patient", dest_object=CON), required=True),
        F("clinic_id", "WhatId", T("ref", object="clinic", dest_object=ACC)),
        F("practitioner_id", "OwnerId", T("owner"), reason="seed 002: practitioner → OwnerId"),
        F("notes", "Description", T("truncate", max=32000)),
        F("type_name", b.cf(obj, "Appointment_Type", "Appointment type", Kind.TEXT),
          reason="seed 002: Appointment_Type__c"),
        F(None, b.cf(obj, "Appointment_Location", "Appointment location", Kind.TEXT),
          T("template", template="{clinic_name}"), reason="seed 002: Appointment_Location__c"),
        F("notes", b.cf(obj, "Visit_Notes", "Visit notes", Kind.LONG_TEXT),
          reason="seed 002: Visit_Notes__c"),
        F("status", b.cf(obj, "Appointment_Status", "Appointment status", Kind.TEXT),
          vm=vm.APPOINTMENT_STATUS_LABEL, vmd="keep", reason="original status preserved"),
        F("cancellation_reason", b.cf(obj, "Cancellation_Reason", "Cancellation reason",
                                      Kind.TEXT)),
        F("no_show", b.cf(obj, "No_Show", "No-show", Kind.BOOL)),
        F("fee", b.cf(obj, "Fee", "Fee", Kind.MONEY), T("money")),
        F("currency", b.cf(obj, "Fee_Currency", "Fee currency", Kind.TEXT)),
        F("procedure_codes", b.cf(obj, "Procedure_Codes", "Procedure codes (CPT)", Kind.TEXT),
          T("list_text")),
        F("diagnosis_codes", b.cf(obj, "Diagnosis_Codes", "Diagnosis codes (ICD-10)",
                                  Kind.TEXT), T("list_text")),
        IGN("appointment_type_id", "the type's name (type_name) is what lands"),
        *_times(b, obj),
    ]


def _appointments(b: Book) -> None:
    admin = vm.ADMIN_APPOINTMENT_TYPES
    b.add("appointment_task", "appointment", TASK, [
        *_appt_common(b, TASK),
        F("start", "ActivityDate", T("date"), reason="seed 002: start → Task.ActivityDate"),
        F("status", "Status", vm=vm.APPOINTMENT_STATUS_TO_SF_TASK, required=True,
          reason="seed 002: scheduled/completed/cancelled → Open/Completed/Deferred"),
        F(None, "Priority", default="Normal"),
        F(["start", "end", "duration_minutes"], b.cf(TASK, "Appointment_Times", "Times",
                                                     Kind.TEXT),
          T("labelled", labels=["Start", "End", "Minutes"])),
    ], when=when_in("type_name", admin),
        note="seed 002: administrative appointments (check-in calls, billing) stay Tasks")
    b.add("appointment_event", "appointment", EVT, [
        *_appt_common(b, EVT),
        F("start", "StartDateTime", T("datetime"), required=True),
        F("end", "EndDateTime", T("datetime")),
        F(["duration_minutes", "start", "end"], "DurationInMinutes",
          T("minutes_between", assume=True),
          reason="Event needs EndDateTime or DurationInMinutes: with neither at the source,"
                 " the appointment type's length (else options.default_appointment_minutes),"
                 " listed as assumed"),
    ], when=when_not_in("type_name", admin),
        note="seed 002: clinical visits with start/end → Events; your team confirms the split "
             "by editing the type lists in both `when` conditions")


def _reminders_notes(b: Book) -> None:
    b.add("reminder_task", "appointment_reminder", TASK, [
        F("reminder_type", "Subject", default="Appointment Reminder"),
        F("due_at", "ActivityDate", T("date"), required=True),
        F("completed", "Status", vm={"true": "Completed", "false": "Not Started"},
          required=True),
        F(None, "Priority", default="Normal"),
        F("patient_id", "WhoId", T("ref", object="patient", dest_object=CON)),
        F("channel", b.cf(TASK, "Reminder_Channel", "Reminder channel", Kind.TEXT)),
        F("due_at", "ReminderDateTime", T("datetime")),
        IGN("appointment_id", "Salesforce activities cannot reference other activities"),
        *_times(b, TASK),
    ], note="Appointment reminder → Task (completed status preserved)")
    b.add("clinical_note_task", "clinical_note", TASK, [
        F(None, "Subject", T("template", template="Clinical note: {title}"),
          T("truncate", max=255), required=True),
        F(["body", "author_name"], "Description", T("labelled", labels=["", "Author"]),
          T("truncate", max=32000), required=True),
        F(None, "Status", default="Completed"),
        F(None, "Priority", default="Normal"),
        F("created_at", "ActivityDate", T("date")),
        F("patient_id", "WhoId", T("ref", object="patient", dest_object=CON), required=True),
        F("practitioner_id", "OwnerId", T("owner")),
        F("note_type", b.cf(TASK, "Note_Type", "Note type", Kind.TEXT)),
        F("appointment_id", b.cf(TASK, "Source_Appointment", "Source appointment", Kind.TEXT),
          T("ref", object="appointment")),
        F("updated_at", b.cf(TASK, "Source_Last_Modified", "Source last modified",
                             Kind.DATETIME), T("datetime")),
    ], note="Clinical note → completed Task on the Contact (carries the source id; PHI review "
            "first)")


def _treatment(b: Book) -> None:
    R = TREAT
    b.add("treatment_record", "treatment_record", R, [
        F("title", "Name", T("truncate", max=80), default="Treatment record"),
        F("diagnosis_codes", b.cf(R, "Diagnosis_Code", "Diagnosis code (ICD)", Kind.TEXT),
          T("list_text"), reason="seed 002: ICD codes as text"),
        F("procedure_codes", b.cf(R, "Procedure_Code", "Procedure code (CPT)", Kind.TEXT),
          T("list_text"), reason="seed 002: CPT codes as text"),
        F("start_date", b.cf(R, "Treatment_Date", "Treatment date", Kind.DATE), T("date")),
        F("notes", b.cf(R, "Notes", "Notes", Kind.LONG_TEXT)),
        F("patient_id", b.cf(R, "Patient", "Patient", Kind.REF, ref=CON),
          T("ref", object="patient", dest_object=CON), required=True),
        F("practitioner_id", b.cf(R, "Practitioner", "Practitioner", Kind.REF, ref=CON),
          T("ref", object="practitioner", dest_object=CON)),
        F("appointment_id", b.cf(R, "Source_Appointment", "Source appointment", Kind.TEXT),
          T("ref", object="appointment"),
          reason="seed 002: Source_Appointment__c (activity ids as text: lookups to Task are "
                 "not allowed)"),
        F("goals", b.cf(R, "Goals", "Goals", Kind.LONG_TEXT)),
        F("status", b.cf(R, "Status", "Status", Kind.ENUM, ["Active", "Completed", "Cancelled"]),
          vm={"active": "Active", "completed": "Completed", "cancelled": "Cancelled"}),
        F("end_date", b.cf(R, "End_Date", "End date", Kind.DATE), T("date")),
        F("estimated_cost", b.cf(R, "Estimated_Cost", "Estimated cost", Kind.MONEY),
          T("money")),
        F("practitioner_id", "OwnerId", T("owner")),
        *_times(b, R),
    ], custom_object=True, note="seed 002: Treatment_Record__c custom object")


def _insurance(b: Book) -> None:
    R = INS
    b.add("insurance_record", "insurance_policy", R, [
        F(None, "Name", T("template", template="{carrier} ({priority})"),
          T("truncate", max=80), required=True),
        F("carrier", b.cf(R, "Carrier_Name", "Carrier name", Kind.TEXT)),
        F("member_id", b.cf(R, "Member_ID", "Member ID", Kind.TEXT)),
        F("group_number", b.cf(R, "Group_Number", "Group number", Kind.TEXT)),
        F("coverage_type", b.cf(R, "Coverage_Type", "Coverage type", Kind.ENUM,
                                list(vm.COVERAGE_TYPE.values())),
          vm=vm.COVERAGE_TYPE, vmd="Other", reason="seed 002: value-mapped pick-list"),
        F("effective_date", b.cf(R, "Effective_Date", "Effective date", Kind.DATE), T("date")),
        F("termination_date", b.cf(R, "Expiration_Date", "Expiration date", Kind.DATE),
          T("date")),
        F("active", b.cf(R, "Active", "Active", Kind.BOOL), reason="seed 002: Active__c"),
        F("priority", b.cf(R, "Priority", "Priority", Kind.ENUM,
                           list(vm.INSURANCE_PRIORITY.values())), vm=vm.INSURANCE_PRIORITY),
        F("patient_id", b.cf(R, "Patient", "Patient", Kind.REF, ref=CON),
          T("ref", object="patient", dest_object=CON), required=True),
        *_times(b, R),
    ], custom_object=True, note="seed 002: Insurance_Record__c, loaded after Contacts")


def _invoice(b: Book) -> None:
    R = INV
    b.add("invoice_record", "invoice", R, [
        F(None, "Name", T("template", template="Invoice {number}"), required=True),
        F("number", b.cf(R, "Invoice_Number", "Invoice number", Kind.TEXT)),
        F("amount", b.cf(R, "Amount", "Amount", Kind.MONEY), T("money")),
        F("status", b.cf(R, "Status", "Status", Kind.ENUM, list(vm.INVOICE_STATUS.values())),
          vm=vm.INVOICE_STATUS, reason="seed 002: Paid, Pending, Overdue, Cancelled"),
        F("issue_date", b.cf(R, "Invoice_Date", "Invoice date", Kind.DATE), T("date")),
        F("paid_date", b.cf(R, "Payment_Date", "Payment date", Kind.DATE), T("date")),
        F("payment_method", b.cf(R, "Payment_Method", "Payment method", Kind.ENUM),
          vm={}, vmd="keep"),
        F("patient_id", b.cf(R, "Patient", "Patient", Kind.REF, ref=CON),
          T("ref", object="patient", dest_object=CON)),
        F("treatment_record_id", b.cf(R, "Source_Treatment", "Source treatment", Kind.REF,
                                      ref=TREAT),
          T("ref", object="treatment_record", dest_object=TREAT)),
        F("appointment_id", b.cf(R, "Source_Appointment", "Source appointment", Kind.TEXT),
          T("ref", object="appointment")),
        F("balance", b.cf(R, "Balance", "Outstanding balance", Kind.MONEY), T("money")),
        F("currency", b.cf(R, "Currency", "Currency", Kind.TEXT)),
        F("due_date", b.cf(R, "Due_Date", "Due date", Kind.DATE), T("date")),
        *_times(b, R),
    ], custom_object=True, note="seed 002: Invoice__c custom object")
    b.add("payment_on_invoice", "payment", R, [
        F("amount", b.cf(R, "Last_Payment_Amount", "Last payment amount", Kind.MONEY),
          T("money")),
        F("method", b.cf(R, "Last_Payment_Method", "Last payment method", Kind.TEXT)),
        F("paid_at", b.cf(R, "Last_Payment_Date", "Last payment date", Kind.DATE), T("date")),
        F("note", b.cf(R, "Last_Payment_Note", "Last payment note", Kind.TEXT)),
        IGN("patient_id", "the invoice carries the patient"),
        *no_times("folded into the invoice"),
    ], mode="fold", parent=("invoice", "invoice_id"),
        fold=Fold(strategy="latest", order_by="paid_at"))


def _patient_folds(b: Book) -> None:
    C = CON
    b.add("insurance_carrier_on_contact", "insurance_policy", C, [
        F("carrier", b.cf(C, "Insurance_Carrier", "Insurance carrier", Kind.TEXT),
          reason="seed 002: insurance carrier on the Contact"),
    ], mode="fold", parent=("patient", "patient_id"), when=when_in("priority", ["primary"]),
        fold=Fold(strategy="latest", order_by="effective_date"))
    prescription_folds(b, C, title_case)
    relationship_fold(b, C, title_case)


def _files(b: Book) -> None:
    meta = [F("description", "Description", T("truncate", max=1000)),
            IGN("category", "kept in the file title"), *FILE_META,
            *no_times("the file keeps its own dates")]
    for obj, dest, via in (("patient", CON, "patient_id"), ("practitioner", CON, "parent_id"),
                           ("appointment", None, "parent_id"),
                           ("treatment_record", TREAT, "parent_id"), ("invoice", INV, "parent_id")):
        fields = meta if via == "parent_id" else [*meta, IGN("parent_id", "patient files use "
                                                                         "patient_id")]
        b.add(f"file_on_{obj}", "document", "ContentVersion", fields, mode="attach",
              parent=(obj, via), when=when_in("parent_object", [obj]),
              attach=Attach(content="file", file_name="{file_name}"),
              note=f"seed 002: files re-uploaded as Salesforce Files linked to the "
                   f"{dest or 'Task/Event'} of the {obj}")


def _outreach(b: Book) -> None:
    touch = campaign_definitions(b)
    b.add("campaign_task", "campaign", TASK, [
        F(None, "Subject", T("template", template="Campaign: {name}"), T("truncate", max=255),
          required=True),
        F("name", b.cf(TASK, "Campaign_Name", "Campaign name", Kind.TEXT)),
        F("channel", "TaskSubtype", vm={"email": "Email", "call": "Call"}, vmd="Task"),
        F("status", "Status", vm={"sent": "Completed", "delivered": "Completed",
                                  "opened": "Completed"}, vmd="Not Started"),
        F(None, "Priority", default="Normal"),
        F("sent_at", "ActivityDate", T("date")),
        F("patient_id", "WhoId", T("ref", object="patient", dest_object=CON)),
        *_times(b, TASK),
    ], when=touch, note="Campaign / outreach touchpoint → Task with the campaign name")
    b.add("message_task", "message", TASK, [
        F(None, "Subject", T("template", template="Message ({direction}, {channel})"),
          required=True),
        F("body", "Description", T("truncate", max=32000), required=True),
        F(None, "Status", default="Completed"),
        F(None, "Priority", default="Normal"),
        F("sent_at", "ActivityDate", T("date")),
        F("sent_at", b.cf(TASK, "Message_Sent_At", "Message sent at", Kind.DATETIME),
          T("datetime")),
        F("patient_id", "WhoId", T("ref", object="patient", dest_object=CON), required=True),
        F("practitioner_id", "OwnerId", T("owner")),
        *_times(b, TASK),
    ], note="Chat / messaging history → completed Tasks on the Contact")
