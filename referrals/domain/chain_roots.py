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
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Chain(StrEnum):
    CASE = "case"  # a case's audit trail: id the case's id
    CUSTODY = "custody"  # an evidence item's chain of custody: id the item's id
    ACCESS = "access"  # the one access trail: id ""


@dataclass(frozen=True)
class Head:
    """A chain's last entry when the root was made: its number and hash."""

    chain: Chain
    id: str
    seq: int
    hash: str


def leaf(head: Head) -> bytes:
    return _leaf(head.chain, head.id, head.seq, head.hash)


def _leaf(chain: str, chain_id: str, seq: int, digest: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{chain}\x00{chain_id}\x00{seq}\x00{digest}".encode()).digest()


def _tree(leaves: list[bytes]) -> bytes:
    """RFC 6962's tree hash, level by level: each pair hashed, an odd last node carried up as it is (the same tree as
    the RFC's split at the largest power of two below the count: tests/test_chain_roots.py)."""
    level = leaves
    while len(level) > 1:
        up = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


def root(heads: Iterable[Head]) -> str:
    """The Merkle root of the heads, hex; the hash of nothing when there are none."""
    return root_of((head.chain, head.id, head.seq, head.hash) for head in heads)


def root_of(heads: Iterable[tuple[str, str, int, str]]) -> str:
    """`root` of heads as (chain, id, seq, hash) tuples, as the database reads them: a department's 200,000 without
    an object each."""
    leaves = [_leaf(*head) for head in sorted(heads)]
    return _tree(leaves).hex() if leaves else hashlib.sha256(b"").hexdigest()
