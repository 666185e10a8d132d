"""The synthetic practice: deterministic, lazy, referentially sound, valid where it is clean."""

from __future__ import annotations

import datetime as dt
import itertools
import tracemalloc
from collections import Counter

import phonenumbers
import pytest
from email_validator import validate_email

from ferry.model.entities import ENTITIES, Document, entity
from ferry.model.fields import Kind, fields_of
from ferry.sandbox.synth import DirtRates, Practice

N = 300


@pytest.fixture(scope="module")
def practice() -> Practice:
    return Practice(seed=7, patients=N)


@pytest.fixture(scope="module")
def records(practice: Practice) -> dict[str, list]:
    return {o: list(practice.iter(o)) for o in practice.objects()}


def test_every_model_object_is_generated_parents_first(practice: Practice, records) -> None:
    objs = practice.objects()
    assert set(objs) == set(ENTITIES)
    for o in objs:
        assert records[o], f"{o} generated nothing"
        assert all(type(r) is entity(o) for r in records[o])
        for f in fields_of(entity(o)):
            if f.kind == Kind.REF and f.ref in objs:
                assert objs.index(f.ref) < objs.index(o) or f.ref == o, (o, f.name)


def test_counts_and_sizes(practice: Practice, records) -> None:
    for o in practice.objects():
        assert practice.count(o) == len(records[o]), o
    assert len(records["patient"]) == N
    assert 2 <= len(records["clinic"]) <= 5
    assert len(records["practitioner"]) == max(3, round(N / 40))
    per_patient = Counter(a.patient_id for a in records["appointment"])
    assert max(per_patient.values()) <= 13  # 12 + an orphan slot
    assert {a.status for a in records["appointment"]} == {"scheduled", "completed", "cancelled",
                                                          "no_show"}
    assert {a.type_name for a in records["appointment"]} == {"New Patient", "Follow-up",
                                                             "Consultation", "Procedure"}
    assert {p.priority for p in records["insurance_policy"]} == {"primary", "secondary"}
    assert len({p.country for p in records["patient"]} - {None}) >= 3


def test_ids_unique_integers_and_timestamps_ordered(records) -> None:
    for o, recs in records.items():
        ids = [r.source_id for r in recs]
        assert len(ids) == len(set(ids)), o
        assert all(i.isdigit() for i in ids), o
        for r in recs:
            assert r.created_at.tzinfo is not None and r.updated_at.tzinfo is not None
            assert r.created_at.utcoffset() == dt.timedelta(0)
            assert r.created_at <= r.updated_at, (o, r.source_id)


def test_references_resolve_except_the_ledgered_orphans(practice: Practice, records) -> None:
    ids = {o: {r.source_id for r in recs} for o, recs in records.items()}
    orphans = practice.ledger.ids("orphan_appointment") | practice.ledger.ids("orphan_note")
    dangling = set()
    for o, recs in records.items():
        refs = [f for f in fields_of(entity(o)) if f.kind == Kind.REF]
        for r in recs:
            for f in refs:
                v = getattr(r, f.name)
                if v is not None and v not in ids[f.ref]:
                    dangling.add((o, r.source_id, f.name))
    assert {(o, s) for o, s, _ in dangling} == (
        {("appointment", s) for s in practice.ledger.ids("orphan_appointment")}
        | {("clinical_note", s) for s in practice.ledger.ids("orphan_note")})
    assert all(f == "patient_id" for _, _, f in dangling)
    assert orphans


def test_same_seed_same_records_other_seed_other_records() -> None:
    a, b, c = Practice(seed=3, patients=40), Practice(seed=3, patients=40), Practice(seed=4,
                                                                                     patients=40)
    for o in a.objects():
        ra = [r.model_dump() for r in a.iter(o)]
        assert ra == [r.model_dump() for r in b.iter(o)], o
    pa = [(p.first_name, p.last_name, p.email) for p in a.iter("patient")]
    pc = [(p.first_name, p.last_name, p.email) for p in c.iter("patient")]
    assert pa != pc
    # a larger practice starts with the same patients (records depend on the index, not N)
    big = Practice(seed=3, patients=80, dirt=DirtRates())
    assert [p.model_dump() for p in itertools.islice(big.iter("patient"), 10)] == [
        p.model_dump() for p in itertools.islice(a.iter("patient"), 10)]


def test_iteration_is_lazy_and_memory_flat() -> None:
    p = Practice(seed=1, patients=1_000_000)
    first = list(itertools.islice(p.iter("appointment"), 5))
    assert first  # a million-patient practice yields at once
    tracemalloc.start()
    for _ in itertools.islice(p.iter("patient"), 500):
        pass
    _, small = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for _ in itertools.islice(p.iter("patient"), 2500):
        pass
    _, large = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert large < small * 1.5 + 1_000_000


def test_clean_contact_data_is_valid(records) -> None:
    clean = Practice(seed=11, patients=200, dirt=DirtRates.none())
    for pt in clean.iter("patient"):
        validate_email(pt.email, check_deliverability=False)
        for number in (pt.mobile, pt.phone, pt.emergency_contact and pt.emergency_contact.phone):
            if number:
                assert phonenumbers.is_valid_number(phonenumbers.parse(number, pt.country)), \
                    pt.source_id
        assert pt.blood_group in (None, "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
        assert pt.address is None and pt.street and pt.city
    emails = [pt.email for pt in clean.iter("patient")]
    assert len(emails) == len(set(emails))
    assert clean.ledger.ids("duplicate_email") == set()


def test_clinic_and_practitioner_contacts_valid(records) -> None:
    for c in records["clinic"]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(c.phone, c.country))
    for pr in records["practitioner"]:
        if pr.email:
            validate_email(pr.email, check_deliverability=False)


def test_file_bytes_deterministic_and_sized(practice: Practice, records) -> None:
    docs: list[Document] = [d for d in records["document"] if d.size < 300_000][:5]
    for d in docs:
        data = practice.file_bytes(d)
        assert len(data) == d.size
        assert data == Practice(seed=7, patients=N).file_bytes(d)
    assert {d.mime_type for d in records["document"]} >= {"application/pdf", "image/jpeg"}
    sizes = [d.size for d in records["document"]]
    assert min(sizes) < 200_000 and max(sizes) > 2_000_000
    assert sum(s > 50 * 1024 * 1024 for s in sizes) == len(practice.ledger.ids("oversize_file"))


def test_notes_carry_phi_at_the_spans(practice: Practice, records) -> None:
    patients = {p.source_id: p for p in records["patient"]}
    kinds: Counter[str] = Counter()
    for note in records["clinical_note"][:200]:
        spans = practice.phi_spans(note.source_id)
        assert spans
        pt = patients.get(note.patient_id)
        for start, end, kind in spans:
            kinds[kind] += 1
            text = note.body[start:end]
            if pt is not None and kind == "mrn":
                assert text == pt.mrn
            if pt is not None and kind == "name":
                assert text in (f"{pt.first_name} {pt.last_name}", pt.first_name)
            if pt is not None and kind == "phone":
                assert text == pt.mobile
    assert set(kinds) >= {"name", "dob", "mrn", "person", "icd10", "medication", "phone"}
    msg = next(m for m in records["message"] if m.direction == "inbound")
    spans = practice.phi_spans(msg.source_id, obj="message")
    assert any(k == "name" for _, _, k in spans)
    with pytest.raises(KeyError):
        practice.phi_spans("1")


def test_a_document_by_id_is_the_one_the_practice_lists() -> None:
    # the PracticeHub sandbox serves each file by id: from its patient alone, not by
    # generating every patient's documents per download (quadratic in an extract)
    from ferry.sandbox.synth import DirtRates

    practice = Practice(seed=4, patients=30, dirt=DirtRates(large_pdf=0.1, oversize_file=0.1))
    docs = list(practice.iter("document"))
    assert docs and all(practice.document(d.source_id) == d for d in docs)
    assert practice.document("1") is None and practice.document("x") is None
    assert practice.document(str(int(docs[-1].source_id) + 8 * 31)) is None


def test_doc_size_scale_shrinks_only_the_ordinary_documents() -> None:
    # bench/engine.py at 100k patients: the ordinary documents scaled down so the staging fits
    # the disk; the big files, the oversize scans, the text PDFs and every record stay the same
    dirt = DirtRates(large_pdf=0.1, oversize_file=0.1)
    full = list(Practice(seed=4, patients=60, dirt=dirt).iter("document"))
    small_practice = Practice(seed=4, patients=60, dirt=dirt, doc_size_scale=0.1)
    small = list(small_practice.iter("document"))
    assert [d.model_copy(update={"size": 0}) for d in full] == \
        [d.model_copy(update={"size": 0}) for d in small]
    shrunk = 0
    for a, b in zip(full, small, strict=True):
        if a.size > 50 * 1024 * 1024:
            assert b.size == a.size
        elif b.size != a.size or a.mime_type != "application/pdf":  # a text PDF keeps its own
            assert b.size == max(64, int(a.size * 0.1))
            shrunk += 1
    assert shrunk > 10 and any(a.size > 50 * 1024 * 1024 for a in full)
    doc = next(d for d in small if d.size < 300_000 and d.mime_type != "application/pdf")
    assert len(small_practice.file_bytes(doc)) == doc.size
    with pytest.raises(ValueError):
        Practice(seed=4, patients=5, doc_size_scale=0)
