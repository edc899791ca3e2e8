"""The account flows that go through the owner's mailbox.

Whatever an anonymous caller can ask (sign up, a password reset) answers the same
whether or not the address has an account: the work that differs (looking the
account up, making a token, writing the message) runs in the background, after
the answer, and the sign-up hashes the password either way. Messages go out
through the outbox, so a slow or failing mail server never holds up a request or
turns into an error for the user; every message is logged as sent or failed,
never with its token.

An account receives at most one message of a kind per MAIL_INTERVAL_SECONDS,
however often it is asked for: more would only fill the owner's mailbox.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..auth.core.access import AccountAccess
from ..auth.core.attempts import Limiter
from ..auth.core.password_policy import password_problem
from ..auth.core.passwords import PasswordService
from ..config import Settings
from ..mail.message import Message, compose
from ..mail.outbox import Outbox
from ..users.models import User, utcnow
from ..users.service import EmailTaken, create_user, get_user_by_email
from . import tokens
from .tokens import EMAIL_CHANGE, RESET, VERIFY

MAIL_INTERVAL_SECONDS = 60

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")


class InvalidLink(Exception):
    """Raised for a token that is unknown, spent, expired or of another purpose."""


class WeakPassword(Exception):
    """Raised for a new password the policy refuses; the message says why."""


class AddressTaken(Exception):
    """Raised when an email change meets an address that got an account since."""


@dataclass(frozen=True, slots=True)
class Verified:
    """What confirming a link did: verified the account's address, or moved the
    account to a new, verified one."""

    user_id: uuid.UUID
    email: str
    changed: bool


class AccountFlows:
    """Sign-up, verification, password reset and email change, by email."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        passwords: PasswordService,
        limiter: Limiter,
        access: AccountAccess,
        outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.passwords = passwords
        self.limiter = limiter
        self.access = access
        self.outbox = outbox
        self.verify_seconds = settings.verify_token_hours * 3600
        self.reset_seconds = settings.reset_token_minutes * 60

    # Sign-up -------------------------------------------------------------------

    async def register(
        self, db: AsyncSession, request: Request, email: str, password: str
    ) -> User:
        """Make an unverified account and mail it a link; raises EmailTaken, after
        the owner of the address is told (the same work, hashing included)."""
        await self.limiter.register(request)
        password_hash = await self.passwords.hash(password)
        try:
            user = await create_user(db, email=email, password_hash=password_hash)
        except EmailTaken:
            self.outbox.run_later(
                lambda: self._tell_owner_of(email), "registration notice"
            )
            raise
        audit.info("account.registered", extra={"user_id": str(user.id)})
        self.outbox.run_later(lambda: self._send_verification(user.id), "verification")
        return user

    async def resend_verification(
        self, request: Request, account_id: uuid.UUID
    ) -> None:
        """Mail the account a fresh verification link (unless verified already, or
        one went out a moment ago). Raises TooManyAttempts past the limits."""
        async with self.sessionmaker() as db:
            user = await db.get(User, account_id)
        if user is None:
            return
        await self.limiter.mail(request, user.email)
        self.outbox.run_later(lambda: self._send_verification(user.id), "verification")

    async def _send_verification(self, user_id: uuid.UUID) -> None:
        async with self.sessionmaker() as db:
            user = await db.get(User, user_id)
            if user is None or user.email_verified or not user.is_active:
                return
            if await self._sent_recently(db, user.id, VERIFY):
                return
            token = await tokens.issue(db, user.id, VERIFY, self.verify_seconds)
        self._send("verify_email", user.email, link=self._link("verify", token))

    async def _tell_owner_of(self, email: str) -> None:
        async with self.sessionmaker() as db:
            owner = await get_user_by_email(db, email)
            if owner is None or not owner.is_active:
                return
            if await self._sent_recently(db, owner.id, RESET):
                return
            # A reset link: the owner who forgot they had an account gets back in.
            token = await tokens.issue(db, owner.id, RESET, self.reset_seconds)
        self._send("account_exists", owner.email, link=self._link("reset", token))

    # Verification and email change -----------------------------------------------

    async def confirm(self, db: AsyncSession, token: str) -> Verified:
        """Redeem a verification or email-change link; raises InvalidLink, or
        AddressTaken when the new address got an account meanwhile."""
        row = await tokens.peek(db, token, {VERIFY, EMAIL_CHANGE})
        user = await db.get(User, row.user_id) if row is not None else None
        if row is None or user is None or not user.is_active:
            raise InvalidLink
        if not await tokens.redeem(db, token, row.purpose):
            await db.rollback()
            raise InvalidLink
        if row.purpose == VERIFY:
            user.email_verified_at = user.email_verified_at or utcnow()
            await db.commit()
            audit.info("email.verified", extra={"user_id": str(user.id)})
            return Verified(user.id, user.email, changed=False)
        assert row.new_email is not None  # noqa: S101  (every email change has one)
        user.email = row.new_email
        user.email_verified_at = utcnow()
        try:
            # Ends every session: tokens carry the old address.
            await self.access.end(db, user)
        except IntegrityError:
            await db.rollback()
            raise AddressTaken from None
        audit.info("email.changed", extra={"user_id": str(user.id)})
        return Verified(user.id, user.email, changed=True)

    async def request_email_change(self, account: User, new_email: str) -> None:
        """Mail a confirmation link to `new_email` and a notice to the current
        address; the account moves only when the link is followed. An address
        that has an account gets nothing, and the answer does not tell."""
        current, account_id = account.email, account.id

        async def send() -> None:
            async with self.sessionmaker() as db:
                if await get_user_by_email(db, new_email) is not None:
                    audit.info(
                        "email_change.address_taken",
                        extra={"user_id": str(account_id)},
                    )
                    return
                token = await tokens.issue(
                    db,
                    account_id,
                    EMAIL_CHANGE,
                    self.verify_seconds,
                    new_email=new_email,
                )
            self._send(
                "confirm_email_change", new_email, link=self._link("verify", token)
            )
            self._send("email_change_requested", current, email=new_email)

        audit.info("email_change.requested", extra={"user_id": str(account_id)})
        self.outbox.run_later(send, "email change")

    # Password reset ----------------------------------------------------------------

    async def forgot_password(self, request: Request, email: str) -> None:
        """Mail a reset link if the address has an active account; returns before
        anything is looked up. Raises TooManyAttempts past the limits."""
        await self.limiter.mail(request, email)
        self.outbox.run_later(lambda: self._send_reset(email), "password reset")

    async def _send_reset(self, email: str) -> None:
        async with self.sessionmaker() as db:
            user = await get_user_by_email(db, email)
            if user is None or not user.is_active:
                audit.info("password_reset.unknown_account")
                return
            if await self._sent_recently(db, user.id, RESET):
                return
            token = await tokens.issue(db, user.id, RESET, self.reset_seconds)
        audit.info("password_reset.requested", extra={"user_id": str(user.id)})
        self._send("reset_password", user.email, link=self._link("reset", token))

    async def reset_password(
        self, db: AsyncSession, token: str, new_password: str
    ) -> User:
        """Set a new password with a reset link, then end every session and token
        of the account. Raises InvalidLink, or WeakPassword with the link still
        unspent."""
        row = await tokens.peek(db, token, {RESET})
        user = await db.get(User, row.user_id) if row is not None else None
        if row is None or user is None or not user.is_active:
            raise InvalidLink
        problem = password_problem(new_password, user.email)
        if problem:
            raise WeakPassword(problem)
        new_hash = await self.passwords.hash(new_password)
        if not await tokens.redeem(db, token, RESET):
            await db.rollback()
            raise InvalidLink
        user.password_hash = new_hash
        # The link reached the owner's mailbox: the address is theirs.
        user.email_verified_at = user.email_verified_at or utcnow()
        await self.access.end(db, user)
        audit.info("password.reset", extra={"user_id": str(user.id)})
        self._send("password_changed", user.email)
        return user

    # Helpers --------------------------------------------------------------------

    async def _sent_recently(
        self, db: AsyncSession, user_id: uuid.UUID, purpose: str
    ) -> bool:
        last = await tokens.last_issued(db, user_id, purpose)
        if last is not None and time.time() - last < MAIL_INTERVAL_SECONDS:
            audit.info(
                "mail.suppressed", extra={"user_id": str(user_id), "purpose": purpose}
            )
            return True
        return False

    def _link(self, page: str, token: str) -> str:
        # In the fragment: browsers send it to no server, and no log records it.
        path = {"verify": "/auth/verify", "reset": "/auth/reset-password"}[page]
        return f"{self.settings.frontend_url.rstrip('/')}{path}#token={token}"

    def _send(self, template: str, to: str, **values: str) -> None:
        message: Message = compose(template, to, **values)
        self.outbox.send_later(message)
