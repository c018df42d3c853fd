"""Small-cell and complementary suppression (referrals/domain/publication.py) over many random tables: no suppressed cell
can be recovered from what is published, and every published cell is the truth."""

import itertools
import random

from referrals.domain.publication import RawTable, audit, suppress, suppress_cells

THRESHOLD = 10


def _raw(name, counts, *, total=None, additive=True, total_of="t") -> RawTable:
    return RawTable(
        name,
        name,
        name,
        "x",
        [(str(i), str(i)) for i in range(len(counts))],
        counts,
        sum(counts) if total is None else total,
        additive=additive,
        total_of=total_of,
    )


def _consistent(values, total, threshold, additive):
    """Every assignment of the suppressed cells an attacker cannot rule out (brute force, small tables): each at
    least 1, primary (< threshold) or no larger than the smallest cell shown, adding up to what the total leaves."""
    hidden = [i for i, v in enumerate(values) if v is None]
    shown = [v for v in values if v]
    ceiling = max(threshold - 1, min(shown)) if shown else (total if total is not None else 60)
    rest = total - sum(v for v in values if v is not None) if additive and total is not None else None
    for combo in itertools.product(range(1, min(ceiling, 60) + 1), repeat=len(hidden)):
        if rest is None or sum(combo) == rest:
            yield dict(zip(hidden, combo))


def _random_counts(rng: random.Random) -> list[int]:
    n = rng.randint(1, 7)
    return [rng.choice([0, 0, rng.randint(1, 12), rng.randint(1, 40), rng.randint(1, 400)]) for _ in range(n)]


def test_random_tables_never_reveal_a_suppressed_cell_and_show_only_the_truth():
    rng = random.Random(18)
    checked = suppressed_seen = 0
    for _ in range(4000):
        counts = _random_counts(rng)
        threshold = rng.choice([2, 3, 5, THRESHOLD])
        additive = rng.random() < 0.7
        (table,) = suppress([_raw("t", counts, additive=additive)], threshold)
        values = [c.value for c in table.cells]
        for truth, shown in zip(counts, values):
            assert shown is None or shown == truth  # a published cell is the true count
            assert shown is not None or truth > 0  # zero is shown as zero
            assert not (0 < truth < threshold) or shown is None  # every small cell is suppressed
        assert table.total is None or table.total == sum(counts)
        if table.total is not None and 0 < table.total < threshold:
            raise AssertionError("a small total was shown")
        hidden = [i for i, v in enumerate(values) if v is None]
        if not hidden:
            continue
        suppressed_seen += 1
        assert len(hidden) >= 2 or table.total is None
        for interval in audit(values, table.total, threshold, additive):
            assert interval is None or not interval.pinned, (counts, values, threshold)
        if len(hidden) <= 3 and sum(counts) <= 60 and table.total is not None:  # the audit checked by brute force
            possible = {i: set() for i in hidden}
            for assignment in _consistent(values, table.total, threshold, additive):
                for i, v in assignment.items():
                    possible[i].add(v)
            assert all(counts[i] in possible[i] for i in hidden)  # the truth is among what the audit allows
            assert all(len(seen) >= 2 for seen in possible.values()), (counts, values, threshold, possible)
            checked += 1
    assert suppressed_seen > 1000 and checked > 200  # the property was exercised, not vacuously true


def test_subtracting_the_shown_cells_from_the_total_learns_nothing():
    counts = [120, 3, 40, 0, 25]  # one small cell: the next smallest is withheld with it
    values = suppress_cells(counts, sum(counts), THRESHOLD, additive=True)
    assert values == [120, None, 40, 0, None]
    left = sum(counts) - sum(v for v in values if v is not None)
    assert left == 28  # what the two withheld cells add up to: 1+27, 2+26, 3+25 … 18+10
    low, high = audit(values, sum(counts), THRESHOLD, True)[1].low, audit(values, sum(counts), THRESHOLD, True)[1].high
    assert low < 3 < high


def test_a_small_total_is_suppressed_in_every_table_that_shows_it():
    tables = suppress(
        [
            _raw("by_district", [0, 4, 0]),
            _raw("by_stage", [2, 2, 0]),
            _raw("by_offence", [4, 1], total=4, additive=False),
        ],
        THRESHOLD,
    )
    assert all(t.total is None for t in tables)
    assert [c.value for c in tables[0].cells] == [0, None, 0]


def test_a_total_that_cannot_be_protected_is_withheld_with_the_tables_sharing_it():
    # Twelve cells of 1: withholding them all with the total shown would pin each at 1.
    ones, stages = _raw("by_district", [1] * 12), _raw("by_stage", [12, 0])
    published = suppress([ones, stages], THRESHOLD)
    assert published[0].total is None and published[1].total is None
    assert [c.value for c in published[1].cells] == [None, 0]


def test_tables_with_separate_totals_are_suppressed_apart():
    cases, referrals = suppress(
        [_raw("cases", [50, 30], total_of="cases"), _raw("referrals", [3, 0], total_of="referrals")], THRESHOLD
    )
    assert cases.total == 80 and [c.value for c in cases.cells] == [50, 30]
    assert referrals.total is None
