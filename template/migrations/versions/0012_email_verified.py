"""Accounts record when their email address was verified.

Accounts that exist when this runs were made before verification existed: their
owners signed up under the rules of their time, so they count as verified (what an
update that adds verification promises). New accounts start unverified, unless
whoever makes them vouches for the address (an administrator, a provider).

Revision ID: 0012_email_verified
Revises: 0009_optional_passwords
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_email_verified"
down_revision: str | Sequence[str] | None = "0009_optional_passwords"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}
    if "email_verified_at" not in columns:
        with op.batch_alter_table("users") as batch:
            batch.add_column(
                sa.Column(
                    "email_verified_at", sa.DateTime(timezone=True), nullable=True
                )
            )
    users = sa.table(
        "users",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("email_verified_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        users.update()
        .where(users.c.email_verified_at.is_(None))
        .values(email_verified_at=users.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
