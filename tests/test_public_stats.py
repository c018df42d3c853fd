"""The public figures end to end: the schedule, publishing (admin only), the endpoints without sign-in, served
from memory, and the attempts to single out a case, each learning nothing."""

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, func, text
from sqlmodel import select

from referrals.activities.publication import Publisher
from referrals.api.main import create_app
from referrals.api.public_documents import CSV_COLUMNS, PublicStats
from referrals.config import ROOT
from referrals.domain.case import IncidentInput, PersonRef, new_case, workflow_id_for
from referrals.domain.enums import Role, Stage
from referrals.domain.events import CaseEvent, EventKind
from referrals.domain.messages import Actor, IncidentFiling
from referrals.domain.public_figures import cutoff
from referrals.domain.publication import PublishRequest, audit
from referrals.store import cases, public_snapshots
from referrals.store.engine import async_engine, session_factory
from referrals.store.tables import AccessEntryRow, PublicSnapshotRow
from referrals.worker import ensure_publication_schedule
from referrals.workflows.publication import SCHEDULE_ID
from tests.support.policies import CHICAGO
from tests.support.scenario import FILING, filing

# A past reference period of our own: only the cases seeded here were filed before its end (2003-06-01, Chicago).
AS_OF_2003 = datetime(2003, 6, 15, 12, tzinfo=UTC)
SEEDED = {"010": 12, "012": 11, "007": 1}  # district 007 has one case
NARRATIVE = "Seeded narrative: agents in a grey SUV detained a street vendor at the corner store"
FILER = Actor(user_id="u-seed", name="P.O. Seeded Filer", roles=[Role.OFFICER], district="010", star="77777")


def _case_input(district: str, occurred_at: datetime, event_number: str, personnel: list, numbered: str):
    """A case seeded by FILER in `district`, its number `numbered` and a random suffix."""
    body = filing(
        recordings=[],
        district=district,
        occurred_at=occurred_at.isoformat(),
        narrative=NARRATIVE,
        event_number=event_number,
        federal_personnel=personnel,
    )
    return IncidentInput(
        case_id=str(uuid.uuid4()),
        case_number=f"{numbered}-{uuid.uuid4().hex[:6]}",
        filed_by=FILER,
        filing=IncidentFiling.model_validate(body),
        policy=CHICAGO,
        request_hash="h",
    )


async def _seed_case(sessions, district: str, month: int, n: int, stage: Stage | None) -> str:
    filed_at = datetime(2003, month, 10 + n % 15, 15, tzinfo=UTC)
    inp = _case_input(
        district,
        filed_at - timedelta(days=2),
        f"SEED{n:06d}",
        [{"agency": "cbp" if n % 3 else "ICE", "name": f"Agent Seedname{n}"}],
        "SEED-2003",
    )
    state = new_case(inp, filed_at)
    events = [
        CaseEvent(
            seq=1,
            kind=EventKind.CASE_FILED,
            actor=PersonRef.of(FILER),
            at=filed_at,
            data=inp.filing.model_dump(mode="json"),
        )
    ]
    if stage is not None:
        state.stage = stage
        events.append(
            CaseEvent(
                seq=2,
                kind=EventKind.STAGE_CHANGED,
                actor=None,
                at=filed_at + timedelta(days=1),
                data={"stage": stage.value, "task": "legal_review"},
            )
        )
    state.event_seq = len(events)
    async with sessions() as session, session.begin():  # the persist activity's own write
        await cases.persist_events(session, workflow_id_for(inp.case_id), state, events)
    return inp.case_number


@pytest.fixture(scope="module")
async def seeded(sessions) -> list[str]:
    numbers, n = [], 0
    for district, count in SEEDED.items():
        for i in range(count):
            n += 1
            stage = Stage.LEGAL_REVIEW if i < 4 else None
            numbers.append(await _seed_case(sessions, district, 3 + n % 3, n, stage))
    return numbers


@pytest.fixture(scope="module")
async def public_app(settings, worker):
    """The API, its poller idle (a refresh an hour): what it serves comes from what it loaded itself."""
    app = create_app(settings.model_copy(update={"public_refresh_seconds": 3600}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield app, client


async def _snapshots(sessions) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(PublicSnapshotRow))).one()


def _table(doc: dict, name: str) -> dict:
    return next(t for t in doc["tables"] if t["name"] == name)


async def test_the_schedule_publishes_at_the_policys_cron_in_its_time_zone(dev_server, settings):
    client = dev_server.client
    await ensure_publication_schedule(client, settings, CHICAGO)
    moved = CHICAGO.model_copy(update={"publication": CHICAGO.publication.model_copy(update={"cron": "30 5 * * *"})})
    try:
        await ensure_publication_schedule(client, settings, moved)  # again, after the policy changed: updated
        described = await client.get_schedule_handle(SCHEDULE_ID).describe()
        spec = described.schedule.spec
        assert spec.time_zone_name == "America/Chicago"
        calendars = spec.calendars
        assert spec.cron_expressions == ["30 5 * * *"] or (
            [(c.hour[0].start, c.minute[0].start) for c in calendars] == [(5, 30)]
        )
        assert described.schedule.action.workflow == "PublishStatsWorkflow"
        assert described.schedule.action.task_queue == settings.task_queue
        assert described.schedule.policy.overlap.name == "SKIP"
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_only_an_admin_publishes_and_a_refusal_changes_nothing(public_app, people, sessions):
    _, api = public_app
    before = await _snapshots(sessions)
    signed_out = await api.post("/public/snapshots")
    assert signed_out.status_code == 401
    refused = await api.post("/public/snapshots", headers=people.headers("officer"))
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    assert await _snapshots(sessions) == before
    async with sessions() as session:
        trail = (
            await session.exec(
                select(AccessEntryRow)
                .where(AccessEntryRow.action == "publish_snapshot")
                .order_by(AccessEntryRow.seq.desc())
                .limit(1)
            )
        ).one()
    assert (trail.outcome, trail.user_id) == ("refused", people.ids["officer"])

    published = await api.post("/public/snapshots", headers=people.headers("admin"))
    assert published.status_code == 201, published.text
    entry = published.json()
    assert await _snapshots(sessions) == before + 1
    assert entry["json"] == f"/public/snapshots/{entry['id']}" and re.fullmatch(r"\d{4}-\d{2}", entry["period_end"])
    latest = await api.get("/public/stats")  # no Authorization header
    assert latest.status_code == 200 and latest.json()["snapshot_id"] == entry["id"]
    async with sessions() as session:
        trail = (
            await session.exec(
                select(AccessEntryRow)
                .where(AccessEntryRow.action == "publish_snapshot")
                .order_by(AccessEntryRow.seq.desc())
                .limit(1)
            )
        ).one()
    assert (trail.outcome, trail.user_id, trail.target) == ("allowed", people.ids["admin"], str(entry["id"]))


async def test_a_filing_between_two_publications_changes_no_figure(public_app, people, seeded):
    """Attack (a): differencing two consecutive snapshots around one filing."""
    _, api = public_app
    first = (await api.post("/public/snapshots", headers=people.headers("admin"))).json()
    filed = await api.post(
        "/incidents", headers=people.headers("officer") | {"Idempotency-Key": str(uuid.uuid4())}, json=FILING
    )
    assert filed.status_code in (200, 201), filed.text
    second = (await api.post("/public/snapshots", headers=people.headers("admin"))).json()
    assert second["id"] != first["id"]
    a = (await api.get(f"/public/snapshots/{first['id']}")).json()
    b = (await api.get(f"/public/snapshots/{second['id']}")).json()
    assert a["tables"] == b["tables"] and first["sha256"] == second["sha256"]
    listed = (await api.get("/public/snapshots")).json()["snapshots"]
    assert [s["id"] for s in listed][:2] == [second["id"], first["id"]]  # kept, newest first
    old_csv = await api.get(f"/public/snapshots/{first['id']}.csv")
    assert old_csv.status_code == 200 and old_csv.text.startswith(",".join(CSV_COLUMNS))


@pytest.fixture(scope="module")
async def snapshot_2003(sessions, seeded) -> dict:
    """Published through the activity, as of a June 2003 moment: the figures through May 2003."""
    entry = await Publisher(sessions, CHICAGO).publish(PublishRequest(key=f"test-{uuid.uuid4()}", as_of=AS_OF_2003))
    async with sessions() as session:
        return (await session.get(PublicSnapshotRow, entry.id)).figures


async def test_a_district_with_one_case_is_suppressed_and_cannot_be_recovered(snapshot_2003):
    """Attack (b): one case in district 007."""
    assert snapshot_2003["period_end"] == "2003-05"
    by_district = _table(snapshot_2003, "cases_by_district")
    cells = {c["category"]: c for c in by_district["cells"]}
    assert by_district["total"] == 24  # shown: above the threshold
    assert cells["007"]["value"] is None and cells["007"]["suppressed"]
    assert cells["001"]["value"] == 0  # a district with no case shows zero
    assert len(by_district["cells"]) == len(CHICAGO.districts)  # every district of the policy listed
    assert sum(c["value"] is None for c in by_district["cells"]) >= 2  # its complement withheld with it
    values = [c["value"] for c in by_district["cells"]]
    found = audit(values, by_district["total"], snapshot_2003["threshold"], True)
    index = [c["category"] for c in by_district["cells"]].index("007")
    assert not found[index].pinned and found[index].low <= 1 < found[index].high


async def test_subtracting_cells_from_totals_learns_nothing(snapshot_2003):
    """Attack (c): every table, every suppressed cell, from the cells shown and the total."""
    stages = _table(snapshot_2003, "cases_by_stage")
    assert {c["category"]: c["value"] for c in stages["cells"]}["legal_review"] is None  # 4 of them: small
    agencies = {c["category"]: c["value"] for c in _table(snapshot_2003, "cases_by_federal_agency")["cells"]}
    # 8 ICE (small) and 16 CBP (its complement: "cbp" as filed, counted under the policy's code, not as "other")
    assert agencies["ICE"] is None and agencies["CBP"] is None and agencies["other"] == 0
    suppressed = 0
    for table in snapshot_2003["tables"]:
        values = [c["value"] for c in table["cells"]]
        for interval in audit(values, table["total"], snapshot_2003["threshold"], table["additive"]):
            if interval is not None:
                suppressed += 1
                assert not interval.pinned, table["name"]
    assert suppressed >= 4


async def test_the_public_documents_hold_no_personal_data_and_load_as_a_portal_would(public_app, people, seeded):
    _, api = public_app
    await api.post("/public/snapshots", headers=people.headers("admin"))
    documents = [
        await api.get(path)
        for path in (
            "/public/stats",
            "/public/stats.csv",
            "/public/",
            "/public/snapshots",
            "/public/stats/dictionary.csv",
        )
    ]
    assert [d.status_code for d in documents] == [200] * 5
    doc = PublicStats.model_validate_json(documents[0].content)  # the documented schema
    assert doc.threshold == CHICAGO.publication.small_cell_threshold and doc.tables
    words = [
        *seeded,
        NARRATIVE,
        "Seedname",
        FILER.name,
        FILING["narrative"],
        FILING["location"],
        FILING["event_number"],
        "SEED0",
        "Ana Ruiz",
        "12345",
        "masked",
    ]
    for d in documents:
        for word in words:
            assert word not in d.text, (d.request.url.path, word)
    # No date but the snapshot's own: the day it was published (the department's) and when the chains' heads were
    # read (UTC, a day later than the first in Chicago's evening).
    body = json.loads(documents[0].text)
    assert body.pop("published_on") == doc.published_on.isoformat() and body.pop("chains_at")
    assert not re.search(r"\d{4}-\d{2}-\d{2}", json.dumps(body))

    rows = list(csv.DictReader(io.StringIO(documents[1].content.decode("utf-8"))))
    assert rows and list(rows[0]) == list(CSV_COLUMNS)
    for row in rows:
        assert None not in row and all(row[c] is not None for c in CSV_COLUMNS)  # every column, no extra
        date.fromisoformat(row["published_on"])
        assert re.fullmatch(r"\d{4}-\d{2}", row["period_end"])
        assert row["suppressed"] in ("true", "false")
        assert (row["value"] == "") == (row["suppressed"] == "true")
        assert row["value"] == "" or int(row["value"]) >= 0
    dictionary = {r["name"]: r for r in csv.DictReader(io.StringIO(documents[4].text))}
    assert set(CSV_COLUMNS) <= set(dictionary) and {r["table"] for r in rows} <= set(dictionary)
    assert "Content-Security-Policy" in documents[2].headers and "How these figures are made" in documents[2].text


async def test_public_reads_are_cached_conditional_and_run_no_sql(public_app, people, sessions):
    app, api = public_app
    if app.state.public.latest is None:
        await api.post("/public/snapshots", headers=people.headers("admin"))
    async with sessions() as session:
        trail_before = (await session.exec(select(func.count()).select_from(AccessEntryRow))).one()
    statements = []
    engine = app.state.sessions.kw["bind"].sync_engine
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answers = [
            await api.get(p)
            for p in (
                "/public/stats",
                "/public/stats.csv",
                "/public/",
                "/public/snapshots",
                "/public/stats/dictionary.csv",
            )
        ]
        etag = answers[0].headers["ETag"]
        again = await api.get("/public/stats", headers={"If-None-Match": etag})
        other = await api.get("/public/stats", headers={"If-None-Match": '"something-else"'})
        public_statements = list(statements)
        await api.get("/readyz")  # the control: a request that queries is seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert public_statements == [] and statements
    assert all(a.status_code == 200 and a.headers["ETag"] for a in answers)
    assert answers[0].headers["Cache-Control"].startswith("public, max-age=")
    assert answers[1].headers["Content-Type"].startswith("text/csv")
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert other.status_code == 200
    async with sessions() as session:  # nobody to record: no trail entry per public read
        assert (await session.exec(select(func.count()).select_from(AccessEntryRow))).one() == trail_before


async def test_a_snapshot_not_kept_or_not_a_number_is_refused_naming_it(public_app, sessions):
    _, api = public_app
    kept = await _snapshots(sessions)
    for path in ("/public/snapshots/987654321", "/public/snapshots/987654321.csv"):
        missing = await api.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", missing.text
    for path in ("/public/snapshots/latest", "/public/snapshots/x.csv"):
        bad = await api.get(path)
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "snapshot_id", bad.text
    assert await _snapshots(sessions) == kept  # a refused read publishes nothing


async def test_the_api_serves_a_snapshot_another_process_published(settings, sessions, worker):
    app = create_app(settings.model_copy(update={"public_refresh_seconds": 0.2}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            entry = await Publisher(sessions, CHICAGO).publish(
                PublishRequest(key=f"elsewhere-{uuid.uuid4()}", as_of=datetime.now(UTC))
            )
            for _ in range(50):
                answer = await api.get("/public/stats")
                if answer.status_code == 200 and answer.json()["snapshot_id"] == entry.id:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the poller never loaded the new snapshot")
            assert answer.json()["sha256"] == entry.sha256


async def test_a_retried_publication_keeps_one_snapshot(sessions):
    key = f"retried-{uuid.uuid4()}"
    publisher = Publisher(sessions, CHICAGO)
    first = await publisher.publish(PublishRequest(key=key, as_of=datetime.now(UTC)))
    second = await publisher.publish(PublishRequest(key=key, as_of=datetime.now(UTC)))
    assert first == second
    # Two at once under one key (a retry while the first attempt still runs): the second's write waits on the first's
    # key, finds it kept, and rolls its own heads back.
    raced = f"raced-{uuid.uuid4()}"
    one, other = await asyncio.gather(
        *(publisher.publish(PublishRequest(key=raced, as_of=datetime.now(UTC))) for _ in "ab")
    )
    assert one == other
    async with sessions() as session:
        for kept in (key, raced):
            counted = select(func.count()).select_from(PublicSnapshotRow).where(PublicSnapshotRow.key == kept)
            assert (await session.exec(counted)).one() == 1


async def test_referrals_publish_publishes_at_once(settings, worker, sessions):
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REFERRALS_ENV": "test",
        "TEMPORAL_ADDRESS": settings.temporal.address,
        "REFERRALS_TASK_QUEUE": settings.task_queue,
        "REFERRALS_ENCRYPTION_KEYS": settings.encryption_keys,
    }
    before = await _snapshots(sessions)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "referrals.cli", "publish", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert await _snapshots(sessions) == before + 1
    async with sessions() as session:
        row = await session.get(PublicSnapshotRow, printed["id"])
        trail = (
            await session.exec(
                select(AccessEntryRow)
                .where(AccessEntryRow.action == "publish_snapshot", AccessEntryRow.component == "cli")
                .order_by(AccessEntryRow.seq.desc())
                .limit(1)
            )
        ).one()
    assert row.sha256 == printed["sha256"] and trail.target == str(row.id)


# --- the figures read in the database are the figures folded from every event ---------------------------------


async def _seed_history(
    sessions, district: str, filed_at: datetime, agencies: list, *later: tuple, parts: int = 1
) -> None:
    """A case filed at `filed_at` naming federal personnel of `agencies`, then `later` events: (days after, kind,
    data), stored as the persist activity stores them, in `parts` writes (as steps write them, one after another:
    the trigger that keeps case_tally adds each write's events to what it kept)."""
    inp = _case_input(
        district,
        filed_at - timedelta(days=1),
        f"FOLD{uuid.uuid4().hex[:8]}",
        [{"agency": a, "name": f"Agent Foldname{n}"} for n, a in enumerate(agencies)],
        "FOLD-2004",
    )
    state = new_case(inp, filed_at)
    events = [
        CaseEvent(seq=1, kind=EventKind.CASE_FILED, actor=None, at=filed_at, data=inp.filing.model_dump(mode="json"))
    ]
    for n, (days, kind, data) in enumerate(later, start=2):
        events.append(CaseEvent(seq=n, kind=kind, actor=None, at=filed_at + timedelta(days=days), data=data))
    for part in range(1, parts + 1):
        state.event_seq = len(events) * part // parts
        async with sessions() as session, session.begin():
            await cases.persist_events(session, workflow_id_for(inp.case_id), state, events[: state.event_seq])


def _fix(field: str, new, old=None) -> dict:
    return {"field": field, "old": old, "new": new}


async def _seed_varied(sessions) -> None:
    """Cases of every kind the figures tell apart, from 2004: corrected, withdrawn, declined, supplemented after a
    cutoff, filed with nothing else."""
    at = datetime(2004, 2, 10, 15, tzinfo=UTC)
    month_end = datetime(2004, 4, 1, 3, tzinfo=UTC)  # 31 March in Chicago
    await _seed_history(  # corrected twice by supplements, then referred, charged, convicted
        sessions,
        "010",
        at,
        ["ICE", "cbp"],
        (
            1,
            "supplement_filed",
            {
                "federal_personnel": [{"agency": "FBI"}],
                "corrected": [
                    _fix("occurred_at", "2004-01-31T23:30:00-06:00"),
                    _fix("federal_personnel[1].agency", "DEA", "cbp"),
                    _fix("federal_personnel[9].agency", "ATF"),
                    _fix("federal_personnel[0].name", "Someone"),
                    _fix("narrative", "changed"),
                ],
            },
        ),
        (2, "supplement_filed", {"corrected": [_fix("occurred_at", ""), _fix("federal_personnel[2].agency", None)]}),
        (3, "supervisor_identification_recorded", {"agency": "CBP", "name": "Supervisor"}),
        (4, "violation_report_recorded", {"allegations": [{"statute": "720 ILCS 5/12-3"}, {"statute": "1 X 2"}]}),
        (5, "violation_report_recorded", {"allegations": [{"statute": "720 ILCS 5/12-1"}]}),
        (6, "stage_changed", {"stage": "legal_review"}),
        (7, "tasks_reopened", {"stage": "investigation"}),
        (8, "stage_changed", {"stage": "legal_review"}),
        (9, "stage_changed", {"stage": "referral"}),
        (10, "referral_acknowledged", {}),
        (11, "stage_changed", {"stage": "prosecution"}),
        (12, "charging_decided", {"decision": "charged", "decided_at": month_end.isoformat()}),
        (13, "prosecution_outcome_recorded", {"outcome": "convicted", "decided_on": "2004-02-28"}),
        (14, "prosecution_outcome_recorded", {"outcome": "dismissed"}),  # no date: the month recorded
        (15, "case_closed", {}),
        (16, "supervisor_identification_recorded", {"agency": "ICE"}),  # the last one counts
        parts=5,
    )
    await _seed_history(  # withdrawn: closed, then events after the cutoff below
        sessions,
        "012",
        at + timedelta(days=3),
        [],
        (1, "supervisor_identification_recorded", {"agency": None}),
        (2, "stage_changed", {"stage": ""}),
        (3, "case_closed", {"reason": "withdrawn"}),
        (60, "stage_changed", {"stage": "legal_review"}),
        (61, "referral_acknowledged", {}),
    )
    await _seed_history(  # declined, decided at the month's end; a later supplement past the cutoff
        sessions,
        "007",
        at + timedelta(days=10),
        ["dhs"],
        (1, "referral_acknowledged", {}),
        (2, "charging_decided", {"decision": "declined", "decided_at": None}),
        (
            3,
            "charging_decided",
            {"decision": "further_investigation", "decided_at": (at + timedelta(days=19)).isoformat()},
        ),
        (
            50,
            "supplement_filed",
            {
                "federal_personnel": [{"agency": "ICE"}],
                "corrected": [
                    _fix("occurred_at", "2003-12-24T10:00:00+00:00"),
                    _fix("federal_personnel[0].agency", "ICE"),
                ],
            },
        ),
        (4, "stage_changed", {"stage": "legal_review"}),
        (5, "tasks_reopened", {"task": "violation_report"}),  # no stage: the stage stays
        (6, "stage_changed", {"stage": ""}),
        (51, "violation_report_recorded", {"allegations": []}),
    )
    await _seed_history(sessions, "099", datetime(2004, 5, 2, tzinfo=UTC), ["ICE"], (1, "referral_acknowledged", {}))
    for day in range(3):  # filed with nothing else
        await _seed_history(sessions, "010", at + timedelta(days=20 + day), ["ICE"] * day)


async def _assert_read_as_folded(sessions) -> None:
    """The tally read equals the tally folded, and so do their figures, at a cutoff with events and filings after it,
    at one with referrals and decisions after it, and at one after everything."""
    publisher = Publisher(sessions, CHICAGO)
    for as_of in (datetime(2004, 3, 15, tzinfo=UTC), datetime(2004, 4, 15, tzinfo=UTC), datetime.now(UTC)):
        before = cutoff(as_of, CHICAGO.zone)
        async with sessions() as session:
            read = await public_snapshots.tally(session, before, CHICAGO.zone)
            folded = await public_snapshots.folded(session, before, CHICAGO.zone)
        assert read == folded, as_of
        assert public_snapshots.canonical(publisher.figures(read, as_of).as_json()) == public_snapshots.canonical(
            publisher.figures(folded, as_of).as_json()
        )


async def test_the_figures_read_in_the_database_are_the_figures_folded_from_every_event(sessions):
    """public_snapshots.tally counts in the database what needs no fold; referrals/domain/public_figures.py `fold`,
    applied to every event (public_snapshots.folded), is its specification: the same tally, the same figures, for
    cases of every kind, at a cutoff with events and filings after it and at one after everything."""
    await _seed_varied(sessions)
    await _assert_read_as_folded(sessions)
    async with sessions() as session:  # what the cases above hold at the first cutoff, seen through the spec
        spring = await public_snapshots.folded(
            session, cutoff(datetime(2004, 4, 15, tzinfo=UTC), CHICAGO.zone), CHICAGO.zone
        )
    assert sum(spring.charging.values()) >= 3 and sum(spring.outcomes.values()) >= 2
    assert any(c.agencies == ["ICE", "DEA", ""] for c in spring.cases)


async def test_a_database_upgraded_keeps_each_cases_tally_from_the_trail_it_had(engine, database_url):
    """Migration 0016 fills case_tally from the trail already written; its trigger then follows each write. On a
    database of its own: cases written before the upgrade, and more after it, are read as folded."""
    name = f"tally_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f"CREATE DATABASE {name}"))
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url.replace("/referrals_test?", f"/{name}?")
    own = async_engine(config.attributes["database_url"])
    try:
        await asyncio.to_thread(command.upgrade, config, "0015")
        await _seed_varied(session_factory(own))
        await asyncio.to_thread(command.upgrade, config, "head")
        async with own.connect() as connection:
            kept = (await connection.execute(text("SELECT count(*) FROM case_tally"))).scalar_one()
            written = (await connection.execute(text("SELECT count(DISTINCT case_id) FROM case_event"))).scalar_one()
        assert kept == written == 7
        await _assert_read_as_folded(session_factory(own))
        await _seed_varied(session_factory(own))  # and by the trigger, beside them
        await _assert_read_as_folded(session_factory(own))
        # Its owner sets the trail's own trigger aside, rewrites a filing and a decision and deletes a stage: those
        # cases are counted again from what their trails then hold.
        async with own.begin() as connection:
            await connection.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
            await connection.execute(
                text(
                    "UPDATE case_event SET data = jsonb_set(data, '{occurred_at}', '\"2004-01-01T00:00:00+00:00\"') "
                    "WHERE kind = 'case_filed' AND seq = 1"
                )
            )
            await connection.execute(
                text(
                    "UPDATE case_event SET data = data || '{\"decision\": \"charged\"}' WHERE kind = 'charging_decided'"
                )
            )
            await connection.execute(text("DELETE FROM case_event WHERE kind = 'case_closed'"))
            await connection.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))
        await _assert_read_as_folded(session_factory(own))
    finally:
        await own.dispose()
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
