"""Each feed's health where operators look: /metrics, `outreach status` (table and JSON) and
`outreach status --check`, which calls a failing feed and a stuck message problems."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from outreach.clock import ManualClock, SystemClock
from outreach.config import Settings
from outreach.db.tables import feed_messages
from outreach.feeds import appointments as feed
from outreach.feeds import health
from outreach.feeds.appointments import FeedAppointment
from outreach.rules.vocabulary import AppointmentSource, FeedStatus
from outreach.texts.render import Renderer
from tests.monitoring.test_metrics import app_client, scrape, value
from tests.support.cli import outreach
from tests.support.health import add_worker

HL7 = AppointmentSource.HL7
FHIR = AppointmentSource.FHIR


def feeds_as_they_were(engine: Engine, settings: Settings, now: datetime) -> None:
    """HL7: 3 messages, the newest refused, one appointment kept for an unknown patient and
    one message stored ten minutes ago and never handled. FHIR: a sync that worked."""
    kept = FeedAppointment(HL7, "A-7", "P-77", FeedStatus.SCHEDULED, now + timedelta(days=2))
    with engine.begin() as conn:
        feed.apply(conn, settings, kept, now)
        health.record(conn, HL7, now - timedelta(minutes=30), received=2, applied=True)
        health.record(conn, HL7, now - timedelta(minutes=5), received=1, error="SIU^S99 refused")
        health.record(conn, FHIR, now - timedelta(minutes=3), received=40, applied=True)
        health.record(conn, FHIR, now - timedelta(minutes=3), watermark="2026-11-23T11:57:00Z")
        conn.execute(
            feed_messages.insert().values(
                feed="hl7",
                received_at=now - timedelta(minutes=10),
                peer="",
                raw="MSH|",
                outcome="received",
            )
        )


@pytest.fixture
def client(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> Iterator[TestClient]:
    with app_client(engine, settings, renderer, clock) as client:
        yield client


def test_metrics_show_each_feed(
    engine: Engine, settings: Settings, clock: ManualClock, client: TestClient
) -> None:
    feeds_as_they_were(engine, settings, clock.now())

    samples = scrape(client)

    assert value(samples, "outreach_feed_received", feed="hl7") == 3
    assert value(samples, "outreach_feed_received", feed="fhir") == 40
    assert value(samples, "outreach_feed_errors", feed="hl7") == 1
    assert value(samples, "outreach_feed_failing", feed="hl7") == 1
    assert value(samples, "outreach_feed_failing", feed="fhir") == 0
    assert value(samples, "outreach_feed_last_received_age_seconds", feed="hl7") == 300
    assert value(samples, "outreach_feed_last_applied_age_seconds", feed="hl7") == 1800
    assert value(samples, "outreach_feed_unmatched_appointments", feed="hl7") == 1
    assert value(samples, "outreach_feed_messages_stuck", feed="hl7") == 1


def test_status_shows_each_feed_and_check_calls_a_failing_one_a_problem(
    engine: Engine, settings: Settings, config: Path
) -> None:
    now = SystemClock().now().astimezone(UTC)
    feeds_as_they_were(engine, settings, now)
    add_worker(engine, "host-a:1:aaaaaa", now)

    code, output = outreach(config, "status", "--json")
    assert code == 0, output
    listed = {f["feed"]: f for f in json.loads(output)["feeds"]}
    assert listed["hl7"]["failing"] is True
    assert (listed["hl7"]["received"], listed["hl7"]["errors"]) == (3, 1)
    assert (listed["hl7"]["unmatched"], listed["hl7"]["stuck"]) == (1, 1)
    assert listed["hl7"]["last_error"] == "SIU^S99 refused"
    assert listed["fhir"]["failing"] is False
    assert listed["fhir"]["watermark"] == "2026-11-23T11:57:00Z"

    code, output = outreach(config, "status")
    assert "Appointment feeds" in output
    assert "SIU^S99 refused" in output

    code, output = outreach(config, "status", "--check")
    assert code == 1
    assert "the hl7 feed's last attempt failed: SIU^S99 refused" in output
    assert "1 hl7 messages were stored and never handled" in output
