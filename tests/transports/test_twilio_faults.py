"""Twilio misbehaving, over real HTTP: every reminder still goes out exactly once, or fails
for a recorded reason, and never twice. FakeTwilio's own record is the judge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings, TwilioCredentials
from outreach.db.tables import consent_events, patients, reminders
from outreach.planning.planner import plan_due
from outreach.sending.dispatcher import Dispatcher
from outreach.testing.twilio_records import FakeMessage
from outreach.texts.render import Renderer
from outreach.transports import Outgoing, Receipt
from outreach.transports.twilio import TwilioTransport
from tests.support.patients import enrol
from tests.support.twilio import FOOT_CHECK_AT, PATIENT, Clinic, twilio_clinic

FIRST_BACKOFF = timedelta(minutes=2)  # 2 ** attempts minutes after the first attempt
# Outlasts the client's 1 s timeout (final_creates cuts what is left of it short).
HANG = 2.0


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Clinic]:
    with twilio_clinic(engine, settings, clock, renderer) as c:
        yield c


@pytest.fixture
def foot_check_due(clinic: Clinic) -> int:
    """One consented patient whose first foot check is due now; returns the reminder's id."""
    patient_id = enrol(clinic.engine, clinic.settings, clinic.clock.now())
    clinic.service.tick()  # plans; 07:00 in Boston, so nothing is sent yet
    clinic.clock.set(FOOT_CHECK_AT)
    with clinic.engine.begin() as conn:
        return int(
            conn.execute(
                select(reminders.c.id).where(
                    reminders.c.patient_id == patient_id,
                    reminders.c.kind == "foot_check",
                    reminders.c.send_at == FOOT_CHECK_AT,
                )
            ).scalar_one()
        )


def wait_for_accepted(clinic: Clinic, timeout: float = 5) -> FakeMessage:
    deadline = time.monotonic() + timeout
    while not clinic.fake.messages:
        assert time.monotonic() < deadline, "FakeTwilio never accepted the create"
        time.sleep(0.01)
    [taken] = clinic.fake.messages
    return taken


def reminder(clinic: Clinic, reminder_id: int) -> Any:
    with clinic.engine.begin() as conn:
        return conn.execute(select(reminders).where(reminders.c.id == reminder_id)).one()


def accepted_bodies(clinic: Clinic, to: str = PATIENT) -> list[str]:
    return [m.body for m in clinic.fake.sent_to(to)]


# -- transient errors ----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(503, "20503"), (429, "20429"), (500, "20500")])
def test_a_transient_error_is_retried_after_the_backoff_and_delivered_once(
    clinic: Clinic, foot_check_due: int, status: int, code: str
) -> None:
    clinic.fake.fail_next(status=status)

    first = clinic.dispatch()

    assert (first.deferred, clinic.fake.messages) == (1, [])
    [refused] = clinic.outbound()
    assert (refused.status, refused.error_code) == ("failed", code)

    clinic.clock.advance(FIRST_BACKOFF - timedelta(seconds=1))
    assert clinic.dispatch().claimed == 0, "not before the backoff"
    clinic.clock.advance(timedelta(seconds=1))
    second = clinic.dispatch()

    assert second.sent == 1
    [body] = accepted_bodies(clinic)
    assert "foot check" in body
    assert len(clinic.creates()) == 2, "one refused, one accepted: no hidden retries"
    refused, accepted = clinic.outbound()
    assert accepted.provider_sid == clinic.fake.messages[0].sid
    assert reminder(clinic, foot_check_due).state == "sent"


def test_a_provider_outage_then_recovery_drains_everything_exactly_once(
    clinic: Clinic, foot_check_due: int
) -> None:
    phones = [PATIENT, "+16175550143", "+16175550144"]
    for n, phone in enumerate(phones[1:], start=2):
        enrol(clinic.engine, clinic.settings, clinic.clock.now(), patient_id=f"P-{n}", phone=phone)
    plan_due(clinic.engine, clinic.settings, clinic.clock.now())

    with clinic.fake.outage():
        clinic.dispatch()
        clinic.clock.advance(FIRST_BACKOFF)
        clinic.dispatch()
    assert clinic.fake.messages == []
    assert len(clinic.creates()) == 2 * len(phones)

    clinic.clock.advance(2 * FIRST_BACKOFF)
    report = clinic.dispatch()

    assert report.sent == len(phones)
    assert sorted(m.to for m in clinic.fake.messages) == sorted(phones)
    assert len(clinic.creates()) == 3 * len(phones)
    clinic.clock.advance(timedelta(hours=1))
    assert clinic.dispatch().claimed == 0
    assert len(clinic.fake.messages) == len(phones)


class CountingDispatcher(Dispatcher):
    """A dispatcher that keeps the size of every claim it makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims: list[int] = []

    def claim(self, limit: int) -> list[int]:
        claimed = super().claim(limit)
        self.claims.append(len(claimed))
        return claimed


def test_two_workers_and_a_slow_twilio_send_each_reminder_exactly_once(
    clinic: Clinic, foot_check_due: int
) -> None:
    phones = [PATIENT, *(f"+1617555{n:04d}" for n in range(150, 157))]
    for n, phone in enumerate(phones[1:], start=2):
        enrol(clinic.engine, clinic.settings, clinic.clock.now(), patient_id=f"P-{n}", phone=phone)
    plan_due(clinic.engine, clinic.settings, clinic.clock.now())
    clinic.fake.set_latency(100)
    # Small batches, so the two workers claim turn about while sends are in flight.
    settings = replace(clinic.settings, batch_size=2)
    credentials = TwilioCredentials(clinic.fake.account_sid, clinic.fake.auth_token)
    workers = [
        CountingDispatcher(
            clinic.engine,
            settings,
            clinic.clock,
            TwilioTransport(settings, credentials),
            clinic.renderer,
            f"worker-{n}",
            concurrency=2,
        )
        for n in (1, 2)
    ]

    with ThreadPoolExecutor(len(workers)) as pool:
        reports = list(pool.map(lambda worker: worker.run(), workers))

    assert sum(r.sent for r in reports) == len(phones)
    assert sorted(m.to for m in clinic.fake.messages) == sorted(phones)
    assert len(clinic.creates()) == len(phones)
    # A claim past its batch leaves the other workers idle, and at one text a second it
    # outlasts its lease: another worker then recovers texts still being sent.
    assert max(size for worker in workers for size in worker.claims) <= settings.batch_size


# -- permanent errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        21211,  # not a valid phone number
        21614,  # not a mobile number
        30007,  # filtered by the carrier: the same text would be filtered again
    ],
)
def test_a_permanent_error_fails_the_reminder_with_its_reason_and_is_not_retried(
    clinic: Clinic, foot_check_due: int, code: int
) -> None:
    clinic.fake.fail_next(status=400, code=code)

    report = clinic.dispatch()
    clinic.clock.advance(timedelta(hours=1))
    clinic.dispatch()

    assert report.failed == 1
    failed = reminder(clinic, foot_check_due)
    assert (failed.state, failed.skip_reason) == ("failed", f"provider_{code}")
    [row] = clinic.outbound()
    assert (row.status, row.error_code) == ("failed", str(code))
    assert len(clinic.creates()) == 1 and clinic.fake.messages == []


def test_a_number_twilio_says_opted_out_is_opted_out_and_sent_nothing_more(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.fail_when(lambda form: form["To"] == PATIENT, code=21610)

    clinic.dispatch()
    # Three days of ticks: foot checks, exercises and session reminders would all be due.
    for _ in range(3 * 24 * 4):
        clinic.clock.advance(timedelta(minutes=15))
        clinic.service.tick()

    assert len(clinic.creates(to=PATIENT)) == 1
    assert clinic.fake.messages == []
    assert reminder(clinic, foot_check_due).skip_reason == "provider_21610"
    with clinic.engine.begin() as conn:
        assert conn.execute(select(patients.c.opted_out)).scalar_one() is True
        [event] = conn.execute(select(consent_events).where(consent_events.c.event == "opted_out"))
        pending = conn.execute(select(reminders).where(reminders.c.state == "pending")).all()
    assert (event.source, event.detail) == ("provider", "Twilio 21610")
    assert pending == []


# -- no answer -----------------------------------------------------------------------------


def test_a_create_that_timed_out_after_twilio_took_it_is_found_and_not_sent_again(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.hang_next(seconds=HANG, accept_then_hang=True)

    first = clinic.dispatch()

    assert first.deferred == 1
    [row] = clinic.outbound()
    assert (row.status, row.provider_sid) == ("unknown", None)
    [taken] = clinic.fake.messages

    clinic.clock.advance(FIRST_BACKOFF)
    second = clinic.dispatch()

    assert second.sent == 1
    assert clinic.lookups(), "Twilio's list was asked before any resend"
    assert len(clinic.fake.messages) == 1
    assert len(clinic.final_creates()) == 1, "never created again"
    [row] = clinic.outbound()
    assert row.provider_sid == taken.sid
    assert reminder(clinic, foot_check_due).state == "sent"


def test_a_timed_out_create_whose_callbacks_came_before_the_retry_is_not_sent_again(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.auto_status = ["sent", "delivered"]
    clinic.fake.hang_next(seconds=HANG, accept_then_hang=True)

    assert clinic.dispatch().deferred == 1
    # Twilio reports on a text it took whether or not its answer reached us.
    callbacks = clinic.fake.wait_for_callbacks(2, timeout=HANG + 2)
    assert [c.status_code for c in callbacks] == [204, 204]
    [taken] = clinic.fake.messages
    [row] = clinic.outbound()
    assert (row.status, row.provider_sid) == ("delivered", taken.sid)

    clinic.clock.advance(FIRST_BACKOFF)
    second = clinic.dispatch()

    assert len(clinic.fake.messages) == 1, "the text Twilio took is not sent again"
    assert second.sent == 1 and reminder(clinic, foot_check_due).state == "sent"
    [row] = clinic.outbound()
    assert (row.status, row.provider_sid) == ("delivered", taken.sid)


def test_callbacks_that_beat_a_lost_answer_are_kept_and_the_text_is_not_sent_again(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.hang_next(seconds=HANG, accept_then_hang=True)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(clinic.dispatch)
        taken = wait_for_accepted(clinic)
        # While our create still waits for its answer, Twilio reports on the text it took.
        assert clinic.fake.post_status(taken.sid, "sent")[0] == 204
        assert clinic.fake.post_status(taken.sid, "delivered")[0] == 204
        assert first.result().deferred + first.result().sent == 1

    clinic.clock.advance(FIRST_BACKOFF)
    clinic.dispatch()

    assert len(clinic.fake.messages) == 1, "the text Twilio took is not sent again"
    assert reminder(clinic, foot_check_due).state == "sent"
    [row] = clinic.outbound()
    assert (row.status, row.provider_sid) == ("delivered", taken.sid)
    # The foot check is still the question a reply answers.
    clinic.clock.advance(timedelta(minutes=5))
    [answer] = clinic.text("1")
    assert "Glad your feet look good" in answer


def test_a_create_that_timed_out_before_twilio_took_it_is_sent_once_more(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.hang_next(seconds=HANG)

    assert clinic.dispatch().deferred == 1
    assert clinic.fake.messages == []

    clinic.clock.advance(FIRST_BACKOFF)
    second = clinic.dispatch()

    assert second.sent == 1
    [taken] = clinic.fake.messages
    creates = clinic.final_creates()
    assert sorted(r.status for r in creates) == [0, 201], "one dropped, one accepted"
    lost, resent = clinic.outbound()
    assert (lost.status, lost.provider_sid) == ("failed", None)
    assert lost.error_message == "not found at the provider; sent again"
    assert resent.provider_sid == taken.sid
    assert reminder(clinic, foot_check_due).state == "sent"


def test_a_lookup_that_cannot_reach_twilio_defers_the_reminder_and_the_run_goes_on(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.fake.hang_next(seconds=HANG, accept_then_hang=True)
    assert clinic.dispatch().deferred == 1
    clinic.fake.stop()  # Twilio is unreachable when the lookup comes due
    clinic.clock.advance(FIRST_BACKOFF)

    report = clinic.dispatch()

    assert report.deferred == 1
    waiting = reminder(clinic, foot_check_due)
    assert (waiting.state, waiting.send_at > clinic.clock.now()) == ("pending", True)
    [row] = clinic.outbound()
    assert row.status == "unknown", "still to be looked up before any resend"


class WorkerKilled(BaseException):
    """Stands for kill -9: nothing after it runs, no handler of ours sees it."""


class DiesMidSend:
    """The real transport in a worker that dies during the send: after Twilio accepted the
    text (its answer never recorded), or before the request left."""

    name = "twilio"

    def __init__(self, inner: TwilioTransport, *, after_twilio_accepts: bool) -> None:
        self.inner = inner
        self.after_twilio_accepts = after_twilio_accepts

    def send(self, message: Outgoing) -> Receipt:
        if self.after_twilio_accepts:
            self.inner.send(message)
        raise WorkerKilled

    def find_sent(self, message: Outgoing, since: Any) -> Receipt | None:
        raise AssertionError("a dead worker looks nothing up")


@pytest.mark.parametrize(
    ("after_twilio_accepts", "status_callbacks"),
    [(True, False), (True, True), (False, False)],
    ids=["accepted", "accepted-and-callbacks-arrived", "never-reached-twilio"],
)
def test_a_worker_that_dies_mid_send_is_reconciled_without_a_duplicate_or_a_loss(
    clinic: Clinic, foot_check_due: int, after_twilio_accepts: bool, status_callbacks: bool
) -> None:
    if status_callbacks:
        clinic.fake.auto_status = ["sent"]
    doomed = clinic.dispatcher(
        "worker-1", DiesMidSend(clinic.transport, after_twilio_accepts=after_twilio_accepts)
    )
    with pytest.raises(WorkerKilled):
        doomed.run()
    if status_callbacks:
        clinic.fake.wait_for_callbacks(1)
    claimed = reminder(clinic, foot_check_due)
    assert (claimed.state, claimed.claimed_by) == ("claimed", "worker-1")

    clinic.clock.advance(timedelta(seconds=clinic.settings.lease_seconds // 2))
    assert clinic.dispatch("worker-2").claimed == 0, "a live lease is left alone"
    clinic.clock.advance(timedelta(seconds=clinic.settings.lease_seconds))
    report = clinic.dispatch("worker-2")

    assert report.recovered == 1
    assert len(clinic.fake.messages) == 1, "no duplicate, no loss"
    assert len(clinic.creates()) == 1, "by the dead worker or by its successor, not both"
    assert reminder(clinic, foot_check_due).state == "sent"
    [sid] = [m.sid for m in clinic.fake.messages]
    assert [r.provider_sid for r in clinic.outbound() if r.provider_sid] == [sid]


# -- status callbacks ----------------------------------------------------------------------


def test_status_callbacks_late_duplicated_or_out_of_order_leave_the_text_delivered(
    clinic: Clinic, foot_check_due: int
) -> None:
    clinic.dispatch()
    [sent] = clinic.fake.messages

    answers = [
        clinic.fake.post_status(sent.sid, status)
        for status in ("delivered", "sent", "delivered", "queued", "sending", "undelivered")
    ]

    assert [status for status, _ in answers] == [204] * 6
    [row] = clinic.outbound()
    assert (row.status, row.provider_sid) == ("delivered", sent.sid)
