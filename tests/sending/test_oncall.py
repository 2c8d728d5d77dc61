"""Urgent escalations page the clinic's on-call phone once, within a tick."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations, outbound_messages
from outreach.rules.privacy import diagnosis_words
from outreach.rules.vocabulary import Severity
from outreach.sending import oncall
from outreach.sending.oncall import notify_urgent
from outreach.texts.render import Renderer
from outreach.texts.smslength import measure
from outreach.transports import SendError
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport

ON_CALL = "+16175550199"


def escalate(
    engine: Engine,
    patient_id: int,
    clock: ManualClock,
    severity: str = Severity.URGENT,
    reason: str = "foot_open_sore",
    detail: str = "open sore, bleeding or pus",
) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(escalations)
                .values(
                    patient_id=patient_id,
                    severity=severity,
                    reason=reason,
                    detail=detail,
                    created_at=clock.now(),
                )
                .returning(escalations.c.id)
            ).scalar_one()
        )


def test_an_urgent_escalation_texts_the_on_call_phone_once(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    patient_id = enrol(engine, settings, clock.now())
    escalate(engine, patient_id, clock)
    escalate(engine, patient_id, clock, severity=Severity.ROUTINE)
    transport = RecordingTransport()

    first = notify_urgent(engine, settings, renderer, transport, clock.now())
    again = notify_urgent(engine, settings, renderer, transport, clock.now())

    assert (first, again) == (1, 0)
    [page] = transport.sent
    assert page.to == ON_CALL
    assert "P-1" in page.body and "open sore" in page.body
    assert "Ana" not in page.body and "Torres" not in page.body, "no names in a text"
    with engine.begin() as conn:
        row = conn.execute(
            select(outbound_messages).where(outbound_messages.c.to_phone == ON_CALL)
        ).one()
    assert row.patient_id is None and not row.counts_toward_cap and row.status == "queued"


def test_a_failed_page_is_tried_again_on_the_next_tick(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    patient_id = enrol(engine, settings, clock.now())
    escalate(engine, patient_id, clock)
    transport = RecordingTransport()
    transport.failures = [SendError("busy", permanent=False, code="20429")]

    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0
    clock.advance(timedelta(seconds=30))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 1
    assert len(transport.sent) == 1


def test_without_an_on_call_phone_nothing_is_paged(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    patient_id = enrol(engine, settings, clock.now())
    escalate(engine, patient_id, clock)
    transport = RecordingTransport()

    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0
    assert transport.sent == []


def test_a_page_whose_answer_was_lost_is_looked_up_not_sent_again(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    escalate(engine, enrol(engine, settings, clock.now()), clock)
    transport = RecordingTransport()
    # Twilio took the text, but the answer never came back.
    transport.failures = [SendError("timed out", permanent=False, code="accepted", uncertain=True)]

    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0
    clock.advance(timedelta(seconds=30))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 1
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0

    assert len(transport.sent) == 1, "the phone is paged once"
    with engine.begin() as conn:
        rows = conn.execute(select(outbound_messages.c.status, outbound_messages.c.provider_sid))
        assert [(status, sid is not None) for status, sid in rows] == [("sent", True)]


def test_a_page_left_unsent_by_a_worker_that_died_goes_out_after_a_lease(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    escalate(engine, enrol(engine, settings, clock.now()), clock)
    transport = RecordingTransport()

    def worker_dies(_message: object) -> None:
        raise SystemExit("killed")

    transport.on_send = worker_dies
    with pytest.raises(SystemExit):
        notify_urgent(engine, settings, renderer, transport, clock.now())
    transport.on_send = None
    clock.advance(timedelta(seconds=10))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0, (
        "a page still within its lease may yet be sent by its worker"
    )
    clock.advance(timedelta(seconds=settings.lease_seconds))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 1
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0

    [page] = transport.sent
    assert page.to == ON_CALL


def page_for(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    severity: Severity,
    reason: str,
    detail: str,
) -> str:
    """The text the on-call phone gets for one escalation."""
    settings = replace(settings, on_call_phone=ON_CALL)
    escalate(engine, enrol(engine, settings, clock.now()), clock, severity, reason, detail)
    transport = RecordingTransport()
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 1
    [page] = transport.sent
    return page.body


def test_an_emergency_page_says_emergency_and_to_call_now(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    body = page_for(
        engine,
        settings,
        clock,
        renderer,
        Severity.EMERGENCY,
        "chest_pain",
        'chest pain: "chest feels tight"; trouble breathing: "cant breathe"',
    )

    assert body == (
        'Riverside PT: EMERGENCY - patient P-1 reports: chest pain: "chest feels tight"; '
        'trouble breathing: "cant breathe". Please call them now.'
    )
    assert measure(body).segments == 1


def test_an_urgent_page_says_urgent_and_to_call_today(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    body = page_for(
        engine, settings, clock, renderer, Severity.URGENT, "bleeding", 'bleeding: "bleeding"'
    )

    assert body == (
        'Riverside PT: URGENT - patient P-1 reports: bleeding: "bleeding". Please call them today.'
    )


@pytest.mark.parametrize(
    ("reason", "detail", "why"),
    [
        ("open_wound", 'open wound: "ulcer"', "a diagnosis word in the patient's words"),
        (
            "fall_with_injury",
            'fall: "me caí en la cocina"; hurt after fall: "me pegué en la cabeza y sangra"',
            "accents outside GSM-7: the text would be UCS-2, two segments",
        ),
        ("cold_pale_foot", "cold, pale foot: " + '"my foot is cold and white", ' * 5, "too long"),
    ],
)
def test_a_page_whose_details_cannot_go_in_one_private_text_names_the_reason_instead(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    reason: str,
    detail: str,
    why: str,
) -> None:
    body = page_for(engine, settings, clock, renderer, Severity.EMERGENCY, reason, detail)

    words = reason.replace("_", " ")
    assert body == f"Riverside PT: EMERGENCY - patient P-1 reports: {words}. Please call them now."
    assert (measure(body).encoding, measure(body).segments) == ("GSM-7", 1), why
    assert diagnosis_words(body) == [], why
    assert "Ana" not in body and "Torres" not in body, "no names in a text"


class DiesInTheLookup(RecordingTransport):
    """A worker killed while it asks the provider whether a page went (the first time)."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def find_sent(self, message: Any, since: datetime) -> Any:
        self.lookups += 1
        if self.lookups == 1:
            raise SystemExit("killed")
        return super().find_sent(message, since)


def page_row(engine: Engine) -> Any:
    with engine.begin() as conn:
        return conn.execute(
            select(outbound_messages).where(outbound_messages.c.to_phone == ON_CALL)
        ).one()


def test_a_page_left_resending_by_a_worker_that_died_is_resumed_after_a_lease(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    escalate(engine, enrol(engine, settings, clock.now()), clock)
    transport = DiesInTheLookup()
    # Twilio never took it, and its answer never came: "unknown", resumed on the next tick.
    transport.failures = [SendError("timed out", permanent=False, code="network", uncertain=True)]
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0
    clock.advance(timedelta(seconds=30))
    taken_at = clock.now()
    with pytest.raises(SystemExit):
        notify_urgent(engine, settings, renderer, transport, clock.now())
    assert (page_row(engine).status, page_row(engine).claimed_at) == ("resending", taken_at)

    clock.advance(timedelta(seconds=settings.lease_seconds - 1))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0, (
        "a page still within its lease may yet be sent by the worker resending it"
    )
    assert transport.lookups == 1
    clock.advance(timedelta(seconds=2))
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 1
    assert notify_urgent(engine, settings, renderer, transport, clock.now()) == 0

    assert transport.lookups == 2, "looked up again before sending"
    [page] = transport.sent
    row = page_row(engine)
    assert row.provider_sid == f"SM{page.message_id:032d}" and row.status == "queued"


def test_two_workers_that_saw_the_same_stale_page_do_not_both_resume_it(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    settings = replace(settings, on_call_phone=ON_CALL)
    escalate(engine, enrol(engine, settings, clock.now()), clock)
    transport = DiesInTheLookup()
    transport.failures = [SendError("timed out", permanent=False, code="network", uncertain=True)]
    notify_urgent(engine, settings, renderer, transport, clock.now())
    with pytest.raises(SystemExit):
        notify_urgent(engine, settings, renderer, transport, clock.now())
    clock.advance(timedelta(seconds=settings.lease_seconds + 1))
    seen = page_row(engine)  # both workers read it, stale, before either takes it

    first = oncall._resume(engine, transport, clock.now(), seen)
    second = oncall._resume(engine, transport, clock.now(), seen)

    assert (first, second) == (True, False)
    assert len(transport.sent) == 1
