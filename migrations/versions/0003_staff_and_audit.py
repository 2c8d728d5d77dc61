"""Staff users, the audit log, who acted on an escalation, per-patient quiet hours

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staffuser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sessions_after", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "auditevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["staffuser.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auditevent_at", "auditevent", ["at"], unique=False)
    op.create_index("ix_auditevent_patient_id", "auditevent", ["patient_id"], unique=False)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_escalation_acknowledged_by", "staffuser", ["acknowledged_by"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_escalation_resolved_by", "staffuser", ["resolved_by"], ["id"]
        )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))
    op.create_index("ix_inbound_prompt", "inboundmessage", ["prompt_id"], unique=False)
    op.create_index("ix_outbound_prompt_ref", "outboundmessage", ["prompt_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbound_prompt_ref", table_name="outboundmessage")
    op.drop_index("ix_inbound_prompt", table_name="inboundmessage")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_escalation_resolved_by", type_="foreignkey")
        batch_op.drop_constraint("fk_escalation_acknowledged_by", type_="foreignkey")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("acknowledged_by")
    op.drop_index("ix_auditevent_patient_id", table_name="auditevent")
    op.drop_index("ix_auditevent_at", table_name="auditevent")
    op.drop_table("auditevent")
    op.drop_table("staffuser")
