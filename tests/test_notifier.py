"""The notifier activity against real PostgreSQL, a real SMTP server and a real webhook receiver."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from referrals.activities.channels import SmtpMailer, WebhookPoster
from referrals.activities.notifier import Notifier
from referrals.activities.rendering import Templates
from referrals.devstack.procs import free_port
from referrals.domain.enums import Role, Task
from referrals.domain.events import EscalationNotice
from referrals.store import notifications
from referrals.store.tables import AppUser, Notification
from tests.support.scenario import Driver


async def test_an_smtp_outage_is_retried_and_nothing_is_sent_twice(
    api, sessions, settings, people, smtp_sink, webhook_sink
):
    case = await Driver(api, people).new_case()
    now = datetime.now(UTC)
    sent = EscalationNotice(
        workflow_id=case["workflow_id"],
        case_id=case["id"],
        case_number=case["case_number"],
        district="010",
        filed_by_id=people.ids["officer"],
        event_seq=7,
        task=Task.FOOTAGE_HOLD,
        level=1,
        roles=[Role.EVIDENCE_CUSTODIAN, Role.SUPERVISOR],
        due_at=now - timedelta(hours=3),
        escalated_at=now,
    )
    down = Notifier(
        sessions,
        settings,
        Templates(),
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", "x@y.z"),
        WebhookPoster(webhook_sink.url),
    )
    activity = ActivityEnvironment()
    with pytest.raises(OSError):
        await activity.run(down.notify, sent)
    async with sessions() as s:
        inbox = (
            await s.exec(select(Notification).where(Notification.idempotency_key.startswith(f"{sent.workflow_id}:7:")))
        ).all()
    names = {who for who, uid in people.ids.items() if uid in {n.recipient_id for n in inbox}}
    assert {"custodian", "supervisor"} <= names and "supervisor_elsewhere" not in names
    assert all(n.email_sent_at is None for n in inbox)  # the inbox is there even while mail is down

    up = Notifier(sessions, settings, Templates(), SmtpMailer(smtp_sink.url, "x@y.z"), WebhookPoster(webhook_sink.url))
    for _ in range(2):  # the retry that succeeds, then a replayed one
        assert await activity.run(up.notify, sent) == len(inbox)
    mails = [m for m in smtp_sink.messages if sent.workflow_id.replace(":", ".") in m["Message-ID"]]
    async with sessions() as s:  # every custodian is told (other tests' too), each once
        recipients = (await s.exec(select(AppUser.email).where(AppUser.id.in_([n.recipient_id for n in inbox])))).all()
    assert sorted(m["To"] for m in mails) == sorted(recipients)
    assert len([b for h, b in webhook_sink.posts if h.get("Idempotency-Key") == f"{sent.workflow_id}:7"]) == 1


async def test_a_worker_shutting_down_mid_message_lets_it_be_sent_and_marked_so_the_retry_sends_nothing(
    api, sessions, settings, people, smtp_sink, webhook_sink
):
    case = await Driver(api, people).new_case()
    now = datetime.now(UTC)
    notice = EscalationNotice(
        workflow_id=case["workflow_id"],
        case_id=case["id"],
        case_number=case["case_number"],
        district="010",
        filed_by_id=people.ids["officer"],
        event_seq=9,
        task=Task.FOOTAGE_HOLD,
        level=1,
        roles=[Role.EVIDENCE_CUSTODIAN],
        due_at=now - timedelta(hours=3),
        escalated_at=now,
    )
    key = f"{notice.workflow_id}:9"
    notifier = Notifier(
        sessions, settings, Templates(), SmtpMailer(smtp_sink.url, "x@y.z"), WebhookPoster(webhook_sink.url)
    )
    posted = lambda: [b for h, b in webhook_sink.posts if h.get("Idempotency-Key") == key]  # noqa: E731
    activity = ActivityEnvironment()
    webhook_sink.answer_after = 1.0  # the receiver has the post and has not answered yet
    try:
        running = asyncio.create_task(activity.run(notifier.notify, notice))
        while not posted():
            await asyncio.sleep(0.02)
        activity.cancel()  # the worker shutting down, while the post is under way
        with pytest.raises(asyncio.CancelledError):
            await running
    finally:
        webhook_sink.answer_after = 0.0
    async with sessions() as s:
        assert await notifications.webhook_sent(s, key)  # the post under way was finished, and marked
    # The activity's retry on the next worker: every message was sent once, and nothing goes again.
    assert await ActivityEnvironment().run(notifier.notify, notice) > 0
    assert len(posted()) == 1
    mails = Counter(m["Message-ID"] for m in smtp_sink.messages if key.replace(":", ".") in m["Message-ID"])
    assert mails and set(mails.values()) == {1}
