"""AES-256-GCM encryption of every Temporal payload: inputs, update arguments, results, query answers.

Keys carry ids: the first key encrypts, every key decrypts, so a history written under an old key
still replays after rotation. Search attributes are not payloads of this codec and hold no personal data.
"""

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionKeyError(ValueError):
    pass


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """'id1:base64key,id2:base64key' -> [(id, 32-byte key)], the first being the one that encrypts."""
    keys = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key_id, sep, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if not sep or not key_id or len(key) != 32:
            raise EncryptionKeyError(f"REFERRALS_ENCRYPTION_KEYS: {key_id or item!r} is not 'id:<32 bytes, base64>'")
        keys.append((key_id, key))
    if not keys:
        raise EncryptionKeyError("REFERRALS_ENCRYPTION_KEYS holds no key")
    return keys


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        self._current_id, current = keys[0]
        self._encrypt = AESGCM(current)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            sealed = self._encrypt.encrypt(nonce, payload.SerializeToString(), self._current_id.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self._current_id.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # not ours (e.g. written before encryption was enabled)
                continue
            key_id = payload.metadata[KEY_ID].decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(f"payload encrypted with key {key_id!r}, which is not configured")
            plain = cipher.decrypt(payload.data[:12], payload.data[12:], key_id.encode())
            out.append(Payload.FromString(plain))
        return out
