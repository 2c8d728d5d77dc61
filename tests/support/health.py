"""Worker rows and a clinic with sends in every state, for health and metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert

from outreach.config import Settings
from outreach.db.tables import escalations, inbound_messages, outbound_messages, reminders
from outreach.monitoring import workers
from tests.support.patients import enrol

MIN = timedelta(minutes=1)


# (state, send_at from T0, attempts, lease_until from T0): what each counts as is in
# seed_clinic's docstring.
REMINDERS: list[tuple[str, timedelta, int, timedelta | None]] = [
    ("pending", -10 * MIN, 0, None),  # due, the oldest
    ("pending", -5 * MIN, 0, None),  # due
    ("pending", -1 * MIN, 2, None),  # due, and retrying
    ("pending", 2 * MIN, 1, None),  # retrying, not yet due
    ("pending", 60 * MIN, 0, None),  # planned ahead
    ("pending", 180 * MIN, 1, None),  # deferred past the longest backoff: not "retrying"
    ("claimed", -20 * MIN, 1, timedelta(seconds=60)),  # in flight
    ("claimed", -20 * MIN, 1, timedelta(seconds=-30)),  # in flight, lease expired
    ("claimed", -20 * MIN, 1, timedelta(seconds=-200)),  # in flight, lease expired longest
    ("sent", -30 * MIN, 1, None),
    ("skipped", -30 * MIN, 1, None),
]


def seed_clinic(engine: Engine, settings: Settings, now: datetime) -> int:
    """One patient and, around `now`: 3 reminders due (oldest 10 min), 2 retrying, 3 in
    flight of which 2 have expired leases (the first 200 s ago); 3 texts in the last hour
    (2 delivered, 1 failed) and 1 before; open escalations: 2 urgent (oldest 90 min),
    2 routine (one acknowledged), no review, and a resolved urgent one that is older; 2
    replies unprocessed, 1 processed. Returns the patient's row id."""
    patient_id = enrol(engine, settings, now)
    with engine.begin() as conn:
        conn.execute(delete(reminders))  # only the rows below, whatever the planner made
        conn.execute(
            insert(reminders),
            [_reminder(patient_id, now, n, *spec) for n, spec in enumerate(REMINDERS)],
        )
        conn.execute(
            insert(outbound_messages),
            [
                _text(patient_id, now - 10 * MIN, "delivered"),
                _text(patient_id, now - 10 * MIN, "delivered"),
                _text(patient_id, now - 50 * MIN, "failed"),
                _text(patient_id, now - 2 * 60 * MIN, "delivered"),
            ],
        )
        conn.execute(
            insert(escalations),
            [
                _escalation(patient_id, "urgent", now - 30 * MIN),
                _escalation(patient_id, "urgent", now - 90 * MIN),
                _escalation(patient_id, "urgent", now - 300 * MIN, resolved_at=now - MIN),
                _escalation(patient_id, "routine", now - 10 * MIN),
                _escalation(patient_id, "routine", now - 10 * MIN, acknowledged_at=now),
            ],
        )
        conn.execute(
            insert(inbound_messages),
            [
                _reply(patient_id, now - MIN, n, processed_at=now if n == 0 else None)
                for n in range(3)
            ],
        )
    return patient_id


def _reminder(
    patient_id: int,
    now: datetime,
    n: int,
    state: str,
    send_in: timedelta,
    attempts: int,
    lease_in: timedelta | None,
) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "kind": "foot_check",
        "occurrence": f"seed-{n}",
        "send_at": now + send_in,
        "expires_at": now + timedelta(days=1),
        "state": state,
        "attempts": attempts,
        "lease_until": now + lease_in if lease_in is not None else None,
        "claimed_by": "somewhere:1:abc" if state == "claimed" else None,
        "plan_version": 1,
        "created_at": now - timedelta(days=1),
        "updated_at": now - timedelta(days=1),
    }


def _text(patient_id: int, at: datetime, status: str) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "template": "foot_check",
        "to_phone": "+16175550142",
        "body": "Time for your foot check.",
        "encoding": "GSM-7",
        "segments": 1,
        "provider": "test",
        "status": status,
        "created_at": at,
    }


def _escalation(patient_id: int, severity: str, at: datetime, **values: Any) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "severity": severity,
        "reason": "foot_problem",
        "created_at": at,
        # Every row names every column: an executemany takes its columns from the first.
        "acknowledged_at": None,
        "resolved_at": None,
        **values,
    }


def _reply(patient_id: int, at: datetime, n: int, **values: Any) -> dict[str, Any]:
    return {
        "provider_sid": f"SMseed{n}",
        "from_phone": "+16175550142",
        "body": "my foot is red",
        "received_at": at,
        "patient_id": patient_id,
        **values,
    }


def add_worker(engine: Engine, worker_id: str, at: datetime, *, stopped: bool = False) -> None:
    workers.register(engine, worker_id, "worker", at)
    workers.beat(engine, worker_id, at, 12.5, 3, None)
    if stopped:
        workers.stopped(engine, worker_id, at)
