"""Hand-written source exports whose patients carry canary values in every field (names,
emails, phones of several countries, addresses whose state and ZIP disagree, countries in other
languages, ``Georgia``, ambiguous birthdays, appointment times in a repeated hour and without
offsets, odd currencies, notes), and rows that fail. ``CANARIES`` are the values no log line,
console line, skip line or report (without ``--show-phi``) may quote."""

from __future__ import annotations

import json
import re
from pathlib import Path

STAFF = """Staff ID,Title,First Name,Last Name,Email,Phone,Job Title,Location ID,Active
501,Dr,Staffa,Doctorly,staffa.doctorly@clinic.example,(212) 555-0100,Physician,1,Yes
"""
LOCATIONS = """Location ID,Location Name,Street,City,State,Zip,Country,Phone,Email
1,Riverside Clinic,1 Main Street,New York,NY,10001,United States,(212) 555-0199,desk@clinic.example
"""
PATIENTS = (
    "Patient ID,Chart Number,MRN,Title,First Name,Last Name,Preferred Name,Gender,DOB,"
    "Mobile Number,Home Phone,Email,Address 1,Address 2,City,State,Zip,Country,SSN,"
    "Allergies,Medical History,Emergency Contact Name,Emergency Contact Phone,Referred By,"
    "Occupation,Patient Status,Location ID,Provider ID\n"
    # NSW with a San Francisco ZIP and no country: phone_country_conflict
    "9001,CHQX-7741,MRNQX77431,Ms,Quillonia,Vexbridge-Okafor,Quilly,F,03/04/1961,"
    "415-823-9176,(415) 823-6604,quillonia.vexbridge@canarymail.example,"
    "4417 Thornquill Avenue,Apt Zephyr 9,Marrowdale,NSW,94117,,987-65-4329,"
    "Quorvaxin canary allergy,Zorblatt syndrome history,Gideon Prewhistle,(415) 823-5512,"
    "Dr Halloran Wexby,Canary fletcher,Active,1,501\n"
    # Georgia with an Atlanta ZIP and no state to confirm either: ambiguous_country
    "9002,CHQX-7742,MRNQX77432,Mr,Ebberly,Szczanowski,,M,1937-07-11,"
    "+995 322 18 94 73,,ebberly.szczanowski@canarymail.example,"
    "19 Kvirikashvili Qucha,,Tbilvarrow,,30318,Georgia,,,,,,,,Active,1,501\n"
    # a country in German, a German number written the local way
    "9003,CHQX-7743,MRNQX77433,Frau,Mirabeth,Oyelaran-Pfaff,,F,11/07/1949,"
    "030 9018 2761,,mirabeth.pfaff@canarymail.example,Quastenweg 88,,Pfaffenkirchlein,,"
    "10967,Deutschland,,,,,,,,Active,1,501\n"
    # no such country
    "9004,CHQX-7744,MRNQX77434,Mr,Tarquin,Vollmerhausen,,M,02/05/1966,"
    "+44 20 7946 0321,,tarquin.vollmer@canarymail.example,12 Wexcombe Mews,,Lanthorne,,"
    "NW3 7QX,Narnivale,,,,,,,,Active,1,501\n"
    # a date that is no date, a state no country has
    "9005,CHQX-7745,MRNQX77435,Mr,Fenwick,Abernathy-Quist,,M,31/02/1980,"
    "(212) 736-8843,,fenwick.aquist@canarymail.example,5 Pellucid Row,,Brackenholt,ZQ,"
    "41873,United States,,,,,,,,Active,1,501\n"
    # the United Kingdom in French, a UK mobile written the local way
    "9006,CHQX-7746,MRNQX77436,Ms,Ysolde,Kravchenko-Lind,,F,04/30/1958,"
    "07700 900461,,ysolde.klind@canarymail.example,3 Orrisfield Close,,Quenby Magna,,"
    "LE7 9QZ,Royaume-Uni,,,,,,,,Active,1,501\n"
)
APPOINTMENTS = (
    "Appointment ID,Patient ID,Provider ID,Location ID,Visit Type,Appointment Status,"
    "Start Time,End Time,Duration,Price,Currency,Comments\n"
    # 1:30 AM on 2 November 2025 happened twice in New York; no end, no duration
    "7001,9001,501,1,Consult,Completed,11/02/2025 1:30 AM,,,CHF 8'173.29,CHF,"
    "Quillonia says the Zorblatt flare is worse\n"
    # 2:30 AM on 9 March 2025 never happened in New York
    "7002,9002,501,1,Consult,Completed,03/09/2025 2:30 AM,03/09/2025 3:10 AM,,\"R$ 6.417,83\",BRL,"
    "Ebberly canary note about Quorvaxin\n"
    "7003,9003,501,1,Consult,Completed,02/30/2025 10:00 AM,,30,¥73519,JPY,bad date row\n"
    "7004,9099,501,1,Consult,Scheduled,06/13/2025 9:00 AM,06/13/2025 9:30 AM,,$95.00,USD,\n"
    "7005,9004,501,1,Checkup,Scheduled,06/05/2025 11:00 AM,,45,\"kr 5 281,47\",SEK,"
    "Tarquin canary comment Wexcombe\n"
)
INVOICES = (
    "Invoice ID,Invoice Number,Patient ID,Visit ID,Total Amount,Balance Due,Currency,"
    "Billing Status,Invoice Date\n"
    "8001,INV-QX-5521,9001,7001,\"€4.372,18\",0,EUR,Paid,11/02/2025\n"
    "8002,INV-QX-5522,9004,7005,\"£3,918.64\",\"£3,918.64\",GBP,Open,06/05/2025\n"
)


#: columns the map leaves to the custom bag, their names saying nothing of PHI
CUSTOM = {"9001": "Lives with Corvina Prewhistle,Zorblatt flare since May",
          "9002": "Brother Ebberly Szczanowski Jr,Quorvaxin 20mg"}


def _with_custom(text: str) -> str:
    head, *rows = text.splitlines()
    return "\n".join([head + ",Household,Info 2",
                      *(r + "," + CUSTOM.get(r.split(",")[0], ",") for r in rows)]) + "\n"


def clinic_export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("staff.csv", STAFF), ("locations.csv", LOCATIONS),
                       ("patients.csv", _with_custom(PATIENTS)), ("appointments.csv", APPOINTMENTS),
                       ("invoices.csv", INVOICES)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def drop_patient(folder: Path, patient_id: str) -> None:
    """The export again, without one patient (others still link to it)."""
    path = folder / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith(f"{patient_id},")),
                    encoding="utf-8")


def _patient(pid: str, given: str, family: str, birth: str, phones: list[str], email: str,
             line: str, city: str, state: str, postal: str, country: str) -> dict:
    return {"resourceType": "Patient", "id": pid,
            "meta": {"lastUpdated": "2025-06-01T10:00:00Z"},
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRNQX{pid[-5:]}"}],
            "name": [{"family": family, "given": [given]}], "gender": "female",
            "birthDate": birth,
            "telecom": [{"system": "phone", "value": p, "use": "mobile" if i == 0 else "home"}
                        for i, p in enumerate(phones)] +
                       [{"system": "email", "value": email}],
            "address": [{"line": [line], "city": city, "state": state, "postalCode": postal,
                         "country": country}]}


def fhir_export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    patients = [
        _patient("fx-40001", "Quillonia", "Vexbridge-Okafor", "1961-03-04",
                 ["415-823-9176", "(415) 823-6604"], "quillonia.vexbridge@canarymail.example",
                 "4417 Thornquill Avenue", "Marrowdale", "NSW", "94117", ""),
        _patient("fx-40002", "Ebberly", "Szczanowski", "1937-07-11", ["+995 322 18 94 73"],
                 "ebberly.szczanowski@canarymail.example", "19 Kvirikashvili Qucha",
                 "Tbilvarrow", "", "30318", "Georgia"),
        _patient("fx-40003", "Mirabeth", "Oyelaran-Pfaff", "1949-07-11", ["030 9018 2761"],
                 "mirabeth.pfaff@canarymail.example", "Quastenweg 88", "Pfaffenkirchlein", "",
                 "10967", "Allemagne"),
        _patient("fx-40004", "Tarquin", "Vollmerhausen", "1966-05-02", ["+44 20 7946 0321"],
                 "tarquin.vollmer@canarymail.example", "12 Wexcombe Mews", "Lanthorne", "",
                 "NW3 7QX", "Narnivale"),
        _patient("fx-40005", "Fenwick", "Abernathy-Quist", "1980-02-31", ["(212) 736-8843"],
                 "fenwick.aquist@canarymail.example", "5 Pellucid Row", "Brackenholt", "ZQ",
                 "41873", "US"),
    ]
    practitioner = {"resourceType": "Practitioner", "id": "pr-1",
                    "name": [{"family": "Doctorly", "given": ["Staffa"]}],
                    "telecom": [{"system": "email", "value": "staffa.doctorly@clinic.example"}]}

    def appt(aid: str, pid: str, start: str, end: str | None, comment: str) -> dict:
        out = {"resourceType": "Appointment", "id": aid, "status": "booked", "start": start,
               "comment": comment,
               "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
                               {"actor": {"reference": "Practitioner/pr-1"},
                                "status": "accepted"}]}
        if end:
            out["end"] = end
        return out

    appts = [appt("ap-1", "fx-40001", "2025-11-02T01:30:00", None,
                  "Quillonia says the Zorblatt flare is worse"),
             appt("ap-2", "fx-40002", "2025-03-09T02:30:00", "2025-03-09T03:10:00",
                  "Ebberly canary note about Quorvaxin"),
             appt("ap-3", "fx-40003", "2025-02-30T10:00:00-05:00", None, "bad date row"),
             appt("ap-4", "fx-40004", "2025-06-05T11:00:00-04:00", "2025-06-05T11:45:00-04:00",
                  "Tarquin canary comment Wexcombe")]
    for name, rows in (("Patient", patients), ("Practitioner", [practitioner]),
                       ("Appointment", appts)):
        (folder / f"{name}.000.ndjson").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def fhir_drop_patient(folder: Path, patient_id: str) -> None:
    path = folder / "Patient.000.ndjson"
    rows = [r for r in path.read_text(encoding="utf-8").splitlines()
            if json.loads(r)["id"] != patient_id]
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")


#: every patient value, as written and in the shapes a message could turn it into
CANARIES: list[str] = [
    # names (and the emergency contact; the referring doctor is a clinician, PHI class none)
    "Quillonia", "Vexbridge", "Okafor", "Quilly", "Ebberly", "Szczanowski", "Mirabeth",
    "Oyelaran", "Pfaff", "Tarquin", "Vollmerhausen", "Fenwick", "Abernathy", "Ysolde",
    "Kravchenko", "Prewhistle", "Corvina",
    # emails
    "canarymail",
    # identifiers
    "CHQX", "MRNQX", "987-65-4329", "987654329",
    # streets, cities, postcodes
    "Thornquill", "Zephyr", "Marrowdale", "Kvirikashvili", "Tbilvarrow", "Quastenweg",
    "Pfaffenkirchlein", "Wexcombe", "Lanthorne", "Pellucid", "Brackenholt", "Orrisfield",
    "Quenby", "94117", "30318", "10967", "NW3 7QX", "41873", "LE7 9QZ",
    # countries as the patients' records give them (contact PHI in the model)
    "Narnivale", "Deutschland", "Royaume-Uni", "Allemagne",
    # clinical text, occupation
    "Quorvaxin", "Zorblatt", "fletcher",
    # amounts (financial)
    "8173.29", "8'173.29", "8173,29", "6417.83", "6.417,83", "6417,83", "73519", "73,519",
    "5281.47", "5 281,47", "5281,47", "4372.18", "4.372,18", "4372,18", "3918.64",
    "3,918.64",
    # birthdays in every order a message could print them
    "03/04/1961", "04/03/1961", "1961-03-04", "1961-04-03", "1937-07-11", "11/07/1937",
    "07/11/1937", "11/07/1949", "07/11/1949", "1949-07-11", "1949-11-07", "02/05/1966",
    "05/02/1966", "1966-05-02", "1966-02-05", "31/02/1980", "1980-02-31", "1958-04-30",
    "30/04/1958", "04/30/1958",
]
#: phone numbers: their national digits (a message may print any format of them)
PHONE_DIGITS = ["4158239176", "4158236604", "4158235512", "322189473", "3090182761",
                "2079460321", "2127368843", "7700900461"]


def leaks(text: str) -> list[str]:
    """The canaries ``text`` quotes (phones by their digits, whatever the punctuation)."""
    low = text.lower()
    found = [c for c in CANARIES if c.lower() in low]
    digits = re.sub(r"[\s().\-+/]", "", text)
    found += [p for p in PHONE_DIGITS if p in digits]
    return found
