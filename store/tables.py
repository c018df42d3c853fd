"""The read model, the audit trail and the users, as SQLModel tables.

No column stores the immigration status or citizenship of anyone (TRUST Act).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def _tz(**kw) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


def _strings(**kw) -> Any:
    return Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False, **kw))


class Incident(SQLModel, table=True):
    __table_args__ = (
        Index("ix_incident_open_tasks", "open_tasks", postgresql_using="gin"),
        Index("ix_incident_officer_stars", "officer_stars", postgresql_using="gin"),
    )
    id: str = Field(primary_key=True)  # the case id (uuid); the workflow id is `incident-<id>`
    workflow_id: str = Field(unique=True)
    case_number: str = Field(unique=True)
    district: str = Field(index=True)
    stage: str = Field(index=True)
    disposition: str | None = None
    filed_by_id: str = Field(index=True)
    officer_stars: list[str] = _strings()
    open_tasks: list[str] = _strings()
    next_deadline: datetime | None = _tz(nullable=True)
    escalation_level: int = 0
    occurred_at: datetime = _tz(nullable=False)
    filed_at: datetime = _tz(nullable=False, index=True)
    closed_at: datetime | None = _tz(nullable=True)
    request_hash: str
    event_seq: int
    state: dict = Field(sa_column=Column(JSONB, nullable=False))


class CaseTask(SQLModel, table=True):
    __tablename__ = "case_task"
    case_id: str = Field(foreign_key="incident.id", primary_key=True)
    task: str = Field(primary_key=True)
    status: str = Field(index=True)
    owner_role: str
    due_at: datetime | None = _tz(nullable=True)
    escalation_level: int = 0
    completed_by_id: str | None = None
    completed_at: datetime | None = _tz(nullable=True)


class Recording(SQLModel, table=True):
    case_id: str = Field(foreign_key="incident.id", primary_key=True)
    camera_id: str = Field(primary_key=True)
    officer_star: str
    started_at: datetime = _tz(nullable=False)
    ended_at: datetime = _tz(nullable=False)
    purge_at: datetime = _tz(nullable=False, index=True)
    flag_reasons: list[str] = _strings()
    hold_reference: str | None = None
    retained_until: date | None = None


class Person(SQLModel, table=True):
    """Officers and federal personnel named in a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="incident.id", index=True)
    kind: str  # officer | federal | federal_supervisor
    name: str | None = None
    star_or_badge: str | None = None
    agency: str | None = None
    title: str | None = None
    description: str | None = None


class Allegation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="incident.id", index=True)
    statute: str = Field(index=True)
    person: str
    facts: str = Field(sa_column=Column(Text, nullable=False))


class Decision(SQLModel, table=True):
    """Legal reviews and command decisions, with who decided when."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="incident.id", index=True)
    task: str
    decision: str
    actor_id: str
    actor_name: str
    decided_at: datetime = _tz(nullable=False)
    data: dict = Field(sa_column=Column(JSONB, nullable=False))


class CaseEventRow(SQLModel, table=True):
    """The append-only audit trail: each event's hash covers its content and the previous hash."""

    __tablename__ = "case_event"
    case_id: str = Field(foreign_key="incident.id", primary_key=True)
    seq: int = Field(primary_key=True)
    kind: str
    actor_id: str | None = None
    actor_name: str | None = None
    at: datetime = _tz(nullable=False)
    data: dict = Field(sa_column=Column(JSONB, nullable=False))
    prev_hash: str
    hash: str


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    id: str = Field(primary_key=True)
    name: str
    email: str = Field(unique=True)
    roles: list[str] = _strings()
    district: str | None = None
    star: str | None = None
    token_hash: str = Field(unique=True)
    token_expires_at: datetime | None = _tz(nullable=True)
    active: bool = True  # false once revoked
    created_at: datetime = _tz(nullable=False)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random value, this table only its SHA-256."""

    __tablename__ = "web_session"
    id_hash: str = Field(primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True)
    token_hash: str  # the token signed in with: a revoked, expired or replaced token ends the session
    csrf_token: str
    created_at: datetime = _tz(nullable=False)
    expires_at: datetime = _tz(nullable=False)


class Notification(SQLModel, table=True):
    """One message to one person: their in-app inbox entry, and whether its e-mail went out."""

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: str = Field(foreign_key="app_user.id", index=True)
    case_id: str | None = Field(default=None, foreign_key="incident.id", index=True)
    kind: str  # escalation | digest
    task: str | None = None
    level: int | None = None
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = None
    idempotency_key: str = Field(unique=True)
    created_at: datetime = _tz(nullable=False)
    read_at: datetime | None = _tz(nullable=True)
    email_sent_at: datetime | None = _tz(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """Webhook posts already made, by idempotency key: a retry never posts twice."""

    __tablename__ = "webhook_delivery"
    idempotency_key: str = Field(primary_key=True)
    sent_at: datetime = _tz(nullable=False)


class DocumentRow(SQLModel, table=True):
    """A generated Word document, versioned per case and kind; the bytes' SHA-256 is in the audit trail."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version", name="uq_document_case_kind_version"),)
    id: str = Field(primary_key=True)
    case_id: str = Field(foreign_key="incident.id", index=True)
    kind: str
    version: int
    filename: str
    size: int
    sha256: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    idempotency_key: str = Field(unique=True)
    created_at: datetime = _tz(nullable=False)


class DocumentDeliveryRow(SQLModel, table=True):
    """Documents already e-mailed, by idempotency key: a retry never sends twice."""

    __tablename__ = "document_delivery"
    idempotency_key: str = Field(primary_key=True)
    document_id: str = Field(foreign_key="document.id")
    recipient: str
    sent_at: datetime = _tz(nullable=False)
