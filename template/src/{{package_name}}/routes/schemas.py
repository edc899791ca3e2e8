"""Request and response bodies of the account routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from ..auth.core.password_policy import MAX_LENGTH, password_problem


class RegisterRequest(BaseModel):
    """A new account: email and password."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    # No min_length here: password_problem says it, without echoing the value.
    password: str = Field(max_length=MAX_LENGTH, repr=False)

    @model_validator(mode="after")
    def _acceptable_password(self) -> RegisterRequest:
        problem = password_problem(self.password, str(self.email))
        if problem:
            raise ValueError(problem)
        return self


class PasswordChange(BaseModel):
    """The current password, and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_LENGTH, repr=False)
    new_password: str = Field(max_length=MAX_LENGTH, repr=False)

    @model_validator(mode="after")
    def _a_new_password(self) -> PasswordChange:
        # The password policy needs the account's email: the route applies it.
        if self.new_password == self.current_password:
            raise ValueError("The new password must differ from the current one.")
        return self


# The roles an administrator may give or filter by (users/models.py).
RoleName = Literal["user", "admin"]


def _in_utc(value: datetime) -> datetime:
    # A naive datetime (SQLite keeps no offset) is UTC; an aware one is shown in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Always with its offset: a client must never have to guess the timezone.
UTCTimestamp = Annotated[datetime, AfterValidator(_in_utc)]


class AccountUpdate(BaseModel):
    """What an administrator may change: roles and whether the account is active."""

    # Strict: `"is_active": 0` or `"no"` is a mistake to refuse, not a false.
    model_config = ConfigDict(extra="forbid", strict=True)

    roles: list[RoleName] | None = Field(default=None, min_length=1)
    is_active: bool | None = None


class UserOut(BaseModel):
    """An account as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    roles: list[str]
    is_active: bool
    email_verified: bool
    created_at: UTCTimestamp


class UserPage(BaseModel):
    """A page of accounts, and the cursor of the next page (null on the last)."""

    items: list[UserOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` (same filters) for the next page; "
        "null on the last page."
    )


class Me(BaseModel):
    """The caller, as their access token says."""

    id: str
    email: str
    email_verified: bool
    roles: list[str]
    scopes: list[str]


class Notice(BaseModel):
    """What a request that sends a message by email, or follows its link, did."""

    detail: str


class LinkToken(BaseModel):
    """The token of a link sent by email (the part after `#token=`)."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128, repr=False)


class ForgotPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)


class PasswordReset(BaseModel):
    """A reset link's token and the new password."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128, repr=False)
    # The policy needs the account's email: the route applies it.
    new_password: str = Field(max_length=MAX_LENGTH, repr=False)


class EmailChange(BaseModel):
    """The new address, and the current password."""

    model_config = ConfigDict(extra="forbid")

    new_email: EmailStr = Field(max_length=320)
    current_password: str = Field(max_length=MAX_LENGTH, repr=False)


class AccountDeletion(BaseModel):
    """The current password; accounts without one sign in again instead."""

    model_config = ConfigDict(extra="forbid")

    current_password: str | None = Field(
        default=None, max_length=MAX_LENGTH, repr=False
    )
