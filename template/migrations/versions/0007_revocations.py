"""Revocations for every method: API keys and HTTP Basic use them too.

Token methods created the table in 0002_sessions; this creates it where none did.
It is never dropped on downgrade: 0002_sessions may own it.

Revision ID: 0007_revocations
Revises: 0006_drop_tokens_valid_after
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_revocations"
down_revision: str | Sequence[str] | None = "0006_drop_tokens_valid_after"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "revocations" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
        sqlite_autoincrement=True,  # ids never reused: see auth/core/revocation.py
    )
    op.create_index(op.f("ix_revocations_expires_at"), "revocations", ["expires_at"])


def downgrade() -> None:
    pass
