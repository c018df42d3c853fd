"""The documents a step asks for, made one at a time in the background after the step's write, recorded on the
case and (the referral packet) delivered to the prosecutor. The bytes never enter history: the case lists them by id."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from referrals.activities.case_store import CaseStore
    from referrals.activities.documents import DocumentWriter
    from referrals.activities.notifier import Notifier
    from referrals.domain.case import CaseState, DocumentRef
    from referrals.domain.documents import LISTS_DOCUMENTS
    from referrals.domain.enums import DocumentKind
    from referrals.domain.events import Delivered, DocumentDelivery, DocumentRequest, DocumentsAwaited, EventKind

from referrals.workflows.persistence import PERSIST_RETRY, PERSIST_TIMEOUT, Persistence

# A document well under a second; an e-mail too, but the mail server may be down for a while.
DOCUMENT_TIMEOUT = timedelta(seconds=15)
DELIVERY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10))
NOTIFY_DEADLINE = timedelta(days=1)
# A document's record waits up to RECORD_RIDE for the case's next write (a person's next step) and is stored with
# it, instead of a write of its own that the next step would queue behind.
RECORD_RIDE = timedelta(seconds=1)
# (The outbox) a case nobody writes to asks which of its documents are made after a second, then twice as long each
# time nothing is, up to a minute (the document maker retries a failing document for longer).
QUIET_FIRST = timedelta(seconds=1)
QUIET_MOST = timedelta(minutes=1)
# What a delivery activity is sent (an escalation notice, a document delivery).
M = TypeVar("M")


class Documents(Persistence):
    def _ask_for(self, kinds: list[DocumentKind]) -> None:
        """Queue the documents a step asks for: made in the background, in order; the case lists them as being
        generated. (The outbox: asked for by the step's write, made by the document maker, recorded by a later write,
        `_documents_recorded`. Before it: made one at a time after the step's write as activities, `_documents`.)"""
        self._state.documents_pending.extend(kinds)
        if self._outbox():
            self._asked.extend(kinds)

    async def _write(self) -> None:
        if not self._outbox():
            return await super()._write()
        recorded = self._record_made()
        asked = self._requests_asked()
        # Each request keeps the case as this write stores it: the JSON the write sends its edits from (a run that sends
        # the case whole has none, and keeps a copy taken before the write, while the case is still as stored). A write
        # that asks for documents always has events to store: the step's, or the records that let a packet be asked.
        kept = self._state.model_copy(deep=True) if asked and not self._writes_edits() else None
        stored = await self._store(asked)
        self._requests.extend(r.model_copy(update={"state": kept}) for r in asked)
        if stored is not None:
            self._cases_asked.update((r.document_id, stored) for r in asked if r.document_id is not None)
        for ref in recorded:  # stored: the packet goes to the prosecutor
            if ref.kind == DocumentKind.REFERRAL_PACKET:
                self._deliveries.append(asyncio.create_task(self._send_to_prosecutor(ref)))

    def _requests_asked(self) -> list[DocumentRequest]:
        """The documents asked for since the last write, each of the case as this write stores it, under its own
        id and version (the maker reads the case from the outbox; a rebuild, from the case kept with `_requests`). A
        document that lists the others waits for those asked before it (LISTS_DOCUMENTS)."""
        asked: list[DocumentRequest] = []
        while self._asked:
            kind = self._asked[0]
            if kind in LISTS_DOCUMENTS and (self._outstanding or asked):
                break  # asked by the write that records the documents before it
            self._asked.pop(0)
            earlier = sum(d.kind == kind for d in self._state.documents) + sum(
                r.kind == kind for r in self._outstanding
            )
            request = self._request(kind, 1 + earlier)
            self._outstanding.append(request)
            asked.append(request)
        return asked

    def _with_cases(self) -> list[DocumentRequest]:
        """The documents this run asked for, each with the case it is made from (for a rebuild, and a run continued
        as new): those kept as JSON read into their request here."""
        return [
            r.model_copy(update={"state": CaseState.model_validate(self._cases_asked[r.document_id])})
            if r.state is None and r.document_id in self._cases_asked
            else r
            for r in self._requests
        ]

    def _request(self, kind: DocumentKind, version: int, state: CaseState | None = None) -> DocumentRequest:
        """A request for one document of the case at its last event, under an id of its own."""
        return DocumentRequest(
            workflow_id=workflow.info().workflow_id,
            case_id=self._state.case_id,
            kind=kind,
            event_seq=self._state.event_seq,
            letterhead=self._letterhead,
            document_id=str(workflow.uuid4()),
            version=version,
            at=workflow.now(),
            state=state,
        )

    def _record_made(self) -> list[DocumentRef]:
        """The documents found made, each recorded on the case for the write about to be made, in the order asked: one
        made before a document asked before it (by a rebuild, the outbox's request lost) waits for that one."""
        made = {ref.id: ref for ref in self._made}
        recorded = []
        for request in self._outstanding:
            if request.document_id not in made:
                break
            recorded.append(made.pop(request.document_id))
        self._made = [ref for ref in self._made if ref.id in made]
        for ref in recorded:
            self._outstanding = [r for r in self._outstanding if r.document_id != ref.id]
            self._state.documents_pending.remove(ref.kind)
            self._state.documents.append(ref)
            self._record(EventKind.DOCUMENT_GENERATED, None, _generated(ref))
        return recorded

    def _quiet_period(self) -> timedelta:
        """How long nobody writes to a case before it looks after itself: records its documents, hands itself on."""
        seconds = self._input.documents_quiet_seconds
        return timedelta(seconds=seconds) if seconds else QUIET_FIRST

    def _written_after(self, writes: int) -> Callable[[], bool]:
        return lambda: self._writes != writes

    async def _documents_recorded(self) -> None:
        """(The outbox) until the case is closed with every document it asked for recorded. Each write records what
        it found made; a case nobody has written to for a second asks the maker's work itself (`documents_made`),
        then less often while the documents are still being made. Nothing here wakes the case while people work."""
        first = self._quiet_period()
        wait = first
        while True:
            await workflow.wait_condition(lambda: bool(self._outstanding) or self._state.closed)
            if not self._outstanding:
                return
            try:
                await workflow.wait_condition(self._written_after(self._writes), timeout=wait)
                wait = first
                continue
            except TimeoutError:
                pass
            async with self._lock:
                known = {ref.id for ref in self._made}
                if any(r.document_id not in known for r in self._outstanding):
                    self._learn(
                        await workflow.execute_activity_method(
                            CaseStore.documents_made,
                            DocumentsAwaited(
                                case_id=self._state.case_id,
                                ids=[r.document_id for r in self._outstanding if r.document_id is not None],
                            ),
                            start_to_close_timeout=PERSIST_TIMEOUT,
                            retry_policy=PERSIST_RETRY,
                        )
                    )
                outstanding = len(self._outstanding)
                await self._write()
                found = len(self._outstanding) < outstanding
            wait = first if found else min(wait * 2, QUIET_MOST)

    async def _documents(self) -> None:
        """Each document a step asked for, one at a time, after that step's write: of the case as it
        stands when its turn comes (so the packet lists the memo asked for before it)."""
        while True:
            # After the step that asked for it has written itself (its write is the step's alone).
            await workflow.wait_condition(
                lambda: (self._state.documents_pending or self._state.closed) and self._written == self._state.event_seq
            )
            if not self._state.documents_pending:
                return
            self._in_hand = True  # until its delivery has started: no continue-as-new meanwhile
            async with self._lock:
                await self._write()  # (a no-op but for a step queued meanwhile) the packet reads the events stored
                kind = self._state.documents_pending[0]
                request = self._request(
                    kind, 1 + sum(d.kind == kind for d in self._state.documents), self._state.model_copy(deep=True)
                )
                self._requests.append(request)
            ref = await workflow.execute_activity_method(
                DocumentWriter.generate,
                request,
                start_to_close_timeout=DOCUMENT_TIMEOUT,
                retry_policy=PERSIST_RETRY,
            )
            async with self._lock:
                self._state.documents_pending.pop(0)
                self._state.documents.append(ref)
                self._record(EventKind.DOCUMENT_GENERATED, None, _generated(ref))
                seq = self._state.event_seq
            await self._record_stored_or_due(seq)
            if self._written < seq:
                async with self._lock:
                    await self._write()
            if kind == DocumentKind.REFERRAL_PACKET:
                self._deliveries.append(asyncio.create_task(self._send_to_prosecutor(ref)))
            self._in_hand = False

    async def _record_stored_or_due(self, seq: int) -> None:
        """Until a document's record (event `seq`) is stored with a step's write, or is due to store itself."""
        rides: Callable[[], bool] = lambda: self._written >= seq  # noqa: E731
        # The next step's write stores it if one comes within RECORD_RIDE (the next step would otherwise
        # queue behind this record's write); a closed case has no next step.
        if rides() or self._state.closed and not self._steps_under_way:
            return
        try:
            await workflow.wait_condition(
                lambda: rides() or self._state.closed and not self._steps_under_way, timeout=RECORD_RIDE
            )
        except TimeoutError:
            pass

    async def _send_to_prosecutor(self, ref: DocumentRef) -> None:
        delivery = DocumentDelivery(
            workflow_id=workflow.info().workflow_id,
            case_id=self._state.case_id,
            case_number=self._state.case_number,
            document_id=ref.id,
            to=self._policy.prosecutor.intake_email,
        )
        if await self._deliver(Notifier.deliver_document, delivery, {"document_id": ref.id}):
            self._delivered.append(Delivered(document_id=ref.id, to=delivery.to, at=workflow.now()))

    async def _deliver(self, send: Callable[[Notifier, M], Awaitable[Any]], message: M, about: dict[str, Any]) -> bool:
        """Run a delivery activity (e-mail, webhook) in the background of the case: an outage is
        retried with backoff for a day and, if it outlasts that, logged; it never fails the case."""
        try:
            return bool(
                await workflow.execute_activity_method(
                    send,
                    message,
                    start_to_close_timeout=DELIVERY_TIMEOUT,
                    schedule_to_close_timeout=NOTIFY_DEADLINE,
                    retry_policy=NOTIFY_RETRY,
                )
            )
        except ActivityError:
            workflow.logger.warning("delivery gave up", extra={"activity": send.__name__, **about})
            return False


def _generated(ref: DocumentRef) -> dict[str, Any]:
    """A document's record in the audit trail."""
    return {
        "document_id": ref.id,
        "kind": ref.kind.value,
        "version": ref.version,
        "filename": ref.filename,
        "size": ref.size,
        "sha256": ref.sha256,
    }


def lighter(requests: list[DocumentRequest]) -> list[DocumentRequest]:
    """The document requests a run hands on: each kind's latest with the case it was made from, the earlier ones
    without (a rebuild makes those from the case as stored), so that a long case's input stays far below
    Temporal's payload limit."""
    latest = {request.kind: i for i, request in enumerate(requests)}
    return [r if latest[r.kind] == i else r.model_copy(update={"state": None}) for i, r in enumerate(requests)]
