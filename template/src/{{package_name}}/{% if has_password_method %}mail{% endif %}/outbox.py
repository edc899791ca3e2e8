"""Work done after the response: sending mail, and jobs that end in sending mail.

A request that sends mail must answer at once and the same way whatever happens
next: a slow or failing mail server would otherwise show in the response time or
the status, and both tell an attacker whether an account exists. So routes hand
messages (or whole jobs: look the account up, make a token, send) to the outbox,
which runs them on the event loop, a few at a time, and logs a failure as one line
that holds neither the message nor the error's text (an SMTP error may quote the
recipient).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

import anyio

from .message import Message
from .senders import Mailer

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")
# Jobs at once: bounds the connections to the mail server and the database.
CONCURRENCY = 10

Job = Callable[[], Awaitable[None]]


class Outbox:
    """Background deliveries and jobs of one app; `close` them at shutdown."""

    def __init__(self, mailer: Mailer, *, concurrency: int = CONCURRENCY) -> None:
        self.mailer = mailer
        # Strong references: the event loop keeps only weak ones to its tasks.
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def pending(self) -> int:
        """Jobs started and not finished."""
        return len(self._tasks)

    def send_later(self, message: Message) -> None:
        """Deliver `message` in the background; returns at once, never raises."""
        job = functools.partial(self.mailer.send, message)
        self._start(job, "mail.failed", message.template)

    def run_later(self, job: Job, what: str) -> None:
        """Run `job` in the background; returns at once, never raises.

        A failure is logged as `background.failed` with `what` and the error's
        class, nothing else.
        """
        self._start(job, "background.failed", what)

    async def drain(self, timeout: float = 10) -> None:  # noqa: ASYNC109  (bounds itself: shutdown and tests call it bare)
        """Wait until every job has finished, those they start included, or
        `timeout` seconds have passed."""
        with anyio.move_on_after(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    async def close(self, timeout: float = 10) -> None:  # noqa: ASYNC109  (as drain)
        """Drain, then cancel what is left (logged as `background.abandoned`)."""
        await self.drain(timeout)
        left = set(self._tasks)
        if left:
            audit.warning("background.abandoned", extra={"count": len(left)})
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def _start(self, job: Job, event: str, what: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as exc:  # called outside the app: a bug, still no raise
            audit.warning(event, extra={"what": what, "error": type(exc).__name__})
            return
        task = loop.create_task(self._run(job, event, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, event: str, what: str) -> None:
        try:
            async with self._slots:
                await job()
        except Exception as exc:  # logged, never raised: the response has gone
            audit.warning(event, extra={"what": what, "error": type(exc).__name__})
