"""Small-cell suppression of the public figures, and the audit that checks it: pure.

Every table is one-dimensional: one dimension's categories and the table's total. A count from 1 to
threshold - 1 is suppressed (primary); zero is shown as zero. Where a table has a suppressed cell, the smallest
cells still shown are suppressed with it (complementary) until at least two are, they add up to the threshold at
least, and the audit below can pin none of them from the cells shown and the total. A total from 1 to
threshold - 1, or one whose table cannot be protected otherwise, is suppressed itself, with every non-zero cell,
in every table that shows that total.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

INFINITE = float("inf")


@dataclass(frozen=True)
class RawTable:
    """True counts: never stored, never published."""

    name: str
    title: str
    meaning: str
    dimension: str
    categories: list[tuple[str, str]]  # (category, label), in the order shown
    counts: list[int]
    total: int
    additive: bool = True  # the cells add up to the total (a case counts in one cell exactly)
    total_of: str = ""  # tables with the same `total_of` show the same total, suppressed alike


@dataclass(frozen=True)
class Cell:
    category: str
    label: str
    value: int | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    meaning: str
    dimension: str
    additive: bool
    cells: list[Cell]
    total: int | None  # None: suppressed

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "meaning": self.meaning,
            "dimension": self.dimension,
            "additive": self.additive,
            "total": self.total,
            "total_suppressed": self.total is None,
            "cells": [
                {"category": c.category, "label": c.label, "value": c.value, "suppressed": c.suppressed}
                for c in self.cells
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Table":
        return cls(
            name=data["name"],
            title=data["title"],
            meaning=data["meaning"],
            dimension=data["dimension"],
            additive=data["additive"],
            total=data["total"],
            cells=[Cell(c["category"], c["label"], c["value"]) for c in data["cells"]],
        )


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def pinned(self) -> bool:
        return self.low == self.high


def audit(values: list[int | None], total: int | None, threshold: int, additive: bool) -> list[Interval | None]:
    """What someone reading the published table can tell about each suppressed cell (None for a shown one).

    They know the rule: a suppressed cell is at least 1; it is either primary (at most threshold - 1) or
    complementary (chosen among the smallest cells, so at most the smallest cell still shown). Where the cells add
    up to a shown total, the suppressed ones add up to the total less the cells shown. A cell is recovered when its
    interval holds one value."""
    hidden = [i for i, v in enumerate(values) if v is None]
    shown_nonzero = [v for v in values if v]
    ceiling = max(threshold - 1, min(shown_nonzero)) if shown_nonzero else INFINITE
    if total is not None:
        ceiling = min(ceiling, total)
    low, high = 1.0, float(ceiling)
    if additive and total is not None and hidden:
        rest = total - sum(v for v in values if v is not None)  # what the suppressed cells add up to
        k = len(hidden)
        high = min(high, rest - (k - 1))
        low = max(low, rest - (k - 1) * ceiling)
    found: list[Interval | None] = [None] * len(values)
    for i in hidden:
        found[i] = Interval(low, high)
    return found


def _protected(counts: list[int], values: list[int | None], total: int, threshold: int, additive: bool) -> bool:
    hidden = [c for c, v in zip(counts, values) if v is None]
    if not hidden:
        return True
    if len(hidden) < 2 or sum(hidden) < threshold:
        return False
    return not any(found.pinned for found in audit(values, total, threshold, additive) if found is not None)


def suppress_cells(counts: list[int], total: int, threshold: int, additive: bool) -> list[int | None] | None:
    """The cells as published with the total shown; None when no choice of cells protects them (then the total
    must be suppressed too)."""
    values: list[int | None] = [None if 0 < c < threshold else c for c in counts]
    # Complementary cells: the smallest shown, one at a time (ties by their order), until the table is safe.
    candidates = sorted((c, i) for i, c in enumerate(counts) if values[i] is not None and c > 0)
    while not _protected(counts, values, total, threshold, additive):
        if not candidates:
            return None
        _, i = candidates.pop(0)
        values[i] = None
    return values


def suppress(tables: list[RawTable], threshold: int) -> list[Table]:
    """Every table as published. A total shared by several tables (`total_of`) is suppressed in all of them when
    any one of them needs it suppressed."""
    cells = [
        None if 0 < raw.total < threshold else suppress_cells(raw.counts, raw.total, threshold, raw.additive)
        for raw in tables
    ]
    hidden_totals = {raw.total_of or raw.name for raw, values in zip(tables, cells) if values is None}
    published = []
    for raw, values in zip(tables, cells):
        if (raw.total_of or raw.name) in hidden_totals:
            values, total = [None if c else 0 for c in raw.counts], None
        else:
            assert values is not None  # None only where the table's total is hidden, handled above
            total = raw.total
        published.append(
            Table(
                name=raw.name,
                title=raw.title,
                meaning=raw.meaning,
                dimension=raw.dimension,
                additive=raw.additive,
                total=total,
                cells=[Cell(c, label, v) for (c, label), v in zip(raw.categories, values)],
            )
        )
    return published


@dataclass(frozen=True)
class Figures:
    """A snapshot's contents: what is stored in public_snapshot.figures and published."""

    period_end: str  # "YYYY-MM": the last month counted
    threshold: int
    jurisdiction: str
    department: str
    tables: list[Table] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "period_end": self.period_end,
            "threshold": self.threshold,
            "jurisdiction": self.jurisdiction,
            "department": self.department,
            "tables": [t.as_json() for t in self.tables],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Figures":
        return cls(
            period_end=data["period_end"],
            threshold=data["threshold"],
            jurisdiction=data["jurisdiction"],
            department=data["department"],
            tables=[Table.from_json(t) for t in data["tables"]],
        )


@dataclass(frozen=True)
class PublishRequest:
    """The publishing activity's input: the snapshot's key (the workflow's id) and the moment it is published."""

    key: str
    as_of: datetime


@dataclass(frozen=True)
class SnapshotEntry:
    """A kept snapshot as the list of snapshots shows it."""

    id: int
    published_on: date
    published_at: datetime
    period_end: str
    sha256: str
