"""The report's triggers (migration 0010) mark the dates of writes, whatever statement
writes: here the planner's kind, an upsert of sessions on one day (on SQLite an outer
statement's conflict clause overrides a trigger's, so a trigger must not rely on its own)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from outreach.db import dialect
from outreach.db.tables import appointment_table, patients, report_dirty


def test_an_upsert_of_sessions_on_one_day_marks_it_once(engine: Engine) -> None:
    at = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            patients.insert().values(
                id=1, external_id="P-1", first_name="Ana", phone="+16175550142",
                timezone="America/New_York", created_at=at, updated_at=at,
            )
        )  # fmt: skip
        conn.execute(report_dirty.delete())
        rows = [
            {"patient_id": 1, "starts_at": at + timedelta(minutes=m), "updated_at": at}
            for m in (0, 30, 60, 0)  # the last one is already there: updated
        ]
        upsert = dialect.insert(conn, appointment_table)
        upsert = upsert.on_conflict_do_update(
            index_elements=["patient_id", "starts_at"],
            set_={"status": "confirmed", "updated_at": upsert.excluded.updated_at},
        )
        for row in rows:
            conn.execute(upsert, row)

    with engine.connect() as conn:
        assert list(conn.execute(select(report_dirty.c.day)).scalars()) == [date(2026, 11, 23)]
