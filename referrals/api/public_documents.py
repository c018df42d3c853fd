"""The public figures as served: the JSON document (its schema below), the long-format CSV and its data
dictionary. Made once per snapshot, from what the snapshot holds (already suppressed)."""

import csv
import io
from datetime import date, datetime

from pydantic import BaseModel, Field

from referrals.domain.publication import Figures
from referrals.store.tables import PublicSnapshotRow

SCHEMA_VERSION = 1
CSV_COLUMNS = ("published_on", "period_end", "table", "category", "label", "value", "suppressed")
TOTAL = "total"  # the category of each table's total row in the CSV


class PublicCell(BaseModel):
    category: str = Field(
        description="the category's code: a month YYYY-MM, a district code, a statute citation, "
        "an agency code, a stage, a kind of decision or outcome; 'other' folds in "
        "what the policy does not list"
    )
    label: str = Field(description="the category in words")
    value: int | None = Field(description="the count; null when suppressed (zero is shown as 0)", ge=0)
    suppressed: bool


class PublicTable(BaseModel):
    name: str = Field(description="e.g. cases_by_district; the data dictionary lists every table")
    title: str
    meaning: str
    dimension: str = Field(description="what the categories are: month, district, offence, agency, stage, kind")
    additive: bool = Field(
        description="true when each counted item is in exactly one cell, so the cells add up to "
        "the total; false for offences and agencies (a case may count in several)"
    )
    total: int | None = Field(description="the table's total; null when suppressed", ge=0)
    total_suppressed: bool
    cells: list[PublicCell]


class SnapshotLinks(BaseModel):
    json_: str = Field(alias="json")
    csv: str
    dictionary: str
    page: str
    snapshots: str


class PublicStats(BaseModel):
    """A published snapshot of the public figures: one-way tables of counts, small cells suppressed."""

    schema_version: int = SCHEMA_VERSION
    snapshot_id: int
    published_on: date = Field(description="the day the snapshot was published, in the department's time zone")
    period_end: str = Field(
        pattern=r"^\d{4}-\d{2}$",
        description="the last month counted, YYYY-MM: the figures "
        "count what was recorded before the first day of the month after it",
    )
    jurisdiction: str
    department: str
    threshold: int = Field(description="every count from 1 to threshold - 1 is suppressed")
    sha256: str = Field(description="SHA-256 of the canonical JSON of the snapshot's figures, as kept")
    chains_root: str | None = Field(
        description="the Merkle root of the head of every hash chain the department keeps (each case's audit trail, "
        "each evidence item's chain of custody, the access trail) when the snapshot was published: keep it, and "
        "`referrals audit verify --published` finds any chain rewritten since. It names nothing (null: published "
        "before the roots were)"
    )
    chains_at: datetime | None = Field(description="when the chains' heads were read")
    tables: list[PublicTable]
    links: SnapshotLinks


class SnapshotListed(BaseModel):
    id: int
    published_on: date
    period_end: str
    sha256: str
    json_: str = Field(alias="json")
    csv: str


class SnapshotList(BaseModel):
    snapshots: list[SnapshotListed] = Field(description="every snapshot kept, newest first")


def links(snapshot_id: int | None) -> dict:
    base = "/public/stats" if snapshot_id is None else f"/public/snapshots/{snapshot_id}"
    return {
        "json": base,
        "csv": f"{base}.csv",
        "dictionary": "/public/stats/dictionary.csv",
        "page": "/public/",
        "snapshots": "/public/snapshots",
    }


def stats_json(row: PublicSnapshotRow, figures: Figures, *, latest: bool) -> bytes:
    assert row.id is not None  # a stored snapshot: the database numbered it
    doc = PublicStats(
        snapshot_id=row.id,
        published_on=row.published_on,
        period_end=figures.period_end,
        jurisdiction=figures.jurisdiction,
        department=figures.department,
        threshold=figures.threshold,
        sha256=row.sha256,
        chains_root=row.chains_root,
        chains_at=row.chains_at,
        tables=[PublicTable(**t.as_json()) for t in figures.tables],
        links=SnapshotLinks(**links(None if latest else row.id)),
    )
    return doc.model_dump_json(by_alias=True).encode()


def stats_csv(published_on: date, figures: Figures) -> bytes:
    """One row per cell and one per table's total (category 'total'): the long format of the data dictionary."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for table in figures.tables:
        rows = [(c.category, c.label, c.value) for c in table.cells] + [(TOTAL, "Total", table.total)]
        for category, label, value in rows:
            writer.writerow(
                (
                    published_on.isoformat(),
                    figures.period_end,
                    table.name,
                    category,
                    label,
                    "" if value is None else value,
                    "true" if value is None else "false",
                )
            )
    return out.getvalue().encode("utf-8")


def dictionary_csv(figures: Figures | None) -> bytes:
    """What each column of the CSV means, and each table (from the snapshot's own tables when there is one)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("name", "kind", "type", "meaning"))
    for row in (
        ("published_on", "column", "date (ISO 8601, YYYY-MM-DD)", "the day the snapshot was published"),
        (
            "period_end",
            "column",
            "month (YYYY-MM)",
            "the last month counted: everything recorded before the first day of the next month, nothing after",
        ),
        ("table", "column", "text", "the table the row belongs to (one of the tables below)"),
        (
            "category",
            "column",
            "text",
            "the row's category: a month YYYY-MM, a code or citation, or 'total' for the table's total",
        ),
        ("label", "column", "text", "the category in words"),
        ("value", "column", "integer or empty", "the count; empty when suppressed (zero is shown as 0)"),
        (
            "suppressed",
            "column",
            "boolean (true/false)",
            "true when the count is withheld: small-cell suppression, "
            "or complementary suppression protecting a small cell",
        ),
    ):
        writer.writerow(row)
    for table in figures.tables if figures else ():
        adds = "the rows add up to the total" if table.additive else "a case may count in several rows"
        writer.writerow((table.name, "table", table.dimension, f"{table.meaning} ({adds})"))
    return out.getvalue().encode("utf-8")


def listing_json(entries) -> bytes:
    return (
        SnapshotList(
            snapshots=[
                SnapshotListed(
                    id=e.id,
                    published_on=e.published_on,
                    period_end=e.period_end,
                    sha256=e.sha256,
                    json=f"/public/snapshots/{e.id}",
                    csv=f"/public/snapshots/{e.id}.csv",
                )
                for e in entries
            ]
        )
        .model_dump_json(by_alias=True)
        .encode()
    )
