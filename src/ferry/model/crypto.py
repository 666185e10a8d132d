"""Encryption at rest: AES-256-GCM for staged payloads, audit before-images and downloaded files.

The key is 32 random bytes, base64url-encoded, read from the environment variable the project
names or the OS keyring; it never lives in the project folder. ``ferry init`` names a variable of
the project's own (``FERRY_ENCRYPTION_KEY_<FOLDER>``), so two projects in one shell do not read
each other's key; a project made before that uses ``FERRY_ENCRYPTION_KEY``. The store keeps a
check value of its key (``key_check``), so a wrong key is refused when the store is opened,
naming the variable, instead of failing on the first value it decrypts.
Each value gets a fresh 96-bit nonce, stored in front of the ciphertext; a wrong key or a
tampered value fails authentication instead of decoding to garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ferry.errors import ConfigError, IntegrityError

MAGIC = b"FG1"
NONCE = 12


def new_key() -> str:
    """A fresh key, printable, for the user to put in the environment or keyring."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str, name: str = "the encryption key") -> bytes:
    """The 32-byte key in ``text``; ``name`` (the variable it came from) is what an error names,
    never the text."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{name} is not an encryption key: it must be base64url text of 32"
                          " random bytes, as `ferry init` prints it")
    return key


def key_check(key: bytes) -> str:
    """A value the store keeps to recognise its key: an HMAC under a subkey of its own, so it
    tells a wrong key from the right one and reveals nothing of either."""
    return hmac.digest(derive_key(key, "key-check"), b"ferry key check", "sha256").hex()[:32]


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte subkey of the project's key for one purpose (the audit chain's MAC, matching
    keys): HKDF-SHA256, so no purpose's key reveals the encryption key or another's."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"ferry/{purpose}".encode()).derive(master)


class AesGcmCodec:
    """PayloadCodec that encrypts every stored value."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._mac = derive_key(key, "digest")

    def digest(self, data: bytes) -> str:
        """HMAC-SHA256 under a subkey: equal inputs match, a dictionary cannot reverse it.
        (``hmac.digest``: OpenSSL's one-shot, a third of building an ``hmac.HMAC`` per value.)"""
        return hmac.digest(self._mac, data, "sha256").hex()

    def encode(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, MAGIC)

    def decode(self, data: bytes) -> bytes:
        if not data.startswith(MAGIC):
            raise IntegrityError("a stored value is not encrypted with this project's scheme")
        nonce, body = data[len(MAGIC):len(MAGIC) + NONCE], data[len(MAGIC) + NONCE:]
        try:
            return self._aead.decrypt(nonce, body, MAGIC)
        except InvalidTag:
            raise IntegrityError("a stored value failed decryption: wrong key or tampered"
                                 " data") from None


#: Files are encrypted in chunks (``FG2``), so that neither encrypting a download nor
#: decrypting it for an upload holds the file in memory: each chunk of ``FILE_CHUNK`` plain bytes
#: is ``nonce | AES-GCM(chunk)``, authenticated with its index and whether it is the last, so
#: chunks cannot be reordered, dropped or the file cut short. ``FG1`` files (the whole file
#: in one AES-GCM value, as Ferry wrote them before) stay readable.
FILE_MAGIC = b"FG2"
FILE_CHUNK = 1 << 20
TAG = 16


def _chunk_aad(index: int, last: bool) -> bytes:
    return FILE_MAGIC + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _open_chunk(codec: AesGcmCodec, block: bytes | memoryview, index: int, *, last: bool
                ) -> bytes:
    """One ``FG2`` chunk (``nonce | ciphertext``) decrypted, bound to its index and place.
    The ciphertext goes as a view: a slice of the bytes copied the chunk first (1 MiB)."""
    view = memoryview(block)
    try:
        return codec._aead.decrypt(view[:NONCE], view[NONCE:], _chunk_aad(index, last))
    except InvalidTag:
        raise IntegrityError(_UNSEALED) from None


_UNSEALED = "a stored file failed decryption: wrong key, or tampered or cut-short data"


def _open_chunk_into(codec: AesGcmCodec, block: bytearray, n: int, plain: bytearray,
                     index: int, *, last: bool) -> memoryview:
    """``_open_chunk`` of the ``n`` bytes read into ``block``, decrypted into ``plain`` (kept
    buffers, no fresh 1 MiB per chunk): a view of ``plain`` the next chunk overwrites."""
    if n < NONCE + TAG:
        raise IntegrityError("a stored file is cut short")
    sealed, out = memoryview(block)[:n], memoryview(plain)[:n - NONCE - TAG]
    try:
        codec._aead.decrypt_into(sealed[:NONCE], sealed[NONCE:], _chunk_aad(index, last), out)
    except InvalidTag:
        raise IntegrityError(_UNSEALED) from None
    return out


def _encrypted(head: bytes) -> bool:
    return head.startswith(FILE_MAGIC) or head.startswith(MAGIC)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(len(MAGIC))


def encrypt_file(path: Path, codec: object) -> None:
    """Encrypt a downloaded file in place, a chunk at a time (no-op for the plain codec, and
    for a file already encrypted)."""
    if not isinstance(codec, AesGcmCodec) or _encrypted(_head(path)):
        return
    tmp = path.with_suffix(path.suffix + ".enc-tmp")
    with path.open("rb") as src, tmp.open("wb") as out:
        out.write(FILE_MAGIC)
        block, index = src.read(FILE_CHUNK), 0
        while True:
            nxt = src.read(FILE_CHUNK)
            nonce = os.urandom(NONCE)
            out.write(nonce + codec._aead.encrypt(nonce, block, _chunk_aad(index, not nxt)))
            if not nxt:
                break
            block, index = nxt, index + 1
    os.replace(tmp, path)


#: spare chunk buffers (``NONCE + FILE_CHUNK + TAG`` bytes each), shared by the writers of a
#: process: a download reuses the megabytes the previous one used instead of allocating (and
#: page-faulting) fresh ones, 0.45 ms of CPU per file. A few are kept; more are let go.
_SPARE: list[bytearray] = []
_SPARE_MAX = 8


def _take_buffer() -> bytearray:
    try:
        return _SPARE.pop()  # atomic: the download threads share the list
    except IndexError:
        return bytearray(NONCE + FILE_CHUNK + TAG)


def _give_buffer(buf: bytearray) -> None:
    if len(_SPARE) < _SPARE_MAX:
        _SPARE.append(buf)


class FileWriter:
    """A downloaded file written as its bytes arrive: the plain content's size and SHA-256
    taken on the way, and, when ``codec`` encrypts, sealed in ``FG2`` chunks before they reach
    the disk (the same layout ``encrypt_file`` writes). One pass: no plain copy on disk to read
    back and encrypt. Written to ``dest.part`` and moved to ``dest`` by ``commit``; a writer
    left without ``commit`` (an error, a kill) leaves only the ``.part``, removed by ``discard``.

    The chunk being filled and its sealed form (nonce, ciphertext, tag: one write) live in
    buffers taken from a process-wide spare list and given back by ``commit``/``discard``: a
    fresh megabyte per copy cost more in page faults than the encryption itself. ``fill_from``
    reads a body straight into the chunk buffer (no copy between the socket and the cipher).
    """

    def __init__(self, dest: Path, codec: object = None) -> None:
        self.dest = dest
        self.tmp = dest.with_name(dest.name + ".part")
        self._aead = codec._aead if isinstance(codec, AesGcmCodec) else None
        self._bufs: list[bytearray] = []
        if self._aead is not None:
            self._block = self._buffer()
            self._sealed = self._buffer()
        self._fh = self.tmp.open("wb")
        self._start()

    def _buffer(self) -> bytearray:
        buf = _take_buffer()
        self._bufs.append(buf)
        return buf

    def restart(self) -> None:
        """Start the file over (a download retried after part of it arrived)."""
        self._fh.seek(0)
        self._fh.truncate()  # not for a new file: ext4 then writes it out at close
        self._start()

    def _start(self) -> None:
        self.size, self._digest = 0, hashlib.sha256()
        self._fill, self._index = 0, 0
        if self._aead is not None:
            self._fh.write(FILE_MAGIC)

    @property
    def sha256(self) -> str:
        """The plain content's SHA-256 (complete once ``commit`` has run)."""
        return self._digest.hexdigest()

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self._aead is None:
            self._digest.update(data)
            self._fh.write(data)
            return
        view = memoryview(data)
        while view:
            if self._fill == FILE_CHUNK:  # more bytes came: the full chunk was not the last
                self._seal(last=False)
            n = min(len(view), FILE_CHUNK - self._fill)
            self._block[self._fill:self._fill + n] = view[:n]
            self._fill += n
            view = view[n:]

    def fill_from(self, readinto: Callable[[memoryview], int]) -> None:
        """Read a body to its end with ``readinto(view)`` (bytes put in ``view``; 0 at the
        end), straight into the chunk buffer. A full chunk is sealed once the next bytes have
        arrived (in a second buffer), as only then is it known not to be the last."""
        if self._aead is None:
            view = memoryview(self._buffer())[:FILE_CHUNK]
            while n := readinto(view):
                self.write(view[:n])
            return
        spare: bytearray | None = None
        while True:
            if self._fill == FILE_CHUNK:
                spare = spare or self._buffer()
                n = readinto(memoryview(spare)[:FILE_CHUNK])
                if not n:
                    return
                self._seal(last=False)
                self._block, spare = spare, self._block
            else:
                n = readinto(memoryview(self._block)[self._fill:FILE_CHUNK])
                if not n:
                    return
            self._fill += n
            self.size += n

    def _seal(self, *, last: bool) -> None:
        assert self._aead is not None
        plain = memoryview(self._block)[:self._fill]
        self._digest.update(plain)
        aad = _chunk_aad(self._index, last)
        sealed = memoryview(self._sealed)
        nonce = os.urandom(NONCE)
        sealed[:NONCE] = nonce
        if hasattr(self._aead, "encrypt_into"):  # cryptography >= 46
            self._aead.encrypt_into(nonce, plain, aad, sealed[NONCE:NONCE + self._fill + TAG])
        else:
            sealed[NONCE:NONCE + self._fill + TAG] = self._aead.encrypt(nonce, bytes(plain), aad)
        self._fh.write(sealed[:NONCE + self._fill + TAG])
        self._fill, self._index = 0, self._index + 1

    def _release(self) -> None:
        self._fh.close()
        for buf in self._bufs:
            _give_buffer(buf)
        self._bufs = []

    def commit(self) -> None:
        if self._aead is not None:
            self._seal(last=True)
        self._release()
        os.replace(self.tmp, self.dest)

    def discard(self) -> None:
        self._release()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or not self._fh.closed:
            self.discard()


def iter_plain(path: Path, codec: object) -> Iterator[bytes]:
    """A stored file's plain content, chunk by chunk (whole, for an ``FG1`` or plain file)."""
    with path.open("rb") as fh:
        head = fh.read(len(FILE_MAGIC))
        if not isinstance(codec, AesGcmCodec) or not _encrypted(head):
            yield head
            while block := fh.read(FILE_CHUNK):
                yield block
            return
        if head.startswith(MAGIC):
            yield codec.decode(head + fh.read())
            return
        # a fresh read per chunk, as large as what it finds: most files are far smaller than a
        # chunk, and two whole-chunk buffers to read into (tried) cost 1.1 ms a 20 kB file
        size, index = NONCE + FILE_CHUNK + TAG, 0
        block = fh.read(size)
        while True:
            nxt = fh.read(size)
            if len(block) < NONCE + TAG:
                raise IntegrityError("a stored file is cut short")
            yield _open_chunk(codec, block, index, last=not nxt)
            if not nxt:
                return
            block, index = nxt, index + 1


#: sealed-chunk and plain-chunk buffers kept for the process (``iter_plain_passing`` takes two
#: sealed and one plain, ``open_plain``'s reader one of each): fresh ones per chunk
#: (``iter_plain``'s reads and AES-GCM's output) page-faulted ~200,000 times in a 1k Odoo
#: load's gigabyte of uploads; fresh ones per file cost 1.1 ms a 20 kB file (9d6b065). A few
#: are kept, for the threads that read at once.
_SEALED: list[bytearray] = []
_PLAIN: list[bytearray] = []
_KEEP = 8


def _take(pool: list[bytearray], size: int) -> bytearray:
    try:
        return pool.pop()  # atomic: reader threads share the lists
    except IndexError:
        return bytearray(size)


def _give(pool: list[bytearray], *bufs: bytearray) -> None:
    for buf in bufs:
        if len(pool) < _KEEP:
            pool.append(buf)


def _fill(fh: BinaryIO, buf: bytearray | memoryview) -> int:
    """``buf`` filled from ``fh`` as far as the file goes (a read may return less)."""
    view, n = memoryview(buf), 0
    while n < len(view):
        got = fh.readinto(view[n:])
        if not got:
            break
        n += got
    return n


def iter_plain_passing(path: Path, codec: object) -> Iterator[bytes | memoryview]:
    """``iter_plain``'s pieces for a reader that is done with each before it asks for the next
    (it encodes or copies it): an ``FG2`` file's chunks are read into and decrypted into buffers
    kept for the process, so each piece is a view that the next one overwrites. Other files
    go through ``iter_plain``. The same plain content, the same errors."""
    if not isinstance(codec, AesGcmCodec) or not hasattr(codec._aead, "decrypt_into"):
        yield from iter_plain(path, codec)  # (cryptography < 46: no decrypt_into)
        return
    with path.open("rb", buffering=0) as fh:
        head = fh.read(len(FILE_MAGIC))
        if head != FILE_MAGIC:
            fh.close()
            yield from iter_plain(path, codec)
            return
        record = NONCE + FILE_CHUNK + TAG
        bufs = (_take(_SEALED, record), _take(_SEALED, record), _take(_PLAIN, FILE_CHUNK))
        try:
            block, spare, plain = bufs
            n, index = _fill(fh, block), 0
            while True:
                m = _fill(fh, spare)  # the next chunk, read now: is this one the last?
                yield _open_chunk_into(codec, block, n, plain, index, last=not m)
                if not m:
                    return
                block, spare, n, index = spare, block, m, index + 1
        finally:
            _give(_SEALED, bufs[0], bufs[1])
            _give(_PLAIN, bufs[2])


def plain_bytes(path: Path, codec: object) -> bytes:
    """A stored file's plain content, in memory (no plain copy on disk)."""
    return b"".join(iter_plain(path, codec))


class _PlainChunks(io.RawIOBase):
    """An ``FG2`` file read as its plain content, seekable, one decrypted chunk held at a time
    (for readers that seek around a file, such as pypdf, without a plain copy or the whole
    file in memory)."""

    def __init__(self, fh: BinaryIO, codec: AesGcmCodec) -> None:
        self._fh, self._codec = fh, codec
        body = fh.seek(0, os.SEEK_END) - len(FILE_MAGIC)
        record = NONCE + FILE_CHUNK + TAG
        self._chunks = max(1, -(-body // record))
        last = body - (self._chunks - 1) * record - NONCE - TAG
        if last < 0:
            raise IntegrityError("a stored file is cut short")
        self._size = (self._chunks - 1) * FILE_CHUNK + last
        self._pos = 0
        self._held: tuple[int, bytes | memoryview] = (-1, b"")
        #: a sealed and a plain buffer kept for the process (``_take``), from the first chunk
        #: read to ``close``: a fresh 1 MiB read and AES-GCM output per chunk page-faulted (a
        #: sized ``PlainView`` opens one and reads nothing)
        self._bufs: tuple[bytearray, bytearray] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes | memoryview:
        if self._held[0] != index:
            record = NONCE + FILE_CHUNK + TAG
            self._fh.seek(len(FILE_MAGIC) + index * record)
            last = index == self._chunks - 1
            if not hasattr(self._codec._aead, "decrypt_into"):  # cryptography < 46
                self._held = (index, _open_chunk(self._codec, self._fh.read(record), index,
                                                 last=last))
                return self._held[1]
            self._held = (-1, b"")
            if self._bufs is None:
                self._bufs = (_take(_SEALED, record), _take(_PLAIN, FILE_CHUNK))
            block, plain = self._bufs
            n = _fill(self._fh, memoryview(block)[:record])
            self._held = (index, _open_chunk_into(self._codec, block, n, plain, index,
                                                  last=last))
        return self._held[1]

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, FILE_CHUNK)
        data = self._chunk(index)[offset:offset + len(buffer)]
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if self._bufs is not None:
            self._held, bufs, self._bufs = (-1, b""), self._bufs, None
            _give(_SEALED, bufs[0])
            _give(_PLAIN, bufs[1])
        self._fh.close()
        super().close()


def open_plain(path: Path, codec: object) -> BinaryIO:
    """A stored file opened for reading as its plain content, seekable, without a plain copy
    on disk; an ``FG2`` file holds one 1 MiB chunk in memory (an ``FG1`` one, the whole file)."""
    fh = path.open("rb")
    head = fh.read(len(FILE_MAGIC))
    if not isinstance(codec, AesGcmCodec) or not _encrypted(head):
        fh.seek(0)
        return fh
    if head.startswith(MAGIC):
        with fh:
            return io.BytesIO(codec.decode(head + fh.read()))
    return io.BufferedReader(_PlainChunks(fh, codec), 64 * 1024)  # type: ignore[return-value]


class _Size:
    def __init__(self, size: int) -> None:
        self.st_size = size


class PlainView:
    """A file's plain content for a reader that only opens and sizes it (``open("rb")``,
    ``stat().st_size``, ``name``, as a ``Path`` offers them): a stored file decrypted as it is
    read (``open_plain``), or bytes in memory. No plain copy is written to disk and read back
    (writing it was a tenth of an Odoo load's CPU)."""

    def __init__(self, name: str, *, path: Path | None = None, codec: object = None,
                 data: bytes | None = None) -> None:
        self.name = name
        self._path, self._codec, self._data = path, codec, data
        self._size: int | None = None if data is None else len(data)

    @classmethod
    def of_file(cls, path: Path, codec: object) -> PlainView:
        return cls(path.name, path=path, codec=codec)

    #: how much of a stored file ``prefetch`` asks for: all of most files, the start of a
    #: large one (the kernel's own read-ahead follows a sequential read from there), so a
    #: group of large files does not ask for gigabytes of page cache at once
    PREFETCH = 4 * 2**20

    def prefetch(self) -> None:
        """Ask the kernel to start reading a stored file from disk now (``posix_fadvise``
        WILLNEED: no thread, no wait), so the files of an upload group are read while the calls
        before them are in flight instead of one cold read at a time on the upload's thread
        (most of the 100k Odoo run's idle). A no-op for bytes in memory, on a system without
        ``posix_fadvise``, or when the file cannot be opened (the upload then says why)."""
        if self._path is None or not hasattr(os, "posix_fadvise"):
            return
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.posix_fadvise(fd, 0, self.PREFETCH, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)

    @classmethod
    def of_bytes(cls, data: bytes, name: str) -> PlainView:
        return cls(name, data=data)

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError("a plain view is read only")
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        return open_plain(self._path, self._codec)

    def read_bytes(self) -> bytes:
        """The whole plain content in memory, decrypted in one sequential pass (a caller that
        needs the content twice, e.g. a checksum and then the upload, reads it once)."""
        if self._data is not None:
            return self._data
        assert self._path is not None
        return plain_bytes(self._path, self._codec)

    def blocks(self) -> Iterator[bytes | memoryview]:
        """The plain content in pieces as they are decrypted (a stored file's chunks), for a
        reader that goes through once in order and is done with each piece before it asks
        for the next (``iter_plain_passing``: the next piece overwrites it)."""
        if self._data is not None:
            yield self._data
            return
        assert self._path is not None
        yield from iter_plain_passing(self._path, self._codec)

    def stat(self) -> _Size:
        if self._size is None:
            with self.open() as fh:
                self._size = fh.seek(0, os.SEEK_END)
        return _Size(self._size)


TMP_DIR = "tmp"  # inside the project's private state folder (.ferry/tmp)


def private_tmp_dir(state_dir: Path) -> Path:
    """The project's own folder for plain copies (mode 0700), swept of copies left by a process
    that is gone (a kill): decrypted documents never sit in the shared TMPDIR."""
    d = state_dir / TMP_DIR
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    d.chmod(0o700)
    for f in d.glob("ferry-*"):
        pid = f.name.split("-")[1] if f.name.count("-") >= 2 else ""
        if not pid.isdigit() or not _alive(int(pid)):
            f.unlink(missing_ok=True)
    return d


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def private_copy(data: bytes | Iterable[bytes], tmp_dir: Path, suffix: str = ""
                 ) -> Iterator[Path]:
    """``data`` (bytes, or chunks of them) in a file of the project's private folder for the
    block (deleted after; a copy left by a kill is swept by the next ``private_tmp_dir``)."""
    tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"ferry-{os.getpid()}-", suffix=suffix, dir=tmp_dir)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes | bytearray):
                fh.write(data)
            else:
                for block in data:
                    fh.write(block)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def plain_file(path: Path, codec: object, tmp_dir: Path) -> Iterator[Path]:
    """A readable plain copy of a stored file for the duration of the block (deleted after),
    in ``tmp_dir`` (the project's ``private_tmp_dir``)."""
    if not isinstance(codec, AesGcmCodec) or not _encrypted(_head(path)):
        yield path
        return
    with private_copy(iter_plain(path, codec), tmp_dir, path.suffix) as tmp:
        yield tmp


def copy_plain(src: Path, dest: Path, codec: object) -> None:
    dest.write_bytes(plain_bytes(src, codec))
