"""The proposer's vocabulary: how practice systems and CRMs name the canonical fields.

Aliases are the common words of the trade (surname, DOB, zip, payer, member ID …), not the
column names of any one export. Header text is normalised first (camelCase / snake_case split,
abbreviations expanded, the object's own name dropped: ``PatientFirstName`` → ``first name``).
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "dob": "date of birth", "bdate": "birth date", "birthdate": "birth date",
    "deathdate": "death date", "fname": "first name", "lname": "last name",
    "mname": "middle name", "firstname": "first name", "lastname": "last name",
    "givenname": "given name", "familyname": "family name", "surname": "last name",
    "addr": "address", "tel": "phone", "telephone": "phone", "ph": "phone", "mob": "mobile",
    "cell": "mobile", "cellphone": "mobile phone", "zip": "postcode", "zipcode": "postcode",
    "postalcode": "postcode", "email": "email",
    "emailaddress": "email address", "dt": "date", "no": "number", "num": "number",
    "nbr": "number", "nr": "number", "#": "number", "appt": "appointment",
    "dx": "diagnosis", "rx": "prescription", "ins": "insurance", "prov": "practitioner",
    "provider": "practitioner", "physician": "practitioner", "clinician": "practitioner",
    "doctor": "practitioner", "dr": "practitioner", "pcp": "primary practitioner",
    "ssn": "national id", "ss": "social security", "nhs": "national id", "pid": "patient id", "sin": "national id", "mrn": "medical record",
    "sex": "sex", "gender": "sex", "desc": "description", "amt": "amount", "qty": "quantity",
    "bal": "balance", "pmt": "payment", "inv": "invoice", "dept": "department",
    "org": "organization", "co": "company", "st": "street", "ste": "suite", "cty": "city",
    "prov_state": "region", "dose": "dosage", "freq": "frequency", "med": "medication",
    "meds": "medication", "drug": "medication", "npi": "npi", "icd": "icd", "cpt": "cpt",
    "url": "url", "id": "id", "uid": "id", "uuid": "id", "ext": "external", "start": "start",
    "stop": "end", "fin": "end", "created": "created", "modified": "updated",
    "lastmodified": "updated", "updated": "updated", "postcode": "postcode",
    # dental / PM-system table abbreviations (``PatNum``, ``TxtMsgOk``, ``WirelessPhone``)
    "pat": "patient", "apt": "appointment", "pri": "primary", "msg": "message", "txt": "text",
    "wireless": "mobile",
}
# one-letter abbreviations, read only where the word beside them says what they are:
# ``MiddleI`` (middle initial), ``DateTStamp`` (date-time stamp); a trailing ``Ok`` on a
# channel (``TxtMsgOk``, ``EmailOk``) is the consent to use it
CONTEXT_ABBREVIATIONS = (
    ("i", lambda prev, nxt: prev in {"middle", "first", "last"}, "initial"),
    ("t", lambda prev, nxt: prev == "date" and nxt == "stamp", "time"),
    ("ok", lambda prev, nxt: nxt is None and prev in {"text", "message", "email", "sms", "phone",
                                                      "mail", "call", "mobile"}, "consent"),
)
# abbreviated key suffixes: ``ClinicNum`` / ``ProvNbr`` name another table's record (its
# id), never a number a person reads; the file's own one (``PatNum`` in patients) is left to
# the values (``ferry.mapping.columns``: a row key is never a human-facing number)
KEY_SUFFIXES = frozenset({"num", "nbr", "nr"})
# a UK practice's export writes the same keys as ``Client Ref``, ``Staff No``, ``Site No``: after
# another object's word, a reference or an abbreviated number is that record's key too
LINK_SUFFIXES = KEY_SUFFIXES | {"no", "ref", "reference"}
# leading words that only group a field with its siblings (``address_city``, ``contact_email``)
GROUP_PREFIXES = (("mailing", "address"), ("home", "address"), ("postal", "address"),
                  ("address",), ("contact",), ("preferences",), ("preference",), ("settings",))

# object words dropped from headers ("patient_email" → "email" when profiling patients)
OBJECT_WORDS = {
    # a spa's guests; a scheduler's attendees and invitees (the people a booking is for)
    "patient": {"patient", "patients", "pt", "client", "person", "member", "customer", "guest",
                "attendee", "invitee"},
    "practitioner": {"practitioner", "staff", "user", "employee", "therapist"},
    # a therapy practice's visits are sessions (``SessionTypeId``: the visit's type); a
    # scheduler's, events (``eventTypeId``: Cal.com's and Calendly's kinds of meeting)
    "appointment": {"appointment", "visit", "encounter", "booking", "session", "event"},
    # a spa's or a medical group's sites are its centers
    "clinic": {"clinic", "business", "practice", "location", "site", "center", "centre"},
    "invoice": {"invoice", "bill", "billing"},
    "insurance_policy": {"insurance", "coverage", "policy"},
    "prescription": {"prescription", "medication"},
    "document": {"document", "file", "attachment"},
    "clinical_note": {"note", "notes"},
}

# canonical field → phrases that name it (object-specific entries win over the generic ones)
ALIASES: dict[str, list[str]] = {
    "source_id": ["id", "identifier", "record id", "external id", "key"],
    "created_at": ["created", "created at", "created date", "date added", "date created",
                   "add time", "creation date", "registered", "registered on",
                   "registration date", "date registered", "booked on", "booked at",
                   "date booked"],
    "updated_at": ["updated", "updated at", "last modified", "modified date", "last updated",
                   "update time", "time stamp", "date time stamp"],
    "first_name": ["first name", "given name", "forename", "first"],
    "last_name": ["last name", "family name", "surname", "last"],
    "preferred_name": ["preferred name", "nickname", "known as", "preferred first name",
                       "chosen name", "chosen first name"],
    "title": ["title", "prefix", "salutation", "honorific"],
    "date_of_birth": ["date of birth", "birth date", "birthday", "born"],
    "sex": ["sex", "gender", "administrative gender", "sex at birth"],
    "email": ["email", "email address", "e mail"],
    "phone": ["phone", "phone number", "home phone", "telephone", "landline", "contact number"],
    "mobile": ["mobile", "mobile phone", "cell phone", "mobile number", "cell"],
    "address": ["address", "full address", "postal address", "mailing address", "home address"],
    "street": ["street", "address line 1", "address 1", "street address", "street line 1",
               "line 1"],
    "street2": ["address line 2", "address 2", "street line 2", "line 2", "apartment", "suite",
                "unit", "unit number", "apartment number", "suite number"],
    "city": ["city", "town", "suburb", "locality"],
    "region": ["state", "region", "province", "state province", "county",
               "administrative area level 1", "administrative district level 1"],
    "postcode": ["postcode", "postal code", "post code", "zip code"],
    "country": ["country", "country code", "nation", "country or region", "country territory",
                "country or territory",
                # a practice abroad heads it in its own language: French, Spanish and
                # Portuguese, German and Dutch, Italian
                "pays", "país", "pais", "land", "paese"],
    "mrn": ["medical record", "medical record number", "chart number", "chart id"],
    "patient_number": ["patient number", "account number", "patient account"],
    "national_id": ["national id", "social security number", "health number", "medicare",
                    "medicare number",
                    "health card number", "nhs number", "insurance number"],
    "blood_group": ["blood group", "blood type", "abo", "blood"],
    "allergies": ["allergies", "allergy", "allergy notes", "allergic to", "drug allergies"],
    "medical_history": ["medical history", "past medical history", "history", "conditions",
                        "medical conditions", "medical alerts"],
    "emergency_contact": ["emergency contact", "next of kin", "emergency contact name",
                          "emergency"],
    "referral_source": ["referral source", "referral type", "how did you hear", "lead source",
                        "source"],
    # "referred by" is either (a doctor's name, or how the patient heard of the clinic): the
    # values decide (the export source's value rules), not the name
    "referring_doctor": ["referring doctor", "referring practitioner",
                         "referrer"],
    "referring_doctor_email": ["referring doctor email", "referrer email"],
    "status": ["status", "state of record", "active status"],
    "clinic_id": ["clinic", "clinic id", "location", "location id", "business id",
                  "practice id", "site", "organization", "organization id",
                  "office", "office id",  # DrChrono's offices are its clinics
                  "center", "center id", "centre", "centre id"],
    "primary_practitioner_id": ["primary practitioner", "primary practitioner id",
                                "general practitioner", "assigned practitioner", "provider id"],
    "occupation": ["occupation", "job", "job title", "employment", "profession"],
    "consent_email": ["email consent", "email opt in", "consent email", "email reminders",
                      "email marketing", "allow email", "promotional emails",
                      "marketing emails", "receive marketing emails", "receive marketing email",
                      "receive promotional emails"],
    "consent_sms": ["sms consent", "sms opt in", "text consent", "sms reminders",
                    "sms marketing", "allow sms", "text message consent", "promotional texts",
                    "marketing texts", "receive marketing sms", "receive marketing texts",
                    "receive promotional texts"],
    "archived": ["archived", "archived at", "deleted", "inactive"],
    "middle_name": ["middle name", "middle names", "middle initial", "second name"],
    "name_suffix": ["suffix", "name suffix", "generation"],
    "marital_status": ["marital status", "marital", "civil status", "relationship status"],
    "race": ["race", "racial group"],
    "ethnicity": ["ethnicity", "ethnic group", "ethnic origin"],
    "preferred_language": ["language", "preferred language", "primary language",
                           "communication language", "first language"],
    "deceased_date": ["deceased date", "date of death", "death date", "died on",
                      "deceased date time"],
    "guardian_name": ["guardian", "guardian name", "parent name", "mothers name",
                      "legal guardian"],
    "work_phone": ["work phone", "business phone", "office phone", "phone work", "phone biz",
                   "work phone number"],
    "cancelled_at": ["cancelled at", "canceled at", "cancellation date", "cancelled on"],
    "reason": ["reason", "reason for visit", "visit reason", "chief complaint",
               "reason description"],
    "medication_code": ["medication code", "drug code", "rxnorm", "ndc", "code"],
    "stop_date": ["stop date", "end date", "stopped on", "discontinued", "date end"],
    "cost": ["cost", "total cost", "base cost", "price"],
    "gender": ["gender", "sex"],
    # appointment
    "patient_id": ["patient", "patient id", "client id", "subject", "customer id"],
    "practitioner_id": ["practitioner", "practitioner id", "provider id", "clinician id",
                        "attending practitioner", "staff id", "staff member id",
                        "team member id", "employee id"],
    "appointment_type_id": ["appointment type id", "type id", "service id"],
    "type_name": ["appointment type", "visit type", "type", "service",
                  "encounter class", "service type"],
    "start": ["start", "start time", "appointment start", "starts at", "date time",
              "scheduled time", "appointment date", "start date"],
    "end": ["end", "end time", "ends at", "finish", "end date"],
    "duration_minutes": ["duration", "length", "minutes", "duration in minutes"],
    "fee": ["fee", "price", "charge", "cost", "amount", "base cost"],
    "currency": ["currency", "currency code"],
    "cancellation_reason": ["cancellation reason", "cancel reason", "reason cancelled"],
    "no_show": ["no show", "did not arrive", "dna", "did not attend", "missed"],
    "notes": ["notes", "note", "comment", "comments", "remarks", "visit notes", "additional information",
              "additional info", "additional notes"],
    "procedure_codes": ["procedure code", "procedure codes", "cpt", "cpt code", "service code"],
    "diagnosis_codes": ["diagnosis code", "diagnosis codes", "icd", "icd 10", "reason code"],
    # invoice / payment
    "number": ["invoice number", "number", "reference"],
    "amount": ["amount", "total", "total amount", "invoice total", "amount due", "gross",
               "gross amount", "grand total", "sum total"],
    "balance": ["balance", "outstanding", "amount outstanding", "balance due"],
    "issue_date": ["issue date", "invoice date", "date issued", "bill date"],
    "due_date": ["due date", "payment due"],
    "paid_date": ["paid date", "date paid", "payment date"],
    "payment_method": ["payment method", "payment type", "tender"],
    # insurance
    "carrier": ["carrier", "payer", "insurer", "insurance company", "insurance provider",
                "payer name"],
    "member_id": ["member id", "policy number", "subscriber id", "insurance id",
                  "membership number"],
    "group_number": ["group number", "group id", "group"],
    "coverage_type": ["coverage type", "plan type", "insurance type"],
    "priority": ["priority", "order", "primary secondary", "payer order"],
    "effective_date": ["effective date", "start date", "coverage start"],
    "termination_date": ["termination date", "end date", "expiry date", "coverage end"],
    # prescription
    "medication": ["medication", "drug name", "medicine", "medication name"],
    "dosage": ["dosage", "dose", "strength"],
    "frequency": ["frequency", "sig", "directions", "interval"],
    "route": ["route", "route of administration"],
    "prescribed_on": ["prescribed on", "prescription date", "date prescribed", "written date",
                      "start date", "start"],
    "pharmacy": ["pharmacy", "dispensing pharmacy"],
    # practitioner
    "specialty": ["specialty", "speciality", "specialisation"],
    "credentials": ["credentials", "qualifications", "suffix", "post nominals"],  # "designation": role or letters, by values
    "license_number": ["license number", "licence number", "registration number",
                       "state license", "license"],
    "npi": ["npi", "national provider identifier", "national practitioner id"],
    "role": ["role", "clinical role", "job role", "position"],
    # clinic
    "name": ["name", "business name", "clinic name", "display name", "organization name"],
    "website": ["website", "web", "url", "homepage", "website address"],
    "billing_contact": ["billing contact", "billing email", "accounts contact"],
    # documents / notes
    "file_name": ["file name", "filename", "document name"],
    "mime_type": ["content type", "mime type", "file type"],
    "size": ["size", "file size", "bytes"],
    "description": ["description", "caption"],
    "body": ["body", "content", "text", "note text", "message"],
}


#: aliases that say a column holds something more without saying what: they name a free-text
#: field only when no column is named for it by its own word (``ferry.mapping.propose``)
CATCH_ALL = frozenset({"additional information", "additional info", "other information",
                       "more information", "extra information"})


def split_words(header: str) -> list[str]:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", header.strip())
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([A-Za-z]{2,})([0-9])", r"\1 \2", s)  # ``line1`` → ``line 1``
    return [w for w in re.split(r"[^A-Za-z0-9#]+", s.lower()) if w]


def entity_words() -> dict[str, str]:
    """Every word that names an object (its own name included) → the object."""
    out = {w: o for o, ws in OBJECT_WORDS.items() for w in ws}
    out.update({o: o for o in OBJECT_WORDS})
    out["practitioner"] = "practitioner"
    return out


def _expand(raw: list[str], obj: str | None) -> list[str]:
    words: list[str] = []
    entity = entity_words()
    for i, w in enumerate(raw):
        prev = raw[i - 1] if i else None
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        ctx = next((full for ab, ok, full in CONTEXT_ABBREVIATIONS if w == ab and ok(
            ABBREVIATIONS.get(prev or "", prev), ABBREVIATIONS.get(nxt or "", nxt))), None)
        if ctx is not None:
            words.append(ctx)
        elif w in LINK_SUFFIXES and nxt is None and words and words[-1] in entity and \
                entity[words[-1]] != obj:
            # another table's key: ``ClinicNum`` → ``clinic id``, ``Staff No`` →
            # ``practitioner id`` (the object's own name: its link field's)
            words[-1] = entity[words[-1]]
            words.append("id")
        else:
            words.extend(ABBREVIATIONS.get(w, w).split())
    return words


#: words inside a name that say nothing of what it holds
FILLERS = frozenset({"info", "details", "detail"})
# a header reduced to one of these by dropping the object's name keeps the name ("policy
# number" stays "policy number"); "patient id" → "id" is wanted (the record's own id)
GENERIC = {"number", "name", "type", "date", "status", "code", "notes"}


def normalise(header: str, obj: str | None = None, *, phrase: bool = False) -> str:
    """``PatientDOB`` → ``date of birth`` (for ``patient``); words joined by spaces. A
    vocabulary ``phrase`` is never cut down to one word ("insurance id" stays whole)."""
    # Salesforce's custom-field suffix and managed-package namespace (``HealthCloudGA__X__c``)
    header = header.strip()
    if header.endswith("__c"):
        header = re.sub(r"^[A-Za-z0-9]+__(?=[A-Za-z])", "", header[:-3])
    words = _expand(split_words(header), obj)
    # "info" / "details" inside a name only say more follows (``EmergencyContactInfoName``)
    words = [w for i, w in enumerate(words) if not (0 < i < len(words) - 1 and w in FILLERS)]
    drop = OBJECT_WORDS.get(obj or "", set())
    if len(words) > 1:
        kept = [w for w in words if w not in drop]
        if kept and not (len(kept) == 1 and (phrase or kept[0] in GENERIC)):
            words = kept
    text = " ".join(words)
    return re.sub(r"\b(postcode|email) (code|address)\b", r"\1", text)
