"""Encryption at rest: AES-256-GCM for staged payloads, audit before-images and downloaded files.

The key is 32 random bytes, base64url-encoded, read from the environment variable the project
names (default ``FERRY_ENCRYPTION_KEY``) or the OS keyring; it never lives in the project folder.
Each value gets a fresh 96-bit nonce, stored in front of the ciphertext; a wrong key or a
tampered value fails authentication instead of decoding to garbage.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError:
        raise ConfigError("the encryption key is not base64url text") from None
    if len(key) != 32:
        raise ConfigError("the encryption key must be 32 bytes (base64url of 32 random bytes)")
    return key


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte subkey of the project's key for one purpose (the audit chain's MAC, matching
    keys): HKDF-SHA256, so no purpose's key reveals the encryption key or another's."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"ferry/{purpose}".encode()).derive(master)


class AesGcmCodec:
    """PayloadCodec that encrypts every stored value."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

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


def encrypt_file(path: Path, codec: object) -> None:
    """Encrypt a downloaded file in place (no-op for the plain codec)."""
    if not isinstance(codec, AesGcmCodec):
        return
    data = path.read_bytes()
    if data.startswith(MAGIC):
        return
    tmp = path.with_suffix(path.suffix + ".enc-tmp")
    tmp.write_bytes(codec.encode(data))
    os.replace(tmp, path)


@contextmanager
def plain_file(path: Path, codec: object) -> Iterator[Path]:
    """A readable plain copy of a stored file for the duration of the block (deleted after)."""
    if not isinstance(codec, AesGcmCodec):
        yield path
        return
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        yield path
        return
    fd, name = tempfile.mkstemp(prefix="ferry-", suffix=path.suffix)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(codec.decode(data))
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def copy_plain(src: Path, dest: Path, codec: object) -> None:
    with plain_file(src, codec) as p:
        shutil.copyfile(p, dest)
