"""Texts staff write: refused with the reason when they may not go, otherwise sent through the
same outbox, guards and record as every reminder, once, and in the thread with the writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    audit_events,
    outbound_messages,
    patients,
    reminders,
    staff_messages,
)
from outreach.inbox.texting import Refused
from outreach.staff import inbox as inboxview
from outreach.texts.render import Renderer, clean
from tests.inbox.support import Desk
from tests.support.patients import enrol

# Monday 23 November 2026, 10:00 in New York (15:00 UTC): outside quiet hours.
DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# 22:30 in New York: inside the clinic's quiet hours (21:00-08:00).
NIGHT = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    clock.set(DAYTIME)
    return Desk(engine, settings, clock, renderer)


@pytest.fixture
def ana(desk: Desk) -> int:
    return enrol(desk.engine, desk.settings, desk.clock.now())


def staff_bodies(desk: Desk) -> list[str]:
    return [m.body for m in desk.rows(outbound_messages, outbound_messages.c.template == "staff")]


def test_a_staff_text_goes_out_through_the_outbox_and_is_audited(desk: Desk, ana: int) -> None:
    queued = desk.text(ana, "Hi Ana, Thursday at 3 works. See you then!")

    assert not queued.waits and queued.send_at == desk.clock.now()
    assert "Hi Ana, Thursday at 3 works. See you then!" in desk.dispatch()
    [sent] = desk.rows(outbound_messages, outbound_messages.c.template == "staff")
    assert sent.status == "queued" and sent.provider_sid is not None
    assert sent.counts_toward_cap is False and sent.prompt is None
    [row] = desk.rows(reminders, reminders.c.id == queued.reminder_id)
    assert (row.kind, row.state) == ("staff", "sent")
    [entry] = desk.rows(audit_events, audit_events.c.action == "staff_text_sent")
    assert entry.username == "terry" and entry.patient_id == ana
    assert json.loads(entry.detail)["text"] == "Hi Ana, Thursday at 3 works. See you then!"


def test_the_thread_shows_the_staff_text_with_its_writers_name(desk: Desk, ana: int) -> None:
    desk.text(ana, "Hi Ana, call us when you can.")
    desk.dispatch()

    [text] = [t for t in inboxview.thread(desk.engine, ana) if t["staff"]]
    assert text["by"] == "Terry Therapist" and text["body"] == "Hi Ana, call us when you can."


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"opted_out": True}, "opted out"),
        ({"consent_state": "pending"}, "has not agreed to texts"),
        ({"phone": "+15555550100"}, "not a valid phone number"),
    ],
)
def test_a_text_that_may_not_go_is_refused_with_the_reason_and_nothing_is_stored(
    desk: Desk, ana: int, change: dict[str, object], reason: str
) -> None:
    with desk.engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == ana).values(**change))

    with pytest.raises(Refused, match=reason):
        desk.text(ana, "Hi Ana")

    assert desk.rows(staff_messages) == []
    assert desk.rows(reminders, reminders.c.kind == "staff") == []
    assert desk.rows(audit_events, audit_events.c.action == "staff_text_sent") == []


def test_a_number_the_network_said_cannot_take_texts_is_refused(desk: Desk, ana: int) -> None:
    desk.text(ana, "Hi Ana, first try")
    desk.dispatch()
    with desk.engine.begin() as conn:
        conn.execute(update(outbound_messages).values(status="failed", error_code="21614"))

    with pytest.raises(Refused, match="not a mobile number"):
        desk.text(ana, "Hi Ana, second try")


def test_a_patient_who_never_agreed_but_wrote_to_us_may_be_answered(desk: Desk) -> None:
    ana = enrol(desk.engine, desk.settings, desk.clock.now(), consent=False)
    desk.patient_writes("who is this?")

    desk.text(ana, "Hi, this is Riverside PT about your therapy sessions.")

    assert "Hi, this is Riverside PT about your therapy sessions." in desk.dispatch()


@pytest.mark.parametrize("body", ["", "   ", "x" * 1531])
def test_an_empty_or_overlong_text_is_refused(desk: Desk, ana: int, body: str) -> None:
    with pytest.raises(Refused):
        desk.text(ana, body)


def test_a_text_naming_a_diagnosis_is_refused(desk: Desk, ana: int) -> None:
    with pytest.raises(Refused, match="Neuropathy"):
        desk.text(ana, "About your Neuropathy results, call us")


def test_in_quiet_hours_a_text_waits_for_the_morning(desk: Desk, ana: int) -> None:
    desk.at(NIGHT)

    queued = desk.text(ana, "Your session tomorrow is moved to 11:00.")

    morning = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert queued.waits and queued.send_at == morning
    assert "Your session tomorrow is moved to 11:00." not in desk.dispatch()
    [waiting] = [t for t in inboxview.thread(desk.engine, ana) if t["staff"]]
    assert waiting["status"] == "waiting" and waiting["waits_until"] == morning
    desk.at(morning + timedelta(minutes=1))
    assert "Your session tomorrow is moved to 11:00." in desk.dispatch()


def test_an_answer_to_a_text_of_the_last_hour_goes_in_quiet_hours(desk: Desk, ana: int) -> None:
    desk.at(NIGHT)
    desk.patient_writes("can I come thursday at 3 instead?", after=timedelta(minutes=0))
    desk.clock.advance(timedelta(minutes=40))

    queued = desk.text(ana, "Yes, Thursday at 3 is yours.")

    assert not queued.waits
    assert "Yes, Thursday at 3 is yours." in desk.dispatch()


def test_an_answer_after_the_hour_waits_for_the_morning(desk: Desk, ana: int) -> None:
    desk.at(NIGHT)
    desk.patient_writes("can I come thursday at 3 instead?", after=timedelta(minutes=0))
    desk.clock.advance(timedelta(minutes=61))

    queued = desk.text(ana, "Yes, Thursday at 3 is yours.")

    assert queued.waits
    assert "Yes, Thursday at 3 is yours." not in desk.dispatch()


def test_an_opt_out_after_the_text_was_written_stops_it(desk: Desk, ana: int) -> None:
    desk.at(NIGHT)
    desk.text(ana, "Your session tomorrow is moved to 11:00.")
    desk.patient_writes("STOP")

    desk.at(datetime(2026, 11, 24, 13, 5, tzinfo=UTC))
    assert "Your session tomorrow is moved to 11:00." not in desk.dispatch()
    [text] = [t for t in inboxview.thread(desk.engine, ana) if t["staff"]]
    assert text["status"] == "not sent" and text["problem"] == "the patient opted out"


def test_a_paused_patient_still_gets_a_text_a_person_wrote(desk: Desk, ana: int) -> None:
    with desk.engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == ana).values(paused=True))

    desk.text(ana, "Hi Ana, glad you are feeling better.")

    assert "Hi Ana, glad you are feeling better." in desk.dispatch()


def test_a_form_sent_twice_texts_once(desk: Desk, ana: int) -> None:
    first = desk.text(ana, "Hi Ana, see you Thursday.", token="form-1")
    again = desk.text(ana, "Hi Ana, see you Thursday.", token="form-1")

    assert again.repeated and again.message_id == first.message_id
    assert desk.dispatch().count("Hi Ana, see you Thursday.") == 1
    assert len(desk.rows(staff_messages)) == 1


def test_a_staff_text_does_not_use_up_the_days_reminders(desk: Desk, ana: int) -> None:
    for n in range(desk.settings.daily_cap + 1):
        desk.text(ana, f"Message {n}")

    sent = desk.dispatch()

    assert all(f"Message {n}" in sent for n in range(desk.settings.daily_cap + 1))
    assert staff_bodies(desk) == [f"Message {n}" for n in range(desk.settings.daily_cap + 1)]


def test_the_report_shows_the_median_time_to_the_first_staff_reply(desk: Desk, ana: int) -> None:
    from datetime import date

    from outreach.staff import report
    from outreach.staff.report import DateRange

    desk.patient_writes("can I come thursday at 3 instead?")
    desk.clock.advance(timedelta(minutes=12))
    desk.text(ana, "Yes, Thursday at 3 is yours.")

    day = date(2026, 11, 23)
    built = report.build(
        desk.engine, desk.settings.clinic_zone, DateRange(day, day), desk.clock.now()
    )

    assert built.median_staff_reply == timedelta(minutes=12) and built.staff_replies == 1
    assert "median_time_to_first_staff_reply" in report.to_csv(built)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=1600) | st.text(st.characters(codec="utf-8"), max_size=200))
def test_any_text_is_refused_with_a_reason_or_queued_exactly_as_measured(
    desk: Desk, ana: int, body: str
) -> None:
    before = len(desk.rows(staff_messages))
    try:
        desk.text(ana, body)
    except Refused as exc:
        assert str(exc) and len(desk.rows(staff_messages)) == before
        return
    stored = desk.rows(staff_messages)[-1]
    assert stored.body == clean(body) and stored.body.strip()


def test_the_same_form_sent_twice_at_once_texts_once(desk: Desk, ana: int) -> None:
    import threading

    results: list[object] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        results.append(desk.text(ana, "Hi Ana, see you Thursday.", token="double-click"))

    clicks = [threading.Thread(target=send) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(timeout=30)

    assert len(results) == 2
    assert len(desk.rows(staff_messages)) == 1
    assert len(desk.rows(reminders, reminders.c.kind == "staff")) == 1
    assert len(desk.rows(audit_events)) == 1


def test_a_token_from_another_patients_form_is_refused(desk: Desk, ana: int) -> None:
    luz = enrol(
        desk.engine, desk.settings, desk.clock.now(), patient_id="P-2", phone="+16175550143"
    )
    desk.text(ana, "Hi Ana", token="form-7")

    with pytest.raises(Refused, match="already used"):
        desk.text(luz, "Hi Luz", token="form-7")
