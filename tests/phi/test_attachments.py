"""Text-bearing attachments (issue 11): PDFs are screened by their text, and a redact decision
on a PDF uploads a redacted text rendition instead of the PDF (see ``ferry.phi.gate``)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from ferry.engine import pipeline as P
from ferry.mapping.recipes import load_recipe
from ferry.model.crypto import AesGcmCodec, encrypt_file, new_key, parse_key, plain_bytes
from ferry.model.entities import Document
from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.phi.gate import Gate, redacted_name
from ferry.sandbox.harness import Pair
from ferry.sandbox.synth import Practice

SEED, N = 11, 40


@pytest.fixture(scope="module")
def practice() -> Practice:
    return Practice(SEED, N)


def _text_pdfs(practice: Practice) -> list[Document]:
    return [d for d in practice.iter("document")  # type: ignore[misc]
            if practice.document_text(d) is not None]


def test_generator_makes_real_pdfs_with_planted_phi(practice: Practice) -> None:
    docs = list(practice.iter("document"))
    pdfs = [d for d in docs if d.mime_type == "application/pdf"]
    texts = _text_pdfs(practice)
    assert 0 < len(texts) < len(pdfs)  # a share of the PDFs, not all
    patients = {p.source_id: p for p in practice.iter("patient")}
    for d in texts[:5]:
        data = practice.file_bytes(d)
        assert len(data) == d.size and data == Practice(SEED, N).file_bytes(d)
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
        planted, spans = practice.document_text(d)  # type: ignore[misc]
        assert {t for _, _, t in spans} >= {"name", "dob", "mrn"}
        pt = patients[str(d.patient_id)]
        assert f"{pt.first_name} {pt.last_name}" in planted  # type: ignore[attr-defined]
        assert pt.last_name in text  # type: ignore[attr-defined]
    for d in [d for d in docs if d not in texts][:10]:  # the others keep their declared sizes
        assert len(practice.file_bytes(d)) == d.size


@pytest.fixture
def staged(tmp_path: Path, practice: Practice) -> tuple[StagingStore, list[Document]]:
    """Patients and documents staged with their files downloaded, encrypted at rest."""
    codec = AesGcmCodec(parse_key(new_key()))
    store = StagingStore(tmp_path / "staging.db", codec=codec)
    store.put_records("patient", practice.iter("patient"))
    files = tmp_path / "files"
    files.mkdir()
    texts = _text_pdfs(practice)[:3]
    blobs = [d for d in practice.iter("document")  # type: ignore[misc]
             if d.mime_type == "application/pdf" and d not in texts and d.size < 300_000][:2]
    docs = []
    for d in [*texts, *blobs]:
        path = files / f"{d.source_id}.bin"
        path.write_bytes(practice.file_bytes(d))
        encrypt_file(path, codec)
        docs.append(d.model_copy(update={"local_path": str(path)}))
    store.put_records("document", docs)
    return store, docs


def test_scan_flags_the_pdf_that_carries_phi(staged, practice: Practice) -> None:
    store, docs = staged
    texts = {d.source_id for d in docs if practice.document_text(d) is not None}
    flagged = queue.scan(store, ["document"])
    assert flagged.get("document") == len(texts)
    items = {it.source_id: it for it in queue.items(store, "pending", "document")}
    assert set(items) == texts  # the random-content PDFs hold no text: nothing to flag
    for sid in texts:
        assert {s.type for s in items[sid].spans} >= {"name", "dob"}
    # the queue stores offsets into the extracted text, never the text
    dump = b"".join(row[0].encode() for row in store.conn.execute("SELECT spans FROM phi_queue"))
    assert not any(p.last_name.encode() in dump for p in practice.iter("patient")
                   if p.last_name)  # type: ignore[attr-defined]


def test_a_pool_of_workers_queues_exactly_what_one_process_does(staged, practice: Practice
                                                               ) -> None:
    """The scan's worker processes (a large practice's scan) see the same texts, PDFs
    included, and the queue holds the same spans and statuses."""
    store, _ = staged
    store.put_records("clinical_note", practice.iter("clinical_note"))

    def queue_rows() -> list[tuple[Any, ...]]:
        return store.conn.execute("SELECT object, source_id, field, spans, types, status"
                                  " FROM phi_queue ORDER BY 1, 2, 3").fetchall()

    alone = queue.scan(store, workers=0)
    rows = queue_rows()
    assert alone.get("document") and alone.get("clinical_note")
    store.conn.execute("DELETE FROM phi_queue")
    assert queue.scan(store, workers=2) == alone
    assert queue_rows() == rows


def test_redact_on_a_pdf_writes_a_redacted_text_rendition(staged, tmp_path: Path,
                                                          practice: Practice) -> None:
    store, docs = staged
    queue.scan(store, ["document"])
    doc = next(d for d in docs if practice.document_text(d) is not None)
    queue.decide(store, "document", doc.source_id, "redact", "nurse")
    om = next(o for o in load_recipe("practicehub", "odoo", None).objects
              if o.source == "document" and o.mode == "attach")
    gate = Gate(store, baa_confirmed=True, files_dir=tmp_path, rescan=False)
    out = gate(om, store.get("document", doc.source_id).record)
    assert isinstance(out, Document)
    assert out.mime_type == "text/plain" and out.file_name == redacted_name(doc.file_name)
    assert out.file_name.endswith(".redacted.txt") and out.local_path != doc.local_path
    data = plain_bytes(Path(str(out.local_path)), store.codec)
    assert out.size == len(data)
    text = data.decode()
    pt = store.get("patient", str(doc.patient_id)).record
    assert "[NAME]" in text and pt.last_name not in text  # type: ignore[attr-defined]
    assert not data.startswith(b"%PDF")  # the PDF itself is never what goes out
    assert queue.text_of(out, "content", store.codec) == text  # screens clean as text


@pytest.fixture
def pair(tmp_path: Path, prepared_pair: Any) -> Iterator[Pair]:
    with prepared_pair(tmp_path / "proj", "FERRY_PDF_", baa=True) as p:
        yield p


def test_redacted_pdf_lands_as_text_and_approved_pdf_as_pdf(pair: Pair) -> None:
    from ferry.engine.project import Project

    proj = Project.at(pair.project.root)
    store = proj.store
    queue.scan(store)
    flagged = [it for it in queue.items(store, "pending", "document")]
    assert len(flagged) >= 2, "the practice should hold text PDFs with PHI"
    red, ok = flagged[0], flagged[1]
    queue.decide(store, "document", red.source_id, "redact", "nurse")
    queue.decide(store, "document", ok.source_id, "approve", "nurse")
    queue.decide_rule(store, "approve", "nurse")
    P.load(proj)
    state: dict[str, Any] = httpx.get(f"{pair.dest_info['base_url']}/_sandbox/state",
                                      timeout=30).json()["models"]
    atts = state["ir.attachment"]
    red_doc = store.get("document", red.source_id).record
    pt = store.get("patient", str(red_doc.patient_id)).record
    row = atts[store.dest_id("document", red.source_id)]
    assert row["name"] == redacted_name(red_doc.file_name)
    body = base64.b64decode(row["datas"])
    assert not body.startswith(b"%PDF") and b"[NAME]" in body
    assert pt.last_name.encode() not in body  # type: ignore[attr-defined]
    ok_row = atts[store.dest_id("document", ok.source_id)]
    assert base64.b64decode(ok_row["datas"]).startswith(b"%PDF")
