"""Encryption of workflow payloads at rest: a Temporal ``PayloadCodec`` with AES-GCM.

Every payload the engine sends to Temporal (workflow inputs, activity inputs and results,
update arguments, query results, and with :func:`data_converter` failure messages too) is
encrypted on the client or worker before it leaves the process, so the Temporal database,
its backups and its web UI hold ciphertext only. Search attributes are *not* payloads and
are never encrypted: they carry no personal data (see ``claims/infra/search.py``).

Keys are passed in by the caller; the engine takes them from its settings
(``claims.infra.settings``: ``settings.temporal.payload_keys``, the variable ``CLAIMS_PAYLOAD_KEYS``)::

    CLAIMS_PAYLOAD_KEYS="k2026:<base64 of 32 random bytes>,k2025:<base64 ...>"

The first key encrypts; every listed key decrypts. The key id travels in each payload's
metadata (``encryption-key-id``), so keys rotate by putting a new key first and keeping the
old ones listed until every history written with them has been deleted by retention.
Generate a key with ``python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"``.

The key id is also the AES-GCM associated data, so a payload cannot be relabelled to another
key id. A payload that is not encrypted (written before encryption was switched on) is
passed through unchanged on decode.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload."""

KEY_ID = "encryption-key-id"
"""The metadata entry naming the key a payload was encrypted with."""

ENV = "CLAIMS_PAYLOAD_KEYS"
"""The environment variable holding the keys (read by ``claims.infra.settings``; named in messages)."""

_NONCE = 12
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadKeyError(ValueError):
    """The configured keys are malformed, or a payload names a key that is not configured.

    Messages name the key id and the fix, never key material.
    """


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """Parse ``kid:base64key[,kid:base64key...]`` into (key id, key) pairs, first = active.

    Raises:
        PayloadKeyError: an entry without ``:``, a bad key id, a key that is not base64, a
            key that is not 16, 24 or 32 bytes, or a key id listed twice.
    """
    keys: list[tuple[str, bytes]] = []
    for n, entry in enumerate((e.strip() for e in spec.split(",")), start=1):
        if not entry:
            continue
        kid, sep, b64 = entry.partition(":")
        if not sep:
            raise PayloadKeyError(f"{ENV}: entry {n} is not kid:base64key")
        if not _KID.match(kid):
            raise PayloadKeyError(f"{ENV}: entry {n}: key id must be 1-64 letters, digits, '.', '_' or '-'")
        try:
            key = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"{ENV}: key {kid!r} is not valid base64") from None
        if len(key) not in (16, 24, 32):
            raise PayloadKeyError(
                f"{ENV}: key {kid!r} is {len(key)} bytes; AES-GCM needs 16, 24 or 32 (32 recommended)"
            )
        if any(k == kid for k, _ in keys):
            raise PayloadKeyError(f"{ENV}: key id {kid!r} is listed twice")
        keys.append((kid, key))
    if not keys:
        raise PayloadKeyError(f"{ENV}: no key given")
    return keys


class AesGcmCodec(PayloadCodec):
    """AES-GCM payload codec with key rotation by key id.

    Args:
        keys: (key id, key) pairs; the first encrypts, all decrypt.
    """

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise PayloadKeyError("AesGcmCodec needs at least one key")
        self._active_id = keys[0][0]
        self._active = AESGCM(keys[0][1])
        self._by_id = {kid: AESGCM(key) for kid, key in keys}

    @classmethod
    def from_spec(cls, spec: str) -> AesGcmCodec:
        """A codec from a ``kid:base64key,...`` string (see :func:`parse_keys`)."""
        return cls(parse_keys(spec))

    @property
    def active_key_id(self) -> str:
        """The id of the key new payloads are encrypted with."""
        return self._active_id

    def encrypt(self, payload: Payload) -> Payload:
        """Encrypt one payload with the active key."""
        nonce = os.urandom(_NONCE)
        kid = self._active_id.encode()
        sealed = self._active.encrypt(nonce, payload.SerializeToString(), kid)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """Decrypt one payload with the key it names; pass an unencrypted one through.

        Raises:
            PayloadKeyError: the payload's key is not configured, or it fails authentication.
        """
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        aead = self._by_id.get(kid)
        if aead is None:
            raise PayloadKeyError(
                f"payload encrypted with key {kid!r}, which is not in {ENV}; add it (keys decrypt "
                "until every history written with them is gone)"
            )
        data = payload.data
        try:
            plain = aead.decrypt(data[:_NONCE], data[_NONCE:], kid.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"payload encrypted with key {kid!r} does not authenticate: wrong key material "
                "or a tampered payload"
            ) from None
        return Payload.FromString(plain)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload (Temporal calls this before sending)."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt every payload (Temporal calls this after receiving)."""
        return [self.decrypt(p) for p in payloads]


def data_converter(keys: str | Iterable[tuple[str, bytes]] | None) -> DataConverter:
    """The engine's data converter: pydantic, plus AES-GCM encryption when keys are given.

    With keys, failure messages and stack traces are encoded as payloads too, so a
    rejection's text is encrypted at rest as well.

    Args:
        keys: a ``kid:base64key,...`` string, (key id, key) pairs, or None/"" for no
            encryption (the demo's default).
    """
    if not keys:
        return pydantic_data_converter
    codec = AesGcmCodec.from_spec(keys) if isinstance(keys, str) else AesGcmCodec(list(keys))
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
