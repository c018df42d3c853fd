"""The daily digest: a Temporal Schedule whose run tells each person of the open escalations that concern them."""

import asyncio
from datetime import UTC, datetime

from referrals.domain.digest import concerns
from referrals.domain.enums import Role, Task
from referrals.worker import ensure_digest_schedule
from referrals.workflows.digest import SCHEDULE_ID
from tests.support.scenario import Driver, filing

OLD = {
    "camera_id": "X7000001",
    "officer_star": "12345",
    "started_at": "2026-01-31T13:02:00-06:00",
    "ended_at": "2026-01-31T13:40:00-06:00",
    "flag_reasons": [],
}  # unflagged: purged after 90 days


async def test_the_schedule_sends_each_person_their_digest(api, people, dev_server, settings, worker, smtp_sink):
    d = Driver(api, people)
    case = await d.new_case("officer", filing(recordings=[OLD]))  # escalates to the top at filing
    for _ in range(100):
        if (await d.get(case["id"])).json()["tasks"]["footage_hold"]["escalation_level"] == 3:
            break
        await asyncio.sleep(0.1)

    await ensure_digest_schedule(dev_server.client, settings)
    await ensure_digest_schedule(dev_server.client, settings)  # again: no error, one schedule
    schedule = dev_server.client.get_schedule_handle(SCHEDULE_ID)
    described = await schedule.describe()
    assert described.schedule.action.workflow == "DigestWorkflow"
    assert described.schedule.spec.calendars[0].hour[0].start == 13  # "0 13 * * *": 13:00 UTC daily
    await schedule.trigger()

    async def digest_for(who: str):
        inbox = (await api.get("/notifications", headers=people.headers(who))).json()["items"]
        return [n for n in inbox if n["kind"] == "digest"]

    for _ in range(150):
        if await digest_for("commander"):
            break
        await asyncio.sleep(0.2)
    [digest] = await digest_for("commander")
    assert case["case_number"] in digest["body"] and "Footage hold, level 3" in digest["body"]
    assert datetime.now(UTC).date().isoformat() in digest["subject"]
    custodian = (await digest_for("custodian"))[0]["body"]
    assert case["case_number"] in custodian
    elsewhere = await digest_for("supervisor_elsewhere")
    assert all(case["case_number"] not in n["body"] for n in elsewhere)

    def mailed():
        return any(m["To"] == people.emails["commander"] and "Daily digest" in m["Subject"] for m in smtp_sink.messages)

    for _ in range(100):
        if mailed():
            break
        await asyncio.sleep(0.1)
    assert mailed()


def test_who_hears_of_which_escalation():
    def hears(roles, task, district="010", user_id="u1"):
        return concerns(
            roles=roles, district=district, user_id=user_id, task=task, case_district="010", filed_by_id="u1"
        )

    assert hears([Role.COMMAND], Task.LEGAL_REVIEW)
    assert hears([Role.SUPERVISOR], Task.FOOTAGE_HOLD)
    assert not hears([Role.SUPERVISOR], Task.FOOTAGE_HOLD, district="012")
    assert hears([Role.EVIDENCE_CUSTODIAN], Task.FOOTAGE_HOLD)
    assert not hears([Role.EVIDENCE_CUSTODIAN], Task.LEGAL_REVIEW)
    assert hears([Role.OFFICER], Task.VIOLATION_REPORT)
    assert not hears([Role.OFFICER], Task.VIOLATION_REPORT, user_id="someone else")
    assert not hears([Role.AUDITOR], Task.FOOTAGE_HOLD)
