"""The clinic report: every figure counted exactly, over a small clinic run through the real
planner, dispatcher and reply path, with range edges in clinic time across DST."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from outreach.accounts.users import Staff, load_staff
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations, outbound_messages
from outreach.replies import status
from outreach.rules.vocabulary import Attendance
from outreach.sessions import attendance
from outreach.staff import report
from outreach.staff.escalations import acknowledge
from outreach.staff.report import DateRange, Rate
from outreach.texts.render import Renderer
from outreach.transports import Outgoing, SendError
from tests.support.patients import enrol
from tests.support.report import ANA, BEN, NEW_YORK, Clinic, utc


@pytest.fixture
def clinic(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Clinic:
    """Ana and Ben, enrolled and consenting on Monday 23 November 2026 (07:00 in New York).
    Sessions Mon/Wed/Fri 10:00, foot checks 08:30, exercise Tue/Thu/Sat 17:00 (all EST)."""
    enrol(engine, settings, clock.now())
    enrol(engine, settings, clock.now(), patient_id="P-2", first_name="Ben", phone=BEN)
    return Clinic(engine, settings, clock, renderer)


def fail_for(phone: str, code: str) -> object:
    def on_send(message: Outgoing) -> None:
        if message.to == phone:
            raise SendError("refused", permanent=True, code=code)

    return on_send


def admin_user(engine: Engine) -> Staff:
    """The admin of tests/support/admin.py (the `staff` fixture adds them)."""
    with engine.begin() as conn:
        found = load_staff(conn, 1)
    assert found is not None
    return found


@pytest.fixture
def three_days(clinic: Clinic, staff: None) -> Clinic:
    """Mon 23 to Wed 25 November: nine questions reach the patients, eight are answered."""
    # Monday: Ana answers her foot check in 5 minutes; Ben never does.
    clinic.reply(ANA, "1", utc(23, 13, 35))
    # Tuesday: Ana reports something on her foot (10 min) and answers the follow-up (5 min);
    # Ben's foot is fine (60 min).
    clinic.reply(ANA, "2", utc(24, 13, 40))
    clinic.reply(ANA, "1", utc(24, 13, 45))
    # Staff first act on Ana's urgent escalation 30 minutes after she reported it.
    with clinic.engine.begin() as conn:
        urgent = conn.execute(select(escalations.c.id)).scalar_one()
    acknowledge(clinic.engine, urgent, admin_user(clinic.engine), utc(24, 14, 10))
    clinic.reply(BEN, "1", utc(24, 14, 30))
    # Session reminders for Wednesday went out at 15:00: Ana confirms, Ben asks to move it.
    clinic.reply(ANA, "C", utc(24, 15, 20))
    clinic.reply(BEN, "R", utc(24, 16, 0))
    # Exercise at 22:00: Ana did it (pain 3), Ben skipped.
    clinic.reply(ANA, "DONE 3", utc(24, 22, 30))
    clinic.reply(BEN, "SKIP", utc(24, 23, 0))
    # Wednesday: Ana's foot check is refused, Ben's is not delivered, and Ben opts out.
    clinic.transport.on_send = fail_for(ANA, "30003")
    clinic.run_to(utc(25, 13, 31))
    clinic.transport.on_send = None
    with clinic.engine.begin() as conn:
        bens = conn.execute(
            select(outbound_messages.c.id).where(
                outbound_messages.c.to_phone == BEN, outbound_messages.c.prompt == "foot_check"
            )
        ).all()[-1]
    status.apply(clinic.engine, status.Callback("undelivered", bens.id, None, "30005"), utc(25, 14))
    clinic.reply(BEN, "STOP", utc(25, 14, 5))
    clinic.run_to(utc(26, 12))  # Thursday 07:00 in New York
    return clinic


def test_it_counts_every_figure_of_the_range_exactly(three_days: Clinic) -> None:
    found = three_days.report(date(2026, 11, 23), date(2026, 11, 25))

    assert found.replies == Rate(8, 9)
    assert found.replies_by_kind == {
        "exercise": Rate(2, 2),
        "foot_check": Rate(3, 4),
        "foot_followup": Rate(1, 1),
        "session": Rate(2, 2),
    }
    # 5, 5, 10, 20 | 30, 60, 60, 60 minutes: the lower of the middle two
    assert found.median_reply == timedelta(minutes=20)
    assert found.foot_checks == Rate(3, 4)
    assert (found.exercise, found.exercise_skipped) == (Rate(1, 2), 1)
    assert found.confirmation == Rate(1, 2)
    # Monday's two sessions were never reminded (enrolled that morning) nor confirmed;
    # Ben's Wednesday session was asked to be moved, so it is not counted at all.
    assert (found.unconfirmed, found.unconfirmed_unreminded) == (Rate(2, 3), 2)
    assert found.escalations == {"emergency": 0, "urgent": 1, "routine": 1, "review": 0}
    assert found.without_action == Rate(1, 2)
    assert found.median_first_action == timedelta(minutes=30)
    assert found.opt_outs == {"sms": 1}
    assert found.undeliverable == {"30003": 1, "30005": 1}


def test_a_short_range_is_charted_by_the_day_with_gaps_for_days_without_questions(
    three_days: Clinic,
) -> None:
    found = three_days.report(date(2026, 11, 23), date(2026, 11, 25))

    assert [(p.start, p.end) for p in found.periods] == [
        (date(2026, 11, d), date(2026, 11, d)) for d in (23, 24, 25)
    ]
    assert [p.replies.percent for p in found.periods] == [50.0, 100.0, None]
    assert [p.foot_checks.percent for p in found.periods] == [50.0, 100.0, None]
    assert [p.escalations for p in found.periods] == [0, 2, 0]


def test_a_long_range_is_charted_by_seven_day_weeks_from_its_first_day(
    three_days: Clinic,
) -> None:
    found = three_days.report(date(2026, 11, 10), date(2026, 11, 26))

    assert [(p.start.day, p.end.day) for p in found.periods] == [(10, 16), (17, 23), (24, 26)]
    assert [p.replies for p in found.periods] == [Rate(0, 0), Rate(1, 2), Rate(7, 7)]
    assert found.replies == Rate(8, 9)


def test_a_range_takes_only_its_own_days(three_days: Clinic) -> None:
    tuesday = three_days.report(date(2026, 11, 24), date(2026, 11, 24))

    assert tuesday.replies == Rate(7, 7)
    assert tuesday.foot_checks == Rate(2, 2)
    assert tuesday.opt_outs == {} and tuesday.undeliverable == {}
    # Wednesday's sessions started inside Wednesday, not Tuesday.
    assert tuesday.unconfirmed == Rate(0, 0)


def test_an_empty_range_has_no_rates_rather_than_zero_percent(three_days: Clinic) -> None:
    found = three_days.report(date(2026, 1, 1), date(2026, 1, 31))

    rates = [found.replies, found.foot_checks, found.exercise, found.confirmation]
    rates += [found.unconfirmed, found.without_action]
    assert [str(r) for r in rates] == ["–"] * 6
    assert found.median_reply is None and found.median_first_action is None
    assert report.duration(found.median_reply) == "–"
    assert found.escalations == {"emergency": 0, "urgent": 0, "routine": 0, "review": 0}
    assert all(p.replies.percent is None for p in found.periods)
    assert "confirmation_rate,0,0,,%" in report.to_csv(found)


def test_a_session_confirmed_by_text_counts_as_confirmed_even_if_cancelled_later(
    clinic: Clinic, staff: None
) -> None:
    clinic.reply(ANA, "C", utc(24, 15, 20))
    with clinic.engine.begin() as conn:
        wednesday = conn.execute(
            select(outbound_messages.c.prompt_ref).where(
                outbound_messages.c.to_phone == ANA, outbound_messages.c.prompt == "session"
            )
        ).scalar_one()
    who, cancel = admin_user(clinic.engine), Attendance.CANCELLED_BY_PATIENT
    attendance.mark(clinic.engine, clinic.settings, who, wednesday, cancel, utc(24, 15, 30))

    found = clinic.report(date(2026, 11, 24), date(2026, 11, 24))

    assert found.confirmation == Rate(1, 2)


def test_a_send_that_a_retry_delivered_is_not_undeliverable(clinic: Clinic) -> None:
    clinic.transport.failures = [SendError("busy", permanent=False, code="30008")]
    clinic.run_to(utc(23, 14))

    found = clinic.report(date(2026, 11, 23), date(2026, 11, 23))

    assert len(clinic.transport.sent) == 2  # both foot checks, one on its second attempt
    assert found.undeliverable == {}
    assert found.foot_checks == Rate(0, 2)


def test_the_csv_holds_figures_and_no_patient_data(three_days: Clinic) -> None:
    text = report.to_csv(three_days.report(date(2026, 11, 23), date(2026, 11, 25)))
    lines = text.splitlines()

    assert lines[0] == "period_start,period_end,metric,count,total,value,unit"
    assert "2026-11-23,2026-11-25,reply_rate,8,9,88.9,%" in lines
    assert "2026-11-23,2026-11-25,median_time_to_reply,8,,20.0,min" in lines
    assert "2026-11-23,2026-11-25,undeliverable_30005,1,,," in lines
    assert "2026-11-24,2026-11-24,foot_check_adherence,2,2,100,%" in lines
    for private in ("Ana", "Ben", "Torres", ANA, BEN, "P-1"):
        assert private not in text


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-01", "2026-11-28", DateRange(date(2026, 11, 1), date(2026, 11, 28))),
        ("2026-11-05", "2026-11-05", DateRange(date(2026, 11, 5), date(2026, 11, 5))),
        (None, None, DateRange(date(2026, 10, 27), date(2026, 11, 23))),
        ("", " ", DateRange(date(2026, 10, 27), date(2026, 11, 23))),
        (None, "2026-11-10", DateRange(date(2026, 10, 14), date(2026, 11, 10))),
        ("2025-11-23", "2026-11-23", DateRange(date(2025, 11, 23), date(2026, 11, 23))),
        ("yesterday", "2026-11-10", {"start": ["Enter a date as YYYY-MM-DD, e.g. 2026-11-01."]}),
        ("2026-11-01", "2026-13-01", {"end": ["Enter a date as YYYY-MM-DD, e.g. 2026-11-01."]}),
        ("2026-11-10", "2026-11-09", {"end": ["The end date is before the start date."]}),
        ("2025-11-22", "2026-11-23", {"end": ["A report covers at most 366 days."]}),
    ],
)
def test_it_reads_the_range_typed_in_the_form(
    start: str | None, end: str | None, expected: object
) -> None:
    assert report.parse_range(start, end, today=date(2026, 11, 23)) == expected


def test_the_day_of_the_dst_change_is_25_hours_of_clinic_time() -> None:
    lo, hi = DateRange(date(2026, 11, 1), date(2026, 11, 1)).bounds(NEW_YORK)

    assert (lo, hi) == (utc(1, 4), utc(2, 5))


def test_texts_fall_on_the_clinic_day_they_were_sent_across_the_dst_change(
    engine: Engine, settings: Settings, renderer: Renderer
) -> None:
    # Foot checks at 20:30 New York time fall on the next UTC day on both sides of the
    # change: Sat 31 Oct at 00:30 UTC on 1 Nov (EDT), Sun 1 Nov at 01:30 UTC on 2 Nov (EST).
    clock = ManualClock(utc(31, 12, month=10))
    enrol(engine, settings, clock.now(), plan_start="2026-10-26", foot_check_time="20:30")
    clinic = Clinic(engine, settings, clock, renderer)
    clinic.reply(ANA, "1", utc(1, 0, 40))  # answers Saturday's check
    clinic.run_to(utc(2, 12))  # Sunday's check goes unanswered

    saturday = clinic.report(date(2026, 10, 31), date(2026, 10, 31))
    sunday = clinic.report(date(2026, 11, 1), date(2026, 11, 1))
    both = clinic.report(date(2026, 10, 31), date(2026, 11, 2))

    assert (saturday.foot_checks, sunday.foot_checks) == (Rate(1, 1), Rate(0, 1))
    assert [p.foot_checks.percent for p in both.periods] == [100.0, 0.0, None]


@pytest.mark.parametrize(
    ("latest", "end"),
    [
        (None, date(2026, 11, 23)),  # no texts at all: today
        (date(2026, 11, 23), date(2026, 11, 23)),
        (date(2026, 10, 27), date(2026, 11, 23)),  # the first of the 28 days
        (date(2026, 10, 26), date(2026, 10, 26)),  # the day before them: end there
        (date(2026, 6, 1), date(2026, 6, 1)),
    ],
)
def test_a_report_with_no_dates_ends_today_unless_the_last_28_days_hold_no_text(
    latest: date | None, end: date
) -> None:
    from outreach.staff.report import default_end

    assert default_end(date(2026, 11, 23), latest) == end
