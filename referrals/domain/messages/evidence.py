"""Evidence: an item's metadata as uploaded, the item as the case keeps it (never its bytes), its removal."""

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from referrals.domain.enums import EvidenceKind, EvidenceSource
from referrals.domain.messages.base import RequestModel
from referrals.domain.messages.clock import Happened
from referrals.domain.messages.fields import Line, Name, Short

SHA256_HEX = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class HeldElsewhere(RequestModel):
    """Evidence kept in another system, recorded by its reference there, with no bytes here."""

    system: Short  # "Axon Evidence.com", "Mount Sinai Hospital medical records"
    reference: Short  # the item's id or record number in that system


class EvidenceMetadata(RequestModel):
    """The `metadata` part of POST /incidents/{id}/evidence: what the item is and where it came from."""

    kind: EvidenceKind
    description: Line
    source: EvidenceSource
    collected_by: Name  # "P.O. (name, star)"
    collected_at: Happened
    # Where it was collected ("W 26th St and S Kedzie Ave, on the sidewalk"): in the first entry of its chain of
    # custody, which reads "place not recorded" for an item sent without it.
    collected_where: Line | None = None
    person_id: Short | None = None  # the person it concerns ("P1"), if any
    held_elsewhere: HeldElsewhere | None = None  # instead of a file
    touhy_request_id: Short | None = None  # material a federal agency produced: the request it answers ("T1")


class EvidenceItem(EvidenceMetadata):
    """An item as the workflow receives and the case keeps it: what the bytes are, never the bytes."""

    id: Short  # a uuid; the stored bytes' key
    filename: Name | None = None  # as the client named the file, made safe
    content_type: Short | None = None  # detected from the bytes
    size: Annotated[int, Field(ge=1)] | None = None
    sha256: SHA256_HEX | None = None
    received_from: Short | None = None  # the client address it was uploaded from, for its chain of custody
    # Where the bytes are (the adapter, and the key there): so that `referrals rebuild` can find them again.
    storage: Short | None = None
    storage_key: Name | None = None

    @model_validator(mode="after")
    def _bytes_or_reference(self) -> Self:
        if (self.held_elsewhere is None) == (self.sha256 is None):
            raise ValueError("an item is either a file here or a reference to one held elsewhere")
        return self


class EvidenceRemoval(RequestModel):
    """An admin takes a wrongly attached item off the case; its custody log keeps a tombstone."""

    evidence_id: Short
    reason: Line
