"""Indexes for the admin pages: the message log newest first and by status, replies that
need a look, and the reminders' due index covering their kind (Today counts by kind)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_reminder_due", table_name="reminder")
    op.create_index("ix_reminder_due", "reminder", ["state", "send_at", "kind"], unique=False)
    op.create_index("ix_outbound_created", "outboundmessage", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_outbound_status_created", "outboundmessage", ["status", "created_at"], unique=False
    )
    op.create_index("ix_inbound_received", "inboundmessage", ["received_at", "id"], unique=False)
    op.create_index("ix_inbound_needs_review", "inboundmessage", ["needs_review"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_needs_review", table_name="inboundmessage")
    op.drop_index("ix_inbound_received", table_name="inboundmessage")
    op.drop_index("ix_outbound_status_created", table_name="outboundmessage")
    op.drop_index("ix_outbound_created", table_name="outboundmessage")
    op.drop_index("ix_reminder_due", table_name="reminder")
    op.create_index("ix_reminder_due", "reminder", ["state", "send_at"], unique=False)
