"""Appointments from the clinic's own systems: the feed's id of each appointment and the time
of its newest change (appointment.feed_ref, feed_at), every HL7 message as received
(feedmessage), appointments for patients outreach does not know (unmatchedappointment), and
each feed's health (feedhealth).

The appointment columns are added with plain ALTER TABLE, not a batch copy: on SQLite a copy
would drop the report's triggers (0010) on that table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("appointment", sa.Column("feed_ref", sa.String(length=128), nullable=True))
    op.add_column("appointment", sa.Column("feed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("uq_appointment_feed_ref", "appointment", ["source", "feed_ref"], unique=True)
    op.create_table(
        "feedmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("peer", sa.String(length=80), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(length=180), nullable=True),
        sa.Column("control_id", sa.String(length=200), nullable=True),
        sa.Column("message_type", sa.String(length=20), nullable=True),
        sa.Column("dedupe", sa.String(length=400), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ack", sa.String(length=2), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed", "dedupe", name="uq_feedmessage_dedupe"),
    )
    op.create_index("ix_feedmessage_received", "feedmessage", ["feed", "received_at"])
    op.create_index("ix_feedmessage_outcome", "feedmessage", ["feed", "outcome"])
    op.create_table(
        "unmatchedappointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("feed_ref", sa.String(length=128), nullable=False),
        sa.Column("patient_ref", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=170), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("feed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "feed_ref"),
    )
    op.create_index("ix_unmatched_open", "unmatchedappointment", ["matched_at", "patient_ref"])
    op.create_table(
        "feedhealth",
        sa.Column("feed", sa.String(length=16), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("feed"),
    )


def downgrade() -> None:
    op.drop_table("feedhealth")
    op.drop_index("ix_unmatched_open", table_name="unmatchedappointment")
    op.drop_table("unmatchedappointment")
    op.drop_index("ix_feedmessage_outcome", table_name="feedmessage")
    op.drop_index("ix_feedmessage_received", table_name="feedmessage")
    op.drop_table("feedmessage")
    op.drop_index("uq_appointment_feed_ref", table_name="appointment")
    op.drop_column("appointment", "feed_at")  # SQLite 3.35+ drops a column in place
    op.drop_column("appointment", "feed_ref")
