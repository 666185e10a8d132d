"""Odoo recipe parts: notes and messages, treatment plans, billing (two variants), outreach."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferry.mapping import value_maps as vm
from ferry.mapping.cookbook.common import IGN, Book, F, T
from ferry.mapping.cookbook.shared import campaign_definitions, no_times, times
from ferry.mapping.model import Fold
from ferry.model.fields import Kind

if TYPE_CHECKING:
    from ferry.mapping.cookbook.odoo import Names

PARTNER, LEAD, ACT, MSG, MOVE = ("res.partner", "crm.lead", "mail.activity", "mail.message",
                                 "account.move")


def notes(b: Book, n: Names, pulse: bool) -> None:
    b.add("clinical_note_message", "clinical_note", MSG, [
        F(None, "model", default="res.partner"),
        F("patient_id", "res_id", T("ref", object="patient", dest_object=PARTNER),
          required=True),
        F(["title", "body", "note_type", "author_name"], "body",
          T("labelled", labels=["", "", "Type", "Author"]), T("html"), required=True,
          reason="note text with its author"),
        F("created_at", "date", T("datetime"), reason="original note date"),
        F(None, "message_type", default="comment"),
        F(None, "subtype_xmlid", default="mail.mt_note", reason="internal note, not e-mailed"),
        IGN("practitioner_id", "the author's name is in the body; Odoo authors are partners"),
        IGN("appointment_id", "messages sit on the patient partner"),
        IGN("updated_at", "chatter messages keep their original date only"),
    ], note="Medical history / notes → mail.message on the partner (seed 004); PHI review first")
    if pulse:
        b.add("chief_complaint", "clinical_note", PARTNER, [
            F("title", b.cf(PARTNER, n("chief_complaint"), "Chief complaint", Kind.TEXT),
              reason="seed 003: x_studio_chief_complaint"),
            *no_times("folded into the partner"),
        ], mode="fold", parent=("patient", "patient_id"),
            fold=Fold(strategy="latest", order_by="created_at"),
            note="seed 003: structured EMR fields on the partner")
        b.add("reminder_activity", "appointment_reminder", ACT, [
            F(None, "res_model", default="res.partner"),
            F("patient_id", "res_id", T("ref", object="patient", dest_object=PARTNER),
              required=True),
            F(None, "activity_type_id", default="To-Do"),
            F("reminder_type", "summary", default="Appointment Reminder"),
            F("due_at", "date_deadline", T("date"), required=True),
            F(None, "user_id", T("owner")),
            F(["channel", "completed"], "note", T("labelled", labels=["Channel", "Done"]),
              T("html")),
            F("appointment_id", b.cf(ACT, n("source_appointment"), "Source appointment",
                                     Kind.TEXT), T("ref", object="appointment")),
            *times(b, ACT),
        ], note="Appointment reminder → To-Do activity on the partner")


def treatment(b: Book, n: Names, pulse: bool) -> None:
    L = LEAD
    b.pipeline("Treatment", ["In treatment", "Completed", "Cancelled"])
    b.add("treatment_lead", "treatment_record", L, [
        F("title", "name", default="Treatment plan", required=True),
        F(None, "type", default="opportunity"),
        F("patient_id", "partner_id", T("ref", object="patient", dest_object=PARTNER),
          required=True),
        F("practitioner_id", "user_id", T("owner")),
        F(None, "team_id", T("pipeline", pipeline="Treatment")),
        F("status", "stage_id", T("stage", pipeline="Treatment"),
          vm=vm.TREATMENT_STATUS_TO_STAGE),
        F("estimated_cost", "expected_revenue", T("money")),
        F("end_date", "date_deadline", T("date")),
        F(["goals", "notes"], "description", T("labelled", labels=["Goals", "Notes"]),
          T("html")),
        F("diagnosis_codes", b.cf(L, n("diagnosis_codes"), "Diagnosis codes (ICD-10)",
                                  Kind.TEXT), T("list_text")),
        F("procedure_codes", b.cf(L, n("procedure_codes"), "Procedure codes (CPT)", Kind.TEXT),
          T("list_text")),
        F("start_date", b.cf(L, n("treatment_start"), "Treatment start", Kind.DATE), T("date")),
        F("status", b.cf(L, n("treatment_status"), "Treatment status", Kind.TEXT)),
        F("appointment_id", b.cf(L, n("source_appointment"), "Source appointment", Kind.TEXT),
          T("ref", object="appointment")),
        *times(b, L),
    ], note="Treatment plan → opportunity in a Treatment team (same logic as seed 000)")
    if pulse:
        b.add("diagnosis_on_partner", "treatment_record", PARTNER, [
            F("diagnosis_codes", b.cf(PARTNER, n("diagnosis"), "Diagnosis", Kind.TEXT),
              T("list_text"), reason="seed 003: x_studio_diagnosis"),
            F("goals", b.cf(PARTNER, n("treatment_plan"), "Treatment plan", Kind.LONG_TEXT),
              reason="seed 003: treatment_plan"),
            *no_times("folded into the partner"),
        ], mode="fold", parent=("patient", "patient_id"),
            fold=Fold(strategy="join", separator="; ", order_by="start_date"))


def billing(b: Book, n: Names, variant: str | None) -> None:
    P = PARTNER
    if variant == "no_accounting":
        b.add("billing_on_partner", "invoice", P, [
            F("status", b.cf(P, n("billing_status"), "Billing status", Kind.ENUM,
                             list(vm.INVOICE_STATUS.values())), vm=vm.INVOICE_STATUS,
              reason="seed 003: x_studio_billing_status"),
            F("issue_date", b.cf(P, n("last_bill_date"), "Last bill date", Kind.DATE),
              T("date"), reason="seed 003: x_studio_last_bill_date"),
            F("amount", b.cf(P, n("last_bill_amount"), "Last bill amount", Kind.MONEY),
              T("money")),
            F("number", b.cf(P, n("last_bill_number"), "Last bill number", Kind.TEXT)),
            F("currency", b.cf(P, n("billing_currency"), "Billing currency", Kind.TEXT)),
            F("due_date", b.cf(P, n("last_bill_due"), "Last bill due", Kind.DATE), T("date")),
            F("paid_date", b.cf(P, n("last_bill_paid"), "Last bill paid", Kind.DATE), T("date")),
            # the bill's own method: the payments fold writes "Last payment method"
            F("payment_method", b.cf(P, n("last_bill_payment_method"),
                                     "Last bill payment method", Kind.TEXT)),
            IGN("appointment_id", "billing is folded per patient"),
            IGN("treatment_record_id", "billing is folded per patient"),
            *no_times("folded into the partner"),
        ], mode="fold", parent=("patient", "patient_id"),
            fold=Fold(strategy="latest", order_by="issue_date"),
            note="seed 003: CRM only → billing in partner custom fields (many:1)")
        b.add("balance_on_partner", "invoice", P, [
            F("balance", b.cf(P, n("outstanding_balance"), "Outstanding balance", Kind.MONEY),
              T("money"), reason="seed 003: x_studio_outstanding_balance (sum of invoices)"),
        ], mode="fold", parent=("patient", "patient_id"), fold=Fold(strategy="sum"))
    else:
        M = MOVE
        b.add("invoice_move", "invoice", M, [
            F(None, "move_type", default="out_invoice"),
            F("patient_id", "partner_id", T("ref", object="patient", dest_object=P),
              required=True),
            F("issue_date", "invoice_date", T("date")),
            F("due_date", "invoice_date_due", T("date")),
            F("number", "ref"),
            F("amount", "amount_total", T("money"), required=True,
              reason="written by the connector as one invoice line (amount_total is computed)"),
            F("currency", "currency_id", T("upper"), reason="ISO code; connector resolves"),
            F("status", "state", vm=vm.INVOICE_STATUS_TO_ODOO_MOVE_STATE,
              reason="posted via action_post, cancelled via button_cancel"),
            F("status", b.cf(M, n("invoice_status"), "Invoice status", Kind.ENUM,
                             list(vm.INVOICE_STATUS.values())), vm=vm.INVOICE_STATUS),
            F("balance", b.cf(M, n("outstanding_balance"), "Outstanding balance", Kind.MONEY),
              T("money")),
            F("paid_date", b.cf(M, n("paid_date"), "Paid date", Kind.DATE), T("date")),
            F("payment_method", b.cf(M, n("payment_method"), "Payment method", Kind.TEXT)),
            F("appointment_id", b.cf(M, n("source_appointment"), "Source appointment",
                                     Kind.TEXT), T("ref", object="appointment")),
            F("treatment_record_id", b.cf(M, n("source_treatment"), "Source treatment",
                                          Kind.TEXT), T("ref", object="treatment_record")),
            *times(b, M),
        ], note="seed 003: with Odoo Accounting, bills → account.move invoices (variant "
                "no_accounting folds them into partner fields)")
    b.add("payment_on_partner", "payment", P, [
        F("paid_at", b.cf(P, n("last_payment_date"), "Last payment date", Kind.DATE), T("date")),
        F("amount", b.cf(P, n("last_payment_amount"), "Last payment amount", Kind.MONEY),
          T("money")),
        F("method", b.cf(P, n("last_payment_method"), "Last payment method", Kind.TEXT)),
        F("note", b.cf(P, n("last_payment_note"), "Last payment note", Kind.TEXT)),
        IGN("invoice_id", "the payment is summarised on the patient"),
        *no_times("folded into the partner"),
    ], mode="fold", parent=("patient", "patient_id"),
        fold=Fold(strategy="latest", order_by="paid_at"))


def outreach(b: Book, n: Names) -> None:
    A = ACT
    touch = campaign_definitions(b)
    b.add("campaign_activity", "campaign", A, [
        F(None, "res_model", default="res.partner"),
        F("patient_id", "res_id", T("ref", object="patient", dest_object=PARTNER),
          required=True),
        F("channel", "activity_type_id", vm={"email": "Email", "call": "Call"}, vmd="To-Do"),
        F(None, "summary", T("template", template="Campaign: {name}")),
        F(["sent_at", "created_at"], "date_deadline", T("coalesce"), T("date"), required=True),
        F(None, "user_id", T("owner")),
        F("name", b.cf(A, n("campaign_name"), "Campaign name", Kind.TEXT),
          reason="seed 003: x_studio_campaign_name"),
        F("status", b.cf(A, n("campaign_status"), "Campaign status", Kind.TEXT)),
        F("updated_at", b.cf(A, "source_updated_at", "Source last modified", Kind.DATETIME),
          T("datetime")),
    ], when=touch, note="seed 003: campaign / outreach → activity + custom field")
    b.add("message_history", "message", MSG, [
        F(None, "model", default="res.partner"),
        F("patient_id", "res_id", T("ref", object="patient", dest_object=PARTNER),
          required=True),
        F("body", "body", T("html"), required=True),
        F(None, "subject", T("template", template="{channel} message ({direction})")),
        F("sent_at", "date", T("datetime")),
        F(None, "message_type", default="comment"),
        IGN("practitioner_id", "Odoo message authors are partners; the thread keeps the text"),
        *no_times("the message keeps its sent date"),
    ], note="seed 003: chat / messaging history → mail.message on the partner")
