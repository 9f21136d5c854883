"""Mail failures reach the log and the jobs' errors without the applicant's address."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bot.config import SmtpConfig
from bot.mail import Mailer, MailError
from tests.conftest import free_port


class Refusing:
    """An SMTP server that refuses every recipient, quoting the address as servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


async def test_a_refused_recipient_is_not_named_in_the_error(tmp_path: Path):
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpConfig(host="127.0.0.1", port=port, security="none", sender="agora@example.org")
        mailer = Mailer(smtp, tmp_path / "mail", "agora@example.org")
        with pytest.raises(MailError) as failed:
            await mailer.send("Nadia.Benali@Example.org", "Confirmez", "…")
    finally:
        controller.stop()
    assert "550" in str(failed.value) and "<recipient>" in str(failed.value)
    assert "benali" not in str(failed.value).lower()
    assert failed.value.__suppress_context__  # nor in a logged traceback's chained cause
