"""Every object-mapping row of the five seed pages is in its recipe (row → map, target, mode)."""

from __future__ import annotations

import pytest

from ferry.mapping.recipes import load_recipe


def maps(doc):
    return {om.name: om for om in doc.objects}


def has_field(doc, map_name, target_part):
    return any(target_part in fm.target for fm in maps(doc)[map_name].fields
               if fm.status == "mapped")


def vmap(doc, map_name, target):
    return next(fm.value_map for fm in maps(doc)[map_name].fields if fm.target == target)


# seed 000 (clinic software → Pipedrive): rows → (map, target object, mode)
ROWS_000 = [
    ("Patient / Client Record → Person", "patient_person", "person", "record"),
    ("Clinic / Practice Location → Organization", "clinic_organization", "organization", "record"),
    ("Appointment / Visit → Activity", "appointment_activity", "activity", "record"),
    ("Treatment Plan → Deal + Custom Fields", "treatment_deal", "deal", "record"),
    ("Clinical Note → Note (on Person)", "clinical_note_note", "note", "record"),
    ("Insurance / Payer → Custom Fields on Person", "insurance_primary", "person", "fold"),
    ("Prescription → Custom Fields on Person", "prescription_current_medications", "person",
     "fold"),
    ("Billing / Invoice → Deal + Custom Fields", "invoice_deal", "deal", "record"),
    ("Provider / Staff → Pipedrive User", "practitioner_user", "user", "users"),
    ("Provider who is a patient → Person + Is Provider", "practitioner_person", "person",
     "record"),
    ("Document / Attachment → File on Person", "document_on_person", "file", "attach"),
    ("Patient-to-Patient Relationship → Custom Fields", "relationship_fields", "person", "fold"),
    ("Patient-to-Patient Relationship → Note", "relationship_note", "note", "record"),
]


@pytest.mark.parametrize("source", ["clinic_csv", "fhir_bulk"])
@pytest.mark.parametrize("row,name,target,mode", ROWS_000)
def test_seed_000(source, row, name, target, mode):
    om = maps(load_recipe(source, "pipedrive"))[name]
    assert (om.target, om.mode) == (target, mode), row


def test_seed_000_details():
    doc = load_recipe("clinic_csv", "pipedrive")
    assert has_field(doc, "patient_person", "custom:mrn")
    assert has_field(doc, "appointment_activity", "type")  # Meeting / Call
    assert vmap(doc, "appointment_activity", "type")["Telehealth"] == "call"
    assert has_field(doc, "insurance_primary", "insurance_payer")  # primary/secondary pick-list
    assert has_field(doc, "prescription_medication_history", "medication_history")
    assert has_field(doc, "invoice_deal", "outstanding_balance")
    assert has_field(doc, "payment_last", "last_payment_date")
    assert has_field(doc, "practitioner_person", "clinical_role")
    assert any(p.name == "Treatment" for p in doc.pipelines)


def test_seed_001():
    doc = load_recipe("practicehub", "pipedrive")
    m = maps(doc)
    assert m["appointment_deal"].target == "deal"  # Appointment → Deal
    assert vmap(doc, "appointment_deal", "status") == {
        "scheduled": "open", "completed": "won", "cancelled": "lost", "no_show": "lost"}
    assert has_field(doc, "appointment_deal", "stage_id")  # status → pipeline stage
    assert {p.name for p in doc.pipelines} >= {"New Patient", "Follow-up", "Consultation"}
    assert m["practitioner_user"].mode == "users"  # Practitioner → User
    assert has_field(doc, "clinic_organization", "industry")  # Industry defaults to Healthcare
    assert m["clinical_note_note"].fields and has_field(doc, "clinical_note_note", "deal_id")
    assert m["reminder_activity"].target == "activity"  # Appointment Reminder → Activity Task
    assert has_field(doc, "patient_person", "referral_source")
    assert has_field(doc, "insurance_primary", "insurance_carrier")
    assert has_field(doc, "patient_person", "source_created_at")  # Patient Create Date
    assert has_field(doc, "patient_person", "source_updated_at")  # Patient Update Date
    assert has_field(doc, "patient_person", "mrn")
    assert has_field(doc, "patient_person", "birthday")
    assert has_field(doc, "appointment_deal", "appointment_type")  # Deal custom pick-list
    assert has_field(doc, "appointment_deal", "owner_id")  # Practitioner → Deal owner
    assert m["patient_person"].id_field == "custom:ferry_source_id"  # Source System ID
    assert m["workflow_rebuild_guide"].mode == "none"  # Workflow → no equivalent


def test_seed_002():
    doc = load_recipe("practicehub", "salesforce")
    m = maps(doc)
    assert m["patient_contact"].target == "Contact"
    assert m["practitioner_contact"].target == "Contact" and m["practitioner_user"].mode == "users"
    j = m["practitioner_patient_junction"]
    assert j.target == "Practitioner_Patient_Relationship__c" and j.custom_object
    assert has_field(doc, "practitioner_patient_junction", "Patient_Contact")
    assert has_field(doc, "practitioner_patient_junction", "Practitioner_Contact")
    assert m["appointment_task"].target == "Task" and m["appointment_event"].target == "Event"
    assert vmap(doc, "appointment_task", "Status")["cancelled"] == "Deferred"
    for field in ("Appointment_Type", "Appointment_Location", "Visit_Notes", "OwnerId"):
        assert has_field(doc, "appointment_task", field)
    for name, obj, fields in [
        ("treatment_record", "Treatment_Record__c",
         ("Diagnosis_Code", "Procedure_Code", "Treatment_Date", "Notes", "Patient",
          "Practitioner", "Source_Appointment")),
        ("insurance_record", "Insurance_Record__c",
         ("Carrier_Name", "Member_ID", "Group_Number", "Coverage_Type", "Effective_Date",
          "Expiration_Date", "Patient", "Active")),
        ("invoice_record", "Invoice__c",
         ("Invoice_Number", "Amount", "Status", "Invoice_Date", "Payment_Date",
          "Payment_Method", "Patient", "Source_Treatment"))]:
        assert m[name].target == obj and m[name].custom_object
        for f in fields:
            assert has_field(doc, name, f), (name, f)
    assert set(vmap(doc, "invoice_record", "custom:Status").values()) == {
        "Paid", "Pending", "Overdue", "Cancelled"}
    assert m["compliance_policy_inventory"].mode == "none"  # manual-rebuild area
    assert m["file_on_treatment_record"].mode == "attach"  # Attachment / File → Files


def test_seed_003():
    doc = load_recipe("pulse", "odoo")
    m = maps(doc)
    assert m["patient_partner"].target == "res.partner"
    for f in ("studio_patient_id", "studio_date_of_birth", "studio_blood_group",
              "studio_blood_group_other", "studio_allergy_notes"):
        assert has_field(doc, "patient_partner", f), f
    bg = doc.custom_field("res.partner", "studio_blood_group")
    assert bg.options == ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
    assert m["appointment_activity"].target == "mail.activity"
    t = vmap(doc, "appointment_activity", "activity_type_id")
    assert (t["Consultation"], t["Follow-up"], t["Procedure"]) == ("Call", "Meeting", "To-Do")
    assert has_field(doc, "appointment_activity", "studio_appointment_status")
    assert has_field(doc, "appointment_activity", "studio_appointment_stage")
    assert m["prescription_attachment"].target == "ir.attachment"
    assert "practitioner_name" in m["prescription_attachment"].attach.file_name
    assert has_field(doc, "chief_complaint", "studio_chief_complaint")
    assert has_field(doc, "diagnosis_on_partner", "studio_diagnosis")
    assert m["invoice_move"].target == "account.move"
    na = maps(load_recipe("pulse", "odoo", "no_accounting"))
    assert has_field(load_recipe("pulse", "odoo", "no_accounting"), "billing_on_partner",
                     "studio_billing_status")
    assert na["balance_on_partner"].fold.strategy == "sum"
    assert has_field(doc, "campaign_activity", "studio_campaign_name")
    assert m["message_history"].target == "mail.message"
    assert m["practitioner_user"].target == "res.users"


def test_seed_004():
    doc = load_recipe("practicehub", "odoo")
    m = maps(doc)
    for f in ("date_of_birth", "blood_type", "allergies", "emergency_contact",
              "insurance_provider", "policy_number", "clinic_location", "contact_status",
              "medical_history", "referring_doctor", "referring_doctor_email"):
        assert any(f in fm.target for om in doc.objects if om.target == "res.partner"
                   for fm in om.fields), f
    for f in ("street", "street2", "city", "state_id", "zip", "country_id"):
        assert has_field(doc, "patient_partner", f)
    assert m["appointment_lead"].target == "crm.lead"
    assert [s.name for s in doc.pipelines[0].stages] == ["New", "In Progress", "Completed",
                                                         "Cancelled"]
    for f in ("visit_type", "planned_date", "appointment_time"):
        assert has_field(doc, "appointment_lead", f)
    assert has_field(doc, "reminder_on_lead", "reminder_sent")
    assert has_field(doc, "prescription_summary", "prescription_summary")
    assert m["document_attachment"].target == "ir.attachment"
    assert m["clinical_note_message"].target == "mail.message"
