"""The activity that tells people a task is overdue: inbox, e-mail and webhook, each once."""

import asyncio
import hashlib
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from referrals.activities.channels import SmtpMailer, WebhookPoster
from referrals.activities.rendering import Templates, humanize, task_title
from referrals.config import Settings
from referrals.documents.pdf import PDF
from referrals.documents.text import size_words
from referrals.domain.case import CaseState
from referrals.domain.content_types import DOCX
from referrals.domain.digest import concerns
from referrals.domain.enums import Role, Task
from referrals.domain.events import DocumentDelivery, EscalationNotice
from referrals.domain.policy import Policy
from referrals.observability.worker_metrics import count_notifications, sending
from referrals.store import cases, documents, evidence, notifications
from referrals.store.evidence import Custody
from referrals.store.tables import DocumentDeliveryRow

log = structlog.get_logger()


class Notifier:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        templates: Templates,
        mailer: SmtpMailer | None,
        webhook: WebhookPoster | None,
        district_word: str = "district",
    ) -> None:
        self._district_word = district_word  # the policy's word: "district", "precinct"
        self._sessions = sessions
        self._settings = settings
        self._templates = templates
        self._mailer = mailer
        self._webhook = webhook

    @activity.defn(name="notify_escalation")
    async def notify(self, notice: EscalationNotice) -> int:
        """Each step keyed by workflow id + event: a retry after an SMTP or webhook outage
        finds the inbox entries made and the messages sent, and sends only the rest."""
        structlog.contextvars.bind_contextvars(case_number=notice.case_number)
        key = f"{notice.workflow_id}:{notice.event_seq}"
        context = dict(
            case_number=notice.case_number,
            district=notice.district,
            district_word=self._district_word,
            task_title=task_title(notice.task.value),
            level=notice.level,
            roles=[r.value for r in notice.roles],
            due_at=f"{notice.due_at:%Y-%m-%d %H:%M %Z}",
            overdue=humanize(notice.escalated_at - notice.due_at),
            case_url=self._settings.case_url(notice.case_id),
            workflow_url=self._settings.workflow_url(notice.workflow_id),
        )
        subject = self._templates.render("notifications/escalation.subject.j2", **context)
        body = self._templates.render("notifications/escalation.txt.j2", **context)
        async with self._sessions() as session, session.begin():
            people = await notifications.recipients(session, notice.roles, notice.district, notice.filed_by_id)
            added = await notifications.add(
                session,
                [
                    dict(
                        recipient_id=user.id,
                        case_id=notice.case_id,
                        kind="escalation",
                        task=notice.task.value,
                        level=notice.level,
                        subject=subject,
                        body=body,
                        link=context["case_url"],
                        idempotency_key=f"{key}:{user.id}",
                        created_at=notice.escalated_at,
                    )
                    for user in people
                ],
            )
        count_notifications("inbox", "escalation", "sent", added)
        if self._mailer:
            await self._send_mail(key)
        if self._webhook:
            await self._post_webhook(key, context)
        log.info(
            "escalation_notified",
            case_id=notice.case_id,
            task=notice.task.value,
            level=notice.level,
            recipients=len(people),
        )
        return len(people)

    @activity.defn(name="send_daily_digest")
    async def send_digest(self, day: str) -> int:
        """One digest per person per day (keyed by both), listing the open escalations that concern them."""
        now = datetime.now(UTC)
        async with self._sessions() as session, session.begin():
            escalated = [(i, t) for i, t in await cases.overdue_tasks(session, now) if t.escalation_level > 0]
            rows = []
            for user in await notifications.active_users(session):
                roles = [Role(r) for r in user.roles]
                items = [
                    dict(
                        case_number=i.case_number,
                        district=i.district,
                        task_title=task_title(t.task),
                        level=t.escalation_level,
                        overdue=humanize(now - cast(datetime, t.due_at)),  # overdue_tasks: due before now
                        case_url=self._settings.case_url(i.id),
                    )
                    for i, t in escalated
                    if concerns(
                        roles=roles,
                        district=user.district,
                        user_id=user.id,
                        task=Task(t.task),
                        case_district=i.district,
                        filed_by_id=i.filed_by_id,
                    )
                ]
                if items:
                    rows.append(
                        dict(
                            recipient_id=user.id,
                            kind="digest",
                            subject=self._templates.render("notifications/digest.subject.j2", day=day, items=items),
                            body=self._templates.render(
                                "notifications/digest.txt.j2", day=day, items=items, district_word=self._district_word
                            ),
                            idempotency_key=f"digest:{day}:{user.id}",
                            created_at=now,
                        )
                    )
            added = await notifications.add(session, rows)
        count_notifications("inbox", "digest", "sent", added)
        if self._mailer:
            await self._send_mail(f"digest:{day}")
        log.info("daily_digest_sent", day=day, recipients=len(rows))
        return len(rows)

    @activity.defn(name="deliver_document")
    async def deliver_document(self, delivery: DocumentDelivery) -> bool:
        """E-mails a document (the referral packet to the prosecutor's intake address) once."""
        structlog.contextvars.bind_contextvars(case_number=delivery.case_number)
        if self._mailer is None:
            log.warning("document_not_mailed_no_smtp", case_id=delivery.case_id, document_id=delivery.document_id)
            return False
        key = f"{delivery.workflow_id}:{delivery.document_id}"
        async with self._sessions() as session:
            if await documents.delivered(session, key):
                return True
            row = await documents.get(session, delivery.case_id, delivery.document_id)
            assert row is not None  # the workflow delivers a document it made: stored before it asks
            # The PDF signed by the department goes; the Word file stays on the desk. Without a PDF, the Word file.
            pdf = await documents.pdf_of(session, row.id)
            signed = pdf is not None and pdf.content is not None
            attached: tuple[str, bytes, str] = (
                (pdf.filename, pdf.content, PDF)
                if pdf is not None and pdf.content is not None
                else (row.filename, row.content, DOCX)
            )
            why_no_pdf = None if signed else pdf.unavailable if pdf is not None else "made before documents had PDFs"
            # The evidence the packet lists goes by name, size and hash, never attached: the prosecutor's liaison
            # downloads each file through the desk, and each download is in its custody log.
            listed = await evidence.in_packet(session, delivery.case_id, delivery.document_id)
            items = CaseState.stored_evidence_items(await cases.stored_evidence(session, delivery.case_id), listed)
            context = dict(
                case_number=delivery.case_number,
                filename=attached[0],
                sha256=hashlib.sha256(attached[1]).hexdigest(),
                signed_by=pdf.signed_by if signed and pdf is not None else None,
                word_filename=row.filename,
                word_sha256=row.sha256,
                pdf_unavailable=why_no_pdf,
                version=row.version,
                case_url=self._settings.case_url(delivery.case_id),
                evidence=[
                    dict(
                        number=f"C{e.number}",
                        description=e.item.description,
                        size=size_words(e.item.size) if e.item.size else None,
                        sha256=e.item.sha256,
                        held=e.item.held_elsewhere,
                    )
                    for e in items
                ],
            )
            subject = self._templates.render("notifications/referral_packet.subject.j2", **context)
            body = self._templates.render("notifications/referral_packet.txt.j2", **context)

            async def send() -> None:
                assert self._mailer is not None  # checked on entry
                with sending("email", row.kind):
                    await self._mailer.send(delivery.to, subject, body, key, attachment=attached)
                sent = datetime.now(UTC)
                session.add(
                    DocumentDeliveryRow(idempotency_key=key, document_id=row.id, recipient=delivery.to, sent_at=sent)
                )
                await evidence.append_custody_to_each(
                    session,
                    [entry.item.id for entry in items],
                    delivery.case_id,
                    Custody.DELIVERED,
                    sent,
                    {"document_id": row.id, "to": delivery.to},
                    once="document_id",
                )
                await session.commit()

            await sent_and_marked(send())
        log.info("document_mailed", case_id=delivery.case_id, document_id=delivery.document_id)
        return True

    async def _send_mail(self, key: str) -> None:
        async with self._sessions() as session:
            for note, user in await notifications.unsent_email(session, f"{key}:"):

                async def one(note=note, user=user) -> None:
                    assert self._mailer is not None  # sent only with a mailer (notify, send_digest)
                    with sending("email", note.kind):
                        await self._mailer.send(user.email, note.subject, note.body, note.idempotency_key)
                    await notifications.mark_emailed(session, note.id)
                    await session.commit()

                await sent_and_marked(one())

    async def _post_webhook(self, key: str, context: dict) -> None:
        async with self._sessions() as session:
            if await notifications.webhook_sent(session, key):
                return
            text = self._templates.render("notifications/webhook.txt.j2", **context)

            async def post() -> None:
                assert self._webhook is not None  # posted only with a webhook (notify)
                with sending("webhook", "escalation"):
                    await self._webhook.post(
                        {
                            "text": text,
                            "case_number": context["case_number"],
                            "level": context["level"],
                            "link": context["case_url"],
                        },
                        key,
                    )
                await notifications.mark_webhook_sent(session, key)
                await session.commit()

            await sent_and_marked(post())


async def sent_and_marked(send_and_mark: Coroutine[Any, Any, None]) -> None:
    """Runs a message's sending and the record that it was sent as one: a cancellation (a worker shutting
    down) lets the message under way be sent *and* marked, then stops. Cut between the two, the retry on
    the next worker would send it again."""
    under_way = asyncio.ensure_future(send_and_mark)
    try:
        await asyncio.shield(under_way)
    except asyncio.CancelledError:
        await under_way
        raise


def build_notifier(sessions: async_sessionmaker[AsyncSession], settings: Settings, policy: Policy) -> Notifier:
    """`policy`: whose word for a district the messages use."""
    mailer = SmtpMailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
    webhook = WebhookPoster(settings.webhook_url) if settings.webhook_url else None
    return Notifier(sessions, settings, Templates(), mailer, webhook, district_word=policy.words.district)
