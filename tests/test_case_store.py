"""The persistence activity against the real PostgreSQL: a retried call stores nothing twice."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from referrals.activities.case_store import CaseStore
from referrals.config import ROOT
from referrals.domain.case import IncidentInput, PersonRef, new_case, workflow_id_for
from referrals.domain.enums import Role, Stage
from referrals.domain.events import CaseEvent, EventKind, Persisted, PersistEvents
from referrals.domain.messages import Actor, IncidentFiling
from referrals.domain.policy import load_policy
from referrals.store.tables import CaseEventRow, Incident, Person, Recording
from tests.support.scenario import FILING


def change(state, seq: int, kind: EventKind) -> PersistEvents:
    state.event_seq = seq
    event = CaseEvent(
        seq=seq, kind=kind, actor=PersonRef(id="u1", name="P.O. Ana Ruiz"), at=datetime.now(UTC), data={"seq": seq}
    )
    return PersistEvents(workflow_id=workflow_id_for(state.case_id), state=state.model_copy(deep=True), events=[event])


async def count(sessions, table, case_id) -> int:
    async with sessions() as s:
        return (await s.exec(select(func.count()).select_from(table).where(table.case_id == case_id))).one()


async def test_a_retried_persist_stores_one_event_and_one_read_model(sessions):
    actor = Actor(user_id="u1", name="P.O. Ana Ruiz", roles=[Role.OFFICER])
    inp = IncidentInput(
        case_id=str(uuid.uuid4()),
        case_number=f"T-{uuid.uuid4().hex[:8]}",
        filed_by=actor,
        filing=IncidentFiling.model_validate(FILING),
        policy=load_policy(ROOT / "policy/chicago.toml"),
        request_hash="h",
    )
    state = new_case(inp, datetime.now(UTC))
    store = CaseStore(sessions)
    activity = ActivityEnvironment()
    filed = change(state, 1, EventKind.CASE_FILED)
    assert await activity.run(store.persist_events, filed) == Persisted(stored_seq=0, written=True)
    for _ in range(2):  # two retries after a lost acknowledgement
        assert await activity.run(store.persist_events, filed) == Persisted(stored_seq=1, written=False)
    assert await count(sessions, CaseEventRow, state.case_id) == 1
    assert await count(sessions, Recording, state.case_id) == 2
    assert await count(sessions, Person, state.case_id) == 2  # the officer and the federal agent

    state.stage = Stage.LEGAL_REVIEW
    await activity.run(store.persist_events, change(state, 2, EventKind.STAGE_CHANGED))
    # a late retry of an older event changes nothing
    assert await activity.run(store.persist_events, filed) == Persisted(stored_seq=2, written=False)
    async with sessions() as s:
        incident = await s.get(Incident, state.case_id)
        assert (incident.event_seq, incident.stage) == (2, "legal_review")
    assert await count(sessions, CaseEventRow, state.case_id) == 2
    assert await count(sessions, Person, state.case_id) == 2
