"""AES-256-GCM encryption of every Temporal payload: inputs, update arguments, results, query answers.

Keys carry ids: the first key encrypts, every key decrypts, so a history written under an old key
still replays after rotation. Search attributes are not payloads of this codec and hold no personal data.

The worker takes no payload unencrypted: one sent in the clear (by someone who reached Temporal without the key)
decodes to a refusal, and an update carrying it is refused before it enters history.
"""

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import CompositePayloadConverter, EncodingPayloadConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# What an unencrypted payload becomes in the worker: no converter but the refusal's reads it.
REFUSED_ENCODING = b"referrals/refused-unencrypted"
UNENCRYPTED = "UnencryptedPayload"  # the application error's type


class EncryptionKeyError(ValueError):
    pass


def parse_keys(spec: str, setting: str = "REFERRALS_ENCRYPTION_KEYS") -> list[tuple[str, bytes]]:
    """'id1:base64key,id2:base64key' -> [(id, 32-byte key)], the first being the one that encrypts (or signs:
    REFERRALS_ACTOR_KEYS have the same form)."""
    keys = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key_id, sep, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if not sep or not key_id or len(key) != 32:
            raise EncryptionKeyError(f"{setting}: {key_id or item!r} is not 'id:<32 bytes, base64>'")
        keys.append((key_id, key))
    if not keys:
        raise EncryptionKeyError(f"{setting} holds no key")
    return keys


class EncryptionCodec(PayloadCodec):
    """`refuse_plain`: the worker's (an unencrypted payload becomes a refusal); clients and the UI's codec endpoint
    pass one through as it came (the update headers, which carry no personal data, are plain)."""

    def __init__(self, keys: list[tuple[str, bytes]], *, refuse_plain: bool = False) -> None:
        self._refuse_plain = refuse_plain
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
                out.append(Payload(metadata={"encoding": REFUSED_ENCODING}) if self._refuse_plain else payload)
                continue
            key_id = payload.metadata[KEY_ID].decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(f"payload encrypted with key {key_id!r}, which is not configured")
            plain = cipher.decrypt(payload.data[:12], payload.data[12:], key_id.encode())
            out.append(Payload.FromString(plain))
        return out


class _RefusedPayload(EncodingPayloadConverter):
    """Reads what the worker's codec made of an unencrypted payload: a refusal, never a value."""

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: object) -> Payload | None:
        return None  # never chosen to write a value

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> object:
        raise ApplicationError(
            "the payload reached the worker unencrypted: steps are taken through the API",
            type=UNENCRYPTED,
            non_retryable=True,
        )


class WorkerPayloadConverter(CompositePayloadConverter):
    """The product's pydantic payloads, and the refusal of an unencrypted one."""

    def __init__(self) -> None:
        super().__init__(*PydanticPayloadConverter().converters.values(), _RefusedPayload())
