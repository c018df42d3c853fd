"""The outside channels notifications go through: SMTP and a Slack-style webhook."""

import asyncio
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx


class SmtpMailer:
    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise ValueError(f"REFERRALS_SMTP_URL must look like smtp://host:port, not {url!r}")
        self._host, self._port, self._sender = parts.hostname, parts.port or 25, sender

    async def send(
        self, to: str, subject: str, body: str, message_key: str, attachment: tuple[str, bytes, str] | None = None
    ) -> None:
        """`attachment`: (file name, bytes, media type)."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        # The idempotency key travels as the Message-ID, so a receiver can drop a duplicate too.
        message["Message-ID"] = f"<{message_key.replace(':', '.')}@incident-referrals>"
        message.set_content(body)
        if attachment is not None:
            filename, content, media_type = attachment
            maintype, subtype = media_type.split("/", 1)
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=15) as smtp:
            smtp.send_message(message)


class WebhookPoster:
    def __init__(self, url: str) -> None:
        self._url = url

    async def post(self, payload: dict, key: str) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            response = await client.post(self._url, json=payload, headers={"Idempotency-Key": key})
            response.raise_for_status()
