"""The FHIR sync against a loopback FHIR server (real HTTP) serving Bundles built with
fhir.resources from the specification's own examples: paging, the watermark, patients
included, statuses mapped, unknown patients kept, and the server's refusals: 401 without a
token, SMART Backend Services, 429 and 500 backed off and resumed, an OperationOutcome in
words. On SQLite, and on PostgreSQL when OUTREACH_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    appointment_table,
    open_slots,
    reminders,
    unmatched_appointments,
)
from outreach.feeds import health
from outreach.feeds.fhir import sync
from outreach.feeds.fhir.client import FhirClient
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    Attendance,
    ReminderKind,
    ReminderState,
    SkipReason,
)
from outreach.testing.fhir_examples import example
from outreach.testing.fhir_server import FhirServer, Smart, appointment, patient
from tests.support.patients import T0, enrol

A = appointment_table
R = reminders
UPDATED = T0 - timedelta(hours=2)


def day(n: int, hour: int = 15) -> datetime:
    return datetime(2026, 11, 24 + n, hour, 0, tzinfo=UTC)


@pytest.fixture
def clinic(engine: Engine, settings: Settings) -> None:
    """Five patients, enrolled with the clinic ids the EHR gives them (B-1 ... B-5)."""
    for n in range(1, 6):
        enrol(engine, settings, T0, patient_id=f"B-{n}", phone=f"+1617555014{n}", sessions="")
    plan_due(engine, settings, T0)


def ehr(appointments: int = 12, **options: Any) -> FhirServer:
    people = [patient(f"p{n}", f"B-{n}", f"+1617555014{n}") for n in range(1, 6)]
    booked = [
        appointment(
            f"a{n}", f"p{n % 5 + 1}", day(n % 6, 14 + n // 6), UPDATED + timedelta(minutes=n)
        )
        for n in range(appointments)
    ]
    return FhirServer(booked, people, **options)


@pytest.fixture
def server() -> Iterator[FhirServer]:
    with ehr() as running:
        yield running


def rsa_key_file(folder: Path) -> tuple[rsa.RSAPrivateKey, Path]:
    """An RSA key for SMART Backend Services, and its PEM file as outreach reads it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "fhir-key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key, pem


def run(engine: Engine, settings: Settings, server: FhirServer, **changes: Any) -> sync.SyncReport:
    chosen = replace(settings, fhir_base_url=server.base_url, fhir_page_size=5, **changes)
    client = FhirClient.from_settings(chosen, sleep=lambda seconds: None, backoff_base=0.01)
    with client:
        return sync.run(engine, chosen, ManualClock(T0), client)


def feed_sessions(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(A).where(A.c.source == AppointmentSource.FHIR)).all()
    return {r.feed_ref: r for r in rows}


def test_a_sync_reads_every_page_and_makes_each_appointment_a_session_with_its_reminder(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    report = run(engine, settings, server)

    assert report.stopped_by is None, report
    assert (report.pages, report.appointments, report.applied) == (3, 12, 12)
    sessions = feed_sessions(engine)
    assert sorted(sessions) == sorted(f"a{n}" for n in range(12))
    assert sessions["a7"].starts_at == day(1, 15)
    with engine.connect() as conn:
        planned = conn.execute(
            select(R.c.appointment_id).where(R.c.appointment_id.is_not(None))
        ).scalars()
        assert sorted(planned) == sorted(s.id for s in sessions.values())
    searches = server.searches()
    assert "_include=Appointment%3Apatient" in searches[0] and "_count=5" in searches[0]
    assert all("_getpages=" in later for later in searches[1:])
    with engine.connect() as conn:
        assert health.watermark(conn, AppointmentSource.FHIR) == "2026-11-23T10:11:00Z"


def test_the_next_sync_reads_only_what_changed_since(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    run(engine, settings, server)
    cancelled = appointment("a3", "p4", day(3, 14), UPDATED + timedelta(hours=1), "cancelled")
    noshow = appointment("a0", "p1", day(0, 14), UPDATED + timedelta(hours=1), "noshow")
    server.put(cancelled)
    server.put(noshow)

    report = run(engine, settings, server)

    assert "_lastUpdated=ge2026-11-23T10%3A11%3A00Z" in server.searches()[-1]
    # The boundary appointment again (ge is inclusive), unchanged, and the two changes.
    assert (report.appointments, report.applied, report.unchanged) == (3, 2, 1)
    sessions = feed_sessions(engine)
    assert sessions["a3"].status == AppointmentStatus.CANCELLED
    assert sessions["a3"].attendance == Attendance.CANCELLED_BY_PATIENT  # reason code "pat"
    assert sessions["a0"].attendance == Attendance.NO_SHOW
    with engine.connect() as conn:
        states = conn.execute(
            select(R.c.state, R.c.skip_reason).where(R.c.appointment_id == sessions["a3"].id)
        ).all()
    assert [tuple(s) for s in states] == [("skipped", "cancelled")]


def test_an_appointment_for_a_patient_outreach_does_not_know_is_kept_not_texted(
    engine: Engine, settings: Settings, clinic: None
) -> None:
    stranger = patient("p9", "B-99", "+16175550199")
    booked = appointment("a99", "p9", day(2), UPDATED)
    with FhirServer([booked], [stranger]) as server:
        report = run(engine, settings, server)

    assert report.unmatched == 1
    assert feed_sessions(engine) == {}
    with engine.connect() as conn:
        kept = conn.execute(select(unmatched_appointments)).one()
    assert (kept.patient_ref, kept.phone, kept.feed_ref) == ("B-99", "+16175550199", "a99")
    assert kept.patient_name == "Peter James Chalmers"


def test_without_the_token_the_sync_stops_in_words_and_the_feed_is_failing(
    engine: Engine, settings: Settings, clinic: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_FHIR_TOKEN", "not-the-token")
    with ehr(token="the-token") as server:
        refused = run(engine, settings, server, fhir_auth="bearer")
        monkeypatch.setenv("OUTREACH_FHIR_TOKEN", "the-token")
        taken = run(engine, settings, server, fhir_auth="bearer")

    assert refused.stopped_by is not None
    assert "401" in refused.stopped_by and "check fhir.auth" in refused.stopped_by
    assert "no valid bearer token" in refused.stopped_by  # the server's OperationOutcome
    assert taken.stopped_by is None and taken.applied == 12
    assert {auth for _, _, auth in server.requests} >= {"Bearer the-token"}


def test_smart_backend_services_signs_in_once_and_reuses_the_token(
    engine: Engine, settings: Settings, clinic: None, tmp_path: Path
) -> None:
    key, pem = rsa_key_file(tmp_path)
    smart = Smart(client_id="outreach", public_key=key.public_key())
    with ehr(smart=smart) as server:
        report = run(
            engine,
            settings,
            server,
            fhir_auth="smart",
            fhir_token_url=server.token_url,
            fhir_client_id="outreach",
            fhir_private_key=pem,
            fhir_key_id="outreach-2026",
        )

    assert report.stopped_by is None and report.applied == 12
    assert len(smart.issued) == 1  # three pages, one token
    assert [m for m, path, _ in server.requests if path == "/token"] == ["POST"]


def test_a_key_the_server_does_not_know_is_refused_in_words(
    engine: Engine, settings: Settings, clinic: None, tmp_path: Path
) -> None:
    _, pem = rsa_key_file(tmp_path)
    registered = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with ehr(smart=Smart("outreach", registered.public_key())) as server:
        report = run(
            engine,
            settings,
            server,
            fhir_auth="smart",
            fhir_token_url=server.token_url,
            fhir_client_id="outreach",
            fhir_private_key=pem,
        )
    assert report.stopped_by is not None
    assert "invalid_client" in report.stopped_by
    assert feed_sessions(engine) == {}


def test_429_and_500_are_waited_out_and_the_sync_goes_on(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    server.fail(429, retry_after="1")
    server.fail(500, times=2)

    report = run(engine, settings, server)

    assert report.stopped_by is None and report.applied == 12
    assert len(server.searches()) == 3 + 3  # three refused, three pages


def test_a_server_down_for_good_stops_the_sync_and_the_next_resumes_where_it_stopped(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    answer = server.answer
    timeout = (
        b'{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
        b'"code":"exception","diagnostics":"database timeout"}]}'
    )

    def third_page_fails(method: str, path: str, query: str, auth: str | None, body: bytes) -> Any:
        if "_getpagesoffset=10" in query:
            server.requests.append((method, f"{path}?{query}", auth))
            return 500, {"Content-Type": "application/fhir+json"}, timeout
        return answer(method, path, query, auth, body)

    server.answer = third_page_fails  # type: ignore[method-assign]
    stopped = run(engine, settings, server)
    with engine.connect() as conn:
        kept = health.watermark(conn, AppointmentSource.FHIR)
    server.answer = answer  # type: ignore[method-assign]
    resumed = run(engine, settings, server)

    assert stopped.stopped_by is not None
    assert "database timeout" in stopped.stopped_by and "gave up" in stopped.stopped_by
    assert (stopped.pages, stopped.applied) == (2, 10)
    assert kept == stopped.watermark == "2026-11-23T10:09:00Z"  # the end of page 2
    assert resumed.stopped_by is None
    assert "_lastUpdated=ge2026-11-23T10%3A09%3A00Z" in server.searches()[-1]
    assert resumed.applied == 2 and len(feed_sessions(engine)) == 12


def test_a_refusal_with_an_operation_outcome_is_reported_in_its_words(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    server.fail(400, outcome=example("operationoutcome-example-searchfail"))

    report = run(engine, settings, server)

    assert report.stopped_by is not None
    assert "400" in report.stopped_by
    assert 'The "name" parameter has the modifier "exact"' in report.stopped_by
    assert feed_sessions(engine) == {}
    with engine.connect() as conn:
        states = health.watermark(conn, AppointmentSource.FHIR)
    assert states is None


def session_reminders(engine: Engine, feed_ref: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(R.c.state, R.c.skip_reason)
            .join(A, A.c.id == R.c.appointment_id)
            .where(A.c.feed_ref == feed_ref, R.c.kind == ReminderKind.SESSION)
        ).all()
    return [(r.state, r.skip_reason) for r in rows]


@pytest.mark.parametrize(
    ("status", "mark", "slot_offered"),
    [
        ("cancelled", Attendance.CANCELLED_BY_PATIENT, True),  # cancelationReason "pat"
        ("entered-in-error", None, False),  # never was: its slot goes to no one
    ],
)
def test_a_cancelled_appointment_stops_its_reminders(
    engine: Engine,
    settings: Settings,
    clinic: None,
    server: FhirServer,
    status: str,
    mark: Attendance | None,
    slot_offered: bool,
) -> None:
    run(engine, settings, server)
    assert session_reminders(engine, "a3") == [(ReminderState.PENDING, None)]
    server.put(appointment("a3", "p4", day(3, 14), UPDATED + timedelta(hours=1), status))

    report = run(engine, settings, server)

    assert (report.stopped_by, report.applied) == (None, 1)
    row = feed_sessions(engine)["a3"]
    assert (row.status, row.attendance) == (AppointmentStatus.CANCELLED, mark)
    assert session_reminders(engine, "a3") == [(ReminderState.SKIPPED, SkipReason.CANCELLED)]
    with engine.connect() as conn:
        slots = conn.execute(select(open_slots.c.appointment_id)).scalars().all()
    assert (slots == [row.id]) is slot_offered


def test_an_appointment_outreach_refuses_costs_itself_and_the_rest_of_the_page_goes_in(
    engine: Engine, settings: Settings, clinic: None
) -> None:
    people = [patient(f"p{n}", f"B-{n}") for n in (1, 2)]
    booked = [
        appointment("x1", "p1", day(1), UPDATED),
        appointment("x2", "p1", day(1), UPDATED + timedelta(minutes=1)),  # the same time
        appointment("x3", "p2", day(1), UPDATED + timedelta(minutes=2)),
    ]
    with FhirServer(booked, people) as server:
        report = run(engine, settings, server)

    assert (report.stopped_by, report.applied, report.errors) == (None, 2, 1)
    assert report.problems == [
        "Appointment/x2: the patient already has appointment x1 at that time from the EHR (FHIR)"
    ]
    assert sorted(feed_sessions(engine)) == ["x1", "x3"]
    assert session_reminders(engine, "x1") == [(ReminderState.PENDING, None)]
    with engine.connect() as conn:
        kept = health.watermark(conn, AppointmentSource.FHIR)
    assert kept == "2026-11-23T10:02:00Z"


def test_a_retry_after_beyond_the_ceiling_stops_at_once_without_waiting(
    engine: Engine, settings: Settings, clinic: None, server: FhirServer
) -> None:
    server.fail(429, retry_after="3600")
    chosen = replace(settings, fhir_base_url=server.base_url, fhir_page_size=5)
    waits: list[float] = []
    with FhirClient.from_settings(chosen, sleep=waits.append) as client:
        report = sync.run(engine, chosen, ManualClock(T0), client)

    assert waits == []
    assert report.stopped_by is not None and "429" in report.stopped_by
    assert len(server.searches()) == 1


def test_without_a_base_url_there_is_nothing_to_read(
    engine: Engine, settings: Settings, clinic: None
) -> None:
    report = sync.run(engine, settings, ManualClock(T0))

    assert report.stopped_by == "fhir.base_url is not set: there is no FHIR server to read"


def test_a_smart_token_the_server_stops_taking_is_fetched_again_once(
    engine: Engine, settings: Settings, clinic: None, tmp_path: Path
) -> None:
    key, pem = rsa_key_file(tmp_path)
    smart = Smart(client_id="outreach", public_key=key.public_key())
    with ehr(smart=smart) as server:
        chosen = replace(
            settings,
            fhir_base_url=server.base_url,
            fhir_page_size=5,
            fhir_auth="smart",
            fhir_token_url=server.token_url,
            fhir_client_id="outreach",
            fhir_private_key=pem,
        )
        with FhirClient.from_settings(chosen, sleep=lambda seconds: None) as client:
            first = sync.run(engine, chosen, ManualClock(T0), client)
            smart.issued.clear()  # as after the server restarts: its tokens are gone
            second = sync.run(engine, chosen, ManualClock(T0), client)

    assert (first.stopped_by, second.stopped_by) == (None, None)
    assert second.unchanged == 1  # the watermark's own instant, read again
    assert len(smart.issued) == 1  # the fresh one
    assert [path for _, path, _ in server.requests].count("/token") == 2
