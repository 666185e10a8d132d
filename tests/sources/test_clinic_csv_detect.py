"""Reading any clinic export right (issue 16): the object from the columns, not a substring of
the file name; files missing a required column still yield records; the better of two columns
wins a field; link-URL references and flattened keys resolved; new objects of real exports."""

from __future__ import annotations

from pathlib import Path

from ferry.sources.clinic_csv import create

APPTS = ("id,patient_id,practitioner_id,start,end,status\n"
         "1,7,3,2024-03-01 09:00,2024-03-01 09:30,completed\n"
         "2,8,3,2024-03-02 10:00,2024-03-02 10:30,cancelled\n")


def source(folder: Path):  # noqa: ANN201
    return create({"path": str(folder)}, folder)


def objects(folder: Path) -> dict[str, str]:
    return {p.table.name: p.object for p in source(folder).plans()}


def test_misleading_substring_in_the_file_name(tmp_path: Path) -> None:
    # "PremierHealth" holds "emr" (an EMR is clinical notes) and "calendar" names nothing:
    # the columns say appointments
    (tmp_path / "PremierHealth_calendar.csv").write_text(APPTS)
    assert objects(tmp_path) == {"PremierHealth_calendar.csv": "appointment"}


def test_objects_of_real_exports(tmp_path: Path) -> None:
    (tmp_path / "encounters.csv").write_text(
        "Id,START,STOP,PATIENT,PROVIDER,DESCRIPTION\n"
        "e1,2024-03-01T09:00:00Z,2024-03-01T09:30:00Z,p1,d1,Check up\n")
    (tmp_path / "conditions.csv").write_text(
        "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
        "2024-03-01,,p1,e1,J02.9,Acute pharyngitis\n")
    (tmp_path / "organizations.csv").write_text(
        "Id,NAME,ADDRESS,CITY,STATE,ZIP,PHONE\no1,Harbour Clinic,1 Quay St,Hobart,TAS,7000,"
        "03 6200 0000\n")
    assert objects(tmp_path) == {"encounters.csv": "appointment",
                                 "conditions.csv": "treatment_record",
                                 "organizations.csv": "clinic"}


def test_file_missing_a_required_column_still_yields_records(h, tmp_path: Path) -> None:
    (tmp_path / "appointments.csv").write_text(  # no status column at all
        "id,patient_id,start\n1,7,2020-03-01 09:00\n2,8,2999-03-02 10:00\n")
    (tmp_path / "medications.csv").write_text(  # a code, no drug name
        "id,patient_id,code,start\n1,7,313782,2024-01-02\n")
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert errs == [] and [r.status for r in recs] == ["completed", "scheduled"]
    meds, errs, _ = h.read_all(source(tmp_path), "prescription")
    assert errs == [] and meds[0].medication == "313782" == meds[0].medication_code


def test_two_candidate_columns_for_one_field(tmp_path: Path) -> None:
    # both name the sex field; the field's own name wins, whichever comes first
    (tmp_path / "patients.csv").write_text("id,first_name,gender,sex\n1,Ann,Woman,F\n")
    (plan,) = source(tmp_path).plans()
    assert plan.columns["sex"] == "sex" and plan.columns["gender"] is None


def test_link_url_reference_and_flattened_keys(h, tmp_path: Path) -> None:
    (tmp_path / "individual_appointments.csv").write_text(
        "id,starts_at,patient.links.self,practitioner.links.self\n"
        "5,2024-03-01T09:00:00Z,https://api.example.com/v1/patients/12,"
        "https://api.example.com/v1/practitioners/3?x=1\n")
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert errs == []
    assert (recs[0].patient_id, recs[0].practitioner_id) == ("12", "3")


def test_a_payer_list_is_not_read_as_clinics_or_patients(tmp_path: Path) -> None:
    # organisations with an address and a phone look like clinics; a payer list is reference
    # data (named in the verdicts); the payer transitions name a patient: insurance cover
    (tmp_path / "payers.csv").write_text(
        "Id,NAME,ADDRESS,CITY,STATE_HEADQUARTERED,ZIP,PHONE\n"
        "b1,Medicare,7500 Security Blvd,Baltimore,MD,21244,1-800-633-4227\n")
    (tmp_path / "payer_transitions.csv").write_text(
        "PATIENT,START_YEAR,END_YEAR,PAYER\np1,2019,2021,b1\n")
    src = source(tmp_path)
    assert {p.table.name: p.object for p in src.plans()} == {
        "payer_transitions.csv": "insurance_policy"}
    assert any("payers.csv" in str(v) for v in src.verdicts())


def test_the_datetime_column_beats_the_date_column_for_a_moment(h, tmp_path: Path) -> None:
    # two candidates for the start: the file's name cut off, both read as "start"; the one
    # holding the time of day wins, whichever comes first
    (tmp_path / "encounter_log.csv").write_text(
        "encounter_log_id,patient_id,encounter_start_date,encounter_start_datetime\n"
        "7,1,2023-03-01,2023-03-01 09:00:00\n")
    (plan,) = source(tmp_path).plans()
    assert plan.columns["encounter_start_datetime"] == "start"
    assert plan.columns["encounter_start_date"] is None
    assert plan.columns["encounter_log_id"] == "source_id"
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert errs == [] and recs[0].start.hour == 9


def test_a_join_key_beats_a_generic_synonym(tmp_path: Path) -> None:
    # health_site.csv is keyed by health_site_id: that column of the patients file is the
    # clinic reference, not location_id (a synonym, here an address table's id)
    (tmp_path / "health_site.csv").write_text(
        "health_site_id,health_site_name,location_id\n31,Harbour Clinic,17\n")
    (tmp_path / "patients.csv").write_text(
        "patient_id,first_name,last_name,location_id,health_site_id\n1001,Ann,Lee,17,31\n")
    plans = {p.table.name: p for p in source(tmp_path).plans()}
    assert plans["health_site.csv"].object == "clinic"
    assert plans["health_site.csv"].columns["health_site_id"] == "source_id"
    assert plans["health_site.csv"].columns["health_site_name"] == "name"
    assert plans["patients.csv"].columns["health_site_id"] == "clinic_id"
    assert plans["patients.csv"].columns["location_id"] is None


def test_appointment_date_and_time_in_two_columns_make_one_start(h, tmp_path: Path) -> None:
    (tmp_path / "appointments.csv").write_text(
        "id,patient_id,date,time\n1,7,2024-06-01,09:30\n2,8,2024-06-02,2:05 PM\n"
        "3,9,2024-06-03,25:99\n")
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert [(r.start.hour, r.start.minute) for r in recs] == [(9, 30), (14, 5), (0, 0)]
    # the bad time is reported with its line and column; the record is kept on its date
    (issue,) = errs
    assert "line 4" in str(issue) and "time" in str(issue) and "25:99" not in str(issue)


def test_a_qualified_name_reads_as_its_field(tmp_path: Path) -> None:
    # ``gender_display``: the field's name with a representation qualifier; the file's own
    # name in front of a column says nothing; values that are codes move a drug name column
    # to the drug code
    (tmp_path / "staff.csv").write_text(
        "staff_id,staff_name,gender_display,specialty_text\n501,Dr Ann Lee,F,Cardiology\n")
    (tmp_path / "drug_orders.csv").write_text(
        "drug_order_id,patient_id,drug_order_start_date,drug_name_value\n"
        "1,1001,2023-03-01,313782\n2,1002,2023-03-02,314076\n")
    plans = {p.table.name: p for p in source(tmp_path).plans()}
    assert plans["staff.csv"].object == "practitioner"
    assert plans["staff.csv"].columns == {
        "staff_id": "source_id", "staff_name": "_full_name",
        "gender_display": "gender", "specialty_text": "specialty"}
    assert plans["drug_orders.csv"].object == "prescription"
    assert plans["drug_orders.csv"].columns["drug_order_start_date"] == "prescribed_on"
    assert plans["drug_orders.csv"].columns["drug_name_value"] == "medication_code"


def test_values_that_link_to_records_make_the_reference(h, tmp_path: Path) -> None:
    # the header names nothing we know; the values link to practitioners and organisations
    (tmp_path / "patients.csv").write_text(
        "id,first_name,last_name,careProvider.0.reference,custodian.reference\n"
        "1,Ann,Lee,Practitioner/3,https://fhir.example.org/r4/Organization/o-9\n"
        "2,Bo,Ng,Practitioner/4,https://fhir.example.org/r4/Organization/o-9\n")
    (plan,) = source(tmp_path).plans()
    assert plan.columns["careProvider.0.reference"] == "primary_practitioner_id"
    assert plan.columns["custodian.reference"] == "clinic_id"
    recs, errs, _ = h.read_all(source(tmp_path), "patient")
    assert errs == [] and [(r.primary_practitioner_id, r.clinic_id) for r in recs] == [
        ("3", "o-9"), ("4", "o-9")]


def test_words_run_together_are_read(h, tmp_path: Path) -> None:
    # an API's lower-case field names flattened to columns; the time column is the one named
    # "start", the date column only "date": the date still gives the start, with its time
    (tmp_path / "patients.csv").write_text(
        "patientid,firstname,lastname,primaryproviderid,deceaseddate\n40011,Ann,Lee,71,\n")
    (tmp_path / "appointments.csv").write_text(
        "appointmentid,patientid,date,starttime,appointmentstatus\n"
        "9,40011,06/23/2024,14:15,x\n")
    plans = {p.table.name: p.columns for p in source(tmp_path).plans()}
    assert plans["patients.csv"] == {
        "patientid": "source_id", "firstname": "first_name", "lastname": "last_name",
        "primaryproviderid": "primary_practitioner_id", "deceaseddate": "deceased_date"}
    assert plans["appointments.csv"]["date"] == "start"
    assert plans["appointments.csv"]["starttime"] == "_start_time"
    assert plans["appointments.csv"]["appointmentstatus"] == "status"
    recs, _, _ = h.read_all(source(tmp_path), "appointment")
    assert (recs[0].start.month, recs[0].start.day, recs[0].start.hour) == (6, 23, 14)


def test_abbreviated_headers_and_keys_named_at_their_end(tmp_path: Path) -> None:
    # a reporting database's tables: abbreviations of the trade (PAT, PROV, APPT), category
    # code suffixes (_C), and a reference named by the other table's key at its end
    (tmp_path / "PATIENT.csv").write_text(
        "PAT_ID,PAT_MRN_ID,PAT_FIRST_NAME,PAT_LAST_NAME,BIRTH_DATE,SEX_C,CUR_PCP_PROV_ID\n"
        "Z1,E100,ANN,LEE,1980-02-03 00:00:00,1,P7\n")
    (tmp_path / "PROVIDERS_EXTRACT.csv").write_text(
        "PROV_ID,PROV_NAME,EMAIL,NPI\nP7,Jane Smith,js@example.org,1234567893\n")
    (tmp_path / "PAT_VISITS.csv").write_text(
        "VISIT_ID,PAT_ID,VISIT_PROV_ID,APPT_TIME,APPT_STATUS_C\n"
        "V1,Z1,P7,2024-03-01 09:00:00,2\n")
    plans = {p.table.name: p for p in source(tmp_path).plans()}
    assert {n: p.object for n, p in plans.items()} == {
        "PATIENT.csv": "patient", "PROVIDERS_EXTRACT.csv": "practitioner",
        "PAT_VISITS.csv": "appointment"}
    pat = plans["PATIENT.csv"].columns
    assert (pat["PAT_ID"], pat["PAT_MRN_ID"], pat["SEX_C"], pat["CUR_PCP_PROV_ID"]) == (
        "source_id", "mrn", "sex", "primary_practitioner_id")
    assert plans["PROVIDERS_EXTRACT.csv"].columns["PROV_ID"] == "source_id"
    visit = plans["PAT_VISITS.csv"].columns
    assert (visit["PAT_ID"], visit["VISIT_PROV_ID"], visit["APPT_TIME"]) == (
        "patient_id", "practitioner_id", "start")


def test_required_fields_the_file_lacks_are_derived_and_named(h, tmp_path: Path) -> None:
    # no start and no status: the end and the length give the start; no invoice status:
    # the balance gives it; each gap is a verdict on the file, and no row is refused
    (tmp_path / "appointments.csv").write_text(
        "id,patient_id,end,duration\n1,7,2020-03-01 09:30,30\n")
    (tmp_path / "invoices.csv").write_text(
        "id,patient_id,total,balance\n5,7,120.00,0\n6,7,80.00,80.00\n")
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert errs == [] and (recs[0].start.hour, recs[0].start.minute) == (9, 0)
    assert recs[0].status == "completed"
    invs, errs, _ = h.read_all(source(tmp_path), "invoice")
    assert errs == [] and [i.status for i in invs] == ["paid", "pending"]
    said = [str(v) for v in source(tmp_path).verdicts()]
    assert any("appointments.csv: no start column: start derived" in v for v in said)
    assert any("invoices.csv: no status column: status derived" in v for v in said)
