"""Storage of document files: content-addressed by sha256, AES-GCM encrypted at rest.

One job: keep bytes and give them back, behind one small interface (:class:`BlobStore`:
``put``, ``get``, ``exists``); :class:`LocalBlobStore` keeps them in a folder under the data
directory (``<CLAIMS_DATA_DIR>/documents/ab/cd/<sha256>``). Another backend (an object store)
implements the same three methods.

Encryption uses the payload key ring of ``claims.infra.codec`` (``CLAIMS_PAYLOAD_KEYS``): the
first key encrypts, every listed key decrypts, so keys rotate as for workflow payloads (put a
new key first, keep the old ones until no blob needs them). A stored blob is::

    b"CLB1" | len(key id) (1 byte) | key id | nonce (12 bytes) | AES-GCM ciphertext+tag

with the key id and the plaintext's sha256 as associated data, so a blob cannot be moved to
another address or relabelled to another key. ``get`` checks the sha256 of what it decrypted.
Without configured keys (the demo), blobs are stored as ``b"CLB0" | bytes``, in clear, as
payloads are; :attr:`LocalBlobStore.encrypted` says which.

The same bytes are stored once (the address is their hash); a write goes to a temporary file
and is renamed into place, so a reader never sees half a blob.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from claims.infra.codec import ENV, PayloadKeyError, parse_keys

_SEALED, _CLEAR = b"CLB1", b"CLB0"
_NONCE = 12
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BlobError(RuntimeError):
    """A blob is missing, names a key that is not configured, or does not authenticate."""


class BlobStore(Protocol):
    """Where document files are kept (content-addressed by their hex sha256)."""

    def put(self, data: bytes) -> tuple[str, str | None]:
        """Keep ``data``; return (its sha256, the key id that encrypted it or None in clear)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``. Raises BlobError."""
        ...

    def exists(self, sha256: str) -> bool:
        """True when ``sha256`` is stored."""
        ...


class LocalBlobStore:
    """Blobs in a local folder (see the module docstring).

    Args:
        folder: the folder (created on first write).
        keys: (key id, key) pairs, first encrypts; or a ``kid:base64key,...`` string; None or
            empty: stored in clear (demo only).
    """

    def __init__(self, folder: Path, keys: str | Sequence[tuple[str, bytes]] | None) -> None:
        self.folder = Path(folder)
        pairs = parse_keys(keys) if isinstance(keys, str) and keys else list(keys or [])
        self._active = pairs[0] if pairs else None
        self._by_id = {kid: AESGCM(key) for kid, key in pairs}

    @property
    def encrypted(self) -> bool:
        """True when new blobs are encrypted."""
        return self._active is not None

    def path_of(self, sha256: str) -> Path:
        """The file a blob is kept in (``ab/cd/<sha256>``)."""
        if not _SHA.match(sha256):
            raise BlobError(f"not a sha256: {sha256[:80]!r}")
        return self.folder / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put(self, data: bytes) -> tuple[str, str | None]:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if path.is_file():  # the same bytes are kept once; the existing blob's key still decrypts
            return digest, self._key_of(path)
        if self._active is None:
            sealed = _CLEAR + data
            kid = None
        else:
            kid, key = self._active
            nonce = os.urandom(_NONCE)
            kb = kid.encode()
            sealed = (
                _SEALED
                + bytes([len(kb)])
                + kb
                + nonce
                + AESGCM(key).encrypt(nonce, data, kb + digest.encode())
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(sealed)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return digest, kid

    def _key_of(self, path: Path) -> str | None:
        head = path.open("rb").read(4 + 1 + 64)
        if head.startswith(_SEALED):
            return head[5 : 5 + head[4]].decode("ascii", "replace")
        return None

    def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise BlobError(f"blob {sha256} is not in {self.folder}") from None
        if raw.startswith(_CLEAR):
            data = raw[4:]
        elif raw.startswith(_SEALED):
            n = raw[4]
            kid = raw[5 : 5 + n].decode("ascii", "replace")
            aead = self._by_id.get(kid)
            if aead is None:
                raise BlobError(f"blob {sha256} is encrypted with key {kid!r}, which is not in {ENV}; add it")
            nonce = raw[5 + n : 5 + n + _NONCE]
            try:
                data = aead.decrypt(nonce, raw[5 + n + _NONCE :], kid.encode() + sha256.encode())
            except InvalidTag:
                raise BlobError(
                    f"blob {sha256} does not authenticate with key {kid!r}: wrong key or tampered"
                ) from None
        else:
            raise BlobError(f"blob {sha256} is not a stored blob")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobError(f"blob {sha256} holds other bytes than its address says")
        return data


def local_store(data_dir: Path, payload_keys: str | None) -> LocalBlobStore:
    """The default store: ``<data_dir>/documents`` with the payload key ring.

    Raises:
        claims.infra.codec.PayloadKeyError: the keys are malformed.
    """
    return LocalBlobStore(Path(data_dir) / "documents", payload_keys or None)


__all__ = ["BlobError", "BlobStore", "LocalBlobStore", "PayloadKeyError", "local_store"]
