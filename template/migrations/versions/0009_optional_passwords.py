"""Accounts may have no password: those that sign in only with a provider.

Revision ID: 0009_optional_passwords
Revises: 0007_revocations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_optional_passwords"
down_revision: str | Sequence[str] | None = "0007_revocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot alter a column: batch mode copies the table.
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "password_hash", existing_type=sa.String(length=255), nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "password_hash", existing_type=sa.String(length=255), nullable=False
        )
