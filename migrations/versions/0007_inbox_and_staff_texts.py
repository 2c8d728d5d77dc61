"""The staff side of the conversation: the inbox's conversations, texts staff write (alone
or to many), and quick replies, with a few to start from in English and Spanish

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Quick replies a clinic starts with; admins edit them in the admin (/quick-replies).
STARTERS = [
    (
        "Got it, we will call",
        "en",
        "Thanks {{ patient.first_name }}, we got your message. "
        "Someone from {{ clinic.name }} will call you today.",
    ),
    (
        "Got it, we will call",
        "es",
        "Gracias {{ patient.first_name }}, recibimos su mensaje. "
        "Alguien de {{ clinic.name }} le llamará hoy.",
    ),
    (
        "Please call us",
        "en",
        "Hi {{ patient.first_name }}, please call us at {{ clinic.phone }} when you can.",
    ),
    (
        "Please call us",
        "es",
        "Hola {{ patient.first_name }}, por favor llámenos al {{ clinic.phone }} cuando pueda.",
    ),
    (
        "Session moved",
        "en",
        "Hi {{ patient.first_name }}, your session is moved as you asked. "
        "We will text you a reminder before it.",
    ),
    (
        "Session moved",
        "es",
        "Hola {{ patient.first_name }}, cambiamos su sesión como pidió. "
        "Le enviaremos un recordatorio antes.",
    ),
]


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staffuser.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_to"],
            ["staffuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["staffuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_assigned_to"), ["assigned_to"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_closed_last_in", ["closed_at", "last_in_at"], unique=False
        )

    op.create_table(
        "quickreply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staffuser.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "language"),
    )
    op.create_table(
        "staffmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quiet_exempt_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["staffuser.id"],
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcast.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminder.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "patient_id"),
        sa.UniqueConstraint("reminder_id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("staffmessage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_staffmessage_patient_created", ["patient_id", "created_at"], unique=False
        )

    # Replies already waiting for a look open their patient's conversation.
    op.execute(
        "INSERT INTO conversation (patient_id, opened_at, last_in_at, updated_at) "
        "SELECT patient_id, MIN(received_at), MAX(received_at), MAX(received_at) "
        "FROM inboundmessage WHERE needs_review AND patient_id IS NOT NULL GROUP BY patient_id"
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "quickreply",
            sa.column("name", sa.String),
            sa.column("language", sa.String),
            sa.column("body", sa.Text),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        ),
        [
            {"name": name, "language": language, "body": body, "updated_at": now}
            for name, language, body in STARTERS
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("staffmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_staffmessage_patient_created")

    op.drop_table("staffmessage")
    op.drop_table("quickreply")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_closed_last_in")
        batch_op.drop_index(batch_op.f("ix_conversation_assigned_to"))

    op.drop_table("conversation")
    op.drop_table("broadcast")
