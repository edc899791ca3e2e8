"""Identities at providers, and the local account each one signs in to.

An identity is (issuer, subject): the provider's issuer URL and its id for the
user, never the email, which users can change and some issuers let anyone set. A
new identity joins an existing account by email only when the provider says the
email is verified and that provider's <PROVIDER>_LINK_BY_VERIFIED_EMAIL allows it;
otherwise the owner links it from their account. Accounts made here have no
password: password logins refuse them like a wrong password.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...users.models import User, utcnow
from ...users.service import EmailTaken, create_user, get_user_by_email
from .errors import SocialLoginFailed
from .models import Identity
from .profiles import SocialProfile
from .providers import Provider

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")


class LastLogin(Exception):
    """Raised when unlinking would leave an account with no way to sign in."""


async def _identity(db: AsyncSession, profile: SocialProfile) -> Identity | None:
    result = await db.execute(
        select(Identity).where(
            Identity.issuer == profile.issuer, Identity.subject == profile.subject
        )
    )
    return result.scalar_one_or_none()


async def _add(
    db: AsyncSession, user: User, provider: Provider, profile: SocialProfile
) -> None:
    db.add(
        Identity(
            user_id=user.id,
            provider=provider.name,
            issuer=profile.issuer,
            subject=profile.subject,
            email=profile.email,
            last_used_at=utcnow(),
        )
    )
    try:
        await db.commit()
    except IntegrityError:  # the same identity, linked by a concurrent request
        await db.rollback()
        raise SocialLoginFailed(
            f"This {provider.label} account was just linked: sign in again.", 409
        ) from None
    audit.info(
        "identity.linked",
        extra={"user_id": str(user.id), "provider": provider.name},
    )


async def sign_in(
    db: AsyncSession, provider: Provider, profile: SocialProfile, *, signup: bool
) -> User:
    """The account this identity signs in to: linked, joined by a verified email
    where allowed, or new. Raises SocialLoginFailed, creating nothing, otherwise."""
    identity = await _identity(db, profile)
    if identity is not None:
        user = await db.get(User, identity.user_id)
        if user is None or not user.is_active:
            raise SocialLoginFailed("This account is disabled.", 403)
        identity.last_used_at = utcnow()
        if profile.email:
            identity.email = profile.email
        await db.commit()
        return user
    if profile.email is None or not profile.email_verified:
        raise SocialLoginFailed(
            f"{provider.label} did not give a verified email address for your"
            " account; verify it there and sign in again."
        )
    existing = await get_user_by_email(db, profile.email)
    if existing is not None:
        if not provider.link_by_verified_email:
            raise SocialLoginFailed(
                f"An account with your {provider.label} email address exists: sign"
                f" in to it, then link {provider.label} from your account.",
                409,
            )
        if not existing.is_active:
            raise SocialLoginFailed("This account is disabled.", 403)
        await _add(db, existing, provider, profile)
        return existing
    if not signup:
        raise SocialLoginFailed("New accounts cannot be made here.", 403)
    try:
        user = await create_user(
            db, email=profile.email, password_hash=None, verified=True
        )
    except EmailTaken:  # made a moment ago by a concurrent sign-in
        raise SocialLoginFailed(
            "Your account was just made: sign in again.", 409
        ) from None
    await _add(db, user, provider, profile)
    audit.info(
        "account.created", extra={"user_id": str(user.id), "provider": provider.name}
    )
    return user


async def link(
    db: AsyncSession, account_id: uuid.UUID, provider: Provider, profile: SocialProfile
) -> User:
    """Link the identity to the signed-in account that asked (409 if another
    account has it; linking it again is fine)."""
    user = await db.get(User, account_id)
    if user is None or not user.is_active:
        raise SocialLoginFailed("This account is disabled.", 403)
    identity = await _identity(db, profile)
    if identity is not None:
        if identity.user_id != user.id:
            raise SocialLoginFailed(
                f"This {provider.label} account is linked to another account.", 409
            )
        return user
    await _add(db, user, provider, profile)
    return user


async def identities_of(db: AsyncSession, user_id: uuid.UUID) -> Sequence[Identity]:
    result = await db.execute(
        select(Identity)
        .where(Identity.user_id == user_id)
        .order_by(Identity.created_at, Identity.id)
    )
    return result.scalars().all()


async def unlink(
    db: AsyncSession, account: User, provider: str, *, passwords_sign_in: bool
) -> bool:
    """Remove the account's identities at `provider` (commits); False if it had
    none. Raises LastLogin rather than leave the account no way to sign in: a
    password (where a password method is on) or an identity elsewhere."""
    account_id = account.id  # a rollback below expires `account`
    if db.get_bind().dialect.name == "postgresql":
        # Two unlinks at once must not both see the other's identity remain.
        await db.execute(select(User.id).where(User.id == account_id).with_for_update())
    others = (
        select(func.count())
        .select_from(Identity)
        .where(Identity.user_id == account_id, Identity.provider != provider)
        .scalar_subquery()
    )
    has_password = (
        select(User.password_hash.is_not(None))
        .where(User.id == account_id)
        .scalar_subquery()
    )
    keeps_a_way_in = or_(others > 0, has_password) if passwords_sign_in else others > 0
    deleted = await db.execute(
        delete(Identity)
        .where(
            Identity.user_id == account_id,
            Identity.provider == provider,
            keeps_a_way_in,
        )
        .returning(Identity.id)
    )
    if deleted.first() is not None:
        await db.commit()
        audit.info(
            "identity.unlinked",
            extra={"user_id": str(account_id), "provider": provider},
        )
        return True
    await db.rollback()
    linked = await db.execute(
        select(Identity.id).where(
            Identity.user_id == account_id, Identity.provider == provider
        )
    )
    if linked.first() is not None:
        raise LastLogin(provider)
    return False
