"""What the API returns for cases, events and users."""

from datetime import datetime

from pydantic import BaseModel

from referrals.config import Settings
from referrals.domain.case import CaseState, InvolvedPerson
from referrals.domain.messages import Contact, SealedContact
from referrals.domain.permissions import Operation, allowed
from referrals.sealing import Sealer
from referrals.store.tables import AppUser, CaseEventRow, Incident


class Links(BaseModel):
    self: str
    events: str
    temporal_ui: str


class PersonOut(InvolvedPerson):
    """A person involved as a reader sees them: contact details opened for the roles that may read them
    (referrals/domain/permissions.py, READ_CONTACT); for everyone else only whether there are any."""

    contact: Contact | None = None  # type: ignore[assignment]  # the view's field in place of the sealed one: only read
    contact_on_file: bool = False


class CaseOut(CaseState):
    people: list[PersonOut] = []  # type: ignore[assignment]  # the view's people in place of the case's: only read
    id: str
    workflow_id: str
    links: Links


class CaseSummary(BaseModel):
    id: str
    case_number: str
    stage: str
    disposition: str | None
    district: str
    occurred_at: datetime
    filed_at: datetime
    open_tasks: list[str]
    next_deadline: datetime | None
    escalation_level: int
    links: Links


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    kind: str
    actor_id: str | None
    actor_name: str | None
    at: datetime
    data: dict
    prev_hash: str
    hash: str


class EventList(BaseModel):
    case_id: str
    chain_valid: bool
    items: list[EventOut]


class UserOut(BaseModel):
    id: str
    name: str
    email: str
    roles: list[str]
    district: str | None
    star: str | None
    active: bool = True
    locked_until: datetime | None = None  # after repeated failed sign-ins, until an admin unlocks it or time passes


class NewUserOut(UserOut):
    token: str


def links(incident: Incident, settings: Settings) -> Links:
    return Links(
        self=f"/incidents/{incident.id}",
        events=f"/incidents/{incident.id}/events",
        temporal_ui=settings.workflow_url(incident.workflow_id),
    )


def case_out(incident: Incident, settings: Settings, reader: AppUser) -> CaseOut:
    state = dict(incident.state)
    sealer = Sealer.of(settings.effective_encryption_keys) if allowed(Operation.READ_CONTACT, reader.roles) else None
    people = [person_out(person, sealer) for person in state.pop("people", [])]
    # The people a supplement added are read under `people` (opened or withheld); the supplement keeps none.
    state["supplements"] = [_without_contacts(s) for s in state.get("supplements", [])]
    return CaseOut(
        **state, people=people, id=incident.id, workflow_id=incident.workflow_id, links=links(incident, settings)
    )


def person_out(stored: dict, sealer: Sealer | None) -> PersonOut:
    """A person as the case stores them (JSON, or a model's dump) as the reader sees them, read once: with a sealer
    (the reader may read contact details), their contact opened; without, withheld."""
    sealed = stored.get("contact")
    opened = sealer.open(SealedContact.model_validate(sealed)) if sealer is not None and sealed is not None else None
    return PersonOut.model_validate({**stored, "contact": opened, "contact_on_file": sealed is not None})


def case_summary(incident: Incident, settings: Settings) -> CaseSummary:
    return CaseSummary(
        id=incident.id,
        case_number=incident.case_number,
        stage=incident.stage,
        disposition=incident.disposition,
        district=incident.district,
        occurred_at=incident.occurred_at,
        filed_at=incident.filed_at,
        open_tasks=incident.open_tasks,
        next_deadline=incident.next_deadline,
        escalation_level=incident.escalation_level,
        links=links(incident, settings),
    )


def event_out(row: CaseEventRow) -> EventOut:
    return EventOut.model_validate(row, from_attributes=True)


def user_out(user: AppUser) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def _without_contacts(supplement: dict) -> dict:
    payload = supplement["payload"]
    people = [{**person, "contact": None} for person in payload.get("people", [])]
    return {**supplement, "payload": {**payload, "people": people}}
