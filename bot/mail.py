"""Mail the bot sends (email confirmations): through the configured SMTP server (aiosmtplib),
or, with no ``smtp:`` settings (the embedded trial of ``make run``), written as ``.eml`` files
under ``<data-dir>/mail/`` so that a trial still works end to end."""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib

from bot.config import SmtpConfig
from bot.errors import AgoraError

log = logging.getLogger(__name__)


class MailError(AgoraError):
    """The mail server refused or could not be reached (the sending job retries)."""


class Mailer:
    def __init__(self, smtp: SmtpConfig | None, outbox: Path, default_sender: str):
        self.smtp = smtp
        self.outbox = outbox
        self.default_sender = default_sender

    @property
    def sender(self) -> str:
        return self.smtp.sender if self.smtp else self.default_sender

    def message(self, to: str, subject: str, text: str, *, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        # Derived from what caused it: a repeated send is recognisable as the same mail.
        msg["Message-ID"] = message_id or make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        return msg

    async def send(self, to: str, subject: str, text: str, *, message_id: str = "") -> str:
        """Send one plain-text mail; returns where it went (the server, or the file)."""
        msg = self.message(to, subject, text, message_id=message_id)
        if self.smtp is None:
            return self._write(msg)
        s = self.smtp
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The server's answer may quote the address; this goes to the log and the jobs.
            why = re.sub(re.escape(to), "<recipient>", str(exc), flags=re.IGNORECASE)
            raise MailError(f"mail to the SMTP server {s.host}:{s.port} failed: {why}") from None
        return f"{s.host}:{s.port}"

    def _write(self, msg: EmailMessage) -> str:
        self.outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml"
        path = self.outbox / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # personal data
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(msg))
        return str(path)
