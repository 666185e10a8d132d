"""Which file holds which object, and which column is which canonical field.

This is the source's own *exact* matcher: a column whose normalised name is a known synonym of a
field (no fuzzy guesses here: a near-miss is for the proposer, which gives every placement a
confidence and a reason, ``ferry map``). Sources sit below ``ferry.mapping`` and may not import
it, so the proposer's answer arrives the other way: as ``Settings.columns`` (per file or object:
``{column: field or null}``), which always wins over the matches here. When two columns name one
field, the better name wins (the field's own name, then its synonyms in order), not the first
column. A column that matches nothing is kept whole in the record's ``custom`` bag.

Which object a file holds is decided by its columns (how many name fields of each object), with
the file name's whole words as a tie-breaker — never a substring of the name (a vendor's name
inside a file name is not an object).

Pseudo-fields start with ``_``: ``_full_name`` (split into first/last), ``_ec_name`` /
``_ec_phone`` / ``_ec_relationship`` (assembled into the emergency contact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, fields_of

# File-name words per object (whole words of the name, singular or plural; most specific first).
# Decisions where real exports have objects the model lacks: an organisation / facility file is a
# clinic; an encounter is an appointment (a visit that happened); a condition / diagnosis /
# problem list is a treatment record (codes, onset = start, resolution = end).
FILE_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("patient_relationship", ("relationship", "family", "relative", "guardian")),
    ("practitioner_patient", ("practitioner_patient", "care_team", "careteam")),
    # a scheduler's event types (Cal.com, Calendly) are its kinds of appointment
    ("appointment_type", ("appointment_type", "visit_type", "service_type", "services",
                          "service", "event_type")),
    ("appointment_reminder", ("reminder",)),
    # booking and point-of-sale systems call their staff team members, staff members,
    # employees; and their patients customers (below)
    ("practitioner", ("physician", "doctor", "practitioner", "provider", "staff", "clinician",
                      "team_member", "staff_member", "employee", "therapist")),
    ("clinical_note", ("medical_record", "clinical_note", "progress_note", "emr", "notes")),
    ("treatment_record", ("treatment", "care_plan", "careplan", "condition", "diagnosis",
                          "diagnoses", "problem", "problem_list")),
    ("insurance_policy", ("insurance", "polic", "payer", "coverage")),
    ("prescription", ("prescription", "medication", "rx", "eprescription", "drug",
                      "drug_order")),
    ("appointment", ("appointment", "visit", "booking", "schedule", "encounter", "event")),
    ("payment", ("payment", "receipt")),
    ("invoice", ("bill", "invoice")),
    ("document", ("document", "file", "attachment", "upload")),
    ("campaign", ("campaign", "outreach")),
    ("message", ("chat", "message", "sms", "conversation", "whatsapp")),
    # a spa's or a medical group's sites are its centers
    ("clinic", ("clinic", "location", "practice", "branch", "site", "organization",
                "organisation", "facility", "business", "center", "centre")),
    # a spa's or a salon's clients are its guests; a scheduler's, the attendees or invitees
    # of a booking
    ("patient", ("patient", "client", "customer", "people", "person", "guest", "attendee",
                 "invitee")),
]

# a file of payers / insurers names organisations, not a patient's cover (that one has a
# patient column): reference data the verdicts name, never read as clinics or patients
PAYER_WORDS = {"payer", "payor", "insurer", "carrier", "insurance_company", "plan"}

COMMON = {
    "created_at": ["created", "created_on", "date_created", "creation_date", "date_added",
                   "added_on", "registered_on", "registration_date", "regdate"],
    "updated_at": ["updated", "modified", "last_modified", "updated_on", "modified_at",
                   "last_updated", "date_modified", "modified_on", "last_modified_on"],
}
PERSON = {
    "first_name": ["first", "firstname", "given_name", "given", "forename", "fname"],
    "last_name": ["last", "lastname", "surname", "family_name", "family", "lname"],
    "_full_name": ["name", "full_name", "patient_name", "client_name", "physician_name",
                   "doctor_name", "practitioner_name", "display_name", "provider_name"],
    "email": ["email_address", "e_mail", "mail", "email_id"],
    "phone": ["phone_number", "telephone", "tel", "home_phone", "contact_number", "landline",
              "work_phone", "contact_no"],
    "title": ["salutation", "prefix", "honorific"],
}
# the parts of an address a person's record keeps: the same words whoever the person is (a
# staff file's State / PostalCode are as much the practitioner's as a client file's the patient's)
PLACE = {
    # an address API's first-level division (Google's administrative_area_level_1, Square's
    # administrative_district_level_1) is the state or province
    "region": ["state", "province", "county", "administrative_area_level_1",
               "administrative_district_level_1", "administrative_area",
               "administrative_district"],
    "postcode": ["post_code", "zip", "zip_code", "postal_code", "pincode", "pin_code"],
}
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "patient": {
        **PERSON,
        "source_id": ["id", "patient_id", "pid", "client_id", "uuid", "patient_uid",
                      "customer_id"],
        "patient_number": ["patient_no", "patient_num", "patient_number", "pubpid", "registration_no",
                           "reg_no", "uhid", "account_number", "file_number"],
        # a chart number is the medical record number (as the proposer's vocabulary reads it)
        "mrn": ["medical_record_number", "mrn_no", "record_number", "health_number", "mrn_id",
                "mrn_number", "chart_number"],
        "date_of_birth": ["dob", "birth_date", "birthdate", "birthday", "date_birth"],
        "sex": ["gender", "sex_at_birth"],
        "mobile": ["mobile_number", "mobile_phone", "cell", "cell_phone", "mobile_no", "whatsapp"],
        "address": ["full_address", "address_line", "postal_address", "home_address",
                    "residential_address", "street_address"],
        "street": ["address_1", "address1", "street_1", "line_1"],
        "street2": ["address_2", "address2", "street_2", "line_2"],
        **PLACE,
        "national_id": ["aadhaar", "aadhaar_no", "aadhar_no", "ssn", "nhs_number", "national_number", "id_number"],
        "blood_group": ["blood_type", "bloodgroup", "blood"],
        "allergies": ["allergy", "allergy_notes", "allergies_notes", "known_allergies"],
        "medical_history": ["history", "past_history", "medical_conditions", "conditions"],
        "referral_source": ["referred_by", "source", "lead_source", "how_heard", "referral"],
        "referring_doctor": ["referring_physician", "referrer"],
        "status": ["patient_status", "active_status"],
        "clinic_id": ["location_id", "branch_id", "practice_id", "department_id",
                      "primary_department_id"],
        "primary_practitioner_id": ["physician_id", "doctor_id", "practitioner_id",
                                    "primary_physician_id", "provider_id",
                                    "primary_provider_id"],
        "preferred_name": ["nickname", "known_as", "preferred_first_name"],
        "consent_email": ["email_consent", "accepts_email", "email_opt_in", "hipaa_allowemail",
                          "allow_email"],
        "consent_sms": ["sms_consent", "accepts_sms", "sms_opt_in", "hipaa_allowsms",
                        "allow_sms"],
        "_ec_name": ["emergency_contact", "emergency_contact_name", "next_of_kin", "kin_name",
                     "contact_name"],
        "_ec_phone": ["emergency_contact_phone", "emergency_phone", "kin_phone",
                      "contact_mobile_phone", "contact_phone", "contact_home_phone"],
        "_ec_relationship": ["emergency_contact_relationship", "emergency_relation"],
        "middle_name": ["mname", "middle", "middle_initial", "name_given_1"],
        "name_suffix": ["suffix", "name_suffix"],
        "marital_status": ["marital", "maritalstatus", "marital_status_text", "civil_status"],
        "race": ["race"], "ethnicity": ["ethnicity", "ethnic_group", "ethnic_origin"],
        "preferred_language": ["language", "primary_language", "communication_language",
                               "communication_language_text"],
        "deceased_date": ["deathdate", "death_date", "date_of_death", "deceased_date_time",
                          "deceased"],
        "guardian_name": ["guardian", "guardian_name", "guardiansname", "mothersname"],
        "work_phone": ["phone_biz", "business_phone", "office_phone", "phone_work"],
        "notes": ["patient_notes", "notes", "comments"],
        # Outlook's and Graph's "Country/Region"
        "country": ["country_or_region", "country_code"],
    },
    "practitioner": {
        **PERSON,
        "source_id": ["id", "physician_id", "doctor_id", "practitioner_id", "provider_id",
                      "staff_id", "staff_member_id", "team_member_id", "employee_id"],
        "role": ["designation", "position", "job_title", "clinical_role"],
        "specialty": ["speciality", "specialization", "department"],
        "credentials": ["qualification", "qualifications", "degree"],
        "license_number": ["license", "licence_number", "registration_number", "reg_number"],
        "mobile": ["mobile_number"],
        "clinic_id": ["location_id", "branch_id"],
        # a practitioner keeps one address line: a staff list's first line is it (Mindbody's
        # Address, an employee's address_1)
        "address": ["address_1", "address1", "address_line_1", "street_1", "line_1",
                    "street", "street_address"],
        **PLACE,
    },
    "appointment": {
        "source_id": ["id", "appointment_id", "appt_id", "booking_id", "visit_id"],
        # booking systems' customers are the patients, their staff / team members the
        # practitioners
        "patient_id": ["patient", "patient_uid", "client_id", "customer_id"],
        "practitioner_id": ["physician_id", "doctor_id", "provider_id", "practitioner",
                            "provider", "staff_id", "staff_member_id", "team_member_id",
                            "employee_id"],
        "clinic_id": ["location_id", "branch_id", "organization", "business", "facility_id",
                      "location", "department_id"],
        "appointment_type_id": ["type_id", "service_id", "visit_type_id"],
        "type_name": ["appointment_type", "type", "visit_type", "service", "description",
                      "encounterclass", "encounter_class"],
        "diagnosis_codes": ["reasoncode", "reason_code", "diagnosis_code", "icd10"],
        "status": ["appointment_status", "state"],
        "start": ["start_time", "starts_at", "appointment_date", "date_time", "scheduled_at",
                  "appointment_time", "start_date", "date", "datetime", "appointment_datetime",
                  "time"],
        "end": ["end_time", "ends_at", "end_date", "stop"],
        "duration_minutes": ["duration", "duration_min", "length_minutes", "minutes"],
        "fee": ["price", "charge", "amount", "cost"],
        "cancellation_reason": ["cancel_reason", "reason_cancelled", "cancel_reason_name"],
        "cancelled_at": ["canceled_at", "cancellation_date", "cancelled_on"],
        "reason": ["reason_description", "reasondescription", "visit_reason",
                   "chief_complaint"],
        "title": ["appointment_title", "subject", "summary"],
        "no_show": ["did_not_arrive", "noshow", "dna"],
        "notes": ["note", "comments", "remarks", "appointment_notes"],
    },
    "invoice": {
        "source_id": ["id", "bill_id", "invoice_id", "billing_id"],
        "patient_id": ["patient", "client_id", "customer_id"],
        "appointment_id": ["visit_id", "appointment", "booking_id"],
        "number": ["bill_no", "bill_number", "invoice_no", "invoice_number"],
        "amount": ["total", "total_amount", "bill_amount", "net_amount", "grand_total",
                   "sum_total"],
        "balance": ["outstanding", "due", "amount_due", "outstanding_balance", "balance_due"],
        "status": ["payment_status", "bill_status", "billing_status"],
        "issue_date": ["bill_date", "invoice_date", "date", "issued_on"],
        "due_date": ["due_on", "payment_due"],
        "paid_date": ["paid_on", "payment_date"],
        "payment_method": ["payment_mode", "mode", "method", "paid_by"],
    },
    "prescription": {
        "source_id": ["id", "prescription_id", "rx_id"],
        "patient_id": ["patient"], "practitioner_id": ["physician_id", "doctor_id",
                                                       "prescriber_id"],
        "medication": ["drug", "drug_name", "medicine", "medication_name", "medicine_name",
                       "description"],
        "dosage": ["dose", "strength"], "frequency": ["freq", "schedule", "sig"],
        "prescribed_on": ["date", "prescription_date", "prescribed_date", "issued_on", "start",
                          "start_date"],
        "stop_date": ["stop", "end_date", "date_end", "discontinued_on"],
        "medication_code": ["code", "drug_code", "rxnorm", "ndc"],
        "cost": ["totalcost", "total_cost", "base_cost"],
    },
    "clinical_note": {
        "source_id": ["id", "record_id", "note_id", "medical_record_id", "emr_id"],
        "patient_id": ["patient"], "practitioner_id": ["physician_id", "doctor_id", "author_id"],
        "appointment_id": ["visit_id", "encounter_id"],
        "body": ["note", "notes", "content", "text", "clinical_notes", "description"],
        "note_type": ["type", "category", "record_type"],
        "author_name": ["author", "written_by"],
    },
    "campaign": {
        "source_id": ["id", "campaign_id"], "name": ["campaign_name", "campaign", "title"],
        "patient_id": ["patient", "recipient_id"], "sent_at": ["sent", "sent_on", "date"],
    },
    "message": {
        "source_id": ["id", "message_id", "chat_id"], "patient_id": ["patient"],
        "practitioner_id": ["physician_id", "doctor_id", "staff_id"],
        "body": ["message", "text", "content"], "sent_at": ["sent", "timestamp", "date", "time"],
        "direction": ["from", "sender_type", "in_out"],
    },
    # a clinic's address and contact columns are named as a person's are (NexHealth's
    # locations: street_address, zip_code, country_code, phone_number)
    "clinic": {"source_id": ["id", "clinic_id", "location_id", "branch_id"],
               "name": ["clinic_name", "location_name", "practice_name", "branch_name"],
               "street": ["street_address", "address_1", "address1", "street_1", "line_1",
                          "address_line_1"],
               **PLACE, "country": ["country_or_region", "country_code"],
               "phone": ["phone_number", "telephone", "tel", "contact_number", "contact_no"],
               "email": ["email_address", "e_mail", "mail", "email_id"],
               "website": ["url", "web", "homepage", "website_url"]},
    "payment": {"source_id": ["id", "payment_id", "receipt_id"],
                "patient_id": ["patient", "client_id", "customer_id"],
                "invoice_id": ["invoice", "bill_id"],
                "amount": ["total", "amount_paid", "paid_amount", "payment_amount"],
                "method": ["payment_method", "payment_mode", "mode", "tender"],
                "paid_at": ["paid_on", "payment_date", "paid_date", "date_paid", "date"],
                "note": ["notes", "description", "memo", "comment", "comments"]},
    "insurance_policy": {"source_id": ["id", "policy_id", "insurance_id"],
                         "patient_id": ["patient", "pid", "subscriber_id"],
                         "carrier": ["insurer", "provider", "payer", "insurance_company"],
                         "member_id": ["policy_number", "policy_no", "member_number",
                                       "memberid", "subscriber_number"],
                         "priority": ["type", "payer_order"],
                         "effective_date": ["start_date", "start", "date", "effective"],
                         "termination_date": ["end_date", "end", "date_end", "expiry_date"]},
    "treatment_record": {"source_id": ["id", "treatment_id", "plan_id", "condition_id"],
                         "patient_id": ["patient", "subject"],
                         "appointment_id": ["encounter", "encounter_id", "visit_id"],
                         "practitioner_id": ["provider_id", "recorder_id", "practitioner"],
                         "diagnosis_codes": ["code", "icd10", "diagnosis_code", "icd_code"],
                         "title": ["description", "condition", "diagnosis", "problem"],
                         "start_date": ["start", "onset", "onset_date", "onset_date_time",
                                        "begdate"],
                         "end_date": ["stop", "resolved", "resolution_date", "abatement_date",
                                      "abatement_date_time", "enddate"]},
    "document": {"source_id": ["id", "document_id", "file_id"],
                 "file_name": ["filename", "name", "file"], "mime_type": ["content_type"]},
}


def norm(name: str) -> str:
    """``Date Of Birth`` / ``dateOfBirth`` / ``DATE_OF_BIRTH`` → ``date_of_birth``."""
    s = name.strip().lstrip("\ufeff")
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return s.replace("e_mail", "email")


# abbreviations of the trade in column and file names (``PAT_ENC``, ``APPT_TIME``, ``PROV_ID``)
ABBREVIATIONS = {"pat": "patient", "pt": "patient", "appt": "appointment", "enc": "encounter",
                 "prov": "provider", "dept": "department", "addr": "address", "ph": "phone",
                 "tel": "telephone", "dx": "diagnosis", "rx": "prescription", "med": "medication",
                 "meds": "medication", "ins": "insurance", "pcp": "primary_provider",
                 "org": "organization", "loc": "location", "fac": "facility", "doc": "document",
                 "dt": "date", "tm": "time", "num": "number", "nbr": "number", "no": "number",
                 "amt": "amount", "qty": "quantity", "desc": "description", "cur": "",
                 "curr": ""}


def expand(name: str) -> str:
    """``pat_enc_csn_id`` → ``patient_encounter_csn_id``; ``cur_pcp_prov_id`` →
    ``primary_provider_provider_id`` (``cur``rent says nothing)."""
    words = [ABBREVIATIONS.get(w, w) for w in name.split("_")]
    return "_".join(w for w in words if w)


def _words(stem: str) -> set[str]:
    """Whole words of a file name, each also without a plural ``s`` (``Organizations`` →
    ``organization``); joined pairs too (``care_plan``); abbreviations expanded."""
    parts = [w for w in norm(stem).split("_") if w]
    parts += [x for w in parts for x in ABBREVIATIONS.get(w, "").split("_") if x]
    out = set(parts) | {"_".join(parts[i:i + 2]) for i in range(len(parts) - 1)}
    out |= {w[:-1] for w in out if w.endswith("s") and len(w) > 3}
    out |= {w[:-2] for w in out if w.endswith("es") and len(w) > 4}
    return out


def object_for_file(stem: str) -> str | None:
    """The object a file name names by a whole word (``encounters.csv``), else None."""
    words = _words(stem)
    for obj, keys in FILE_KEYWORDS:
        if words & set(keys):
            return obj
    return None


def _aliases(obj: str) -> dict[str, str]:
    """Normalised alias → field, for one object (field names themselves included)."""
    return {k: f for k, (f, _) in _ranked_aliases(obj).items()}


#: records a link may be named for by any word that names their files (``therapist_id``,
#: ``guest_id``, ``center_id``): the words of ``FILE_KEYWORDS``, except a practice or an
#: organisation (as likely the account an export came from) and a schedule (not a visit)
LINKED_BY_FILE_WORD = ("patient", "practitioner", "clinic", "appointment", "appointment_type")
NOT_A_LINK_WORD = frozenset({"practice", "organization", "organisation", "business",
                             "schedule", "people", "services"})


def _link_aliases(obj: str) -> list[tuple[str, str]]:
    """(``<word>_id``, the reference field) for each record this object points at, by every
    word its files are named by. A person's record reads only its clinic's this way: on a
    patient an ``employee_id`` may be the patient's own employee number."""
    out = []
    refs = _ref_fields(obj)
    for target, words in FILE_KEYWORDS:
        field = refs.get(target)
        if field is None or target == obj or target not in LINKED_BY_FILE_WORD or (
                obj in PEOPLE and target != "clinic"):
            continue
        out += [(f"{w}_id", field) for w in words if w not in NOT_A_LINK_WORD]
    return out


@lru_cache(maxsize=64)
def _ranked_aliases(obj: str) -> dict[str, tuple[str, int]]:
    """Normalised alias → (field, rank): 0 for the field's own name, then its synonyms in order
    (a better name wins a field when two columns claim it), then a link named for any word of
    the linked record's files (``_link_aliases``). Cached: callers copy it before changing."""
    out: dict[str, tuple[str, int]] = {}
    table = {**COMMON, **SYNONYMS.get(obj, {"source_id": ["id", f"{obj}_id"]})}
    for fname in [f.name for f in fields_of(ENTITIES[obj])]:
        out.setdefault(fname, (fname, 0))
    for fname, words in table.items():
        for i, w in enumerate(words, 1):
            out.setdefault(norm(w), (fname, i))
    out.setdefault(f"{obj}_id", ("source_id", 1))
    last = 1 + max((len(w) for w in table.values()), default=0)
    for alias, field in _link_aliases(obj):
        out.setdefault(alias, (field, last))
    return out


LINK_WORDS = {"links", "link", "self", "href", "reference", "ref", "url", "value", "text"}


def key_norm(header: str) -> str:
    """A flattened nested key read as the name it stands for: list indexes and link words
    dropped (``patient.links.self`` → ``patient``, ``name[0].given[0]`` → ``name_given``)."""
    n = norm(header)
    if not re.search(r"[.\[\]/]", header):
        return n
    parts = [p for p in re.split(r"[.\[\]/]+", header) if p]
    kept = [norm(p) for p in parts if not p.isdigit()]
    trimmed = [p for p in kept if p not in LINK_WORDS] or kept
    return "_".join(trimmed)


# a representation qualifier after the name (``gender_source_value``, ``SEX_C`` a category
# code, ``ENC_CLOSED_YN`` a yes/no flag)
QUALIFIERS = {"value", "text", "display", "source", "raw", "desc", "label", "string", "str",
              "c", "cd", "yn"}


def _strip_stem(name: str, stem_words: set[str]) -> str:
    """``visit_start_datetime`` in ``visit_occurrence.csv`` → ``start_datetime``: leading
    words that repeat the file's name (or abbreviate one of its words: ``app`` for
    appointment) say nothing about the field."""
    words = name.split("_")
    if all(w in QUALIFIERS for w in words[1:]):
        return name  # ``person_source_value``: the rest would name nothing
    i = 0
    while i < len(words) - 1 and (words[i] in stem_words or (len(words[i]) >= 3 and any(
            w.startswith(words[i]) and len(w) > len(words[i]) for w in stem_words))):
        i += 1
    return "_".join(words[i:])


def _variants(name: str) -> list[tuple[str, int, str]]:
    """Readings of one name beyond itself: without its representation qualifier
    (``gender_source_value`` → ``gender``), and a date-time read as its date or as the bare
    moment (``birth_datetime`` → ``birth_date``; ``start_datetime`` → ``start``)."""
    out: list[tuple[str, int, str]] = []
    words = name.split("_")
    while len(words) > 1 and words[-1] in QUALIFIERS:
        words = words[:-1]
    base = "_".join(words)
    if base != name and base not in QUALIFIERS:
        out.append((base, 2, "name without its qualifier"))
    for b, pen in ((name, 0), (base, 2)):
        m = re.match(r"^(.*?)_?date_?time$", b)
        if m and m.group(1):
            out.append((f"{m.group(1)}_date", pen + 1, "a date-time column read as its date"))
            out.append((m.group(1), pen + 2, "a date-time column read as its moment"))
    return out


EXTRA_WORDS = {"primary", "department", "contact", "home", "work", "cell", "registration",
               "deceased", "scheduled", "cancel", "reason", "name", "code", "number", "date",
               "time", "type", "status", "preferred", "middle", "suffix", "marital", "race",
               "ethnicity", "language", "relationship", "birth", "death", "zip", "city",
               "state", "country", "address", "phone", "mobile", "email", "first", "last",
               "patient", "provider", "practitioner", "appointment", "start", "end", "id"}


@lru_cache(maxsize=1)
def _lexicon() -> frozenset[str]:
    """Words our tables know: the parts of every synonym and field name."""
    words = set(EXTRA_WORDS)
    for table in [COMMON, *SYNONYMS.values()]:
        for f, names in table.items():
            words |= set(f.strip("_").split("_"))
            for n in names:
                words |= set(norm(n).split("_"))
    for obj in ENTITIES:
        for f in fields_of(ENTITIES[obj]):
            words |= set(f.name.split("_"))
    return frozenset(w for w in words if len(w) >= 2 and w.isalpha())


@lru_cache(maxsize=4096)
def segment(name: str) -> str:
    """Words run together split at known words (``primaryproviderid`` →
    ``primary_provider_id``; ``language6392code`` → ``language_6392_code``); a word we know
    whole (``postcode``, ``birthdate``) is left as it is."""
    lex = _lexicon()
    out = []
    for tok in re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", "_", name).split("_"):
        if len(tok) < 7 or tok in lex or not tok.isalpha():
            out.append(tok)
            continue
        best: list[list[str] | None] = [[]] + [None] * len(tok)  # fewest words up to i
        for i in range(1, len(tok) + 1):
            for j in range(max(0, i - 14), i - 1):
                prev = best[j]
                if prev is not None and tok[j:i] in lex and (
                        best[i] is None or len(prev) + 1 < len(best[i] or [])):
                    best[i] = [*prev, tok[j:i]]
        out.extend(best[-1] if best[-1] else [tok])
    return "_".join(out)


def _list_items(header: str) -> str:
    """A flattened key with each list's name made singular (``addresses.0.street`` →
    ``address_street``, ``phones.0.number`` → ``phone_number``): a part followed by a list
    index names a list, and the column holds one item of it. "" when no part is a list."""
    parts = [p for p in re.split(r"[.\[\]/]+", header) if p]
    if not any(p.isdigit() for p in parts[1:]):
        return ""
    out = []
    for i, p in enumerate(parts):
        if p.isdigit():
            continue
        w = norm(p)
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            w = w[:-2] if w.endswith(("sses", "xes")) else w[:-1] if w.endswith("s") and \
                not w.endswith("ss") else w
        if w not in LINK_WORDS:
            out.append(w)
    return "_".join(out)


def readings(header: str, stem: str = "") -> list[tuple[str, int, str]]:
    """Names a header can be read as, each with its rank penalty and how: as written, as a
    flattened key (``patient.links.self`` → ``patient``), by its last segment alone
    (``telecom.email`` → ``email``), without the file's own name, without a qualifier."""
    n, k = norm(header), key_norm(header)
    out = [(n, 0, "own name")]
    if segment(n) != n:
        out.append((segment(n), 1, "words run together"))
    if expand(n) != n:
        out.append((expand(n), 1, "abbreviations expanded"))
    if k != n:
        out.append((k, 1, "flattened key"))
    segs = [norm(p) for p in re.split(r"[.\[\]/]+", header) if p and not p.isdigit()]
    segs = [p for p in segs if p not in LINK_WORDS] or segs
    last = segs[-1] if segs else ""
    if re.search(r"[.\[\]/]", header) and last not in (k, n):
        out.append((last, 2, "last segment of a flattened key"))
    if len(segs) >= 2 and (segs[-2] == last or segs[-2].endswith("_" + last)):
        # the last part repeats its parent's ending (``endDateTime.dateTime``): the parent
        # names the value
        out.append((segs[-2], 1, "flattened key, its parent"))
    items = _list_items(header)
    if items and items != k:  # ``phones.0.number``: a number of a list of phones
        out.append((items, 1, "flattened key, a list's item"))
    if n == "key" or (n.endswith("_key") and n.split("_")[-2] not in ("source", "api")):
        # a record's key as a booking system or a warehouse names it (``key``, ``staff_key``,
        # ``PatientKey``): its id (a source system's ``source_key`` is its own bookkeeping)
        out.append((n[:-3] + "id", 1, "a key read as its id"))
    if n.endswith("_ids") and len(n) > 4:  # ``staffMemberIds``, ``location_ids``: one id each
        out.append((n[:-1], 1, "a list of ids read as one"))
        if last.endswith("_ids") and last != n:
            out.append((last[:-1], 3, "a list of ids read as one, last segment"))
    if stem:
        words = _words(stem)
        for name, pen, _ in list(out):
            cut = _strip_stem(name, words)
            if cut != name:
                out.append((cut, pen + 1, "name without the file's name"))
    for name, pen, how in list(out):
        out += [(v, pen + p, h if how == "own name" else f"{how}, {h}")
                for v, p, h in _variants(name)]
    best: dict[str, tuple[int, str]] = {}
    for name, pen, how in out:
        if name and (name not in best or pen < best[name][0]):
            best[name] = (pen, how)
    return sorted(((nm, p, h) for nm, (p, h) in best.items()), key=lambda x: x[1])


#: a column the confirmed map leaves out of the migration (an internal id, a geocode, an
#: audit column): the converter drops it, ``ferry map`` gives the reason in mapping.yaml
SKIP = "_not_migrated"


def match_details(obj: str, headers: list[str], given: dict[str, str | None] | None = None,
                  stem: str = "", others: dict[str, list[tuple[str, str]]] | None = None
                  ) -> dict[str, tuple[str | None, str]]:
    """Column → (canonical field or None, how it was matched). ``given`` (the confirmed map)
    wins; among the rest, each field goes to the column with its best name (joint, not first
    come). ``how``: ``given``, ``own name`` / ``synonym`` (exact), or a flattened-key reading.
    ``others`` (filled in place when given): every field each column names, best first."""
    given = given or {}
    aliases = dict(_ranked_aliases(obj))
    if stem:  # the file's own key (``care_site_id`` in care_site.csv) is its record id
        aliases.update({k: ("source_id", 0) for k in _stem_keys(stem, obj)})
    taken: set[str] = {v for v in given.values() if v}
    claims: list[tuple[int, int, str, str, str]] = []  # (rank, order, column, field, how)
    for i, h in enumerate(headers):
        if h in given:
            continue
        best: dict[str, tuple[int, str]] = {}  # field → (rank, how): every field it names
        for key, penalty, how in readings(h, stem):
            hit = aliases.get(key)
            if hit is None and key.endswith("_name") and aliases.get(key[:-5], ("", 1))[1] == 0:
                # ``race_name``: the name of what a field holds, by the field's own name
                hit, penalty, how = aliases[key[:-5]], penalty + 1, f"{how}, its name"
            if hit and hit[0] not in taken:
                if how == "own name":
                    how = "own name" if hit[1] == 0 else f"synonym {key!r}"
                if hit[0] not in best or hit[1] + penalty < best[hit[0]][0]:
                    best[hit[0]] = (hit[1] + penalty, how)
        claims += [(r, i, h, f, how) for f, (r, how) in best.items()]
    if others is not None:  # every field each column names, for the proposer's joint
        for _, _, h, field, how in sorted(claims):
            others.setdefault(h, []).append((field, how))
    out: dict[str, tuple[str | None, str]] = {h: (given[h], "given") for h in headers
                                              if h in given}
    for _, _, h, field, how in sorted(claims):
        if h in out or field in taken:
            continue
        out[h] = (field, how)
        taken.add(field)
    for h in headers:
        out.setdefault(h, (None, ""))
    _text_beside_title(obj, out, others)
    return {h: out[h] for h in headers}


#: how a description beside a title is placed (``match_details``)
BESIDE_TITLE = "beside a title, its text"


def _text_beside_title(obj: str, out: dict[str, tuple[str | None, str]],
                       others: dict[str, list[tuple[str, str]]] | None = None) -> None:
    """A description beside a title is the titled record's text, whatever else its name may
    read as (a booking's ``title`` and ``description``: the description is what the booker
    wrote, not the visit's type as an encounter's lone ``DESCRIPTION`` is): it goes to the
    object's free-text field when that is free, else nowhere (nor is it offered for another
    field in ``others``). In place."""
    titled = [h for h, (f, _) in out.items() if f == "title"]
    if not titled:
        return
    text = [f.name for f in fields_of(ENTITIES[obj]) if f.kind is Kind.LONG_TEXT]
    for h, (f, how) in list(out.items()):
        if how == "given" or f is None or f in text or f == "description" or h in titled or \
                expand(_last_part(h)) != "description":
            continue
        used = {v for v, _ in out.values()}
        free = next((t for t in text if t not in used), None)
        if others is not None and h in others:
            others[h] = [(g, w) for g, w in others[h] if g in text]
        out[h] = (free, BESIDE_TITLE) if free else (None, "")


def match_columns(obj: str, headers: list[str], given: dict[str, str | None] | None = None,
                  stem: str = "") -> dict[str, str | None]:
    """Column → canonical field (or None: custom); see ``match_details``."""
    return {h: f for h, (f, _) in match_details(obj, headers, given, stem).items()}


@dataclass(frozen=True)
class ObjectChoice:
    """Which object a file holds, how strongly its evidence says so, and, when the evidence
    does not settle it, why (``doubt``): such a file is held for a person to decide."""

    object: str | None
    score: float = 0.0
    runner_up: str | None = None
    runner_up_score: float = 0.0
    doubt: str = ""


#: the best object must beat the next by this much (one column's worth) to be taken unasked
CLOSE = 1.0
#: a file whose name names no object: its columns must not fit the next object this well
#: (as a share of the best's score), or they do not say which of the two it holds
SHARED = 0.8
#: a file name naming an object, or a first column named as its key, weighs this much
NAME_WEIGHT = 1.5


#: fields a record's timestamps and key fill: they say nothing of what the record is
RECORD_KEYS = ("source_id", "created_at", "updated_at")
#: column names any kind of record has (its status, title, description, notes, type, date, a
#: version): a column so named fits several objects without telling which one the file holds
GENERIC_WORDS = frozenset({"id", "status", "state", "title", "description", "notes", "note",
                           "name", "type", "date", "version", "active", "currency", "comments"})
#: two kinds of person: a staff list and a client list have the same columns for who someone
#: is and how to reach them (a name, email, phones, an address, gender, a clinic, a birthday;
#: Zenoti's employees have middle names and birth dates): only clinical columns tell them apart
PEOPLE = frozenset({"patient", "practitioner"})
PERSON_FIELDS = frozenset({"first_name", "last_name", "_full_name", "middle_name", "title",
                           "preferred_name", "email", "phone", "mobile", "work_phone", "address",
                           "street", "street2", "city", "region", "postcode", "country", "sex",
                           "gender", "clinic_id", "name_suffix", "date_of_birth"})


def _weight(obj: str, field: str) -> float:
    """A reference says what a record points at, not what it is: half a point."""
    info = next((f for f in fields_of(ENTITIES[obj]) if f.name == field), None)
    return 0.5 if info is not None and info.ref else 1.0


def _placements(stem: str, headers: list[str]) -> dict[str, dict[str, str | None]]:
    """{object: {column: field}}: what each object's exact matcher makes of the columns. The
    file's name is cut from a column's name only for the object the name names (or for every
    object when it names none): ``payment_type_id`` in ``payments.csv`` is the payment's
    type, never an appointment's ``type_id``. A flattened key under another object's name
    (``guest.first_name`` in ``invoices.csv``) is a detail of the record the row links to:
    it does not make the file that object's."""
    named = object_for_file(stem)
    out = {obj: match_columns(obj, headers, stem=stem if named in (None, obj) else "")
           for obj in ENTITIES}
    if named is not None:
        for h in headers:
            linked = linked_object(h)
            if linked is not None and linked != named and h in out[linked]:
                out[linked][h] = None
    return out


def linked_object(header: str) -> str | None:
    """The object a flattened key's first part names (``guest.first_name``,
    ``attendees.0.email``: a patient's), or None: the column is a detail of that record."""
    parts = [p for p in re.split(r"[.\[\]/]+", header) if p]
    return object_for_file(parts[0]) if len(parts) > 1 else None


def object_scores(stem: str, headers: list[str],
                  placed: dict[str, dict[str, str | None]] | None = None
                  ) -> tuple[str | None, dict[str, float]]:
    """(the object the file name names, {object: score}): each object scores the columns that
    name one of its fields exactly (ids and timestamps aside, references half); a first column
    named as the object's own key (``PROV_ID``) and a whole word of the file name add
    ``NAME_WEIGHT`` each."""
    named = object_for_file(stem)
    first = {n for n, _, _ in readings(headers[0])} if headers else set()
    placed = placed if placed is not None else _placements(stem, headers)
    out: dict[str, float] = {}
    for obj in ENTITIES:  # every object: one without synonyms still scores its own fields
        score = sum(_weight(obj, v) for v in placed[obj].values() if v and v not in RECORD_KEYS)
        score += NAME_WEIGHT if obj == named else 0.0
        keys = set(SYNONYMS.get(obj, {}).get("source_id", [])) - {"id", "uuid", "record_id"}
        if first & (keys | {f"{obj}_id"}):  # the first column is this object's own key
            score += NAME_WEIGHT
        out[obj] = score
    return named, out


def _last_part(header: str) -> str:
    """A flattened key's last named part (``payment_requests.0.status`` → ``status``), or the
    name itself."""
    parts = [norm(p) for p in re.split(r"[.\[\]/]+", header) if p and not p.isdigit()]
    return parts[-1] if parts else norm(header)


def telling(obj: str, other: str, placed: dict[str, dict[str, str | None]]) -> float:
    """How much of the file only ``obj`` explains: its columns that name a field of ``obj``
    and none of ``other``, leaving out the columns any record has (``GENERIC_WORDS``) and,
    between a patient and a practitioner, who someone is and how to reach them
    (``PERSON_FIELDS``)."""
    mine, theirs = placed[obj], placed[other]
    people = {obj, other} == PEOPLE
    return sum(_weight(obj, f) for h, f in mine.items()
               if f and f not in RECORD_KEYS and not theirs.get(h)
               and _last_part(h) not in GENERIC_WORDS
               and not (people and f in PERSON_FIELDS))


def choose_object(stem: str, headers: list[str]) -> ObjectChoice:
    """The object a file holds, from its columns first (``object_scores``); the name is enough
    alone for a file whose columns say little. In doubt (``ObjectChoice.doubt``) when the
    evidence does not settle it: the file name names one object and the columns fit another
    better; the best object barely beats the next (within ``CLOSE``); or the name names no
    object and most of the columns fit the next one too (``SHARED``). A file placed as the
    wrong object makes every one of its columns wrong, so such a file is never read on a
    guess: a person names its object (ferry.yaml ``source.files``)."""
    cover = match_columns("insurance_policy", headers, stem=stem)
    if _words(stem) & PAYER_WORDS and "patient_id" not in cover.values():
        return ObjectChoice(None)  # a list of payers (reference data), not anyone's cover
    placed = _placements(stem, headers)
    named, scores = object_scores(stem, headers, placed)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])  # stable: ENTITIES order on ties
    (best, top), (second, next_) = ranked[0], ranked[1]
    if top < 2:  # the columns say little: the file name alone decides (or nothing does)
        return ObjectChoice(named, scores.get(named, 0.0) if named else 0.0)
    if named is not None:
        # the name decides among the objects the columns fit about as well, when none of them
        # explains more of the file than the named one does: the columns they share (a
        # person's name and phones, a status, a title, an amount) say nothing either way
        rivals = [o for o, sc in ranked if o != named and sc > scores[named] - CLOSE]
        if rivals and all(telling(o, named, placed) <= telling(named, o, placed)
                          for o in rivals):
            return ObjectChoice(named, scores[named], rivals[0], scores[rivals[0]])
    if named is not None and best != named:
        return ObjectChoice(best, top, named, scores[named], (
            f"its name says {named}, but its columns fit {best} better ({top:g} against "
            f"{scores[named]:g}, the name counted)"))
    if top - next_ < CLOSE:
        return ObjectChoice(best, top, second, next_, (
            f"its columns fit {best} ({top:g}) {'no' if top == next_ else 'barely'} better "
            f"than {second} ({next_:g})"))
    if named is None and next_ >= SHARED * top:
        return ObjectChoice(best, top, second, next_, (
            f"its name names no object and most of its columns fit {second} as well as "
            f"{best} ({next_:g} against {top:g})"))
    return ObjectChoice(best, top, second, next_)


def detect_object(stem: str, headers: list[str]) -> str | None:
    """The object a file holds (its best guess, in doubt or not: ``choose_object``)."""
    return choose_object(stem, headers).object


def object_for_headers(headers: list[str]) -> str | None:
    """The object whose fields the headers match best (used when a file name says nothing)."""
    return detect_object("", headers)


def _ref_fields(obj: str) -> dict[str, str]:
    """Referenced object → this object's field that holds the reference (first one wins)."""
    out: dict[str, str] = {}
    for f in fields_of(ENTITIES[obj]):
        if f.kind is Kind.REF and f.ref:
            out.setdefault(f.ref, f.name)
    return out


def _stem_keys(stem: str, obj: str) -> set[str]:
    base = norm(stem)
    out = {f"{base}_id", f"{obj}_id"}
    if base.endswith("s"):
        out.add(f"{base[:-1]}_id")
    return out


#: a number a person reads that is also a file's key when other files link by it (not an
#: invoice's number: its deal's title reads it, and a payment file's link finds it anyway)
OWN_NUMBERS = frozenset({"patient_number"})


def _linked_number(stem: str, obj: str, cols: dict[str, str | None], fixed: set[str],
                   tables: list[tuple[str, str, dict[str, str | None], set[str]]]) -> str | None:
    """A file with no key column whose own number (a British desk's ``Patient No``) another
    file names its link by (the bookings' ``Patient No``): that number is the file's key, or
    every link to its records would point at nothing."""
    base = norm(stem)
    names = {f"{obj}_number", f"{base}_number", f"{base[:-1]}_number"}
    for h, f in cols.items():
        if h in fixed or (f is not None and f not in OWN_NUMBERS) \
                or expand(norm(h)) not in names:
            continue
        for _, other, ocols, _ in tables:
            ref = _ref_fields(other).get(obj) if other != obj else None
            if ref and any(norm(c) == norm(h) and g in (None, ref) for c, g in ocols.items()):
                return h
    return None


def link_keys(tables: list[tuple[str, str, dict[str, str | None], set[str]]]) -> None:
    """Keys that join files, in place. ``tables``: (file stem, object, columns, columns the
    user fixed). A file with no key column takes ``<file name>_id`` as its key (``visits.csv``:
    ``visit_id``); then a column named like another file's key is the reference to that
    file's object (``person_id`` in a visits file when ``person.csv`` is keyed by
    ``person_id`` → the visit's patient)."""
    for stem, obj, cols, fixed in tables:
        if "source_id" in cols.values():
            continue
        keys = _stem_keys(stem, obj)
        for h, f in cols.items():
            if f is None and h not in fixed and norm(h) in keys:
                cols[h] = "source_id"
                break
        else:
            number = _linked_number(stem, obj, cols, fixed, tables)
            if number is not None:
                cols[number] = "source_id"
    owner: dict[str, str] = {}
    for _, obj, cols, _ in tables:
        for h, f in cols.items():
            if f == "source_id" and norm(h) != "id":
                owner.setdefault(norm(h), obj)
    def owner_of(h: str) -> str | None:
        """The object whose key the column names, whole or as its ending
        (``CUR_PCP_PROV_ID`` ends with ``PROV_ID``, the practitioners' key)."""
        n = norm(h)
        if n in owner:
            return owner[n]
        ends = sorted((k for k in owner if n.endswith("_" + k)), key=len, reverse=True)
        return owner[ends[0]] if ends else None

    for _, obj, cols, fixed in tables:
        refs = _ref_fields(obj)
        for h, f in list(cols.items()):
            target = owner_of(h)
            if f is not None or h in fixed or target is None or target == obj:
                continue
            field = refs.get(target)
            if not field:
                continue
            holder = next((c for c, v in cols.items() if v == field), None)
            if holder is not None and (holder in fixed or norm(holder) == field
                                       or norm(holder) in owner):
                continue  # named for the field itself, or a join key too: it stays
            if holder is not None:  # a generic synonym gives way to the join key
                cols[holder] = None
            cols[h] = field


MARITAL_WORDS = {"married", "single", "divorced", "widowed", "separated", "domestic partner",
                 "never married", "partnered", "unmarried"}
STREET_LINE = re.compile(r"^\d+[A-Za-z]?\s+\S+")


def _share(values: list[str], test: object) -> float:
    vals = [v.strip() for v in values if v and v.strip()]
    return sum(1 for v in vals if test(v)) / len(vals) if vals else 0.0  # type: ignore[operator]


# a field whose name matched but whose values say another field (value evidence)
ICD10 = re.compile(r"^[A-TV-Z]\d{2}(\.[0-9A-Z]{1,4})?$", re.I)
DRUG_CODE = re.compile(r"^\d{4,11}$|^\d{4,5}-\d{3,4}(-\d{1,2})?$")  # RxNorm / NDC
DOCTOR = re.compile(r"^(dr\.?|doctor|prof\.?)\s+\S|.*\b(md|mbbs|gp|do)\b\.?$", re.I)
LETTERS = re.compile(r"^([A-Z]{2,6}|([A-Z]\.){2,5})([,\s]+([A-Z]{2,6}|([A-Z]\.){2,5}))*$")
VALUE_RULES: list[tuple[str, object, str]] = [
    ("status", lambda v: v.lower() in MARITAL_WORDS, "marital_status"),
    ("address", lambda v: bool(STREET_LINE.match(v)) and "," not in v, "street"),
    ("medication", lambda v: bool(DRUG_CODE.match(v)), "medication_code"),
    ("title", lambda v: bool(ICD10.match(v)), "diagnosis_codes"),
    ("referral_source", lambda v: bool(DOCTOR.match(v)), "referring_doctor"),
    ("role", lambda v: bool(LETTERS.match(v)), "credentials"),
]


def check_values(cols: dict[str, str | None], samples: dict[str, list[str]],
                 fixed: set[str], fields: set[str]) -> None:
    """Move a column to the field its values show (a marital-status column named ``status``;
    a street line named ``address``), in place; off the field when that one is taken."""
    for field, test, better in VALUE_RULES:
        col = next((h for h, f in cols.items() if f == field and h not in fixed), None)
        if col is None or better not in fields or _share(samples.get(col, []), test) < 0.8:
            continue
        cols[col] = better if better not in cols.values() else None


#: a state kept as a flag: a column of these words is the flag's value (``values.as_bool``)
STATE_WORDS = frozenset({"active", "inactive", "enabled", "disabled"})


def status_flag(cols: dict[str, str | None], samples: dict[str, list[str]],
                fixed: set[str], fields: set[str]) -> list[str]:
    """A record whose state is a flag (a practitioner's ``active``) and which has no status of
    its own: its ``status`` column whose values are only Active / Inactive (Enabled /
    Disabled) is that flag. In place; returns the column so placed."""
    if "active" not in fields or "status" in fields or "active" in cols.values():
        return []
    for h, f in cols.items():
        vals = {v.strip().lower() for v in samples.get(h, []) if v.strip()}
        if f is None and h not in fixed and vals and vals <= STATE_WORDS and (
                _last_part(h) in ("status", "state") or _last_part(h).endswith("_status")):
            cols[h] = "active"
            return [h]
    return []


#: a time of day: ``09:30``, ``2:30 PM``, ``2 PM``, and as French desks write it, ``14h30``
TIME_ONLY = re.compile(r"^\d{1,2}(?::\d{2}(:\d{2})?(\s?[AaPp]\.?[Mm]\.?)?|\s?[AaPp]\.?[Mm]\.?"
                       r"|\s?[hH]\s?(\d{2})?)$")
#: a date alone; also at midnight, as a spreadsheet's date cell reads (``2025-03-09 00:00:00``)
DATE_ONLY = re.compile(r"^(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{8})(?:[ T]00:00(?::00)?)?$")
#: pseudo-fields: the time of day of a date-time field whose date is in another column
TIME_OF = {"_start_time": "start", "_end_time": "end"}


def pair_date_time(cols: dict[str, str | None], samples: dict[str, list[str]],
                   fixed: set[str], fields: set[str]) -> list[str]:
    """An appointment's date and time in two columns (``date`` 2024-06-01, ``time`` 09:30):
    when a date-time field holds dates only and a column left over holds times of day, that
    column becomes the field's time (``_start_time``), combined into one moment at reading.
    An end column of times of day with no date of its own is the end's time on the start's day
    (``_end_time``).
    Returns the columns so paired."""
    out = []
    for pseudo, field in TIME_OF.items():
        if field not in fields or pseudo in cols.values():
            continue
        col = next((h for h, f in cols.items() if f == field), None)
        if col is not None and col not in fixed and \
                _share(samples.get(col, []), TIME_ONLY.match) >= 0.9:
            # the field went to the time column (``starttime``): the date column takes it
            day = next((h for h, f in cols.items() if f is None and h not in fixed
                        and _share(samples.get(h, []), DATE_ONLY.match) >= 0.9), None)
            if day is None:
                if field == "end" and "start" in cols.values():
                    # Date, Start, End: the visit's one date is the start's; the end is a time
                    # on that day (read so by the converter, which lists one it cannot place)
                    cols[col] = pseudo
                    out.append(col)
                continue
            cols[day], cols[col] = field, pseudo
            out.append(col)
            continue
        if col is None or _share(samples.get(col, []), DATE_ONLY.match) < 0.9:
            continue
        word = field.split("_")[0]
        spare = [h for h, f in cols.items() if f is None and h not in fixed
                 and _share(samples.get(h, []), TIME_ONLY.match) >= 0.9]
        spare.sort(key=lambda h: (word not in norm(h), "time" not in norm(h)))
        if spare:
            cols[spare[0]] = pseudo
            out.append(spare[0])
    return out


LINK = re.compile(r"^(?:https?://[^/]+)?/?(?:[\w.-]+/)*?([A-Za-z][A-Za-z_-]+)/([\w.-]+)/?"
                  r"(?:[?#].*)?$")


def link_targets(cols: dict[str, str | None], samples: dict[str, list[str]],
                 fixed: set[str], obj: str) -> list[str]:
    """A column whose values link to records of one kind (``Practitioner/12``,
    ``https://…/practitioners/12``) is this object's reference to that kind, whatever the
    header says (``generalPractitioner.0.reference``). In place; returns the columns placed."""
    refs = _ref_fields(obj)
    out = []
    for h, f in cols.items():
        vals = [v for v in samples.get(h, []) if v]
        if f is not None or h in fixed or not vals:
            continue
        kinds = {m.group(1) for v in vals if (m := LINK.match(v.strip()))}
        hits = sum(1 for v in vals if LINK.match(v.strip()))
        if hits / len(vals) < 0.9 or len(kinds) != 1:
            continue
        target = object_for_file(kinds.pop())
        field = refs.get(target or "")
        if field and field not in cols.values():
            cols[h] = field
            out.append(h)
    return out
