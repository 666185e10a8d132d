"""``ferry guide``: the rebuild reference for what cannot migrate.

Workflows, automations, reminder rules and compliance policies have no API-writable equivalent
in a sales CRM (Pipedrive Automations are not exposed over REST; Salesforce retired Workflow
Rules and Process Builder for Flow; Odoo automation rules are configuration, not data). So the
source definitions are exported as a reference — trigger, conditions, actions — with the steps
to rebuild each one in the destination's own tool. Reminder *rules* are inferred from the
reminder records (channel and lead time before the appointment), because sources store the
reminders they sent, not the rule that sent them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ferry.mapping.model import MappingDoc
from ferry.model.entities import Appointment, AppointmentReminder, CompliancePolicy, Workflow
from ferry.model.staging import StagingStore


@dataclass(frozen=True)
class Tool:
    name: str  # the destination's automation tool
    where: str  # how to get there
    objects: dict[str, str]  # source object → destination object wording
    created: str  # "record created" trigger wording
    changed: str  # "field changed" trigger wording
    scheduled: str  # time-based trigger wording
    email: str
    sms: str
    task: str
    wait: str
    notify: str
    tag: str
    policies: str
    caveats: str


TOOLS: dict[str, Tool] = {
    "pipedrive": Tool(
        "Pipedrive Automations", "Automations (left menu) → Create automation → From scratch",
        {"appointment": "Deal", "patient": "Person", "invoice": "Deal (invoice fields)",
         "treatment_record": "Deal (treatment pipeline)", "document": "Person (files)",
         "schedule": "Deal/Person date field"},
        "trigger “{obj} created”", "trigger “{obj} updated”, condition on the changed field",
        "trigger on a date field (“{obj} field date reached”) or a recurring activity",
        "action “Send email” (email template; needs a connected mailbox)",
        "no native SMS action: use a Marketplace SMS app or a webhook action to the SMS provider",
        "action “Create activity” (type Task, assignee = deal owner)",
        "“Delay” step between actions (Growth plan and above)",
        "action “Send notification” / “Create activity” for the user",
        "action “Update person/deal field” (labels)",
        "Pipedrive has no policy module: keep the documents in a shared drive linked from the"
        " company's Insights/Docs, and track acknowledgement with a custom field on users' deals"
        " or an activity per practitioner, repeated yearly.",
        "Automation counts are capped per plan (30/60/90 active); Automations cannot be created"
        " through the REST API, so each is rebuilt by hand in the builder."),
    "salesforce": Tool(
        "Salesforce Flow", "Setup → Flows → New Flow",
        {"appointment": "Event / Opportunity", "patient": "Contact",
         "invoice": "Invoice__c", "treatment_record": "Treatment_Plan__c",
         "document": "ContentDocumentLink", "schedule": "Contact"},
        "Record-Triggered Flow on {obj}: “A record is created”",
        "Record-Triggered Flow on {obj}: “A record is updated”, entry condition on the field,"
        " “only when a record is updated to meet the condition requirements”",
        "Schedule-Triggered Flow (daily/weekly) on {obj}, or a Scheduled Path on a"
        " record-triggered flow relative to a date field",
        "action “Send Email” (or an Email Alert with a Classic email template)",
        "no native SMS: Digital Engagement / a Marketing Cloud or AppExchange SMS action",
        "“Create Records” element for a Task (OwnerId = record owner)",
        "a Scheduled Path (offset N days from the trigger or a date field)",
        "“Send Custom Notification” action, or a Chatter post",
        "“Update Records” element setting a picklist value",
        "Upload the policy documents as Files (ContentDocument) and record acknowledgement in"
        " the Compliance_Documents__c multi-select on the practitioner's Contact; a yearly"
        " Schedule-Triggered Flow can create re-acknowledgement Tasks.",
        "Workflow Rules and Process Builder are retired: build Flows only. Test in a sandbox and"
        " deploy with a change set."),
    "odoo": Tool(
        "Odoo Automation Rules", "Settings → Technical → Automation Rules (developer mode)",
        {"appointment": "crm.lead", "patient": "res.partner", "invoice": "crm.lead / account.move",
         "treatment_record": "crm.lead", "document": "ir.attachment", "schedule": "res.partner"},
        "Automation Rule on {obj}, trigger “On creation”",
        "Automation Rule on {obj}, trigger “On update” with “Trigger fields” set to the field and"
        " a domain for the new value",
        "Automation Rule trigger “Based on date field” (with a delay), or a Scheduled Action"
        " (ir.cron) for recurring work",
        "action “Send email” with a mail template",
        "action “Send SMS” with an SMS template (needs Odoo IAP SMS credits)",
        "action “Create activity” (To-Do, assigned to the salesperson)",
        "the trigger's delay (“Delay after trigger date”)",
        "action “Create activity” or “Add followers”",
        "action “Update the record” (tag_ids)",
        "Store policies in Documents (or Knowledge) and schedule a yearly “Acknowledge policy”"
        " activity per employee; acknowledgements can be kept as a many2many on res.users.",
        "Automation rules run as the superuser unless restricted; keep email volume within the"
        " database's mail limits (Odoo Online)."),
}


def _tool(destination: str) -> Tool:
    return TOOLS.get(destination, TOOLS["pipedrive"])


def _trigger(trigger: str, t: Tool) -> str:
    head, _, event = trigger.partition(".")
    obj = t.objects.get(head, head.replace("_", " ").title())
    if head == "schedule":
        return t.scheduled.format(obj=obj) + f" ({event or 'recurring'})"
    if event in ("created",):
        return t.created.format(obj=obj)
    return t.changed.format(obj=obj) + (f" ({event.replace('_', ' ')})" if event else "")


def _action(action: str, t: Tool) -> str:
    a = action.lower()
    if "sms" in a:
        return f"{action} → {t.sms}"
    if "email" in a:
        return f"{action} → {t.email}"
    if "wait" in a or "delay" in a or re.search(r"\d+\s*(h|hours?|days?)\b", a) and "before" in a:
        return f"{action} → {t.wait}"
    if "task" in a:
        return f"{action} → {t.task}"
    if "notify" in a:
        return f"{action} → {t.notify}"
    if "tag" in a:
        return f"{action} → {t.tag}"
    return f"{action} → rebuild by hand in {t.name}"


def _hours(delta_s: float) -> str:
    h = round(delta_s / 3600)
    return f"{h // 24} days" if h >= 48 and h % 24 == 0 else f"{h} hours"


def reminder_rules(store: StagingStore) -> list[dict[str, Any]]:
    """Reminder rules inferred from reminder records: (channel, type, lead time) and counts."""
    rules: Counter[tuple[str, str, str]] = Counter()
    done: Counter[tuple[str, str, str]] = Counter()
    for r in store.iter_records("appointment_reminder"):
        assert isinstance(r, AppointmentReminder)
        appt = store.get("appointment", r.appointment_id)
        lead = "unknown lead time"
        if appt is not None and isinstance(appt.record, Appointment):
            lead = _hours((appt.record.start - r.due_at).total_seconds()) + " before"
        key = (r.channel or "unknown", r.reminder_type or "reminder", lead)
        rules[key] += 1
        done[key] += int(r.completed)
    return [{"channel": c, "type": t, "when": lead, "reminders": n, "completed": done[(c, t, lead)]}
            for (c, t, lead), n in rules.most_common()]


def guide(store: StagingStore, destination: str, doc: MappingDoc | None = None
          ) -> dict[str, Any]:
    """The rebuild reference as report data."""
    t = _tool(destination)
    workflows = []
    for w in store.iter_records("workflow"):
        assert isinstance(w, Workflow)
        workflows.append({
            "ref": f"source:workflow:{w.source_id}", "name": w.name, "active": w.active,
            "trigger": w.trigger, "conditions": w.conditions, "actions": w.actions,
            "rebuild_trigger": _trigger(w.trigger, t),
            "rebuild_conditions": [f"condition “{c}” (a filter on the trigger)"
                                   for c in w.conditions] or ["none"],
            "rebuild_actions": [_action(a, t) for a in w.actions]})
    reminders = reminder_rules(store)
    reminder_steps = [
        {"rule": f"{r['channel']} {r['type']} {r['when']} the appointment",
         "reminders_seen": r["reminders"],
         "rebuild": f"{_trigger('appointment.created', t)}; {t.wait} until {r['when']} the"
                    f" start; then {_action('send ' + r['channel'], t).split(' → ', 1)[1]}"}
        for r in reminders]
    policies = []
    for p in store.iter_records("compliance_policy"):
        assert isinstance(p, CompliancePolicy)
        policies.append({"ref": f"source:compliance_policy:{p.source_id}", "name": p.name,
                         "category": p.category, "version": p.version,
                         "acknowledged_by": len(p.acknowledged_by), "rebuild": t.policies})
    not_migrated = []
    if doc is not None:
        for om in doc.objects:
            if om.mode == "none":
                not_migrated.append({"map": om.name, "source": om.source,
                                     "records": store.count(om.source),
                                     "why": om.note or "mode none in the confirmed map"})
    return {"destination": destination, "tool": t.name, "where": t.where,
            "caveats": t.caveats,
            "summary": {"workflows": len(workflows), "active_workflows": sum(
                w["active"] for w in workflows), "reminder_rules": len(reminders),
                "policies": len(policies), "maps_not_migrated": len(not_migrated)},
            "workflows": workflows, "reminder_rules": reminder_steps,
            "compliance_policies": policies, "not_migrated": not_migrated}
