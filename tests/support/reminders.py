"""Reminder rows written straight into the table, for the dispatcher's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from outreach.db.tables import reminders

# 14:00 UTC on Monday 23 November 2026 is 09:00 in New York.
MORNING = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def add_reminder(engine: Engine, patient_id: int, **values: Any) -> int:
    row = {
        "patient_id": patient_id,
        "kind": "foot_check",
        "occurrence": values.pop("occurrence", "2026-11-23"),
        "send_at": MORNING,
        "expires_at": MORNING + timedelta(hours=10),
        "state": "pending",
        "attempts": 0,
        "plan_version": 1,
        "created_at": MORNING,
        "updated_at": MORNING,
    }
    row.update(values)
    with engine.begin() as conn:
        return int(
            conn.execute(insert(reminders).values(**row).returning(reminders.c.id)).scalar_one()
        )


def reminder(engine: Engine, reminder_id: int) -> Any:
    with engine.begin() as conn:
        return conn.execute(select(reminders).where(reminders.c.id == reminder_id)).one()
