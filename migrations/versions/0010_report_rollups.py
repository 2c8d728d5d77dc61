"""The report's daily rollups: counts per clinic-local day (reportday), the UTC dates whose
counts are stale (reportdirty, filled by triggers on every table a figure reads, so every
writer is covered: worker, web, command line, bulk inserts), and the zone the days were cut
in (reportmeta). Indexes for the recount of one day: texts by when they were sent,
observations by reply, appointments by the waitlist slot they filled.

Each trigger marks the UTC date of the instant a figure anchors the changed row to, which
is not always the row's own: an answer marks the day its question was sent, a session's
confirmation the day it starts and the days its reminders went out, a staff text the days
of the patient texts it answers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

# ruff: noqa: S608  (the SQL is built from constants in this file, no input)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _marks(dialect: str) -> dict[str, tuple[str, list[str]]]:
    """Per table: the columns whose update matters, and SELECTs of the dates to mark for a
    row `R` (NEW or OLD), one column `x` each."""

    def day(expr: str) -> str:
        return f"date({expr})" if dialect == "sqlite" else f"(({expr}) AT TIME ZONE 'UTC')::date"

    never = "'0001-01-01'" if dialect == "sqlite" else "'-infinity'::timestamptz"
    sent = day("coalesce(o.sent_at, o.created_at)")

    def appointment(ref: str) -> list[str]:
        return [
            f"SELECT {day('a.starts_at')} AS x FROM appointment a WHERE a.id = {ref}",
            f"SELECT {sent} AS x FROM outboundmessage o"
            f" WHERE o.prompt_ref = {ref} AND o.prompt = 'session'",
        ]

    def question(ref: str) -> list[str]:
        about = (
            f"(SELECT q.prompt_ref FROM outboundmessage q WHERE q.id = {ref}"
            " AND q.prompt = 'session')"
        )
        return [
            f"SELECT {sent} AS x FROM outboundmessage o WHERE o.id = {ref}",
            *appointment(about),
        ]

    return {
        "outboundmessage": (
            "sent_at, created_at, status, answered_at, prompt, prompt_ref, reminder_id, error_code",
            [
                f"SELECT {day('coalesce(R.sent_at, R.created_at)')} AS x",
                *appointment("(CASE WHEN R.prompt = 'session' THEN R.prompt_ref END)"),
                # A retry that got through clears the earlier failures of its reminder.
                f"SELECT {sent} AS x FROM outboundmessage o WHERE o.reminder_id = R.reminder_id"
                " AND o.id < R.id AND o.status IN ('failed', 'undelivered')",
            ],
        ),
        "inboundmessage": (
            "received_at, prompt_id, patient_id",
            [
                f"SELECT {day('R.received_at')} AS x",
                *question("R.prompt_id"),
                # Which text starts a wait for staff depends on the texts before it.
                f"SELECT {day('i.received_at')} AS x FROM inboundmessage i"
                " WHERE i.patient_id = R.patient_id AND i.received_at > R.received_at"
                " AND EXISTS (SELECT 1 FROM staffmessage s WHERE s.patient_id = R.patient_id)",
            ],
        ),
        "observation": (
            "inbound_id, kind",
            question("(SELECT i.prompt_id FROM inboundmessage i WHERE i.id = R.inbound_id)"),
        ),
        "appointment": (
            "starts_at, status, attendance, cancelled_at, source, filled_slot",
            [
                f"SELECT {day('R.starts_at')} AS x",
                *appointment("R.id")[1:],
                f"SELECT {day('s.opened_at')} AS x FROM openslot s WHERE s.id = R.filled_slot",
            ],
        ),
        "escalation": (
            "created_at, severity, acknowledged_at, resolved_at",
            [f"SELECT {day('R.created_at')} AS x"],
        ),
        "consentevent": ("at, event, source", [f"SELECT {day('R.at')} AS x"]),
        "staffmessage": (
            "created_at, patient_id, broadcast_id",
            [
                # The patient's texts since the staff text before this one: it answers them.
                f"SELECT {day('i.received_at')} AS x FROM inboundmessage i"
                " WHERE R.broadcast_id IS NULL AND i.patient_id = R.patient_id"
                " AND i.received_at > coalesce((SELECT max(s.created_at) FROM staffmessage s"
                " WHERE s.patient_id = R.patient_id AND s.broadcast_id IS NULL"
                f" AND s.created_at < R.created_at), {never})",
            ],
        ),
        "openslot": ("opened_at", [f"SELECT {day('R.opened_at')} AS x"]),
    }


def _dates(selects: list[str], row: str) -> str:
    union = " UNION ".join(s.replace("R.", f"{row}.") for s in selects)
    return f"SELECT DISTINCT x FROM ({union}) AS marked WHERE x IS NOT NULL"


def _create_sqlite_triggers() -> None:
    for name, (columns, selects) in _marks("sqlite").items():
        for event, rows in (
            ("INSERT", ["NEW"]),
            (f"UPDATE OF {columns}", ["NEW", "OLD"]),
            ("DELETE", ["OLD"]),
        ):
            label = event.split()[0].lower()
            body = " ".join(
                # Not INSERT OR IGNORE: an outer statement's conflict clause (the planner's
                # insert-or-ignore of appointments) overrides a trigger's on SQLite.
                f"INSERT INTO reportdirty (day) SELECT x FROM ({_dates(selects, row)})"
                " WHERE x NOT IN (SELECT day FROM reportdirty);"
                for row in rows
            )
            op.execute(
                f"CREATE TRIGGER reportdirty_{name}_{label} AFTER {event} ON {name}"
                f" FOR EACH ROW BEGIN {body} END"
            )


def _create_postgresql_triggers() -> None:
    # A writer takes a KEY SHARE lock on the day's mark (or inserts it): the recount
    # deletes the marks it takes, so it waits for writers still in flight on those days
    # and then reads what they committed. Writers do not block each other.
    op.execute(
        """
        CREATE FUNCTION reportdirty_mark(marked date) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM reportdirty WHERE day = marked FOR KEY SHARE;
            IF NOT FOUND THEN
                INSERT INTO reportdirty (day) VALUES (marked) ON CONFLICT DO NOTHING;
            END IF;
        END $$
        """
    )
    for name, (columns, selects) in _marks("postgresql").items():
        op.execute(
            f"""
            CREATE FUNCTION reportdirty_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE marked date;
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    FOR marked IN {_dates(selects, "OLD")} LOOP
                        PERFORM reportdirty_mark(marked);
                    END LOOP;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    FOR marked IN {_dates(selects, "NEW")} LOOP
                        PERFORM reportdirty_mark(marked);
                    END LOOP;
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER reportdirty_{name} AFTER INSERT OR DELETE OR UPDATE OF {columns}"
            f" ON {name} FOR EACH ROW EXECUTE FUNCTION reportdirty_{name}()"
        )


def upgrade() -> None:
    op.create_table(
        "reportday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figure", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "figure", "key"),
    )
    op.create_table(
        "reportdirty",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "reportmeta",
        sa.Column("name", sa.String(length=24), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_observation_inbound", "observation", ["inbound_id"], unique=False)
    op.create_index("ix_appointment_filled_slot", "appointment", ["filled_slot"], unique=False)
    # On the expression the report reads (queries.sent_at), with the columns it then
    # reads, so a day's texts are counted from the index alone.
    op.create_index(
        "ix_outbound_sent_or_created",
        "outboundmessage",
        [
            sa.text("coalesce(sent_at, created_at)"),
            "prompt",
            "status",
            "answered_at",
            "sent_at",
            "created_at",
        ],
        unique=False,
    )
    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_triggers()
    else:
        _create_postgresql_triggers()
    # Everything written before the triggers existed: the first report counts it all.
    op.execute(
        "INSERT INTO reportdirty (day) SELECT DISTINCT d FROM ("
        + " UNION ".join(
            f"SELECT {d} AS d FROM {t}" for t, d in _first_marks(op.get_bind().dialect.name).items()
        )
        + ") AS everything WHERE d IS NOT NULL"
    )


def _first_marks(dialect: str) -> dict[str, str]:
    def day(expr: str) -> str:
        return f"date({expr})" if dialect == "sqlite" else f"(({expr}) AT TIME ZONE 'UTC')::date"

    return {
        "outboundmessage": day("coalesce(sent_at, created_at)"),
        "inboundmessage": day("received_at"),
        "appointment": day("starts_at"),
        "escalation": day("created_at"),
        "consentevent": day("at"),
        "openslot": day("opened_at"),
    }


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _marks("sqlite"):
            for label in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER reportdirty_{name}_{label}")
    else:
        for name in _marks("postgresql"):
            op.execute(f"DROP TRIGGER reportdirty_{name} ON {name}")
            op.execute(f"DROP FUNCTION reportdirty_{name}()")
        op.execute("DROP FUNCTION reportdirty_mark(date)")
    op.drop_index("ix_outbound_sent_or_created", table_name="outboundmessage")
    op.drop_index("ix_appointment_filled_slot", table_name="appointment")
    op.drop_index("ix_observation_inbound", table_name="observation")
    op.drop_table("reportmeta")
    op.drop_table("reportdirty")
    op.drop_table("reportday")
