"""The case's record: each event appended, stored with the case after it in one write, and published to the
Temporal UI's search attributes. The state every part of the workflow shares is declared here."""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from referrals.activities.case_store import CaseStore
    from referrals.domain import search_attributes as sa
    from referrals.domain.case import CaseState, DocumentRef, IncidentInput, PersonRef
    from referrals.domain.case_edits import edits
    from referrals.domain.enums import DocumentKind, Stage
    from referrals.domain.events import (
        CaseColumns,
        CaseEvent,
        ChainHead,
        Delivered,
        DocumentRequest,
        Letterhead,
        PersistEvents,
    )
    from referrals.domain.policy import Policy
    from referrals.workflows.status import current_details

from referrals.workflows import versions

# Each attempt is short: a worker killed mid-activity is noticed when its attempt times out, and the activity runs
# again on another worker (every activity is idempotent). A persist takes milliseconds.
PERSIST_TIMEOUT = timedelta(seconds=10)
# Database outages are waited out: retries never stop, with backoff up to a minute.
PERSIST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


class Persistence:
    """What the case's workflow holds while it runs, and how its events reach PostgreSQL."""

    _input: IncidentInput
    _policy: Policy
    _letterhead: Letterhead
    _state: CaseState
    _lock: asyncio.Lock  # handlers and the run loop each change state and persist it as one unit
    _filed: bool
    _deliveries: list[asyncio.Task[Any]]
    _published: tuple[Any, ...] | None  # the search attribute values last upserted
    _events: list[CaseEvent]  # the events this run holds, in order: those after `_earlier` (seq n at n - 1 - its seq)
    _earlier: ChainHead | None  # a run continued as new: the chain's head before its events (the rest in PostgreSQL)
    _written: int  # the last event seq stored in PostgreSQL
    # The case as this run last stored it (its JSON), from which its next write's edits are made; None: sent whole.
    _stored: dict[str, Any] | None
    _requests: list[DocumentRequest]  # the documents this run asked for, each with the case it is made from
    # (the outbox) of those, the ones whose case is kept as the JSON their write stored (by document id), read into the
    # request only when asked for (`Documents._with_cases`): a copy of a big case costs a step 12 ms, its JSON nothing
    _cases_asked: dict[str, dict[str, Any]]
    patches: tuple[str, ...]
    deprecated: frozenset[str]
    _outbox_taken: bool | None  # `_outbox()`'s answer, once asked
    _asked: list[DocumentKind]  # (the outbox) the kinds asked for since the last write, asked for by the next
    _outstanding: list[DocumentRequest]  # (the outbox) asked for and not yet recorded, in the order asked
    _made: list[
        DocumentRef
    ]  # (the outbox) of those, the ones a write or a look found made: the next write records them
    _writes: int  # the writes this run has made
    _delivered: list[Delivered]
    _steps_under_way: int  # human steps between their update's arrival and its answer
    _in_hand: bool  # a document taken from documents_pending, its record or delivery still to come
    _resume: Stage | None  # a run continued as new: the stage it resumes in

    def _outbox(self) -> bool:
        """Whether the run asks the document maker for its documents (versions.DOCUMENTS_OUTBOX), decided where it is
        first asked: the start of the run, or an update handler that a run continued as new runs before it."""
        if self._outbox_taken is None:
            self._outbox_taken = versions.has(versions.DOCUMENTS_OUTBOX, self.patches, self.deprecated)
        return self._outbox_taken

    def _record(self, kind: str, actor: PersonRef | None, data: dict[str, Any], update_id: str | None = None) -> None:
        """Append one audit event to the case as it now stands; `_write` stores it with what else the step causes.
        `update_id`: the person's step that recorded it (CaseEvent.update_id)."""
        self._state.event_seq += 1
        self._events.append(
            CaseEvent(
                seq=self._state.event_seq, kind=kind, actor=actor, at=workflow.now(), data=data, update_id=update_id
            )
        )

    async def _write(self) -> None:
        await self._store([])

    async def _store(self, documents: list[DocumentRequest]) -> dict[str, Any] | None:
        """Store the events not yet stored and the case after them, and ask for `documents` (the outbox): one
        transaction, one activity, under the lock. A read model found behind (PostgreSQL restored from a backup)
        is sent what it lacks.
        (Not a local activity: a workflow task that fails after its local activity wrote would be run
        again and may record other events under the same numbers, and the audit chain admits no second
        version. A regular activity is scheduled by a completed task, so what it writes is history.)
        Returns the case it stored, as JSON (None: nothing to store, or a run that sends the case whole)."""
        if self._written == self._state.event_seq:
            return None
        since, held = self._written, self._earlier.seq if self._earlier else 0
        # (versions.STEP_WRITES_EDITS) The case as this write leaves it, sent as its edits to the case as the run last
        # stored it; whole, the run's first write, or when the case stored is another.
        after = self._state.model_dump(mode="json") if self._writes_edits() else None
        edits_from = self._stored if after is not None else None
        while True:
            case: dict[str, Any] = dict(state=self._state)
            if edits_from is not None and after is not None:
                case = dict(
                    case_id=self._state.case_id, edits=edits(edits_from, after), columns=CaseColumns.of(self._state)
                )
            stored = await workflow.execute_activity_method(
                CaseStore.persist_events,
                PersistEvents(
                    workflow_id=workflow.info().workflow_id,
                    events=self._events[since - held :],
                    documents=documents,
                    awaiting=[r.document_id for r in self._outstanding if r.document_id is not None],
                    **case,
                ),
                start_to_close_timeout=PERSIST_TIMEOUT,
                retry_policy=PERSIST_RETRY,
            )
            if stored.whole_case_needed:  # the case stored is not the one the edits were made from
                edits_from = None
                continue
            if stored.stored_seq >= since or stored.written:
                break
            edits_from = None  # (behind: sent whole, from its last event)
            if stored.stored_seq < held:
                # Behind events that only the earlier runs and a rebuild can give it: this run does not hold them.
                workflow.logger.warning(
                    "case read model behind this run's first event: run `referrals rebuild`",
                    extra={"stored_seq": stored.stored_seq, "first_held": held + 1},
                )
                break
            since = stored.stored_seq
        self._written = self._state.event_seq
        self._stored = after
        self._writes += 1
        self._learn(stored.made)
        self._publish()
        return after

    def _writes_edits(self) -> bool:
        return versions.has(versions.STEP_WRITES_EDITS, self.patches, self.deprecated)

    def _learn(self, made: list[DocumentRef]) -> None:
        """Documents found made, to record at the next write (each once)."""
        known = {ref.id for ref in self._made}
        self._made.extend(ref for ref in made if ref.id not in known)

    def _publish(self) -> None:
        state = self._state
        deadline = state.next_deadline()
        removal = removal_published(state)
        values = (
            state.case_number,
            state.stage.value,
            [t.value for t in state.open_tasks()],
            state.district,
            deadline,
            state.escalation_level(),
            removal,
        )
        # Each upsert is a history event and a visibility write on the server: only when a value changed.
        if values != self._published:
            number, stage, open_tasks, district, deadline, level, removal = values
            updates: list[SearchAttributeUpdate[Any]] = [
                sa.CASE_NUMBER.value_set(number),
                sa.CASE_STAGE.value_set(stage),
                sa.OPEN_TASKS.value_set(open_tasks),
                sa.DISTRICT.value_set(district),
                sa.NEXT_DEADLINE.value_set(deadline) if deadline else sa.NEXT_DEADLINE.value_unset(),
                sa.ESCALATION_LEVEL.value_set(level),
            ]
            # Only once a case has had a removal window (a case without one upserts as it always did).
            if removal is not None:
                updates.append(sa.REMOVAL_DEADLINE.value_set(removal))
            elif self._published is not None and self._published[-1] is not None:
                updates.append(sa.REMOVAL_DEADLINE.value_unset())
            workflow.upsert_search_attributes(updates)
            self._published = values
        workflow.set_current_details(current_details(state, self._policy.time_zone))


def removal_published(state: CaseState) -> Any:
    """RemovalDeadline's value: the end of the removal window while it is open."""
    prosecution = state.prosecution
    return prosecution.removal_due_at if prosecution and prosecution.removal_window_open and not state.closed else None
