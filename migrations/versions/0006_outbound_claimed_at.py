"""outboundmessage.claimed_at: when a worker took a text to look it up and resend it, so an
on-call page left in "resending" by a worker that died is taken again after a lease

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outboundmessage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    # Pages stranded in "resending" before this column: their claim is as old as the row, so
    # the next tick takes them again (if they are recent enough to page at all).
    op.execute(
        "UPDATE outboundmessage SET claimed_at = created_at "
        "WHERE status = 'resending' AND provider_sid IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("outboundmessage", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
