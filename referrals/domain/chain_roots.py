"""The heads of every hash chain the product keeps, folded into one Merkle root that a public snapshot publishes: each
case's audit trail, each evidence item's chain of custody and the access trail. Once published, the root is kept
where the database's owner cannot reach it (every copy of the snapshot the public took), so a chain rewritten after
it (every hash recomputed, which `audit verify` alone cannot tell) no longer gives the heads the root was made of.

The root carries no identifier: each leaf is a hash of a chain's kind, id, head number and head hash, and only the
root is published. The heads themselves are kept in PostgreSQL beside the snapshot (`published_chain_head`), to
name the chain that no longer matches; whoever alters those instead no longer gets the published root from them.

Pure: the leaves and the tree are RFC 6962's (Certificate Transparency's), their order the heads' sorted order.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Chain(StrEnum):
    CASE = "case"  # a case's audit trail: id the case's id
    CUSTODY = "custody"  # an evidence item's chain of custody: id the item's id
    ACCESS = "access"  # the one access trail: id ""


@dataclass(frozen=True, order=True)
class Head:
    """A chain's last entry when the root was made: its number and hash."""

    chain: Chain
    id: str
    seq: int
    hash: str


def leaf(head: Head) -> bytes:
    return hashlib.sha256(b"\x00" + f"{head.chain}\x00{head.id}\x00{head.seq}\x00{head.hash}".encode()).digest()


def _tree(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two below the count
    return hashlib.sha256(b"\x01" + _tree(leaves[:split]) + _tree(leaves[split:])).digest()


def root(heads: Iterable[Head]) -> str:
    """The Merkle root of the heads, hex; the hash of nothing when there are none."""
    leaves = [leaf(head) for head in sorted(heads)]
    return _tree(leaves).hex() if leaves else hashlib.sha256(b"").hexdigest()
