"""The document outbox and its maker against the real PostgreSQL (issue 32): what a step's write asks for is made
once, each case's in the order asked, a document that cannot be made waits without holding the others, and a maker
wakes on the write's notification."""

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from referrals.activities.case_store import CaseStore
from referrals.activities.documents import DocumentWriter
from referrals.activities.pdfs import PdfMaker
from referrals.config import ROOT
from referrals.document_maker import DocumentMaker
from referrals.documents.pdf import Converter
from referrals.domain.case import CaseState, IncidentInput, PersonRef, new_case, workflow_id_for
from referrals.domain.enums import DocumentKind, Role
from referrals.domain.events import AuditTrail, CaseEvent, DocumentRequest, EventKind, Letterhead, PersistEvents
from referrals.domain.messages import Actor, IncidentFiling
from referrals.domain.policy import load_policy
from referrals.store import documents, outbox, rebuild
from tests.support.cli import referrals
from tests.support.scenario import FILING
from tests.test_rebuild import _forget as forget

POLICY = load_policy(ROOT / "policy/chicago.toml")


def _queue() -> str:
    return f"outbox-{uuid.uuid4().hex[:8]}"


FILED: dict[str, tuple[CaseState, CaseEvent, list[DocumentRequest]]] = {}  # what each case's write held, by id


async def _filed(sessions, queue: str, versions: int = 2) -> tuple[str, list[str]]:
    """A case filed by its write, asking for `versions` preservation requests; the write retried once."""
    inp = IncidentInput(
        case_id=str(uuid.uuid4()),
        case_number=f"T-{uuid.uuid4().hex[:8]}",
        filed_by=Actor(user_id="u1", name="P.O. Ana Ruiz", roles=[Role.OFFICER]),
        filing=IncidentFiling.model_validate(FILING),
        policy=POLICY,
        request_hash="h",
    )
    state = new_case(inp, datetime.now(UTC))
    state.event_seq = 1
    event = CaseEvent(
        seq=1, kind=EventKind.CASE_FILED, actor=PersonRef(id="u1", name="P.O. Ana Ruiz"), at=state.filed_at, data={}
    )
    ids = [str(uuid.uuid4()) for _ in range(versions)]
    asked = [
        DocumentRequest(
            workflow_id=workflow_id_for(state.case_id),
            case_id=state.case_id,
            kind=DocumentKind.PRESERVATION_REQUEST,
            event_seq=1,
            letterhead=Letterhead.of(POLICY),
            document_id=i,
            version=n,
            at=datetime.now(UTC),
        )
        for n, i in enumerate(ids, 1)
    ]
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, task_queue=queue)
    change = PersistEvents(workflow_id=workflow_id_for(state.case_id), state=state, events=[event], documents=asked)
    for _ in range(2):  # a retried write asks for nothing twice
        await env.run(CaseStore(sessions).persist_events, change)
    FILED[state.case_id] = (state, event, asked)
    return state.case_id, ids


async def _made(sessions, case_id: str) -> list[tuple[str, int]]:
    async with sessions() as s:
        rows = await s.exec(
            text("SELECT id, version FROM document WHERE case_id = :c ORDER BY version"), params={"c": case_id}
        )
        return [(r[0], r[1]) for r in rows.all()]


async def _waiting(sessions, queue: str) -> list[dict]:
    async with sessions() as s:
        return [w for w in await outbox.waiting(s) if w["case_id"] in await _cases(s, queue)]


async def _cases(s, queue: str) -> set[str]:
    rows = await s.exec(text("SELECT case_id FROM document_outbox WHERE task_queue = :q"), params={"q": queue})
    return {r[0] for r in rows.all()}


async def test_two_makers_make_each_document_once_in_the_order_its_case_asked(sessions):
    queue = _queue()
    cases = [await _filed(sessions, queue) for _ in range(3)]
    async with sessions() as s:
        assert len(await _cases(s, queue)) == 3  # six requests: the retried writes asked for nothing more
        assert (
            await s.exec(text("SELECT count(*) FROM document_outbox WHERE task_queue = :q"), params={"q": queue})
        ).one()[0] == 6
    makers = [DocumentMaker(sessions, DocumentWriter(sessions), queue) for _ in range(2)]

    async def drain(maker: DocumentMaker) -> int:
        made = 0
        while await maker.make_next():
            made += 1
        return made

    total = 0
    for _ in range(10):  # a maker finding only a case's next document (its first being made) rests until the next round
        total += sum(await asyncio.gather(*(drain(m) for m in makers)))
        if not await _waiting(sessions, queue):
            break
    assert total == 6
    for case_id, ids in cases:
        assert await _made(sessions, case_id) == [(ids[0], 1), (ids[1], 2)]  # once each, under the ids asked
    async with sessions() as s:
        assert not await _cases(s, queue)  # the outbox keeps nothing made


async def test_a_case_s_next_document_waits_while_the_one_before_it_is_being_made(sessions):
    queue = _queue()
    (first, first_ids), (second, second_ids) = [await _filed(sessions, queue) for _ in range(2)]
    async with sessions() as a, a.begin():
        taken = await outbox.take(a, queue)
        assert taken is not None and taken.document_id == first_ids[0]
        async with sessions() as b, b.begin():
            # Not the first case's second request (its first is being made): the next case's first.
            other = await outbox.take(b, queue)
            assert other is not None and other.document_id == second_ids[0]
            async with sessions() as c, c.begin():
                assert await outbox.take(c, queue) is None  # both cases are busy: nothing else is due
    assert await _made(sessions, first) == [] and await _made(sessions, second) == []  # nothing was made


async def test_a_document_that_cannot_be_made_is_put_off_and_the_others_are_made(sessions, database_url):
    queue = _queue()
    broken, broken_ids = await _filed(sessions, queue, versions=1)
    fine, fine_ids = await _filed(sessions, queue, versions=1)
    async with sessions() as s, s.begin():  # its case as stored cannot be read
        await s.exec(text("UPDATE document_outbox SET state = '{}' WHERE case_id = :c"), params={"c": broken})
    maker = DocumentMaker(sessions, DocumentWriter(sessions), queue)
    assert await maker.make_next()  # the broken one, first in line: put off
    assert await maker.make_next()  # then the other case's
    assert not await maker.make_next()  # the broken one is not due again yet
    assert await _made(sessions, fine) == [(fine_ids[0], 1)] and await _made(sessions, broken) == []
    [waiting] = await _waiting(sessions, queue)
    assert waiting["document_id"] == broken_ids[0] and waiting["attempts"] == 1
    assert waiting["last_error"].startswith("ValidationError")
    async with sessions() as s:
        later = (
            await s.exec(
                text("SELECT not_before > now() FROM document_outbox WHERE document_id = :d"),
                params={"d": broken_ids[0]},
            )
        ).one()[0]
        number = (await s.exec(text("SELECT case_number FROM incident WHERE id = :c"), params={"c": broken})).one()[0]
    assert later
    # What an operator sees: the case, the document, the failures and why; exit 1 while one is failing.
    shown = await asyncio.to_thread(referrals, database_url, "documents", "waiting")
    assert shown.returncode == 1, shown.stderr
    line = next(line for line in shown.stdout.splitlines() if line.startswith(f"{number}: "))
    assert line.startswith(f"{number}: Preservation request, version 1, asked for ")
    assert "; failed 1 time(s), next attempt at " in line and ": ValidationError: " in line


async def test_a_maker_wakes_on_the_write_that_asks(sessions):
    queue = _queue()
    # It would look by itself only after a minute: the write's NOTIFY wakes it.
    maker = DocumentMaker(sessions, DocumentWriter(sessions), queue, look_every=60)
    running = asyncio.create_task(maker.run())
    try:
        await asyncio.sleep(0.5)  # listening
        case_id, ids = await _filed(sessions, queue, versions=1)
        for _ in range(100):
            if await _made(sessions, case_id):
                break
            await asyncio.sleep(0.05)
        assert await _made(sessions, case_id) == [(ids[0], 1)]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_pdf_that_cannot_be_made_is_tried_three_times_then_the_word_file_is_stored_saying_why(sessions):
    queue = _queue()
    case_id, [document_id] = await _filed(sessions, queue, versions=1)
    nowhere = PdfMaker(Converter("http://127.0.0.1:1", ready_seconds=0.1), None)  # a converter that never answers
    maker = DocumentMaker(sessions, DocumentWriter(sessions, pdfs=nowhere), queue)
    for attempt in (1, 2):
        assert await maker.make_next()
        assert await _made(sessions, case_id) == []  # nothing stored: tried again later
        [waiting] = await _waiting(sessions, queue)
        assert waiting["attempts"] == attempt and "could not be made" in waiting["last_error"]
        async with sessions() as s, s.begin():  # (its time come)
            await s.exec(
                text("UPDATE document_outbox SET not_before = now() WHERE case_id = :c"), params={"c": case_id}
            )
    assert await maker.make_next()
    assert await _made(sessions, case_id) == [(document_id, 1)] and not await _waiting(sessions, queue)
    async with sessions() as s:
        pdf = await documents.pdf_of(s, document_id)
    assert pdf is not None and pdf.content is None
    assert pdf.unavailable is not None and pdf.unavailable.startswith("the PDF could not be made after 3 attempts: ")


async def test_a_rebuild_makes_the_documents_a_restore_took_from_the_outbox(sessions):
    queue = _queue()
    case_id, [document_id] = await _filed(sessions, queue, versions=1)
    state, event, asked = FILED[case_id]
    trail = AuditTrail(
        workflow_id=workflow_id_for(case_id),
        state=state,
        events=[event],
        documents=[r.model_copy(update={"state": state}) for r in asked],  # as the workflow keeps them
        deliveries=[],
        written=1,
    )
    async with sessions() as s, s.begin():  # still in the outbox: the maker makes it, not the rebuild
        assert not (await rebuild.write_back(s, trail)).documents_asked
    async with sessions() as s, s.begin():  # the restored database: the case, without its request in the outbox
        await s.exec(text("DELETE FROM document_outbox WHERE case_id = :c"), params={"c": case_id})
    async with sessions() as s, s.begin():
        result = await rebuild.write_back(s, trail)
    assert [r.document_id for r in result.documents_asked] == [document_id] and not result.documents_missing
    for request in result.documents_asked:  # as `referrals rebuild` does
        await DocumentWriter(sessions).write(request)
    assert await _made(sessions, case_id) == [(document_id, 1)]  # the case records it at its next look
    async with sessions() as s, s.begin():
        assert not (await rebuild.write_back(s, trail)).documents_asked  # made: nothing more to make


async def test_a_case_deleted_while_its_document_is_being_made_waits_for_neither(sessions):
    """The maker holds its request and writes the document in one transaction, so that PostgreSQL sees the whole
    wait: a case's deletion (a restore drill, tests/test_rebuild.py) that locks the case, then meets the request
    through its cascade, is a deadlock PostgreSQL breaks within a second, not a hang."""
    queue = _queue()
    case_id, _ = await _filed(sessions, queue, versions=1)
    maker = DocumentMaker(sessions, DocumentWriter(sessions), queue)
    outcome: list[str] = []
    async with sessions() as deleter:
        await deleter.exec(text("BEGIN"))
        await deleter.exec(text("SET LOCAL lock_timeout = '10s'"))  # (a wait PostgreSQL cannot see fails the test)
        await deleter.exec(text("SELECT id FROM incident WHERE id = :c FOR UPDATE"), params={"c": case_id})
        making = asyncio.create_task(maker.make_next())  # its document's row waits for the case's lock
        await asyncio.sleep(1.0)
        assert not making.done()
        try:
            await forget(deleter, case_id)  # its rows, the case's last: the cascade meets the request being made
            await deleter.exec(text("COMMIT"))
            outcome.append("deleted")
        except Exception as exc:  # (PostgreSQL chose the deletion to break the deadlock)
            assert "deadlock detected" in str(exc)
            await deleter.rollback()
            outcome.append("deletion broken")
        assert await asyncio.wait_for(making, timeout=15)
    async with sessions() as s:
        left = (
            await s.exec(text("SELECT count(*) FROM document_outbox WHERE case_id = :c"), params={"c": case_id})
        ).one()
    # Either the case went (with its request) or the document was made (and its request with it).
    assert left[0] == 0 or outcome == ["deleted"], outcome


async def test_a_document_made_twice_at_once_is_stored_once_and_both_get_it(sessions):
    """The document maker and a rebuild may make the same request at the same moment: one stores it, the other finds
    it (its insert refused by the document's key), and neither fails."""
    queue = _queue()
    case_id, [document_id] = await _filed(sessions, queue, versions=1)
    state, _, [asked] = FILED[case_id]
    request = asked.model_copy(update={"state": state})
    rows = await asyncio.gather(*(DocumentWriter(sessions).write(request) for _ in range(3)))
    assert {row.id for row in rows} == {document_id} and await _made(sessions, case_id) == [(document_id, 1)]
