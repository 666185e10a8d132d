"""Large documents (issue 20): the PHI scan reads a file as a stream, so its memory does not
follow the file's size; text past ``MAX_SCAN_CHARS`` is never read and says so (an
``unscanned`` finding holds the document for a person's decision)."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from ferry.model.crypto import AesGcmCodec, encrypt_file, new_key, open_plain, parse_key
from ferry.model.entities import Document
from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.phi.detect import redact
from ferry.sandbox.synth import Practice
from ferry.sandbox.synth.pdf import text_pdf

MB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> StagingStore:
    practice = Practice(5, 3)
    st = StagingStore(tmp_path / "staging.db", codec=AesGcmCodec(parse_key(new_key())))
    st.put_records("patient", practice.iter("patient"))
    return st


def _stage(store: StagingStore, tmp_path: Path, data: bytes, mime: str, name: str) -> Document:
    path = tmp_path / f"{name}.bin"
    path.write_bytes(data)
    encrypt_file(path, store.codec)
    patient = next(iter(store.iter_records("patient")))
    doc = Document(source_id="9001", patient_id=patient.source_id, parent_object="patient",
                   parent_id=patient.source_id, file_name=name, mime_type=mime, size=len(data),
                   local_path=str(path))
    store.put_records("document", [doc])
    return doc


def _scan_peak(store: StagingStore) -> int:
    tracemalloc.start()
    try:
        queue.scan(store, ["document"])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_pdf_larger_than_memory_should_allow_is_screened_from_a_stream(
        store: StagingStore, tmp_path: Path) -> None:
    # 70 MB: the scan used to skip PDFs over 64 MB unread, and read smaller ones whole
    patient = next(iter(store.iter_records("patient")))
    name = f"{patient.first_name} {patient.last_name}"  # type: ignore[attr-defined]
    pdf = text_pdf(f"Referral letter for {name}. Seen today.", pad_to=70 * MB)
    _stage(store, tmp_path, pdf, "application/pdf", "letter.pdf")
    peak = _scan_peak(store)
    [item] = list(queue.items(store))
    assert "name" in {s.type for s in item.spans} and item.status == "pending"
    assert queue.UNSCANNED not in {s.type for s in item.spans}
    assert peak < 16 * MB, f"the scan held {peak / MB:.0f} MB for a 70 MB PDF"


def test_a_text_file_past_the_cap_is_screened_in_part_and_held(
        store: StagingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "MAX_SCAN_CHARS", 256 * 1024)  # the cap is 1 MiB: keep it quick
    line = b"Routine review, nothing of note. Plan unchanged.\n"
    data = line * (12 * MB // len(line))  # clean text, 48 times the cap
    doc = _stage(store, tmp_path, data, "text/plain", "log.txt")
    peak = _scan_peak(store)
    [item] = list(queue.items(store))
    assert [(s.start, s.type) for s in item.spans] == [(256 * 1024, queue.UNSCANNED)]
    assert item.status == "pending"  # clean so far, but never read to the end: a person decides
    assert peak < 8 * MB, f"the scan held {peak / MB:.1f} MB for a 12 MB text"
    staged = store.get("document", doc.source_id)
    text = queue.text_of(staged.record, "content", store.codec)  # type: ignore[union-attr]
    assert len(text) == 256 * 1024
    assert redact(text, item.spans).endswith("[PHI]")  # a redaction withholds the rest


def test_open_plain_reads_and_seeks_an_encrypted_file_a_chunk_at_a_time(tmp_path: Path) -> None:
    codec = AesGcmCodec(parse_key(new_key()))
    data = os.urandom(3 * MB + 12345)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    encrypt_file(path, codec)
    assert path.read_bytes()[:3] == b"FG2"
    with open_plain(path, codec) as fh:
        assert fh.seek(0, 2) == len(data)
        for pos, n in ((0, 10), (MB - 5, 10), (2 * MB + 7, MB + 100), (len(data) - 3, 10)):
            fh.seek(pos)
            assert fh.read(n) == data[pos:pos + n]
        fh.seek(0)
        assert fh.read() == data
