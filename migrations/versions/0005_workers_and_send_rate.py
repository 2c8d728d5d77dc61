"""Workers report themselves (outreach status, /metrics), and every worker takes its send
slots from one shared row per sender, so together they keep to the provider's rate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sendrate",
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )
    op.create_table(
        "workerprocess",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticks", sa.Integer(), nullable=False),
        sa.Column("last_tick_ms", sa.Float(), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_workerprocess_last_seen_at", "workerprocess", ["last_seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_workerprocess_last_seen_at", table_name="workerprocess")
    op.drop_table("workerprocess")
    op.drop_table("sendrate")
