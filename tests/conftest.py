"""Shared fixtures: a migrated database per test, on SQLite by default and on PostgreSQL
when OUTREACH_TEST_DATABASE_URL is set (.ci/run sets it when the local server answers)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.texts.render import Renderer

PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL")
# A Monday, 12:00 UTC: 07:00 in New York, inside quiet hours until 08:00.
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def pytest_report_header() -> str:
    return f"outreach database: {'PostgreSQL (' + PG_URL + ')' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once with Alembic, then copy the file for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_schema_url() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = f"outreach_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database_url(
    tmp_path: Path, _sqlite_template: Path, _pg_schema_url: str | None
) -> Iterator[str]:
    if _pg_schema_url is None:
        path = tmp_path / "outreach.db"
        shutil.copy(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    engine = create_engine(_pg_schema_url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield _pg_schema_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def renderer(settings: Settings) -> Renderer:
    return Renderer(settings.templates_dir, settings)


def patient_row(**overrides: Any) -> dict[str, str]:
    """A valid enrolment row; tests override what they care about."""
    row = {
        "patient_id": "P-1",
        "first_name": "Ana",
        "last_name": "Torres",
        "phone": "+16175550142",
        "timezone": "America/New_York",
        "language": "en",
        "plan_start": "2026-11-01",
        "sessions": "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
        "foot_check_time": "08:30",
        "exercise_days": "tue thu sat",
        "exercise_time": "17:00",
        "exercises": "seated calf stretch; heel raises",
        "pain_baseline": "2",
    }
    row.update(overrides)
    return row


def enrol(
    engine: Engine, settings: Settings, now: datetime, *, consent: bool = True, **overrides: str
) -> int:
    """Enrol one patient through the real validation and import; optionally as if they had
    already answered YES. Returns the patient's row id."""
    from sqlalchemy import select, update

    from outreach.db.tables import patients, reminders
    from outreach.patients.enrolment import validate_patient
    from outreach.patients.upsert import import_specs

    spec = validate_patient(patient_row(**overrides), settings, 2)
    assert not isinstance(spec, list), spec
    report = import_specs(engine, settings, [(2, spec)], now)
    assert not report.errors, report.errors
    with engine.begin() as conn:
        patient_id = int(
            conn.execute(
                select(patients.c.id).where(patients.c.external_id == spec.external_id)
            ).scalar_one()
        )
        if consent:  # as if the consent text went out and was answered YES
            conn.execute(
                update(patients).where(patients.c.id == patient_id).values(consent_state="granted")
            )
            conn.execute(
                update(reminders)
                .where(reminders.c.patient_id == patient_id, reminders.c.kind == "consent")
                .values(state="sent")
            )
    return patient_id


class RecordingTransport:
    """Stands in for the provider at the network boundary: records, and can fail on cue."""

    name = "test"

    def __init__(self) -> None:
        from outreach.transports import Outgoing, SendError

        self.sent: list[Outgoing] = []
        self.failures: list[SendError] = []
        self.on_send: Any = None

    def send(self, message: Any) -> Any:
        from outreach.transports import Receipt, SendError

        if self.on_send is not None:
            self.on_send(message)
        if self.failures:
            failure = self.failures.pop(0)
            if failure.uncertain and failure.code == "accepted":  # taken, answer lost
                self.sent.append(message)
                raise SendError("timed out", permanent=False, code="network", uncertain=True)
            raise failure
        self.sent.append(message)
        return Receipt(provider_sid=f"SM{message.message_id:032d}", status="queued")

    def find_sent(self, message: Any, since: datetime) -> Any:
        from outreach.transports import Receipt

        for sent in self.sent:
            if (sent.to, sent.body) == (message.to, message.body):
                return Receipt(provider_sid=f"SM{sent.message_id:032d}", status="sent")
        return None


@pytest.fixture
def staff(engine: Engine, clock: ManualClock) -> None:
    """Two staff users (tests/admin_harness.py USERS), password PASSWORD."""
    from tests.admin_harness import add_staff

    add_staff(engine, clock.now())


# Session cookies by username. Every test's staff users have the same ids and password hash,
# so a cookie from one test's sign-in is valid in the next: argon2 makes each real sign-in
# cost a few hundred milliseconds. Signing in itself is tested in test_admin_auth.py.
_SIGNED_IN: dict[str, str] = {}


def _signed_in_client(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, username: str
) -> Any:
    from outreach.web.admin.app import SESSION_COOKIE
    from tests.admin_harness import admin_client

    client = admin_client(engine, settings, renderer, clock)
    if username not in _SIGNED_IN:
        response = client.sign_in(username)
        assert response.status_code == 303, response.text
        _SIGNED_IN[username] = client.client.cookies[SESSION_COOKIE]
    else:
        host = client.client.base_url.host  # where the server's own Set-Cookie lands
        client.client.cookies.set(SESSION_COOKIE, _SIGNED_IN[username], domain=host)
    page = client.get("/login", follow_redirects=False)  # signed in: sent on to Today
    assert page.status_code == 303, "the reused session was not accepted"
    return client


@pytest.fixture
def admin(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, staff: None
) -> Any:
    """A client signed in as the admin user."""
    return _signed_in_client(engine, settings, renderer, clock, "admin")


@pytest.fixture
def therapist(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, staff: None
) -> Any:
    """A client signed in as the therapist user."""
    return _signed_in_client(engine, settings, renderer, clock, "terry")
