"""patient.name_key: the name lowercased and without accents, last name first, so the
patient list finds "Ramírez" from "ramirez" and sorts by name on SQLite and PostgreSQL alike

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _name_key(first_name: str, last_name: str) -> str:
    # As outreach/rules/namekey.py computes it; copied, so this migration keeps doing what it
    # did when that module changes.
    decomposed = unicodedata.normalize("NFKD", f"{last_name} {first_name}".casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=170), nullable=False, server_default="")
        )
        batch_op.create_index("ix_patient_name_key", ["name_key"], unique=False)
    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("name_key", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(patient.c.id, patient.c.first_name, patient.c.last_name))
    keys = [{"key_id": r.id, "key": _name_key(r.first_name, r.last_name or "")} for r in rows]
    if keys:
        conn.execute(
            patient.update()
            .where(patient.c.id == sa.bindparam("key_id"))
            .values(name_key=sa.bindparam("key")),
            keys,
        )


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_name_key")
        batch_op.drop_column("name_key")
