"""Maps that read the same for every destination (rebuild-only objects, common field groups)."""

from __future__ import annotations

from collections.abc import Callable

from ferry.mapping import value_maps as vm
from ferry.mapping.cookbook.common import IGN, Book, F, T, when_in
from ferry.mapping.model import Condition, FieldMap, Fold
from ferry.model.fields import Kind

STANDARD_TYPES_001 = ["New Patient", "Follow-up", "Consultation", "Procedure"]


def times(b: Book, obj: str) -> list[FieldMap]:
    """Original create/update times as custom datetime fields (seed 001/002: reporting
    continuity; the destination's own dates are set at migration time)."""
    return [
        F("created_at", b.cf(obj, "source_created_at", "Original create date", Kind.DATETIME),
          T("datetime"), reason="seed 001/002: original create date kept for reporting"),
        F("updated_at", b.cf(obj, "source_updated_at", "Source last modified", Kind.DATETIME),
          T("datetime"), reason="seed 001: last-modified timestamp kept for recency"),
    ]


def no_times(why: str) -> list[FieldMap]:
    return [IGN("created_at", why), IGN("updated_at", why)]


FILE_META = [
    IGN("mime_type", "used to upload the file (content type), not stored as a field"),
    IGN("size", "checked against the destination's file-size limit before upload"),
    IGN("sha256", "used to verify the downloaded content; recorded in the audit log"),
    IGN("url", "where the source serves the file; the file itself is uploaded"),
    IGN("local_path", "where Ferry staged the downloaded file"),
    IGN("parent_object", "decides which record the file lands on (when condition)"),
]


def rebuild_only(b: Book) -> None:
    """Objects no CRM can hold: exported to the rebuild guide (``ferry guide``)."""
    b.add("workflow_rebuild_guide", "workflow", "-", [], mode="none",
          note="Workflows, automations and reminder rules do not migrate: exported as a "
               "rebuild reference (seeds 000-004)")
    b.add("appointment_type_definitions", "appointment_type", "-", [], mode="none",
          note="Appointment types become activity types / pipelines / pick-list values through "
               "the value maps on appointment.type_name; the definitions go to the rebuild guide")


def campaign_definitions(b: Book) -> Condition:
    """Campaigns sent to no one in particular stay in the rebuild guide; per-patient outreach
    touchpoints become activities (the returned condition)."""
    b.add("campaign_definitions", "campaign", "-", [], mode="none",
          when=Condition(field="patient_id", empty=True),
          note="Campaign definitions (no patient) → rebuild guide: recreate them in the CRM's "
               "campaign tool")
    return Condition(field="patient_id", empty=False)


def compliance_rebuild(b: Book) -> None:
    b.add("compliance_policy_inventory", "compliance_policy", "-", [], mode="none",
          note="Compliance policies are a manual-rebuild area (seed 002): delivered as a policy "
               "inventory in the rebuild guide")


# ---------------------------------------------------------------------------------------------
# folds onto the patient's destination record (shared by the destinations without objects for
# them); ``nm`` shapes a base name into the destination's naming style


def snake(name: str) -> str:
    return name


def title_case(name: str) -> str:
    """Salesforce style: insurance_carrier → Insurance_Carrier (the connector adds __c)."""
    return "_".join(w.upper() if w in ("id", "npi", "mrn") else w.capitalize()
                    for w in name.split("_"))


def insurance_folds(b: Book, obj: str, nm: Callable[[str], str] = snake,
                    primary: str = "insurance") -> None:
    """Insurance / payer → custom fields on the patient's record; primary and secondary payers
    in separate field sets, the payer relationship as a pick-list (seed 000)."""
    for prio, pre, label in (("primary", primary, "Insurance"),
                             ("secondary", "secondary_insurance", "Secondary insurance")):
        carrier = "insurance_provider" if pre == "insurance_provider" else f"{pre}_carrier"
        policy = "policy_number" if pre == "insurance_provider" else f"{pre}_policy_number"
        pre = "insurance" if pre == "insurance_provider" else pre
        b.add(f"insurance_{prio}", "insurance_policy", obj, [
            F("carrier", b.cf(obj, nm(carrier), f"{label} carrier", Kind.TEXT)),
            F("member_id", b.cf(obj, nm(policy), f"{label} policy number", Kind.TEXT)),
            F("group_number", b.cf(obj, nm(f"{pre}_group_number"), f"{label} group number",
                                   Kind.TEXT)),
            F("coverage_type", b.cf(obj, nm(f"{pre}_coverage_type"), f"{label} coverage type",
                                    Kind.ENUM, list(vm.COVERAGE_TYPE.values())),
              vm=vm.COVERAGE_TYPE, vmd="Other", reason="coverage type value map"),
            F("priority", b.cf(obj, nm(f"{pre}_payer"), f"{label} payer", Kind.ENUM,
                               list(vm.INSURANCE_PRIORITY.values())), vm=vm.INSURANCE_PRIORITY,
              reason="seed 000: primary/secondary payer pick-list"),
            F("effective_date", b.cf(obj, nm(f"{pre}_effective"), f"{label} effective",
                                     Kind.DATE), T("date")),
            F("termination_date", b.cf(obj, nm(f"{pre}_termination"), f"{label} termination",
                                       Kind.DATE), T("date")),
            F("active", b.cf(obj, nm(f"{pre}_active"), f"{label} active", Kind.BOOL)),
            *no_times("folded into the patient's record"),
        ], mode="fold", parent=("patient", "patient_id"), when=when_in("priority", [prio]),
            fold=Fold(strategy="latest", order_by="effective_date"),
            note="Insurance / payer → custom fields on the patient's record")


def prescription_folds(b: Book, obj: str, nm: Callable[[str], str] = snake) -> None:
    """Active medications and the medication history as two long-text fields (seed 000)."""
    tpl = "{medication} {dosage} {frequency} {route}"
    hist = "{prescribed_on:%Y-%m-%d} " + tpl + " ({practitioner_name}; {pharmacy})"
    for active, name, label in ((True, "current_medications", "Current medications"),
                                (False, "medication_history", "Medication history")):
        b.add(f"prescription_{name}", "prescription", obj, [
            F(None, b.cf(obj, nm(name), label, Kind.LONG_TEXT),
              T("template", template=tpl if active else hist)),
            F("prescribed_on", b.cf(obj, nm(f"{name}_updated"), f"{label} updated", Kind.DATE),
              T("date")),
            *no_times("folded into the patient's record"),
        ], mode="fold", parent=("patient", "patient_id"), when=when_in("active", [active]),
            fold=Fold(strategy="join", order_by="prescribed_on"),
            note="seed 000: active medications and history as custom text fields")


def relationship_fold(b: Book, obj: str, nm: Callable[[str], str] = snake) -> None:
    b.add("relationship_fields", "patient_relationship", obj, [
        F("related_patient_id", b.cf(obj, nm("related_persons"), "Related persons (IDs)",
                                     Kind.TEXT),
          T("ref", object="patient", dest_object=obj), reason="seed 000: related record IDs"),
        F("relationship", b.cf(obj, nm("relationship_types"), "Relationship types", Kind.TEXT),
          vm=vm.RELATIONSHIP, vmd="keep", reason="seed 000: relationship type"),
        *no_times("folded into the patient's record"),
    ], mode="fold", parent=("patient", "patient_id"), fold=Fold(strategy="join", separator=", "),
        note="Patient-to-patient relationship → custom fields (seed 000)")


def care_team_fold(b: Book, obj: str, nm: Callable[[str], str] = snake) -> None:
    b.add("care_team", "practitioner_patient", obj, [
        F(None, b.cf(obj, nm("care_team"), "Care team", Kind.TEXT),
          T("template", template="{practitioner_name}")),
        F("role", b.cf(obj, nm("care_team_roles"), "Care team roles", Kind.TEXT)),
        IGN("primary", "the primary practitioner is the record's owner"),
        *no_times("folded into the patient's record"),
    ], mode="fold", parent=("patient", "patient_id"), fold=Fold(strategy="join", separator=", "),
        note="Practitioner–patient associations → care-team text on the patient's record")
