"""Files at rest: encrypted a chunk at a time (memory does not follow the file's size), read
back whole or as a plain copy, tampering and truncation refused, older whole-file ones readable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ferry.errors import IntegrityError
from ferry.model import crypto
from ferry.model.crypto import (
    FILE_CHUNK,
    FILE_MAGIC,
    AesGcmCodec,
    encrypt_file,
    iter_plain,
    plain_bytes,
    plain_file,
)


@pytest.fixture
def codec() -> AesGcmCodec:
    return AesGcmCodec(os.urandom(32))


@pytest.mark.parametrize("size", [0, 1, FILE_CHUNK - 1, FILE_CHUNK, 2 * FILE_CHUNK + 5])
def test_chunked_round_trip(tmp_path: Path, codec: AesGcmCodec, size: int) -> None:
    content = os.urandom(size)
    path = tmp_path / "doc.bin"
    path.write_bytes(content)
    encrypt_file(path, codec)
    stored = path.read_bytes()
    assert stored.startswith(FILE_MAGIC)
    if size >= 64:  # a shorter plain text could turn up in random ciphertext by chance
        assert content[:64] not in stored
    encrypt_file(path, codec)  # already encrypted: left alone
    assert path.read_bytes() == stored
    assert plain_bytes(path, codec) == content
    held = list(iter_plain(path, codec))  # each chunk its own bytes (the reads reuse buffers)
    assert all(len(b) <= FILE_CHUNK for b in held) and b"".join(held) == content
    with plain_file(path, codec, tmp_path / "tmp") as plain:
        assert plain.read_bytes() == content
    assert not list((tmp_path / "tmp").iterdir())  # the plain copy is gone after the block


def test_whole_file_format_still_reads(tmp_path: Path, codec: AesGcmCodec) -> None:
    content = os.urandom(3000)
    path = tmp_path / "old.bin"
    path.write_bytes(codec.encode(content))  # how files were encrypted before chunking (FG1)
    assert path.read_bytes().startswith(crypto.MAGIC)
    assert plain_bytes(path, codec) == content
    with plain_file(path, codec, tmp_path / "tmp") as plain:
        assert plain.read_bytes() == content
    encrypt_file(path, codec)  # not encrypted twice
    assert plain_bytes(path, codec) == content


def _chunks(stored: bytes) -> list[bytes]:
    size = crypto.NONCE + FILE_CHUNK + crypto.TAG
    body = stored[len(FILE_MAGIC):]
    return [body[i:i + size] for i in range(0, len(body), size)]


def _forgeries(parts: list[bytes]) -> list[list[bytes]]:
    """A three-chunk file's chunks rearranged in each way a reader must refuse."""
    return [[parts[1], parts[0], parts[2]],  # reordered
            parts[:2],  # the last chunk dropped: the file cut at a chunk boundary
            [*parts[:2], parts[2][:-5]],  # cut inside the last chunk
            [*parts[:2], parts[2][:20]],  # cut to less than a nonce and a tag
            [*parts, parts[2]]]  # a chunk appended


def test_reordered_dropped_or_cut_chunks_are_refused(tmp_path: Path, codec: AesGcmCodec
                                                     ) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(os.urandom(2 * FILE_CHUNK + 10))
    encrypt_file(path, codec)
    parts = _chunks(path.read_bytes())
    assert len(parts) == 3
    for forged in _forgeries(parts):
        path.write_bytes(FILE_MAGIC + b"".join(forged))
        with pytest.raises(IntegrityError):
            plain_bytes(path, codec)


def test_wrong_key_is_refused(tmp_path: Path, codec: AesGcmCodec) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(b"clinical letter")
    encrypt_file(path, codec)
    with pytest.raises(IntegrityError):
        plain_bytes(path, AesGcmCodec(os.urandom(32)))


def test_plain_codec_reads_files_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(b"FG2 looks like a header but no key is set")
    encrypt_file(path, None)
    assert plain_bytes(path, None) == b"FG2 looks like a header but no key is set"


@pytest.mark.parametrize("size", [0, 1, FILE_CHUNK, FILE_CHUNK + 1, 3 * FILE_CHUNK + 7])
def test_file_writer_seals_as_bytes_arrive(tmp_path: Path, codec: AesGcmCodec, size: int
                                           ) -> None:
    """A download written through ``FileWriter`` is never plain on disk, reads back as
    ``encrypt_file`` would have left it, and knows its size and SHA-256; a restart (a retried
    download) forgets what came before."""
    import hashlib

    content = os.urandom(size)
    dest = tmp_path / "doc.bin"
    with crypto.FileWriter(dest, codec) as out:
        out.write(b"a first attempt, cut short")
        out.restart()
        for i in range(0, size, 300_001):  # pieces that straddle the chunk boundaries
            out.write(content[i:i + 300_001])
            assert content[:64] not in out.tmp.read_bytes() or size < 64
        out.commit()
    assert (out.size, out.sha256) == (size, hashlib.sha256(content).hexdigest())
    stored = dest.read_bytes()
    assert stored.startswith(FILE_MAGIC) and not out.tmp.exists()
    assert plain_bytes(dest, codec) == content
    twin = tmp_path / "twin.bin"
    twin.write_bytes(content)
    encrypt_file(twin, codec)
    assert len(twin.read_bytes()) == len(stored)  # the same chunk layout


def test_file_writer_left_uncommitted_leaves_nothing(tmp_path: Path, codec: AesGcmCodec
                                                     ) -> None:
    dest = tmp_path / "doc.bin"
    with pytest.raises(RuntimeError), crypto.FileWriter(dest, codec) as out:
        out.write(b"x" * 10)
        raise RuntimeError("connection reset")
    assert not dest.exists() and not out.tmp.exists()


@pytest.mark.parametrize("size", [0, 1, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1,
                                  2 * FILE_CHUNK + 5])
@pytest.mark.parametrize("encrypted", [True, False])
def test_file_writer_fill_from_reads_into_its_buffer(tmp_path: Path, codec: AesGcmCodec,
                                                     size: int, encrypted: bool) -> None:
    """A body read straight into the writer's buffer (``fill_from``, pieces of any size as a
    socket gives them) stores the same file as ``write`` would: same layout, size, SHA-256;
    two writers at once (the download threads) never share a buffer."""
    import hashlib
    import io

    content, other = os.urandom(size), os.urandom(FILE_CHUNK + 3)
    key = codec if encrypted else None

    def pieces(data: bytes) -> io.RawIOBase:
        src = io.BytesIO(data)

        class Socketish(io.RawIOBase):
            def readinto(self, view: memoryview) -> int:  # type: ignore[override]
                return src.readinto(view[:77_777])  # never a whole chunk at once

        return Socketish()

    a, b = crypto.FileWriter(tmp_path / "a.bin", key), crypto.FileWriter(tmp_path / "b.bin", key)
    with a, b:
        b.write(other[:5])
        a.fill_from(pieces(content).readinto)
        b.fill_from(pieces(other[5:]).readinto)
        a.commit()
        b.commit()
    assert (a.size, a.sha256) == (size, hashlib.sha256(content).hexdigest())
    assert plain_bytes(tmp_path / "a.bin", key) == content
    assert plain_bytes(tmp_path / "b.bin", key) == other
    with crypto.FileWriter(tmp_path / "w.bin", key) as w:
        w.write(content)
        w.commit()
    assert len((tmp_path / "w.bin").read_bytes()) == len((tmp_path / "a.bin").read_bytes())
    if encrypted and size >= 64:
        assert content[:64] not in (tmp_path / "a.bin").read_bytes()


def _passing(path: Path, codec: object) -> list[bytes]:
    """``iter_plain_passing``'s pieces, each copied before the next is asked for (as its
    readers do: the next piece overwrites the buffer)."""
    return [bytes(p) for p in crypto.iter_plain_passing(path, codec)]


@pytest.mark.parametrize("size", [0, 1, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1,
                                  3 * FILE_CHUNK + 7])
def test_passing_reader_gives_iter_plains_pieces(tmp_path: Path, codec: AesGcmCodec,
                                                 size: int) -> None:
    """The upload's reader (read and decrypted into buffers kept for the process) gives the
    same pieces as ``iter_plain``, file after file through the same buffers; whole-file (FG1)
    and plain files as ``iter_plain`` reads them."""
    files = []
    for i, n in enumerate((size, FILE_CHUNK + 3, 17)):
        path = tmp_path / f"doc{i}.bin"
        path.write_bytes(os.urandom(n))
        encrypt_file(path, codec)
        files.append(path)
    (tmp_path / "fg1.bin").write_bytes(codec.encode(b"older whole-file format"))
    (tmp_path / "plain.bin").write_bytes(b"FG")
    for path in [*files, *files, tmp_path / "fg1.bin"]:
        assert _passing(path, codec) == list(iter_plain(path, codec))
    assert _passing(tmp_path / "plain.bin", None) == [b"FG"]


def test_passing_reader_refuses_what_iter_plain_refuses(tmp_path: Path, codec: AesGcmCodec
                                                        ) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(os.urandom(2 * FILE_CHUNK + 10))
    encrypt_file(path, codec)
    parts = _chunks(path.read_bytes())
    for forged in [*_forgeries(parts), []]:
        path.write_bytes(FILE_MAGIC + b"".join(forged))
        with pytest.raises(IntegrityError):
            _passing(path, codec)
    path.write_bytes(FILE_MAGIC + b"".join(parts))
    with pytest.raises(IntegrityError):
        _passing(path, AesGcmCodec(os.urandom(32)))
    assert b"".join(_passing(path, codec)) == plain_bytes(path, codec)  # buffers still good


def test_open_plain_reads_and_seeks_through_the_kept_buffers(tmp_path: Path,
                                                             codec: AesGcmCodec) -> None:
    """A stored file opened as its plain content (``open_plain``, chunks decrypted into the
    process's kept buffers): every read at every seek gives the content's bytes, with two
    files open at once and files opened after others closed (their buffers reused); a
    tampered chunk is refused."""
    import random

    from ferry.model.crypto import open_plain

    rnd = random.Random(7)
    contents, paths = [], []
    for i, n in enumerate((3 * FILE_CHUNK + 11, FILE_CHUNK, 5)):
        contents.append(os.urandom(n))
        paths.append(tmp_path / f"doc{i}.bin")
        paths[-1].write_bytes(contents[-1])
        encrypt_file(paths[-1], codec)
    for _ in range(2):  # the second pass through buffers the first pass gave back
        a, b = open_plain(paths[0], codec), open_plain(paths[1], codec)
        with a, b:
            for _ in range(60):
                for fh, content in ((a, contents[0]), (b, contents[1])):
                    pos, n = rnd.randrange(len(content) + 2), rnd.choice((1, 4096, FILE_CHUNK + 9))
                    fh.seek(pos)
                    assert fh.read(n) == content[pos:pos + n]
            a.seek(0)
            assert a.read() == contents[0]
        with open_plain(paths[2], codec) as fh:
            assert fh.read() == contents[2]
    parts = _chunks(paths[0].read_bytes())
    paths[0].write_bytes(FILE_MAGIC + parts[0] + parts[2] + parts[1] + parts[3])
    with open_plain(paths[0], codec) as fh:
        assert fh.read(FILE_CHUNK) == contents[0][:FILE_CHUNK]
        with pytest.raises(IntegrityError):
            fh.read(FILE_CHUNK)
