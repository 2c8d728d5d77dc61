"""A session that is off sends nothing afterwards. Whatever staff do, in any order (cancel
for either side, move, add a session, bring a cancelled one back, mark past ones) while the
service ticks, no text about a session leaves while that session is cancelled or moved away:
the most common complaint about reminder systems is a text about a session that no longer
exists.

The judge is the test's own record of what staff did, not the database's status column:
each text the dispatcher hands to the phone network is traced to its session, and that
session must be on by the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, outbound_messages, reminders
from outreach.patients import edits
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import Attendance, ReminderKind
from outreach.sessions import attendance, moves
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import T0, enrol

A = appointment_table
ZONE = ZoneInfo("America/New_York")  # Ana's
TICK = timedelta(hours=1)  # a running service ticks every 30 s; hourly catches every send
SESSION_TEXTS = (ReminderKind.SESSION, ReminderKind.SESSION_MOVED)


@dataclass(frozen=True)
class Wait:
    hours: int


@dataclass(frozen=True)
class Cancel:
    pick: int  # which of the patient's sessions, by start (modulo how many there are)
    by_patient: bool


@dataclass(frozen=True)
class Move:
    pick: int
    days: int  # the new day, counted from today
    hour: int  # the new time, on the patient's clock


@dataclass(frozen=True)
class Add:
    days: int
    hour: int


@dataclass(frozen=True)
class BringBack:
    pick: int  # which of the cancelled sessions: added again at its time, or marked if past


Step = Wait | Cancel | Move | Add | BringBack

hours = st.integers(min_value=8, max_value=18)
days = st.integers(min_value=0, max_value=6)
picks = st.integers(min_value=0, max_value=20)
steps: st.SearchStrategy[Step] = st.one_of(
    st.sampled_from([1, 3, 8, 20]).map(Wait),
    st.builds(Cancel, picks, st.booleans()),
    st.builds(Move, picks, days, hours),
    st.builds(Add, days, hours),
    st.builds(BringBack, picks),
)


class Record:
    """What staff did, as the test saw it: the sessions that are off."""

    def __init__(self) -> None:
        self.off: set[int] = set()
        self.sent_about_off: list[str] = []


def start_afresh(engine: Engine, settings: Settings, renderer: Renderer) -> Desk:
    """Each example gets an empty database, Monday's clock and Ana, with sessions every
    weekday at 10:00 so that one is always near."""
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    clock = ManualClock(T0)  # its own: a clock never goes back
    desk = Desk(engine, settings, clock, renderer)
    desk.patient_id = enrol(
        engine,
        settings,
        clock.now(),
        sessions="mon tue wed thu fri at 10:00 for 4 weeks",
        plan_start=T0.date().isoformat(),
    )
    plan_due(engine, settings, clock.now())
    return desk


def sessions(desk: Desk) -> list[tuple[int, object, str]]:
    with desk.engine.connect() as conn:
        rows = conn.execute(
            select(A.c.id, A.c.starts_at, A.c.status).order_by(A.c.starts_at, A.c.id)
        ).all()
    return [(r.id, r.starts_at, r.status) for r in rows]


def tick_until(desk: Desk, record: Record, hours: int) -> None:
    until = desk.clock.now() + timedelta(hours=hours)
    while desk.clock.now() < until:
        desk.clock.set(min(until, desk.clock.now() + TICK))
        plan_due(desk.engine, desk.settings, desk.clock.now())
        with desk.engine.connect() as conn:
            seen = conn.execute(select(func.max(outbound_messages.c.id))).scalar() or 0
        desk.dispatch()
        with desk.engine.connect() as conn:
            new = conn.execute(
                select(reminders.c.kind, reminders.c.appointment_id, outbound_messages.c.body)
                .join(reminders, reminders.c.id == outbound_messages.c.reminder_id)
                .where(outbound_messages.c.id > seen)
            ).all()
        for kind, appointment_id, body in new:
            if kind in SESSION_TEXTS and appointment_id in record.off:
                record.sent_about_off.append(f"{desk.clock.now():%a %H:%M} {body}")
        if new:
            event("texts about sessions went out")


def apply(desk: Desk, record: Record, step: Step) -> None:
    now = desk.clock.now()
    found = sessions(desk)
    if isinstance(step, Wait):
        tick_until(desk, record, step.hours)
    elif isinstance(step, Cancel) and found:
        appointment_id = found[step.pick % len(found)][0]
        mark = (
            Attendance.CANCELLED_BY_PATIENT if step.by_patient else Attendance.CANCELLED_BY_CLINIC
        )
        try:
            attendance.mark(desk.engine, desk.settings, desk.terry, appointment_id, mark, now)
        except attendance.NotMarked:
            return
        record.off.add(appointment_id)
        event("cancelled")
    elif isinstance(step, Move) and found:
        appointment_id = found[step.pick % len(found)][0]
        day = now.astimezone(ZONE).date() + timedelta(days=step.days)
        try:
            moved = moves.move(
                desk.engine, desk.settings, desk.terry, appointment_id, day, time(step.hour), now
            )
        except moves.NotMoved:
            return
        record.off.add(moved.old_id)
        record.off.discard(moved.new_id)
        event("moved")
    elif isinstance(step, Add):
        day = now.astimezone(ZONE).date() + timedelta(days=step.days)
        _add(desk, record, day, time(step.hour))
    elif isinstance(step, BringBack):
        cancelled = [(i, s) for i, s, status in found if status == "cancelled"]
        if not cancelled:
            return
        appointment_id, starts_at = cancelled[step.pick % len(cancelled)]
        local = starts_at.astimezone(ZONE)  # type: ignore[attr-defined]
        if starts_at > now:  # type: ignore[operator]
            _add(desk, record, local.date(), local.time())
        else:
            given = Attendance.ATTENDED
            attendance.mark(desk.engine, desk.settings, desk.terry, appointment_id, given, now)
            record.off.discard(appointment_id)
        event("brought back")


def _add(desk: Desk, record: Record, day: date, at: time) -> None:
    errors = edits.add_session(
        desk.engine,
        desk.settings,
        desk.terry,
        "P-1",
        day.isoformat(),
        at.strftime("%H:%M"),
        desk.clock.now(),
    )
    if errors:
        return
    local = at.strftime("%H:%M")
    for appointment_id, starts_at, _ in sessions(desk):
        shown = starts_at.astimezone(ZONE)  # type: ignore[attr-defined]
        if shown.date() == day and shown.strftime("%H:%M") == local:
            record.off.discard(appointment_id)


def run(desk: Desk, script: list[Step]) -> Record:
    record = Record()
    for step in [*script, Wait(30)]:  # then long enough for every reminder still due
        apply(desk, record, step)
    return record


@hypothesis_settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=st.lists(steps, min_size=2, max_size=10))
@example(  # cancel tomorrow's session, let its reminder's hour pass, bring it back, move it
    script=[Cancel(1, True), Wait(20), BringBack(0), Move(1, 2, 15), Wait(20)]
)
def test_no_text_about_a_session_leaves_while_it_is_off(
    engine: Engine, settings: Settings, renderer: Renderer, script: list[Step]
) -> None:
    record = run(start_afresh(engine, settings, renderer), script)

    assert record.sent_about_off == []
