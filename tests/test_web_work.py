"""The desk's My work page, as the people at the desk see it: signed in with a browser's cookie jar."""

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from referrals.store.tables import CaseTask
from tests.support.desk_client import signed_in
from tests.support.pages import Row, Tables
from tests.support.scenario import Driver


async def my_work(client: httpx.AsyncClient) -> tuple[str, list[Row]]:
    page = await client.get("/desk/")
    assert page.status_code == 200, page.text
    assert "style=" not in page.text and "<script" not in page.text  # the CSP would block them
    rows = Tables(page.text).tables.get("work", [])
    return page.text, rows[1:]  # without the header row


def rows_of(rows: list[Row], case_number: str) -> list[Row]:
    return [r for r in rows if r.cells and r.cells[0] == case_number]


async def test_my_work_needs_signing_in(api):
    async with httpx.AsyncClient(transport=api._transport, base_url="http://api") as client:
        page = await client.get("/desk/")
        assert page.status_code == 303 and page.headers["location"].startswith("/desk/sign-in?next=/desk/")
        assert (await client.get("/desk/dashboard")).headers["location"] == "/desk/sign-in?next=/desk/dashboard"


async def _due_soon(sessions, case_id: str, task: str = "footage_hold", hours: float = 2) -> None:
    """Puts the case's task among the first on time: the shared database holds other tests' open cases, more than
    the queue's limit of the most urgent, and theirs were filed earlier, so fall due earlier."""
    async with sessions() as s:
        row = (await s.exec(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.task == task))).one()
        row.due_at = datetime.now(UTC) + timedelta(hours=hours)
        await s.commit()


async def test_each_person_sees_the_tasks_their_roles_take_on_the_cases_they_see(api, people, sessions):
    case = await Driver(api, people).new_case("officer")
    number = case["case_number"]
    await _due_soon(sessions, case["id"], "footage_hold")
    for task in ("supervisor_identification", "violation_report"):
        # The most overdue of all, so first in the officers' queues, however many overdue tasks other tests' cases
        # in the officers' district hold (cases seeded years back, fast escalation policies).
        await _due_soon(sessions, case["id"], task, hours=-24 * 365 * 40)

    async with signed_in(api, people.tokens["custodian"]) as custodian:
        html, rows = await my_work(custodian)
        mine = rows_of(rows, number)
        assert [r.cells[1] for r in mine] == ["Footage hold"]
        assert mine[0].links == [f"/desk/cases/{case['id']}"]
        assert mine[0].cells[4] == "010"  # the district
        assert re.fullmatch(r"\d+ min", mine[0].cells[5])  # age: filed just now
        assert re.search(r"in \d+ h", mine[0].cells[2])  # due in the next hours, with the time itself
        assert "Legal review" not in " ".join(r.text for r in mine)
        assert 'aria-current="page"' in html and "<caption>" in html and 'scope="col"' in html

    async with signed_in(api, people.tokens["officer"]) as officer:
        _, rows = await my_work(officer)
        assert sorted(r.cells[1] for r in rows_of(rows, number)) == ["Supervisor identification", "Violation report"]

    async with signed_in(
        api, people.tokens["supervisor"]
    ) as supervisor:  # the case's district: acts on officers' tasks
        _, rows = await my_work(supervisor)
        assert sorted(r.cells[1] for r in rows_of(rows, number)) == ["Supervisor identification", "Violation report"]

    for who in ("supervisor_elsewhere", "officer_elsewhere", "reviewer", "liaison"):
        async with signed_in(api, people.tokens[who]) as other:
            _, rows = await my_work(other)
            assert rows_of(rows, number) == [], who


async def test_a_role_that_takes_no_steps_sees_an_empty_state(api, people):
    async with signed_in(api, people.tokens["auditor"]) as auditor:
        html, rows = await my_work(auditor)
        assert rows == [] and 'id="work-empty"' in html and "take no steps" in html


async def test_an_overdue_task_comes_first_and_says_so(api, people, sessions):
    d = Driver(api, people)
    late, on_time = await d.new_case("officer"), await d.new_case("officer")
    async with sessions() as s:  # the read model is ours: a footage hold due long ago, escalated once
        task = (
            await s.exec(select(CaseTask).where(CaseTask.case_id == late["id"], CaseTask.task == "footage_hold"))
        ).one()
        task.due_at, task.escalation_level = datetime.now(UTC) - timedelta(days=4000), 1
        await s.commit()
    await _due_soon(sessions, on_time["id"], hours=1)

    async with signed_in(api, people.tokens["custodian"]) as custodian:
        html, rows = await my_work(custodian)
    # Other tests' cases may be later still (the database is shared): this one comes before every task on time.
    first = next(r for r in rows if r.cells[0] == late["case_number"] and r.cells[1] == "Footage hold")
    assert rows.index(first) < rows.index(rows_of(rows, on_time["case_number"])[0])
    assert "overdue" in first.attrs.get("class", "").split()
    assert first.cells[2].startswith("Overdue") and "days ago" in first.cells[2]  # in words, not colour only
    assert first.cells[3] == "Level 1"
    assert re.search(r"<strong>\d+ overdue</strong>", html)

    other = rows_of(rows, on_time["case_number"])[0]
    assert "overdue" not in other.attrs.get("class", "") and "Overdue" not in other.cells[2]
    assert other.cells[3] == "None"
    # Every overdue row before every other one.
    flags = ["overdue" in r.attrs.get("class", "") for r in rows]
    assert flags == sorted(flags, reverse=True)
