"""Email: messages composed from the project's message files, and their delivery.

Routes take `OutboxDep` and hand it messages (`send_later`) or jobs that end in
one (`run_later`): delivery happens after the response, and its failures are
logged, never answered.
"""

from __future__ import annotations

from typing import Annotated

from ..resources import provide
from .message import Message, compose
from .outbox import Outbox
from .senders import MailboxMailer, Mailer, SmtpMailer, mailer_from_settings

__all__ = [
    "MailboxMailer",
    "Mailer",
    "Message",
    "Outbox",
    "OutboxDep",
    "SmtpMailer",
    "compose",
    "mailer_from_settings",
]

OutboxDep = Annotated[Outbox, provide(Outbox)]
