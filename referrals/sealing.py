"""Contact details sealed by the API before they go anywhere: AES-256-GCM under the payload keys.

Sealed once, when the request arrives, so the workflow's history, its audit events and the read model in
PostgreSQL hold the same ciphertext (and the audit chain's hashes are over it). The first key seals,
every key opens: rotating keys as for payloads (referrals/codec.py) leaves every sealed value readable.
"""

import base64
import functools
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from referrals.codec import parse_keys
from referrals.domain.messages import Contact, Person, PersonIn, SealedContact, Supplement, SupplementIn

_PURPOSE = b"contact:"


class Sealer:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        self._current_id, current = keys[0]
        self._seal = AESGCM(current)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def of(spec: str) -> "Sealer":
        """From REFERRALS_ENCRYPTION_KEYS ('id:base64key,…'), built once per key list (cases are read often)."""
        return Sealer(parse_keys(spec))

    def seal(self, contact: Contact) -> SealedContact:
        nonce = os.urandom(12)
        data = self._seal.encrypt(nonce, contact.model_dump_json().encode(), _PURPOSE + self._current_id.encode())
        return SealedContact(key_id=self._current_id, data=base64.b64encode(nonce + data).decode())

    def open(self, sealed: SealedContact) -> Contact:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise ValueError(f"contact sealed with key {sealed.key_id!r}, which is not configured")
        raw = base64.b64decode(sealed.data)
        return Contact.model_validate_json(cipher.decrypt(raw[:12], raw[12:], _PURPOSE + sealed.key_id.encode()))

    def for_workflow(self, body: BaseModel, payload: type[BaseModel]) -> BaseModel:
        """A step's body as the workflow receives it (`payload`, its declaration's): contact details sealed."""
        if isinstance(body, payload):
            return body
        if isinstance(body, PersonIn):
            return self.person(body)
        if isinstance(body, SupplementIn):
            return self.supplement(body)
        return payload.model_validate(body.model_dump())

    def person(self, person: PersonIn) -> Person:
        """The person as the workflow receives them: contact details sealed."""
        fields = person.model_dump(exclude={"contact"})
        return Person(**fields, contact=self.seal(person.contact) if person.contact else None)

    def supplement(self, supplement: SupplementIn) -> Supplement:
        """The supplement as the workflow receives it: its new people's contact details sealed."""
        fields = supplement.model_dump(exclude={"people"})
        return Supplement(**fields, people=[self.person(p) for p in supplement.people])
