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
