"""The dispatcher: exclusive claims, guards at send time, honest records, clean stops."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import outbound_messages, patients, reminders
from outreach.planning.planner import plan_due
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from outreach.transports import Outgoing, SendError
from outreach.transports.console import ConsoleTransport
from tests.support.patients import enrol
from tests.support.reminders import MORNING, add_reminder, reminder
from tests.support.transport import RecordingTransport


def dispatcher(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, transport: Any
) -> Dispatcher:
    return Dispatcher(engine, settings, clock, transport, renderer, worker_id="test-worker")


@pytest.fixture
def morning(clock: ManualClock) -> ManualClock:
    clock.set(MORNING)
    return clock


def test_a_due_reminder_is_rendered_sent_and_recorded(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(engine, patient_id)
    printed = io.StringIO()

    report = dispatcher(engine, settings, morning, renderer, ConsoleTransport(printed)).run()

    assert report.sent == 1
    assert reminder(engine, reminder_id).state == "sent"
    with engine.begin() as conn:
        message = conn.execute(
            select(outbound_messages).where(outbound_messages.c.reminder_id == reminder_id)
        ).one()
    assert message.status == "sent" and message.provider_sid.startswith("CONSOLE")
    assert message.body.startswith("Riverside PT:") and "foot check" in message.body
    assert message.prompt == "foot_check" and message.reply_until > morning.now()
    assert "+1******0142" in printed.getvalue() and "+16175550142" not in printed.getvalue()


def test_it_sends_nothing_to_a_patient_who_opted_out_after_planning(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(engine, patient_id)
    with engine.begin() as conn:
        conn.execute(update(patients).values(opted_out=True))
    transport = RecordingTransport()

    report = dispatcher(engine, settings, morning, renderer, transport).run()

    assert transport.sent == []
    assert report.skipped == {"opted_out": 1}
    assert (reminder(engine, reminder_id).state, reminder(engine, reminder_id).skip_reason) == (
        "skipped",
        "opted_out",
    )


def test_only_the_consent_text_goes_before_consent(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now(), consent=False)
    add_reminder(engine, patient_id)
    transport = RecordingTransport()

    report = dispatcher(engine, settings, morning, renderer, transport).run()

    assert report.skipped == {"no_consent": 1}
    assert len(transport.sent) == 1 and "YES" in transport.sent[0].body


def test_a_reminder_due_in_quiet_hours_waits_for_morning(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # 22:00 in New York
    patient_id = enrol(engine, settings, clock.now())
    reminder_id = add_reminder(
        engine,
        patient_id,
        send_at=clock.now(),
        expires_at=clock.now() + timedelta(hours=20),
    )
    transport = RecordingTransport()

    report = dispatcher(engine, settings, clock, renderer, transport).run()

    assert transport.sent == [] and report.deferred == 1
    row = reminder(engine, reminder_id)
    assert row.state == "pending"
    assert row.send_at == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 New York


def test_a_patients_own_quiet_hours_hold_a_reminder_the_clinics_would_send(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    # 09:00 in New York: the clinic's quiet hours ended at 08:00, this patient's end at 10:00.
    patient_id = enrol(
        engine, settings, morning.now(), quiet_hours="20:00-10:00", foot_check_time="10:30"
    )
    reminder_id = add_reminder(engine, patient_id)
    transport = RecordingTransport()

    report = dispatcher(engine, settings, morning, renderer, transport).run()

    assert transport.sent == [] and report.deferred == 1
    assert reminder(engine, reminder_id).send_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_a_session_reminder_is_never_sent_after_the_session_started(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(
        engine,
        patient_id,
        kind="session",
        occurrence="appt:x:24h",
        send_at=morning.now() - timedelta(hours=3),
        expires_at=morning.now() - timedelta(minutes=1),
    )
    transport = RecordingTransport()

    dispatcher(engine, settings, morning, renderer, transport).run()

    assert transport.sent == []
    assert reminder(engine, reminder_id).skip_reason == "event_passed"


def test_the_daily_cap_keeps_room_for_a_later_session_reminder(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    for n in range(2):
        add_reminder(engine, patient_id, occurrence=f"2026-11-2{n}", send_at=morning.now())
    later = morning.now() + timedelta(hours=2)
    add_reminder(
        engine,
        patient_id,
        kind="session",
        occurrence="appt:1:24h",
        send_at=later,
        expires_at=later + timedelta(hours=24),
    )
    exercise = add_reminder(engine, patient_id, kind="exercise", send_at=morning.now())
    transport = RecordingTransport()

    report = dispatcher(engine, settings, morning, renderer, transport).run()

    assert report.sent == 2 and report.skipped == {"daily_cap": 1}
    assert reminder(engine, exercise).skip_reason == "daily_cap"


def test_two_dispatchers_never_claim_the_same_reminder(
    database_url: str, engine: Engine, settings: Settings, morning: ManualClock
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    ids = {add_reminder(engine, patient_id, occurrence=f"k{n}") for n in range(60)}
    claims: dict[str, list[int]] = {}

    def claim(worker: str) -> None:
        own = make_engine(database_url)
        mine = Dispatcher(own, settings, morning, RecordingTransport(), None, worker)  # type: ignore[arg-type]
        got: list[int] = []
        while batch := mine.claim(7):
            got += batch
        claims[worker] = got
        own.dispose()

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [i for got in claims.values() for i in got]
    assert sorted(everything) == sorted(ids), "each reminder claimed exactly once"


def test_stopping_gives_back_claims_it_did_not_attempt(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    with engine.begin() as conn:
        conn.execute(reminders.delete())
    for n in range(3):
        add_reminder(engine, patient_id, occurrence=f"k{n}")
    stop = threading.Event()
    transport = RecordingTransport()
    transport.on_send = lambda _message: stop.set()

    report = dispatcher(engine, settings, morning, renderer, transport).run(stop)

    assert (report.sent, report.released) == (1, 2)
    with engine.begin() as conn:
        states = sorted(conn.execute(select(reminders.c.state, reminders.c.attempts)).all())
    assert states == [("pending", 0), ("pending", 0), ("sent", 1)]


def test_transient_errors_are_retried_later_and_permanent_ones_are_not(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    transient = add_reminder(engine, patient_id, occurrence="a")
    permanent = add_reminder(engine, patient_id, occurrence="b")
    transport = RecordingTransport()
    transport.failures = [
        SendError("try later", permanent=False, code="30003"),
        SendError("landline", permanent=True, code="21614"),
    ]

    dispatcher(engine, settings, morning, renderer, transport).run()

    retry = reminder(engine, transient)
    assert retry.state == "pending" and retry.send_at == morning.now() + timedelta(minutes=2)
    failed = reminder(engine, permanent)
    assert (failed.state, failed.skip_reason) == ("failed", "provider_21614")

    morning.advance(timedelta(minutes=2))
    dispatcher(engine, settings, morning, renderer, transport).run()
    assert reminder(engine, transient).state == "sent"
    assert len(transport.sent) == 1


@pytest.mark.parametrize(
    ("provider_sid", "status", "provider_has_it", "sends"),
    [
        (None, None, False, 1),  # died before writing the message: nothing left, send it
        ("SM123", "queued", False, 0),  # died after the provider answered: it went out
        (None, "pending", True, 0),  # died mid-call, the provider took it: found, not resent
        (None, "pending", False, 1),  # died mid-call, the provider never got it: sent once
    ],
)
def test_an_expired_claim_is_settled_from_the_evidence_it_left(
    engine: Engine,
    settings: Settings,
    morning: ManualClock,
    renderer: Renderer,
    provider_sid: str | None,
    status: str | None,
    provider_has_it: bool,
    sends: int,
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(
        engine,
        patient_id,
        state="claimed",
        claimed_by="dead-worker",
        lease_until=morning.now() - timedelta(seconds=1),
        attempts=1,
    )
    transport = RecordingTransport()
    if status is not None:
        with engine.begin() as conn:
            message_id = conn.execute(
                insert(outbound_messages)
                .values(
                    patient_id=patient_id,
                    reminder_id=reminder_id,
                    template="foot_check",
                    to_phone="+16175550142",
                    body="Riverside PT: the text the dead worker was sending",
                    encoding="GSM-7",
                    segments=1,
                    counts_toward_cap=True,
                    provider="test",
                    provider_sid=provider_sid,
                    status=status,
                    created_at=morning.now(),
                )
                .returning(outbound_messages.c.id)
            ).scalar_one()
        if provider_has_it:
            transport.sent.append(
                Outgoing(
                    message_id, "+16175550142", "Riverside PT: the text the dead worker was sending"
                )
            )
    already = len(transport.sent)

    dispatcher(engine, settings, morning, renderer, transport).run()

    assert len(transport.sent) - already == sends
    assert reminder(engine, reminder_id).state == "sent"
    with engine.begin() as conn:
        statuses = conn.execute(select(outbound_messages.c.status)).scalars().all()
    assert statuses.count("unknown") == 0, "every uncertain send was looked up"


def test_a_send_whose_answer_was_lost_is_found_not_sent_twice(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(engine, patient_id)
    transport = RecordingTransport()
    transport.failures = [SendError("taken", permanent=False, code="accepted", uncertain=True)]

    first = dispatcher(engine, settings, morning, renderer, transport).run()
    morning.advance(timedelta(minutes=2))
    second = dispatcher(engine, settings, morning, renderer, transport).run()

    assert (first.deferred, second.sent) == (1, 1)
    assert len(transport.sent) == 1, "the provider got it once and was never asked again"
    assert reminder(engine, reminder_id).state == "sent"


def test_a_number_twilio_knows_as_unsubscribed_is_opted_out(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, morning.now())
    reminder_id = add_reminder(engine, patient_id)
    later = add_reminder(
        engine, patient_id, occurrence="tomorrow", send_at=MORNING + timedelta(days=1)
    )
    transport = RecordingTransport()
    transport.failures = [SendError("unsubscribed", permanent=True, code="21610")]

    dispatcher(engine, settings, morning, renderer, transport).run()

    with engine.begin() as conn:
        assert conn.execute(select(patients.c.opted_out)).scalar_one() is True
    assert reminder(engine, reminder_id).skip_reason == "provider_21610"
    assert (reminder(engine, later).state, reminder(engine, later).skip_reason) == (
        "skipped",
        "opted_out",
    )


def test_overlapping_sends_hold_the_rate_and_send_each_reminder_once(
    engine: Engine, settings: Settings, morning: ManualClock, renderer: Renderer
) -> None:
    from outreach.sending.ratelimit import RateLimiter

    ids = [
        enrol(engine, settings, morning.now(), patient_id=f"P{n}", phone=f"+1617555{n:04d}")
        for n in range(12)
    ]
    for patient_id in ids:
        add_reminder(engine, patient_id)
    slots: list[float] = []

    class Recording(RateLimiter):
        def acquire(self) -> float:
            slot = super().acquire()
            slots.append(slot)
            return slot

    worker = Dispatcher(
        engine, settings, morning, RecordingTransport(), renderer, "w", Recording(40), 6
    )
    started = time.monotonic()

    report = worker.run()

    assert report.sent == 12
    assert len(worker.transport.sent) == 12  # type: ignore[attr-defined]
    assert len({m.to for m in worker.transport.sent}) == 12  # type: ignore[attr-defined]
    gaps = [b - a for a, b in pairwise(sorted(slots))]
    assert min(gaps) >= 1 / 40 - 1e-9, "slots are never closer than the rate allows"
    assert time.monotonic() - started >= 11 / 40


def test_a_planned_day_goes_out_at_the_planned_local_times(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    transport = RecordingTransport()
    sent_at: list[datetime] = []
    transport.on_send = lambda _message: sent_at.append(clock.now())
    worker = dispatcher(engine, settings, clock, renderer, transport)
    end = clock.now() + timedelta(days=2)
    while clock.now() < end:
        worker.run()
        clock.advance(timedelta(minutes=15))

    local = [t.astimezone(settings.clinic_zone).strftime("%a %H:%M") for t in sent_at]
    # Mon 23 Nov: the foot check. Tue: foot check, the reminder for Wednesday's 10:00
    # session, 24 hours ahead, and the exercises at 17:00.
    assert local == ["Mon 08:30", "Tue 08:30", "Tue 10:00", "Tue 17:00"]
    assert all(isinstance(m, Outgoing) for m in transport.sent)
