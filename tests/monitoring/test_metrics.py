"""/metrics in Prometheus format: this process's counts after real dispatches and real
webhooks, the clinic's gauges from the database, the bearer token, and a worker's own
metrics port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, event

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.monitoring import metrics
from outreach.sending.dispatcher import Dispatcher
from outreach.testing.ports import free_port
from outreach.texts.render import Renderer
from outreach.web import create_app
from outreach.web.server import build_app
from tests.support.cli import EXAMPLE, make_everything_due_now, outreach
from tests.support.health import add_worker, seed_clinic
from tests.support.patients import enrol
from tests.support.reminders import MORNING, add_reminder
from tests.support.transport import RecordingTransport
from tests.support.webhooks import BASE, TOKEN, Twilio, new_sid

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample by name and labels; fails on anything that is not the text format."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def app_client(
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    clock: ManualClock,
    metrics_token: str | None = None,
) -> TestClient:
    app = create_app(
        engine,
        Settings(public_base_url=BASE),
        TOKEN,
        renderer,
        clock,
        metrics_token=metrics_token,
    )
    return TestClient(app, base_url=BASE)


@pytest.fixture
def client(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> Iterator[TestClient]:
    with app_client(engine, settings, renderer, clock) as client:
        yield client


def test_the_clinic_gauges_are_read_from_the_database(
    engine: Engine, settings: Settings, clock: ManualClock, client: TestClient
) -> None:
    seed_clinic(engine, settings, clock.now())
    add_worker(engine, "host-a:1:aaaaaa", clock.now())

    samples = scrape(client)

    assert value(samples, "outreach_database_up") == 1
    assert value(samples, "outreach_reminders_due") == 3
    assert value(samples, "outreach_oldest_due_reminder_age_seconds") == 600
    assert value(samples, "outreach_reminders_in_flight") == 3
    assert value(samples, "outreach_leases_expired") == 2
    assert value(samples, "outreach_reminders_retrying") == 2
    assert value(samples, "outreach_workers_seen") == 1
    assert value(samples, "outreach_replies_unprocessed") == 2
    assert value(samples, "outreach_oldest_open_urgent_escalation_age_seconds") == 90 * 60
    open_by_severity = {
        severity: value(samples, "outreach_escalations_open", severity=severity)
        for severity in ("emergency", "urgent", "routine", "review")
    }
    assert open_by_severity == {"emergency": 0, "urgent": 2, "routine": 2, "review": 0}
    assert value(samples, "outreach_texts_last_hour", status="delivered") == 2
    assert value(samples, "outreach_texts_last_hour", status="failed") == 1


def test_it_counts_real_dispatches_by_outcome_and_reason(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    client: TestClient,
) -> None:
    clock.set(MORNING)
    patient_id = enrol(engine, settings, clock.now())
    add_reminder(engine, patient_id)
    add_reminder(engine, patient_id, occurrence="2026-11-22", expires_at=MORNING - timedelta(1))
    before = scrape(client)
    transport = RecordingTransport()
    dispatcher = Dispatcher(
        engine,
        settings,
        clock,
        transport,
        renderer,
        "test-worker",
        on_outcome=metrics.record_outcome,
    )

    report = dispatcher.run()
    after = scrape(client)

    assert report.sent == 1 and len(transport.sent) == 1
    sent = ("outreach_reminders_total", {"outcome": "sent", "reason": ""})
    expired = ("outreach_reminders_total", {"outcome": "skipped", "reason": "expired"})
    for name, labels in (sent, expired):
        assert value(after, name, **labels) - value(before, name, **labels) == 1, labels


def test_webhooks_are_timed_and_replies_counted(engine: Engine, client: TestClient) -> None:
    twilio = Twilio(client)
    before = scrape(client)
    sid = new_sid()

    assert twilio.text("YES", sid=sid).status_code == 200
    assert twilio.text("YES", sid=sid).status_code == 200  # Twilio retrying the same text
    twilio.status("delivered", mid=None, sid="SMnobody")
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("outreach_webhook_seconds_count", webhook="sms") == 2
    assert grew("outreach_webhook_seconds_count", webhook="status") == 1
    assert grew("outreach_webhook_seconds_sum", webhook="sms") > 0
    assert grew("outreach_inbound_replies_total", outcome="processed") == 1
    assert grew("outreach_inbound_replies_total", outcome="duplicate") == 1


def test_a_token_guards_metrics_when_it_is_set(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> None:
    with app_client(engine, settings, renderer, clock, metrics_token="s3cret-scraper") as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics").headers["www-authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer guessed"}
        assert client.get("/metrics", headers=wrong).status_code == 403
        samples = scrape(client, Authorization="Bearer s3cret-scraper")
    assert value(samples, "outreach_database_up") == 1


@pytest.mark.parametrize("admin", ["off", "required"])
def test_metrics_answers_without_signing_in_with_or_without_the_admin(
    database_url: str, monkeypatch: pytest.MonkeyPatch, admin: str
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("OUTREACH_SESSION_SECRET", "a-session-secret-for-this-test-only-0123456789")
    monkeypatch.setenv("OUTREACH_METRICS_TOKEN", "from-the-environment")
    settings = Settings(database_url=database_url, sms_provider="twilio", public_base_url=BASE)
    app = build_app(settings, "off" if admin == "off" else "required")

    with TestClient(app, base_url=BASE) as client:
        refused = client.get("/metrics", follow_redirects=False)
        samples = scrape(client, Authorization="Bearer from-the-environment")

    assert refused.status_code == 401
    assert value(samples, "outreach_database_up") == 1


def test_many_scrapes_read_the_database_once_within_a_few_seconds(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    collector = metrics.ClinicCollector(engine, settings, clock.now, max_age=60)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    first = list(collector.collect())
    read = len(statements)
    second = list(collector.collect())

    assert read >= 5, "the first scrape reads the clinic's figures"
    assert len(statements) == read, "the second is served from the cache"
    assert [m.name for m in first] == [m.name for m in second]


def test_a_database_that_does_not_answer_shows_as_down(
    tmp_path: Path, settings: Settings, clock: ManualClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no such directory' / 'x.db'}")
    collector = metrics.ClinicCollector(engine, settings, clock.now)

    families = {family.name: family for family in collector.collect()}

    assert [s.value for s in families["outreach_database_up"].samples] == [0]
    assert "outreach_reminders_due" not in families
    engine.dispose()


@pytest.mark.slow
def test_a_worker_serves_its_own_counts_on_its_metrics_port(
    config: Path, database_url: str
) -> None:
    outreach(config, "patients", "import", str(EXAMPLE))
    engine = make_engine(database_url)
    make_everything_due_now(engine)
    engine.dispose()
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "worker", "--metrics-port", str(port)],
        env={**os.environ, "OUTREACH_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: Samples = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
            except httpx.TransportError:
                samples = {}
            sent = value(samples, "outreach_reminders_total", outcome="sent", reason="")
            if sent >= 6 and value(samples, "outreach_tick_seconds_count") >= 2:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)

    assert worker.returncode == 0, stderr
    assert value(samples, "outreach_reminders_total", outcome="sent", reason="") == 6
    assert value(samples, "outreach_tick_seconds_count") >= 2
    # The clinic's figures are the web app's to serve.
    assert not any(name == "outreach_reminders_due" for name, _ in samples)


def test_the_inbox_is_counted_with_its_longest_wait(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, client: TestClient
) -> None:
    from outreach.replies import inbound
    from tests.support.patients import enrol
    from tests.support.transport import RecordingTransport

    enrol(engine, settings, clock.now())
    inbound.receive(
        engine, settings, renderer, RecordingTransport(), clock.now(),
        from_phone="+16175550142", body="can I come thursday at 3 instead?",
    )  # fmt: skip
    clock.advance(timedelta(minutes=25))

    samples = scrape(client)

    assert value(samples, "outreach_inbox_open_conversations") == 1
    assert value(samples, "outreach_oldest_inbox_conversation_age_seconds") == 25 * 60
