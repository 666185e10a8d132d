"""The text of a PDF as the scan reads it. pypdf's named-encoding code tables are built once
(``queue._speed_up_pypdf``: rebuilding WinAnsi's for every page and font was a quarter of the
PDFs' text extraction), and a small PDF is read in memory: the text a PDF screens as must not
change, and no caller may see another's changes to its table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import _codecs
from pypdf._text_extraction import _text_extractor
from pypdf.generic import _font

from ferry.model.crypto import AesGcmCodec, encrypt_file, new_key, parse_key
from ferry.phi import queue
from ferry.sandbox.synth import Practice


def _pdfs(tmp_path: Path) -> list[Path]:
    practice = Practice(11, 60)
    paths = []
    for d in practice.iter("document"):
        if d.mime_type == "application/pdf" and practice.document_text(d) is not None:
            path = tmp_path / f"{d.source_id}.pdf"
            path.write_bytes(practice.file_bytes(d))
            paths.append(path)
    assert len(paths) >= 5
    return paths


def test_pdf_text_is_the_same_with_pypdfs_own_tables(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _pdfs(tmp_path)
    fast = [queue.pdf_text(p) for p in paths]
    patched = _text_extractor.encoding_dict_from_named_encoding
    library = getattr(patched, "library", None)
    assert library is _codecs.encoding_dict_from_named_encoding.library  # the speed-up is on
    for module in (_codecs, _text_extractor, _font):
        monkeypatch.setattr(module, "encoding_dict_from_named_encoding", library)
    slow = [queue.pdf_text(p) for p in paths]
    assert fast == slow
    assert sum(len(t) for t, _ in fast) > 1000 and all(whole for _, whole in fast)


def test_each_caller_gets_its_own_table(tmp_path: Path) -> None:
    queue.pdf_text(_pdfs(tmp_path)[0])  # pypdf imported and sped up
    tables = _text_extractor.encoding_dict_from_named_encoding
    library = tables.library
    for name in ("cp1252", "mac_roman"):
        first = tables(name)
        assert first == library(name)
        first[65] = "changed"
        del first[66]
        assert tables(name) == library(name)  # the change stayed with its caller


def test_a_small_pdf_read_in_memory_gives_the_streamed_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF up to ``WHOLE_PDF_BYTES`` goes to pypdf in memory, a larger one through the
    decrypting stream: the same text either way, encrypted at rest."""
    codec = AesGcmCodec(parse_key(new_key()))
    paths = _pdfs(tmp_path)
    for path in paths:
        encrypt_file(path, codec)
    whole = [queue.pdf_text(p, codec) for p in paths]
    monkeypatch.setattr(queue, "WHOLE_PDF_BYTES", 0)  # every one through the stream
    assert [queue.pdf_text(p, codec) for p in paths] == whole
    assert sum(len(t) for t, _ in whole) > 1000
