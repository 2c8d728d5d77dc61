"""The report read from the daily rollups equals a recount from the raw rows, whatever was
written before: the triggers of migration 0010 mark every day a write can change, and the
figures are sums of their days. Checked twice: against the report's own recount of the
whole range (tally.count_days, one range rather than day by day), and against a plain
Python recount that shares no code with it (tests/support/report_oracle.py). Runs on
PostgreSQL too when OUTREACH_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, select, update

from outreach.db.tables import (
    appointment_table,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    open_slots,
    outbound_messages,
    patients,
    reminders,
    report_days,
    report_dirty,
    staff_messages,
    staff_users,
)
from outreach.staff import report
from outreach.staff.report.daterange import DateRange
from outreach.staff.report.histogram import bucket, low_median
from outreach.staff.report.sessioncounts import notice_hours
from tests.support.report_oracle import as_read, recount

ZONE = ZoneInfo("America/New_York")  # DST ends on Sunday 1 November 2026
START = datetime(2026, 10, 28, 3, 0, tzinfo=UTC)
HOURS = 10 * 24
PATIENTS = (1, 2, 3)
MARKS = ("attended", "no_show", "cancelled_by_patient", "cancelled_by_clinic")

hours = st.integers(0, HOURS)
minutes = st.integers(0, 3 * 24 * 60)


def at(hour: int, minute: int = 0) -> datetime:
    return START + timedelta(hours=hour, minutes=minute)


# One write each: (table, what, arguments drawn by hypothesis).
writes = st.one_of(
    st.tuples(
        st.just("send"),
        hours,
        st.sampled_from(["session", "foot_check", "exercise", "consent", None]),
        st.sampled_from(["sent", "delivered", "failed", "undelivered", "pending"]),
        st.booleans(),  # sent_at set
        st.integers(1, 4),  # reminder
        st.integers(0, 6),  # appointment referred to (0: none)
    ),
    st.tuples(
        st.just("answer"),
        st.integers(0, 40),
        minutes,
        st.sampled_from(["session_confirmed", "exercise_done", "exercise_skipped", "foot_ok"]),
    ),
    st.tuples(st.just("status"), st.integers(0, 40), st.sampled_from(["delivered", "failed"])),
    st.tuples(
        st.just("session"),
        hours,
        st.sampled_from(["scheduled", "confirmed", "cancelled", "moved"]),
        st.sampled_from(
            [None, "attended", "no_show", "cancelled_by_patient", "cancelled_by_clinic"]
        ),
        st.integers(-5, 200),  # hours of notice
        st.sampled_from(["plan", "waitlist"]),
    ),
    st.tuples(
        st.just("mark"),
        st.integers(0, 10),
        st.sampled_from(["attended", "no_show", "cancelled_by_patient", "confirmed"]),
        st.integers(-5, 60),
    ),
    st.tuples(st.just("move"), st.integers(0, 10), st.integers(-48, 48)),
    st.tuples(st.just("escalate"), hours, st.sampled_from(["urgent", "routine", "review"])),
    st.tuples(
        st.just("act"),
        st.integers(0, 10),
        minutes,
        st.sampled_from(["ack", "resolve", "now urgent"]),
    ),
    st.tuples(st.just("opt_out"), hours, st.sampled_from(["sms", "staff", "provider"])),
    st.tuples(st.just("text_in"), hours, st.integers(0, 59), st.sampled_from(PATIENTS)),
    st.tuples(st.just("staff_text"), hours, st.integers(0, 59), st.sampled_from(PATIENTS)),
    st.tuples(st.just("slot"), hours, st.integers(0, 10)),
    st.tuples(st.just("forget"), st.integers(0, 40)),
)


def _nth(conn: Any, table: Any, n: int) -> Any:
    ids = conn.execute(select(table.c.id).order_by(table.c.id)).scalars().all()
    return ids[n % len(ids)] if ids else None


def _setup(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(patients)).scalar_one():
            return
        conn.execute(
            insert(staff_users),
            [{"id": 1, "username": "ana", "display_name": "Ana", "password_hash": "x",
              "role": "admin", "created_at": START}],
        )  # fmt: skip
        for n in PATIENTS:
            conn.execute(
                insert(patients).values(
                    id=n, external_id=f"P{n}", first_name="P", phone=f"+1617555010{n}",
                    timezone="America/New_York", created_at=START, updated_at=START,
                )
            )  # fmt: skip
            for r in range(4):
                conn.execute(
                    insert(reminders).values(
                        id=n * 10 + r, patient_id=n, kind="foot_check", occurrence=str(r),
                        send_at=START, expires_at=START, created_at=START, updated_at=START,
                    )
                )  # fmt: skip


def _apply(conn: Any, write: tuple[Any, ...]) -> None:
    what, *args = write
    A, OUT, IN = appointment_table, outbound_messages, inbound_messages
    if what == "send":
        hour, prompt, status, has_sent_at, reminder, ref = args
        appointment = _nth(conn, A, ref) if ref else None
        conn.execute(
            insert(OUT).values(
                patient_id=1, reminder_id=10 + reminder % 4, template="t", prompt=prompt,
                prompt_ref=appointment if prompt == "session" else None, to_phone="+1",
                body="b", encoding="GSM-7", segments=1, provider="console", status=status,
                error_code="30003" if status in ("failed", "undelivered") else None,
                created_at=at(hour), sent_at=at(hour, 1) if has_sent_at else None,
            )
        )  # fmt: skip
    elif what == "answer":
        n, delay, kind = args
        prompt = _nth(conn, OUT, n)
        if prompt is None:
            return
        sent = conn.execute(select(OUT.c.created_at).where(OUT.c.id == prompt)).scalar_one()
        received = sent + timedelta(minutes=delay, seconds=delay % 7)
        inbound = conn.execute(
            insert(IN).values(from_phone="+1", body="C", received_at=received, patient_id=1,
                              prompt_id=prompt).returning(IN.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(update(OUT).where(OUT.c.id == prompt).values(answered_at=received))
        conn.execute(
            insert(observations).values(patient_id=1, inbound_id=inbound, kind=kind, at=received)
        )
    elif what == "status":
        n, status = args
        if (message := _nth(conn, OUT, n)) is not None:
            conn.execute(update(OUT).where(OUT.c.id == message).values(status=status))
    elif what == "session":
        hour, status, attendance, notice, source = args
        starts = at(hour)
        if conn.execute(select(A.c.id).where(A.c.patient_id == 1, A.c.starts_at == starts)).first():
            return
        slot = _nth(conn, open_slots, hour) if source == "waitlist" else None
        conn.execute(
            insert(A).values(
                patient_id=1, starts_at=starts, status=status, attendance=attendance,
                cancelled_at=starts - timedelta(hours=notice) if attendance else None,
                source=source, filled_slot=slot, updated_at=START,
            )
        )  # fmt: skip
    elif what == "mark":
        n, mark, notice = args
        if (appointment := _nth(conn, A, n)) is None:
            return
        starts = conn.execute(select(A.c.starts_at).where(A.c.id == appointment)).scalar_one()
        values: dict[str, Any] = (
            {"status": "confirmed"}
            if mark == "confirmed"
            else {"attendance": mark, "cancelled_at": starts - timedelta(hours=notice)}
        )
        conn.execute(update(A).where(A.c.id == appointment).values(**values))
    elif what == "move":
        n, shift = args
        if (appointment := _nth(conn, A, n)) is None:
            return
        starts = conn.execute(select(A.c.starts_at).where(A.c.id == appointment)).scalar_one()
        moved = starts + timedelta(hours=shift)
        if not conn.execute(
            select(A.c.id).where(A.c.patient_id == 1, A.c.starts_at == moved)
        ).first():
            conn.execute(update(A).where(A.c.id == appointment).values(starts_at=moved))
    elif what == "escalate":
        hour, severity = args
        conn.execute(
            insert(escalations).values(patient_id=2, severity=severity, reason="r",
                                       created_at=at(hour))
        )  # fmt: skip
    elif what == "act":
        n, delay, action = args
        if (escalation := _nth(conn, escalations, n)) is None:
            return
        raised = conn.execute(
            select(escalations.c.created_at).where(escalations.c.id == escalation)
        ).scalar_one()
        values = (
            {"severity": "urgent"}
            if action == "now urgent"
            else {f"{'acknowledged' if action == 'ack' else 'resolved'}_at": raised
                  + timedelta(minutes=delay)}
        )  # fmt: skip
        conn.execute(update(escalations).where(escalations.c.id == escalation).values(**values))
    elif what == "opt_out":
        hour, source = args
        conn.execute(
            insert(consent_events).values(patient_id=3, at=at(hour), event="opted_out",
                                          source=source)
        )  # fmt: skip
    elif what == "text_in":
        hour, minute, patient = args
        conn.execute(
            insert(IN).values(from_phone="+1", body="hi", received_at=at(hour, minute),
                              patient_id=patient)
        )  # fmt: skip
    elif what == "staff_text":
        hour, minute, patient = args
        conn.execute(
            insert(staff_messages).values(patient_id=patient, author_id=1, body="ok",
                                          created_at=at(hour, minute))
        )  # fmt: skip
    elif what == "slot":
        hour, n = args
        if (appointment := _nth(conn, A, n)) is None:
            return
        if conn.execute(
            select(open_slots.c.id).where(open_slots.c.appointment_id == appointment)
        ).first():
            return
        conn.execute(
            insert(open_slots).values(appointment_id=appointment, starts_at=at(hour),
                                      opened_at=at(hour), state="open")
        )  # fmt: skip
    elif what == "forget":
        (n,) = args
        if (observation := _nth(conn, observations, n)) is not None:
            conn.execute(delete(observations).where(observations.c.id == observation))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(writes, min_size=1, max_size=12), min_size=1, max_size=3),
    ranges=st.lists(st.tuples(st.integers(-2, 11), st.integers(0, 12)), min_size=1, max_size=3),
    now_hour=st.integers(0, HOURS + 48),
    late_hours=st.integers(1, 168),
)
def test_the_report_from_rollups_equals_a_recount_after_any_writes(
    engine: Engine,
    batches: list[list[tuple[Any, ...]]],
    ranges: list[tuple[int, int]],
    now_hour: int,
    late_hours: int,
) -> None:
    """Examples run on one database, so each starts from what the earlier ones wrote. A
    report is read between batches, so the rollups are refreshed from marks of later
    writes, not only built once."""
    _setup(engine)
    first_day = date(2026, 10, 28)
    now = at(now_hour)
    for batch in batches:
        with engine.begin() as conn:
            for write in batch:
                _apply(conn, write)
        for offset, length in ranges:
            span = DateRange(
                first_day + timedelta(days=offset), first_day + timedelta(days=offset + length)
            )
            stored = report.build(engine, ZONE, span, now, late_hours)
            counted = report.build(engine, ZONE, span, now, late_hours, recount=True)
            assert stored == counted
            assert as_read(stored) == recount(engine, ZONE, span, now, late_hours)


def test_a_full_rebuild_gives_the_same_days_as_the_marks_did(engine: Engine) -> None:
    _setup(engine)
    with engine.begin() as conn:
        for write in [("session", 30, "confirmed", "no_show", 3, "plan"),
                      ("send", 5, "session", "delivered", True, 1, 1),
                      ("answer", 0, 90, "session_confirmed"),
                      ("escalate", 50, "urgent"), ("act", 0, 30, "ack"),
                      ("text_in", 70, 5, 2), ("staff_text", 71, 0, 2)]:  # fmt: skip
            _apply(conn, write)
    report.refresh(engine, ZONE)
    with engine.connect() as conn:
        marked = sorted(conn.execute(select(report_days)).all())
        assert conn.execute(select(func.count()).select_from(report_dirty)).scalar_one() == 0
    assert report.rebuild(engine, ZONE) > 0
    with engine.connect() as conn:
        assert sorted(conn.execute(select(report_days)).all()) == marked
    assert marked  # something was counted


@pytest.mark.parametrize(
    ("seconds", "start"),
    [(0, 0), (119, 119), (120, 120), (179, 120), (7261, 7260), (172_799, 172_740),
     (172_800, 172_800), (176_399, 172_800), (-5, 0)],
)  # fmt: skip
def test_durations_are_kept_at_the_resolution_they_are_read(seconds: int, start: int) -> None:
    assert bucket(seconds) == start


def test_the_median_is_the_lower_middle_one() -> None:
    assert low_median({}) is None
    assert low_median({60: 1, 120: 1}) == timedelta(seconds=60)
    assert low_median({60: 1, 120: 2}) == timedelta(seconds=120)


@pytest.mark.parametrize("late_hours", [1, 24, 48, 168])
@pytest.mark.parametrize("minutes_before", [-90, -1, 0, 1, 59, 60, 61, 1439, 1440, 1441, 20000])
def test_whole_hours_of_notice_tell_a_late_cancellation_for_any_threshold(
    late_hours: int, minutes_before: int
) -> None:
    from outreach.rules.attendance import is_late_cancellation

    starts = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    cancelled = starts - timedelta(minutes=minutes_before)
    late = is_late_cancellation(starts, cancelled, late_hours)
    assert (notice_hours(starts, cancelled) < late_hours) == late
