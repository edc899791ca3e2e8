"""Users: drop tokens_valid_after, written but never read.

What it was meant for, killing every token issued before a moment, is a per-user
revocation of the revocation list.

Revision ID: 0006_drop_tokens_valid_after
Revises: 0001_users
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_drop_tokens_valid_after"
down_revision: str | Sequence[str] | None = "0001_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_valid_after")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "tokens_valid_after", sa.Integer(), server_default="0", nullable=False
            )
        )
