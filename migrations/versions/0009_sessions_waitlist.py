"""Sessions as a clinic runs them: attendance marks on appointments (who marked what, when a
session was cancelled, where a moved one went, which slot a waitlisted patient took), the
waitlist, and the slots of cancelled sessions offered to it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendance", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("marked_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("moved_to", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("filled_slot", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointment_marked_by_staffuser", "staffuser", ["marked_by"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_appointment_moved_to_appointment", "appointment", ["moved_to"], ["id"]
        )
        batch_op.create_index("ix_appointment_starts_at", ["starts_at"], unique=False)

    op.create_table(
        "waitlistentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=40), nullable=False),
        sa.Column("earliest", sa.Time(), nullable=False),
        sa.Column("latest", sa.Time(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["staffuser.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id"),
    )
    op.create_table(
        "openslot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_why", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["taken_by"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )
    op.create_index("ix_openslot_state", "openslot", ["state"], unique=False)
    op.create_table(
        "slotoffer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminder.id"]),
        sa.ForeignKeyConstraint(["slot_id"], ["openslot.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot_id", "patient_id"),
    )
    op.create_index("ix_slotoffer_patient_id", "slotoffer", ["patient_id"], unique=False)
    op.create_index("ix_slotoffer_slot_id", "slotoffer", ["slot_id"], unique=False)
    op.create_index(
        "ix_slotoffer_state_expires", "slotoffer", ["state", "expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_slotoffer_state_expires", table_name="slotoffer")
    op.drop_index("ix_slotoffer_slot_id", table_name="slotoffer")
    op.drop_index("ix_slotoffer_patient_id", table_name="slotoffer")
    op.drop_table("slotoffer")
    op.drop_index("ix_openslot_state", table_name="openslot")
    op.drop_table("openslot")
    op.drop_table("waitlistentry")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_starts_at")
        batch_op.drop_constraint("fk_appointment_moved_to_appointment", type_="foreignkey")
        batch_op.drop_constraint("fk_appointment_marked_by_staffuser", type_="foreignkey")
        batch_op.drop_column("filled_slot")
        batch_op.drop_column("moved_to")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("marked_by")
        batch_op.drop_column("marked_at")
        batch_op.drop_column("attendance")
