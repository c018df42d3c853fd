"""The Merkle root of every chain's head (referrals/domain/chain_roots.py): RFC 6962's tree, over the heads in their
sorted order, so that whoever holds the same heads gets the same root and any other head gives another."""

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from referrals.domain.chain_roots import Chain, Head, leaf, root

HEADS = st.lists(
    st.builds(
        Head,
        st.sampled_from(list(Chain)),
        st.uuids().map(str),
        st.integers(1, 10**6),
        st.text("0123456789abcdef", min_size=64, max_size=64),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda h: (h.chain, h.id),
)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_the_tree_is_rfc_6962s_and_nothing_is_the_hash_of_nothing():
    a, b, c = (Head(Chain.CASE, f"case-{n}", n, f"{n:064x}") for n in (1, 2, 3))
    assert root([]) == hashlib.sha256(b"").hexdigest()
    assert root([a]) == leaf(a).hex()
    assert root([a, b]) == _node(leaf(a), leaf(b)).hex()
    # Three leaves: the first two under the left node (the largest power of two below three), the third alone.
    assert root([c, a, b]) == _node(_node(leaf(a), leaf(b)), leaf(c)).hex()
    assert leaf(a) == hashlib.sha256(b"\x00case\x00case-1\x001\x00" + f"{1:064x}".encode()).digest()


def _rfc_6962(leaves: list[bytes]) -> bytes:
    """RFC 6962, 2.1, as written: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two
    smaller than n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node(_rfc_6962(leaves[:k]), _rfc_6962(leaves[k:]))


@given(HEADS)
def test_the_tree_is_rfc_6962s_for_any_count(heads):
    assert (
        root(heads) == _rfc_6962([leaf(h) for h in sorted(heads, key=lambda h: (h.chain, h.id, h.seq, h.hash))]).hex()
    )


@given(HEADS, st.randoms())
def test_the_same_heads_in_any_order_give_the_same_root(heads, rng):
    shuffled = heads[:]
    rng.shuffle(shuffled)
    assert root(shuffled) == root(heads)


@given(HEADS, st.data())
def test_any_head_moved_rewritten_or_left_out_gives_another_root(heads, data):
    i = data.draw(st.integers(0, len(heads) - 1))
    head = heads[i]
    for other in (
        Head(head.chain, head.id, head.seq + 1, head.hash),
        Head(head.chain, head.id, head.seq, ("0" if head.hash[0] != "0" else "1") + head.hash[1:]),
    ):
        assert root(heads[:i] + [other] + heads[i + 1 :]) != root(heads)
    if len(heads) > 1:
        assert root(heads[:i] + heads[i + 1 :]) != root(heads)
