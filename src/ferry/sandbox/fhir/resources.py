"""Canonical records of the synthetic practice → FHIR R4 resources (what a certified system
would export). Every resource validates against ``fhir.resources.R4B`` (tests check it).

Choices that a real export would make differently, kept simple and standard where possible:
* a clinic is an Organization plus a Location with the same id (the site; appointments point
  at Locations, patients at Organizations);
* the emergency contact is a RelatedPerson; a family link between two patients is a
  RelatedPerson carrying a ``related-patient`` extension (FHIR has no patient–patient link type);
* allergies, conditions (the ``; ``-separated history) and the blood group are their own
  resources, as FHIR keeps them;
* custom fields and created-at travel as simple extensions under ``FERRY_EXT``.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ferry.model.entities import Record

FERRY_EXT = "https://ferry.dev/fhir/StructureDefinition/"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
APPT = {"scheduled": "booked", "completed": "fulfilled", "cancelled": "cancelled",
        "no_show": "noshow"}
INV = {"paid": "balanced", "pending": "issued", "overdue": "issued", "cancelled": "cancelled"}
PLAN = {"active": "active", "completed": "completed", "cancelled": "revoked"}
REL = {"spouse": "SPS", "parent": "PRN", "child": "CHILD", "guarantor": "GUARD",
       "sibling": "SIB", "other": "FAMMEMB"}
GENDER = {"male", "female", "other", "unknown"}


def _ts(v: dt.datetime | None) -> str | None:
    return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if v else None


def _d(v: dt.date | None) -> str | None:
    return v.isoformat() if v else None


def _clean(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _clean(v) for k, v in d.items() if v not in (None, [], {}, "")}
    if isinstance(d, list):
        return [_clean(v) for v in d if v not in (None, [], {}, "")]
    return d


def _ext(rec: Record) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if rec.created_at:
        out.append({"url": FERRY_EXT + "created_at", "valueDateTime": _ts(rec.created_at)})
    for key, cv in rec.custom.items():
        v = cv.value
        if v is None:
            continue
        url = FERRY_EXT + key
        if isinstance(v, bool):
            out.append({"url": url, "valueBoolean": v})
        elif isinstance(v, int):
            out.append({"url": url, "valueInteger": v})
        elif isinstance(v, Decimal | float):
            out.append({"url": url, "valueDecimal": float(v)})
        elif isinstance(v, dt.datetime):
            out.append({"url": url, "valueDateTime": _ts(v)})
        elif isinstance(v, dt.date):
            out.append({"url": url, "valueDate": v.isoformat()})
        elif isinstance(v, list):
            out.append({"url": url, "valueString": "; ".join(str(x) for x in v)})
        else:
            out.append({"url": url, "valueString": str(v)})
    return out


def _base(rtype: str, rec: Record, id_: str | None = None) -> dict[str, Any]:
    return {"resourceType": rtype, "id": id_ or rec.source_id,
            "meta": {"lastUpdated": _ts(rec.updated_at or rec.created_at)},
            "extension": _ext(rec)}


def _telecom(**kw: str | None) -> list[dict[str, Any]]:
    out = []
    for use, (system, value) in (("work", ("phone", kw.get("phone"))),
                                 ("mobile", ("phone", kw.get("mobile"))),
                                 ("home", ("email", kw.get("email"))),
                                 ("work", ("url", kw.get("website")))):
        if value:
            out.append({"system": system, "value": value, "use": use})
    return out


def _address(r: Any) -> list[dict[str, Any]]:
    if getattr(r, "address", None):
        return [{"text": r.address}]
    a = {"line": [x for x in (r.street, getattr(r, "street2", None)) if x], "city": r.city,
         "state": r.region, "postalCode": r.postcode, "country": r.country}
    return [a] if any(a.values()) else []


def _ref(rtype: str, id_: str | None) -> dict[str, str] | None:
    return {"reference": f"{rtype}/{id_}"} if id_ else None


def convert(obj: str, rec: Any, base_url: str = "") -> Iterator[dict[str, Any]]:
    """FHIR resources for one canonical record (objects FHIR has no place for yield none)."""
    fn = CONVERTERS.get(obj)
    if fn is not None:
        for res in fn(rec, base_url):
            yield _clean(res)


def clinic(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("Organization", r), "name": r.name, "address": _address(r),
           "telecom": _telecom(phone=r.phone, email=r.email, website=r.website)}
    yield {"resourceType": "Location", "id": r.source_id, "name": r.name, "status": "active",
           "meta": {"lastUpdated": _ts(r.updated_at)}, "address": (_address(r) or [None])[0],
           "managingOrganization": _ref("Organization", r.source_id)}


def practitioner(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("Practitioner", r), "active": r.active,
           "name": [{"use": "official", "family": r.last_name,
                     "given": [r.first_name] if r.first_name else [],
                     "prefix": [r.title] if r.title else []}],
           "telecom": _telecom(phone=r.phone, email=r.email),
           "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": r.npi}
                          if r.npi else None,
                          {"system": "urn:ferry:license", "value": r.license_number}
                          if r.license_number else None],
           "qualification": [{"code": {"text": r.credentials}}] if r.credentials else []}
    if r.role or r.specialty or r.clinic_id:
        yield {"resourceType": "PractitionerRole", "id": f"{r.source_id}-role",
               "practitioner": _ref("Practitioner", r.source_id),
               "organization": _ref("Organization", r.clinic_id),
               "code": [{"text": r.role}] if r.role else [],
               "specialty": [{"text": r.specialty}] if r.specialty else []}


def patient(r: Any, _: str) -> Iterator[dict[str, Any]]:
    names = [{"use": "official", "family": r.last_name,
              "given": [r.first_name] if r.first_name else [],
              "prefix": [r.title] if r.title else []}]
    if r.preferred_name:
        names.append({"use": "usual", "given": [r.preferred_name]})
    mr = {"coding": [{"system": V2_0203, "code": "MR"}]}
    yield {**_base("Patient", r), "active": not r.archived, "name": names,
           "telecom": _telecom(phone=r.phone, mobile=r.mobile, email=r.email),
           "gender": r.sex if r.sex in GENDER else None, "birthDate": _d(r.date_of_birth),
           "address": _address(r),
           "identifier": [{"type": mr, "system": "urn:ferry:mrn", "value": r.mrn} if r.mrn
                          else None,
                          {"system": "urn:ferry:patient-number", "value": r.patient_number}
                          if r.patient_number else None,
                          {"type": {"coding": [{"system": V2_0203, "code": "NI"}]},
                           "system": "urn:ferry:national", "value": r.national_id}
                          if r.national_id else None],
           "managingOrganization": _ref("Organization", r.clinic_id),
           "generalPractitioner": [_ref("Practitioner", r.primary_practitioner_id)]}
    pid = r.source_id
    subject = _ref("Patient", pid)
    if r.allergies:
        yield {"resourceType": "AllergyIntolerance", "id": f"{pid}-allergies",
               "patient": subject, "code": {"text": r.allergies}}
    for n, cond in enumerate(x.strip() for x in (r.medical_history or "").split(";")):
        if cond:
            yield {"resourceType": "Condition", "id": f"{pid}-c{n}", "subject": subject,
                   "code": {"text": cond}}
    if r.blood_group:
        yield {"resourceType": "Observation", "id": f"{pid}-abo", "status": "final",
               "subject": subject, "valueCodeableConcept": {"text": r.blood_group},
               "code": {"coding": [{"system": LOINC, "code": "882-1",
                                    "display": "ABO and Rh group"}]}}
    ec = r.emergency_contact
    if ec is not None and (ec.name or ec.phone):
        yield {"resourceType": "RelatedPerson", "id": f"ec-{pid}", "patient": subject,
               "name": [{"text": ec.name}] if ec.name else [],
               "telecom": [{"system": "phone", "value": ec.phone, "use": "mobile"}]
               if ec.phone else [],
               "relationship": [{"text": ec.relationship}] if ec.relationship else []}


def relationship(r: Any, _: str) -> Iterator[dict[str, Any]]:
    code = REL.get(r.relationship, "FAMMEMB")
    yield {**_base("RelatedPerson", r), "patient": _ref("Patient", r.patient_id),
           "relationship": [{"coding": [{"system": ROLE, "code": code}],
                             "text": r.relationship}],
           "extension": [*_ext(r), {"url": FERRY_EXT + "related-patient",
                                    "valueReference": _ref("Patient", r.related_patient_id)}]}


def appointment(r: Any, _: str) -> Iterator[dict[str, Any]]:
    parts = [{"actor": _ref("Patient", r.patient_id), "status": "accepted"},
             {"actor": _ref("Practitioner", r.practitioner_id), "status": "accepted"},
             {"actor": _ref("Location", r.clinic_id), "status": "accepted"}]
    yield {**_base("Appointment", r), "status": APPT.get(r.status, "booked"),
           "start": _ts(r.start), "end": _ts(r.end), "minutesDuration": r.duration_minutes,
           "appointmentType": {"text": r.type_name} if r.type_name else None,
           "comment": r.notes, "created": _ts(r.created_at),
           "cancelationReason": {"text": r.cancellation_reason}
           if r.cancellation_reason else None,
           "reasonCode": [{"coding": [{"system": ICD10, "code": c}]}
                          for c in r.diagnosis_codes],
           "participant": [p for p in parts if p["actor"]]}
    if r.status == "completed":
        yield {"resourceType": "Encounter", "id": r.source_id, "status": "finished",
               "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                         "code": "AMB"},
               "subject": _ref("Patient", r.patient_id),
               "appointment": [_ref("Appointment", r.source_id)],
               "period": {"start": _ts(r.start), "end": _ts(r.end)}}


def note(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("DocumentReference", r, f"note-{r.source_id}"), "status": "current",
           "type": {"coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}],
                    "text": r.note_type},
           "category": [{"coding": [{"system": FERRY_EXT + "category",
                                     "code": "clinical-note"}]}],
           "subject": _ref("Patient", r.patient_id), "date": _ts(r.created_at),
           "author": [_ref("Practitioner", r.practitioner_id)],
           "context": {"related": [_ref("Appointment", r.appointment_id)]},
           "content": [{"attachment": {
               "contentType": "text/plain; charset=utf-8", "title": r.title,
               "data": base64.b64encode(r.body.encode()).decode()}}]}


def document(r: Any, base_url: str) -> Iterator[dict[str, Any]]:
    yield {**_base("DocumentReference", r), "status": "current",
           "type": {"text": r.category}, "category": [{"text": r.category}],
           "subject": _ref("Patient", r.patient_id), "description": r.description,
           "date": _ts(r.created_at),
           "content": [{"attachment": {"contentType": r.mime_type, "title": r.file_name,
                                       "size": r.size, "creation": _ts(r.created_at),
                                       "url": f"{base_url}/Binary/{r.source_id}"}}]}


def treatment(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("CarePlan", r), "status": PLAN.get(r.status, "active"), "intent": "plan",
           "subject": _ref("Patient", r.patient_id), "title": r.title,
           "description": r.notes, "author": _ref("Practitioner", r.practitioner_id),
           "period": {"start": _d(r.start_date), "end": _d(r.end_date)},
           "category": [{"coding": [{"system": ICD10, "code": c}]} for c in r.diagnosis_codes],
           "activity": [{"detail": {"status": "scheduled",
                                    "code": {"coding": [{"system": CPT, "code": c}]}}}
                        for c in r.procedure_codes],
           "note": [{"text": r.goals}] if r.goals else []}


def policy(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("Coverage", r), "status": "active" if r.active else "cancelled",
           "beneficiary": _ref("Patient", r.patient_id), "subscriberId": r.member_id,
           "payor": [{"display": r.carrier}], "order": 2 if r.priority == "secondary" else 1,
           "type": {"text": r.coverage_type} if r.coverage_type else None,
           "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "coverage-class", "code": "group"}]},
                      "value": r.group_number}] if r.group_number else [],
           "period": {"start": _d(r.effective_date), "end": _d(r.termination_date)}}


def prescription(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("MedicationRequest", r), "status": "active" if r.active else "completed",
           "intent": "order", "medicationCodeableConcept": {"text": r.medication},
           "subject": _ref("Patient", r.patient_id),
           "requester": _ref("Practitioner", r.practitioner_id),
           "authoredOn": _d(r.prescribed_on),
           "dosageInstruction": [{"text": r.dosage,
                                  "timing": {"code": {"text": r.frequency}}
                                  if r.frequency else None,
                                  "route": {"text": r.route} if r.route else None}]}


def invoice(r: Any, _: str) -> Iterator[dict[str, Any]]:
    yield {**_base("Invoice", r), "status": INV.get(r.status, "issued"),
           "subject": _ref("Patient", r.patient_id),
           "date": _d(r.issue_date), "identifier": [{"value": r.number}] if r.number else [],
           "totalGross": {"value": float(r.amount), "currency": r.currency},
           "paymentTerms": r.payment_method}


CONVERTERS = {"clinic": clinic, "practitioner": practitioner, "patient": patient,
              "patient_relationship": relationship, "appointment": appointment,
              "clinical_note": note, "document": document, "treatment_record": treatment,
              "insurance_policy": policy, "prescription": prescription, "invoice": invoice}
