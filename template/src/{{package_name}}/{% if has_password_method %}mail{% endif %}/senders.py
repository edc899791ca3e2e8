"""Where messages go: a folder of .eml files in development, an SMTP server otherwise.

Both build the same email (text and HTML alternatives, From, Date, Message-ID), so
what a developer opens from the mailbox is what a user would receive. Neither
logs a message's body: its links carry tokens.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib
import anyio
from pydantic import SecretStr

from ..config import ConfigError, Settings
from .message import Message

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")
DEFAULT_SENDER = "no-reply@localhost"


class Mailer(Protocol):
    """Delivers one message, or raises."""

    async def send(self, message: Message) -> None: ...


def build_email(message: Message, sender: str) -> EmailMessage:
    """The message as an email from `sender`: plain text with an HTML alternative."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    # The sender's domain, not the host name: looking that up may be slow.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(domain=domain)
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


class MailboxMailer:
    """Writes each message to `folder` as an .eml file that mail clients open.

    File names sort by time; files are readable by their owner only (their links
    carry tokens).
    """

    def __init__(self, folder: Path, *, sender: str = DEFAULT_SENDER) -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, message: Message) -> None:
        data = build_email(message, self.sender).as_bytes()
        path = await anyio.to_thread.run_sync(self._write, data)
        audit.info(
            "mail.written", extra={"path": str(path), "template": message.template}
        )

    def _write(self, data: bytes) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return path


Security = Literal["starttls", "tls", "none"]


class SmtpMailer:
    """Sends each message through an SMTP server, one connection per message.

    Certificates are verified against the system's trust store (or `tls_context`);
    a delivery that takes longer than `timeout` seconds in all fails.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str = DEFAULT_SENDER,
        security: Security = "starttls",
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if username and password is None:
            raise ValueError("an SMTP username needs its password")
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.tls_context = tls_context

    async def send(self, message: Message) -> None:
        email = build_email(message, self.sender)
        password = self.password.get_secret_value() if self.password else None
        with anyio.fail_after(self.timeout):
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=password if self.username else None,
                use_tls=self.security == "tls",
                # False, not None: None would upgrade only when the server offers it.
                start_tls=self.security == "starttls",
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        audit.info("mail.sent", extra={"template": message.template})


def mailer_from_settings(settings: Settings) -> Mailer:
    """The mailer MAIL_BACKEND names. Raises ConfigError without SMTP_HOST."""
    if settings.mail_backend == "mailbox":
        return MailboxMailer(settings.mailbox_dir, sender=settings.mail_from)
    if not settings.smtp_host:
        raise ConfigError("SMTP_HOST: required with MAIL_BACKEND=smtp")
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.mail_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )
