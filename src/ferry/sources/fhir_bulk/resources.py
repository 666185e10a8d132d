"""FHIR R4 resources → canonical records (the "How the brief's resources map" table of NOTES §4).

Each mapper takes one resource and returns ``(object, data)`` pairs, data being the dict handed
to ``parse_record``. Most resources give one record; a Patient also gives its care-team links
(``generalPractitioner``), and some give nothing of their own but *facts about a patient*
(allergies, conditions, blood group, a non-patient emergency contact) that the reader folds into
the patient record through a side index (see ``index.py``). A DocumentReference is a clinical
note when it is typed as one (LOINC note codes or category ``clinical-note``), else a document.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ferry.sources.fhir_bulk import fhirvals as F

Out = list[tuple[str, dict[str, Any]]]
NOTE_CODES = {"11506-3", "34109-9", "11488-4", "18842-5", "34117-2", "28570-0", "51847-2"}
BLOOD_GROUP_CODES = {"882-1", "883-9"}
RELATED_PATIENT_EXT = F.FERRY_EXT + "related-patient"
#: (field, why) a mapper could not read, for the reader to list as kept errors (never a value)
ISSUES = "_issues"
APPT_STATUS = {"booked": "scheduled", "proposed": "scheduled", "pending": "scheduled",
               "arrived": "scheduled", "checked-in": "scheduled", "waitlist": "scheduled",
               "fulfilled": "completed", "cancelled": "cancelled", "noshow": "no_show"}
ENC_STATUS = {"finished": "completed", "cancelled": "cancelled", "planned": "scheduled",
              "in-progress": "scheduled", "arrived": "scheduled"}
INV_STATUS = {"balanced": "paid", "issued": "pending", "draft": "pending",
              "cancelled": "cancelled"}
PLAN_STATUS = {"active": "active", "completed": "completed", "revoked": "cancelled",
               "draft": "active", "on-hold": "active"}
ROLE_RELATION = {"SPS": "spouse", "HUSB": "spouse", "WIFE": "spouse", "DOMPART": "spouse",
                 "PRN": "parent", "MTH": "parent", "FTH": "parent", "CHILD": "child",
                 "SON": "child", "DAU": "child", "SIB": "sibling", "BRO": "sibling",
                 "SIS": "sibling", "GUARD": "guarantor", "GUAR": "guarantor"}


def _actor(participants: Any, rtype: str) -> str | None:
    for p in participants or []:
        actor = (p or {}).get("actor") or (p or {}).get("individual")
        if F.ref_type(actor) == rtype:
            return F.ref(actor)
    return None


def patient(r: dict[str, Any]) -> Out:
    d = F.base(r) | F.name(r.get("name")) | F.telecom(r.get("telecom")) | F.address(r.get("address"))
    d.pop("website", None)
    if r.get("birthDate") is not None:
        if not isinstance(r["birthDate"], str):
            raise F.BadResource("birthDate", "not a FHIR date")
        born = F.date(r["birthDate"])
        if born:
            d["date_of_birth"] = born
        elif len(r["birthDate"]) >= 10:  # a full date no calendar has (1980-02-31)
            d[ISSUES] = [("date_of_birth", "birthDate is not a real calendar date: left"
                          " empty, the record is kept; fix it at the source")]
        else:
            d.setdefault("custom", {})["birth_date_partial"] = {
                "type": "text", "value": str(r["birthDate"]), "label": "Birth date (partial)"}
    if r.get("gender"):
        d["sex"] = str(r["gender"])
    died = r.get("deceasedDateTime")
    if isinstance(died, str) and F.date(died):  # the day as written, in its own offset
        d["deceased_date"] = F.date(died)
    for ident in r.get("identifier") or []:
        if not isinstance(ident, dict) or not ident.get("value"):
            continue
        code = F.codes(ident.get("type"))
        system = str(ident.get("system", ""))
        if "MR" in code or "mrn" in system.lower():
            d.setdefault("mrn", str(ident["value"]))
        elif "patient-number" in system or "PN" in code:
            d.setdefault("patient_number", str(ident["value"]))
        elif "SS" in code or "NI" in code or "national" in system:
            d.setdefault("national_id", str(ident["value"]))
    if r.get("active") is False:
        d["archived"] = True
    d["clinic_id"] = F.ref(r.get("managingOrganization"))
    gps = [F.ref(g) for g in r.get("generalPractitioner") or []]
    gps = [g for g in gps if g and not g.startswith(("Organization", "PractitionerRole"))]
    if gps:
        d["primary_practitioner_id"] = gps[0]
    out: Out = [("patient", d)]
    for n, g in enumerate(gps):
        out.append(("practitioner_patient", {"source_id": f"{r['id']}:{g}", "patient_id": r["id"],
                                             "practitioner_id": g, "primary": n == 0}))
    return out


def practitioner(r: dict[str, Any]) -> Out:
    d = F.base(r) | F.name(r.get("name")) | F.telecom(r.get("telecom"))
    for k in ("website", "mobile", "preferred_name"):
        d.pop(k, None)
    quals = [F.text(q.get("code")) for q in r.get("qualification") or [] if isinstance(q, dict)]
    if any(quals):
        d["credentials"] = ", ".join(q for q in quals if q)
    for ident in r.get("identifier") or []:
        if isinstance(ident, dict) and "us-npi" in str(ident.get("system", "")):
            d["npi"] = str(ident.get("value"))
        elif isinstance(ident, dict) and ident.get("value"):
            d.setdefault("license_number", str(ident["value"]))
    if r.get("active") is False:
        d["active"] = False
    return [("practitioner", d)]


def practitioner_role(r: dict[str, Any]) -> dict[str, Any]:
    """What a PractitionerRole adds to its practitioner (joined by the reader, few of them)."""
    out: dict[str, Any] = {}
    if text := F.text(F.first(r.get("code"))):
        out["role"] = text
    if text := F.text(F.first(r.get("specialty"))):
        out["specialty"] = text
    org = F.ref(r.get("organization")) or F.ref(F.first(r.get("location")))
    if org:
        out["clinic_id"] = org
    return out


def organization(r: dict[str, Any]) -> Out:
    d = F.base(r) | F.telecom(r.get("telecom")) | F.address(r.get("address"))
    d.pop("mobile", None)
    d.pop("street2", None)
    d["name"] = str(r.get("name") or r["id"])
    return [("clinic", d)]


def location(r: dict[str, Any]) -> Out:
    """A site. When it is the site record of an Organization with the same id (one clinic
    exported as both), the Organization already is the clinic and the Location adds nothing."""
    if F.ref(r.get("managingOrganization")) == r["id"]:
        return []
    d = F.base(r) | F.telecom(r.get("telecom")) | F.address([r.get("address")])
    d.pop("mobile", None)
    d.pop("street2", None)
    d["name"] = str(r.get("name") or r["id"])
    return [("clinic", d)]


def related_person(r: dict[str, Any]) -> Out:
    other = next((F.ref(e.get("valueReference")) for e in r.get("extension") or []
                  if isinstance(e, dict) and e.get("url") == RELATED_PATIENT_EXT), None)
    if other is None:
        return []  # a contact who is not a patient: folded into the patient (index.py)
    rel = "other"
    for c in F.codes(r.get("relationship")):
        rel = ROLE_RELATION.get(c, rel)
    d = F.base(r)
    d.get("custom", {}).pop("related_patient", None)
    if not d.get("custom"):
        d.pop("custom", None)
    d |= {"patient_id": F.ref(r.get("patient")), "related_patient_id": other,
          "relationship": rel}
    return [("patient_relationship", d)]


def appointment(r: dict[str, Any]) -> Out:
    d = F.base(r)
    parts = r.get("participant")
    d |= {"patient_id": _actor(parts, "Patient"), "practitioner_id": _actor(parts, "Practitioner"),
          "clinic_id": _actor(parts, "Location") or _actor(parts, "Organization"),
          "status": APPT_STATUS.get(str(r.get("status")), str(r.get("status") or "scheduled")),
          "start": F.instant(r.get("start")), "end": F.instant(r.get("end")),
          "duration_minutes": r.get("minutesDuration"),
          "type_name": F.text(r.get("appointmentType")) or F.text(F.first(r.get("serviceType"))),
          "notes": r.get("comment") or r.get("description"),
          "cancellation_reason": F.text(r.get("cancelationReason"))}
    d["no_show"] = r.get("status") == "noshow"
    d["diagnosis_codes"] = F.codes(r.get("reasonCode"))
    if r.get("created") and "created_at" not in d:
        d["created_at"] = F.instant(r["created"])
    return [("appointment", {k: v for k, v in d.items() if v is not None})]


def encounter(r: dict[str, Any]) -> Out:
    """A visit with no Appointment behind it becomes an appointment; one with an Appointment
    is already that appointment (the IG exports both), so it adds nothing."""
    if r.get("appointment"):
        return []
    d = F.base(r)
    period = r.get("period") or {}
    d |= {"patient_id": F.ref(r.get("subject")), "practitioner_id": _actor(r.get("participant"),
                                                                             "Practitioner"),
          "clinic_id": F.ref(r.get("serviceProvider")),
          "status": ENC_STATUS.get(str(r.get("status")), "completed"),
          "start": F.instant(period.get("start")), "end": F.instant(period.get("end")),
          "type_name": F.text(F.first(r.get("type")))}
    return [("appointment", {k: v for k, v in d.items() if v is not None})]


def document_reference(r: dict[str, Any]) -> Out:
    d = F.base(r)
    content = F.first(r.get("content")) or {}
    att = content.get("attachment") or {}
    is_note = (F.has_code(r.get("type"), *NOTE_CODES)
               or "clinical-note" in F.codes(r.get("category")))
    subject = F.ref(r.get("subject"))
    author = F.ref(F.first(r.get("author")))
    ctx = r.get("context") or {}
    enc = next((F.ref(x) for x in ctx.get("related") or [] if F.ref_type(x) == "Appointment"),
               None) or F.ref(F.first(ctx.get("encounter")))
    if is_note and att.get("data") and att.get("contentType", "").startswith("text/"):
        body = base64.b64decode(att["data"]).decode("utf-8", errors="replace")
        d |= {"patient_id": subject, "practitioner_id": author, "appointment_id": enc,
              "title": att.get("title") or r.get("description"), "body": body,
              "note_type": F.text(r.get("type"))}
        if "created_at" not in d and r.get("date"):
            d["created_at"] = F.instant(r["date"])
        return [("clinical_note", {k: v for k, v in d.items() if v is not None})]
    d |= {"patient_id": subject, "parent_id": subject, "file_name": att.get("title") or r["id"],
          "mime_type": att.get("contentType"), "size": att.get("size"),
          "url": att.get("url"), "description": r.get("description"),
          "category": F.text(F.first(r.get("category"))) or F.text(r.get("type"))}
    if att.get("hash"):
        d.setdefault("custom", {})["sha1_base64"] = {"type": "text", "value": att["hash"],
                                                     "label": "SHA-1 (base64)"}
    if "created_at" not in d and (att.get("creation") or r.get("date")):
        d["created_at"] = F.instant(att.get("creation") or r.get("date"))
    return [("document", {k: v for k, v in d.items() if v is not None})]


def observation(r: dict[str, Any]) -> Out:
    if F.has_code(r.get("code"), *BLOOD_GROUP_CODES):
        return []  # folded into the patient as blood_group (index.py)
    d = F.base(r)
    value = _observation_value(r)
    title = F.text(r.get("code")) or "Observation"
    d |= {"patient_id": F.ref(r.get("subject")), "title": title,
          "body": f"{title}: {value}" if value else title, "note_type": "observation",
          "practitioner_id": F.ref(F.first(r.get("performer"))),
          "created_at": d.get("created_at") or F.instant(r.get("effectiveDateTime"))}
    return [("clinical_note", {k: v for k, v in d.items() if v is not None})]


def _observation_value(r: dict[str, Any]) -> str | None:
    if isinstance(r.get("valueQuantity"), dict):
        q = r["valueQuantity"]
        return f"{q.get('value')} {q.get('unit') or q.get('code') or ''}".strip()
    for k in ("valueString", "valueInteger", "valueBoolean"):
        if k in r:
            return str(r[k])
    if "valueCodeableConcept" in r:
        return F.text(r["valueCodeableConcept"])
    parts = [f"{F.text(c.get('code'))} {_observation_value(c) or ''}".strip()
             for c in r.get("component") or [] if isinstance(c, dict)]
    return ", ".join(parts) or None


def care_plan(r: dict[str, Any]) -> Out:
    d = F.base(r)
    period = r.get("period") or {}
    goals = [str(n.get("text")) for n in r.get("note") or [] if isinstance(n, dict)
             and n.get("text")]
    d |= {"patient_id": F.ref(r.get("subject")), "title": r.get("title"),
          "status": PLAN_STATUS.get(str(r.get("status")), "active"),
          "start_date": F.date(period.get("start")), "end_date": F.date(period.get("end")),
          "practitioner_id": F.ref(r.get("author")), "notes": r.get("description"),
          "goals": "\n".join(g for g in goals if g) or None,
          "procedure_codes": F.codes([a.get("detail", {}).get("code")
                                      for a in r.get("activity") or [] if isinstance(a, dict)]),
          "diagnosis_codes": F.codes(r.get("category"), "icd")}
    return [("treatment_record", {k: v for k, v in d.items() if v is not None})]


def medication_request(r: dict[str, Any]) -> Out:
    d = F.base(r)
    dose = F.first(r.get("dosageInstruction")) or {}
    dr = F.first(dose.get("doseAndRate")) or {}
    qty = dr.get("doseQuantity") or {}
    timing = (dose.get("timing") or {}).get("code")
    d |= {"patient_id": F.ref(r.get("subject")), "practitioner_id": F.ref(r.get("requester")),
          "medication": F.text(r.get("medicationCodeableConcept"))
          or F.ref(r.get("medicationReference")),
          "dosage": (f"{qty.get('value')} {qty.get('unit', '')}".strip() if qty else None)
          or dose.get("text"),
          "frequency": F.text(timing), "route": F.text(dose.get("route")),
          "prescribed_on": F.date(r.get("authoredOn")),
          "active": r.get("status") in (None, "active", "on-hold", "draft")}
    return [("prescription", {k: v for k, v in d.items() if v is not None})]


def coverage(r: dict[str, Any]) -> Out:
    d = F.base(r)
    period = r.get("period") or {}
    payor = F.first(r.get("payor")) or {}
    group = next((c.get("value") for c in r.get("class") or []
                  if isinstance(c, dict) and "group" in F.codes(c.get("type"))), None)
    kind = (F.text(r.get("type")) or "").lower()
    d |= {"patient_id": F.ref(r.get("beneficiary")),
          "carrier": payor.get("display") or F.ref(payor) or "unknown",
          "member_id": r.get("subscriberId") or (F.first(r.get("identifier")) or {}).get("value"),
          "group_number": group, "priority": "secondary" if (r.get("order") or 1) > 1
          else "primary",
          "coverage_type": next((k for k in ("dental", "vision", "medical") if k in kind), None),
          "effective_date": F.date(period.get("start")),
          "termination_date": F.date(period.get("end")),
          "active": r.get("status") in (None, "active")}
    return [("insurance_policy", {k: v for k, v in d.items() if v is not None})]


def invoice(r: dict[str, Any]) -> Out:
    d = F.base(r)
    gross, cur = F.money(r.get("totalGross"))
    net, cur2 = F.money(r.get("totalNet"))
    d |= {"patient_id": F.ref(r.get("subject")), "amount": gross if gross is not None else net,
          "currency": cur or cur2, "issue_date": F.date(r.get("date")),
          "number": (F.first(r.get("identifier")) or {}).get("value"),
          "status": INV_STATUS.get(str(r.get("status")), "pending"),
          "payment_method": r.get("paymentTerms")}
    return [("invoice", {k: v for k, v in d.items() if v is not None})]


def claim(r: dict[str, Any]) -> Out:
    d = F.base(r)
    total, cur = F.money(r.get("total"))
    status = {"active": "pending", "cancelled": "cancelled"}.get(str(r.get("status")), "pending")
    d |= {"patient_id": F.ref(r.get("patient")), "amount": total, "currency": cur,
          "issue_date": F.date(r.get("created")), "status": status,
          "number": (F.first(r.get("identifier")) or {}).get("value")}
    return [("invoice", {k: v for k, v in d.items() if v is not None})]


MAPPERS: dict[str, Callable[[dict[str, Any]], Out]] = {
    "Patient": patient, "Practitioner": practitioner, "Organization": organization,
    "Location": location, "RelatedPerson": related_person, "Appointment": appointment,
    "Encounter": encounter, "DocumentReference": document_reference,
    "Observation": observation, "CarePlan": care_plan, "MedicationRequest": medication_request,
    "Coverage": coverage, "Invoice": invoice, "Claim": claim,
    # joined into other records rather than mapped alone:
    "PractitionerRole": lambda r: [], "AllergyIntolerance": lambda r: [],
    "Condition": lambda r: [],
}
KNOWN = frozenset(MAPPERS)

#: canonical object → resource types it is read from
TYPES_FOR: dict[str, tuple[str, ...]] = {
    "clinic": ("Organization", "Location"), "practitioner": ("Practitioner",),
    "patient": ("Patient",), "patient_relationship": ("RelatedPerson",),
    "practitioner_patient": ("Patient",), "appointment": ("Appointment", "Encounter"),
    "clinical_note": ("DocumentReference", "Observation"), "treatment_record": ("CarePlan",),
    "insurance_policy": ("Coverage",), "prescription": ("MedicationRequest",),
    "invoice": ("Invoice", "Claim"), "document": ("DocumentReference",),
}
#: resource types whose only output is facts folded into patients; their bad lines are reported
#: on the patient read
FOLDED = ("AllergyIntolerance", "Condition", "PractitionerRole")
