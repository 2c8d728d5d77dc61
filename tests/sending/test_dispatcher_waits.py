"""What may change while a send waits for its slot, and what a provider outage does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, func, insert, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, outbound_messages, patients, reminders
from outreach.sending.breaker import Breaker
from outreach.sending.dispatcher import Dispatcher
from outreach.sending.outcome import DispatchReport
from outreach.texts.render import Renderer
from outreach.transports import SendError
from tests.support.patients import enrol
from tests.support.reminders import MORNING, add_reminder, reminder
from tests.support.transport import RecordingTransport


class SlowSlot:
    """A send slot that takes a while: `meanwhile` runs during the wait."""

    def __init__(self, meanwhile: Callable[[], object]) -> None:
        self.meanwhile = meanwhile

    def acquire(self) -> float:
        self.meanwhile()
        return 1.0


def waiting_dispatcher(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    transport: RecordingTransport,
    meanwhile: Callable[[], object],
) -> Dispatcher:
    return Dispatcher(
        engine, settings, clock, transport, renderer, "w-1", rate_limiter=SlowSlot(meanwhile)
    )


def outbound_count(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(outbound_messages)).scalar_one())


def test_an_opt_out_that_arrives_during_the_wait_stops_the_send(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    patient_id = enrol(engine, settings, clock.now())
    reminder_id = add_reminder(engine, patient_id)
    transport = RecordingTransport()

    def patient_texts_stop() -> None:
        with engine.begin() as conn:
            conn.execute(update(patients).values(opted_out=True))

    report = waiting_dispatcher(
        engine, settings, clock, renderer, transport, patient_texts_stop
    ).run()

    assert transport.sent == []
    assert report.skipped == {"opted_out": 1}
    assert (reminder(engine, reminder_id).state, reminder(engine, reminder_id).skip_reason) == (
        "skipped",
        "opted_out",
    )
    assert outbound_count(engine) == 0, "the unsent text leaves no row behind"


def test_a_session_reminder_whose_session_starts_during_the_wait_is_not_sent_late(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    patient_id = enrol(engine, settings, clock.now())
    starts_at = MORNING + timedelta(seconds=30)
    with engine.begin() as conn:
        appointment_id = conn.execute(
            insert(appointment_table)
            .values(patient_id=patient_id, starts_at=starts_at, updated_at=MORNING)
            .returning(appointment_table.c.id)
        ).scalar_one()
    reminder_id = add_reminder(
        engine,
        patient_id,
        kind="session",
        occurrence="late-session",
        appointment_id=appointment_id,
        expires_at=starts_at,
    )
    transport = RecordingTransport()

    report = waiting_dispatcher(
        engine, settings, clock, renderer, transport, lambda: clock.advance(timedelta(minutes=1))
    ).run()

    assert transport.sent == []
    assert report.skipped == {"event_passed": 1}
    assert reminder(engine, reminder_id).skip_reason == "event_passed"


def test_a_claim_taken_over_during_the_wait_is_left_to_its_new_owner(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    patient_id = enrol(engine, settings, clock.now())
    reminder_id = add_reminder(engine, patient_id)
    transport = RecordingTransport()

    def lease_runs_out_and_another_worker_claims() -> None:
        clock.advance(timedelta(seconds=settings.lease_seconds + 1))
        with engine.begin() as conn:
            conn.execute(
                update(reminders)
                .where(reminders.c.id == reminder_id)
                .values(claimed_by="w-2", lease_until=clock.now() + timedelta(minutes=2))
            )

    report = waiting_dispatcher(
        engine, settings, clock, renderer, transport, lease_runs_out_and_another_worker_claims
    ).run()

    assert transport.sent == []
    assert report.lost == 1
    assert reminder(engine, reminder_id).claimed_by == "w-2"


def test_a_wait_that_changes_nothing_sends_and_renews_the_lease(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    patient_id = enrol(engine, settings, clock.now())
    reminder_id = add_reminder(engine, patient_id)
    transport = RecordingTransport()

    report = waiting_dispatcher(
        engine, settings, clock, renderer, transport, lambda: clock.advance(timedelta(seconds=5))
    ).run()

    assert report.sent == 1
    assert len(transport.sent) == 1
    assert reminder(engine, reminder_id).state == "sent"


def test_an_outage_pauses_sending_and_hands_back_claims_with_their_attempts(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    ids = [
        add_reminder(
            engine,
            enrol(engine, settings, clock.now(), patient_id=f"P{n}", phone=f"+1617555{n:04d}"),
        )
        for n in range(12)
    ]
    transport = RecordingTransport()
    transport.failures = [SendError("Twilio 503", permanent=False, code=None)] * 20
    worker = Dispatcher(engine, settings, clock, transport, renderer, "w-1")

    report = worker.run()

    # Five failures in a row open the breaker; the rest are handed back untried.
    assert report.deferred == 5
    assert report.released == 7
    assert worker.breaker.is_open
    states = [reminder(engine, rid) for rid in ids]
    assert sorted(r.attempts for r in states) == [0] * 7 + [1] * 5
    assert {r.state for r in states} == {"pending"}
    assert worker.run().claimed == 0, "nothing is claimed while paused"


def run_for_at_most(worker: Dispatcher, seconds: float) -> DispatchReport:
    """One run, stopped after `seconds` if it has not ended by itself: a breaker that never
    lets its probe go would otherwise claim and hand back the same reminder forever."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return worker.run(stop)
    finally:
        timer.cancel()


def test_after_the_pause_the_probe_is_sent_and_a_good_answer_resumes_sending(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    ids = [
        add_reminder(
            engine,
            enrol(engine, settings, clock.now(), patient_id=f"P{n}", phone=f"+1617555{n:04d}"),
        )
        for n in range(8)
    ]
    transport = RecordingTransport()
    transport.failures = [SendError("Twilio 503", permanent=False, code=None)] * 5
    now = [0.0]
    worker = Dispatcher(engine, settings, clock, transport, renderer, "w-1")
    worker.breaker = Breaker(settings.outage_pause_seconds, monotonic=lambda: now[0])
    worker.run()
    assert worker.breaker.is_open and transport.sent == []

    now[0] += settings.outage_pause_seconds  # the pause is over: the provider is back
    clock.advance(timedelta(minutes=10))  # past the failed ones' backoff
    report = run_for_at_most(worker, seconds=10)

    assert report.sent == len(ids), "the probe went, then everything else"
    assert not worker.breaker.is_open
    assert {reminder(engine, rid).state for rid in ids} == {"sent"}


def test_a_probe_that_finds_nothing_due_lets_a_later_one_go(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clock.set(MORNING)
    ids = [
        add_reminder(
            engine,
            enrol(engine, settings, clock.now(), patient_id=f"P{n}", phone=f"+1617555{n:04d}"),
        )
        for n in range(5)
    ]
    transport = RecordingTransport()
    transport.failures = [SendError("Twilio 503", permanent=False, code=None)] * 5
    now = [0.0]
    worker = Dispatcher(engine, settings, clock, transport, renderer, "w-1")
    worker.breaker = Breaker(settings.outage_pause_seconds, monotonic=lambda: now[0])
    worker.run()  # all five fail and wait for their retry; the breaker opens
    now[0] += settings.outage_pause_seconds

    assert worker.run().claimed == 0, "the pause is over, but nothing is due yet"
    clock.advance(timedelta(minutes=10))
    report = run_for_at_most(worker, seconds=10)

    assert report.sent == len(ids), "a probe went once something was due"
    assert {reminder(engine, rid).state for rid in ids} == {"sent"}
