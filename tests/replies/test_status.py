"""`outreach status`: tables, one JSON object, and --check's verdict in its exit code."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import reminders
from tests.support.cli import outreach
from tests.support.health import add_worker, seed_clinic

# The phone number in the spellings a leak might take; not a bare area code, which a
# timestamp's microseconds can contain by chance.
PATIENT_DATA = (
    "+16175550142",
    "6175550142",
    "5550142",
    "Ana",
    "Torres",
    "foot check",
    "my foot is red",
    "P-1",
)


def seeded(
    database_url: str, *, worker: bool = True, due_for: timedelta = timedelta(minutes=1)
) -> None:
    """The seeded clinic of test_health, at the real time (the command reads the clock), with
    its due reminders waiting `due_for`; optionally a worker that just ticked."""
    engine = make_engine(database_url)
    now = SystemClock().now()
    seed_clinic(engine, Settings(), now)
    if worker:
        add_worker(engine, "web-1:4242:a1b2c3", now)
    with engine.begin() as conn:  # no expired leases unless a test makes some
        conn.execute(
            update(reminders)
            .where(reminders.c.state == "claimed")
            .values(lease_until=now + timedelta(minutes=1))
        )
        conn.execute(
            update(reminders)
            .where(reminders.c.state == "pending", reminders.c.send_at <= now)
            .values(send_at=now - due_for)
        )
    engine.dispose()


def test_json_gives_every_figure_and_no_patient_data(config: Path, database_url: str) -> None:
    seeded(database_url)

    code, output = outreach(config, "status", "--json")

    assert code == 0
    status = json.loads(output)
    assert status["healthy"] is True and status["problems"] == []
    queue = status["queue"]
    assert (queue["due"], queue["in_flight"], queue["expired_leases"]) == (3, 3, 0)
    assert (queue["retrying"], queue["unprocessed_replies"]) == (2, 2)
    assert 60 <= queue["oldest_due_seconds"] <= 120
    assert status["texts_last_hour"] == {"delivered": 2, "failed": 1}
    assert status["escalations"]["open"] == {"emergency": 0, "urgent": 2, "routine": 2, "review": 0}
    [worker] = status["workers"]
    assert (worker["id"], worker["host"], worker["role"]) == (
        "web-1:4242:a1b2c3",
        "web-1",
        "worker",
    )
    assert (worker["ticks"], worker["sent"], worker["stopped_at"]) == (1, 3, None)
    for data in PATIENT_DATA:
        assert data not in output, data


def test_the_tables_show_queue_workers_and_escalations(config: Path, database_url: str) -> None:
    seeded(database_url)

    code, output = outreach(config, "status")

    assert code == 0
    for heading in ("Queue", "Workers seen recently", "Open escalations"):
        assert heading in output
    assert "reminders due now" in output and "the oldest has waited 60 s" in output
    assert "web-1:4242:a1b2c3" in output and "healthy" in output
    for data in PATIENT_DATA:
        assert data not in output, data


def test_check_passes_a_healthy_clinic(config: Path, database_url: str) -> None:
    seeded(database_url)

    code, output = outreach(config, "status", "--check")

    assert code == 0, output
    assert output.startswith("✓ healthy: 1 workers, 3 reminders due")


def test_check_fails_when_no_worker_has_been_seen(config: Path, database_url: str) -> None:
    seeded(database_url, worker=False)

    code, output = outreach(config, "status", "--check")

    assert code == 1
    assert "no worker has reported" in output


def test_check_fails_when_the_oldest_due_reminder_waits_too_long(
    config: Path, database_url: str
) -> None:
    seeded(database_url, due_for=timedelta(minutes=20))

    assert outreach(config, "status", "--check")[0] == 1
    assert outreach(config, "status", "--check", "--max-due-age", "3600")[0] == 0
    code, output = outreach(config, "status", "--check", "--json")
    assert code == 1
    [problem] = json.loads(output)["problems"]
    # 1200 s when seeded, and the command runs a moment later on a busy machine.
    assert re.fullmatch(
        r"3 reminders are due; the oldest has waited 12\d\d s \(limit 300 s\)", problem
    )


def test_check_fails_when_expired_leases_are_not_recovered(config: Path, database_url: str) -> None:
    seeded(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            update(reminders)
            .where(reminders.c.state == "claimed")
            .values(lease_until=SystemClock().now() - timedelta(minutes=5))
        )
    engine.dispose()

    code, output = outreach(config, "status", "--check")

    assert code == 1
    assert "3 claims have had an expired lease" in output and "no worker is recovering" in output
