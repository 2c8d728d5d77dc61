"""The planner: idempotent, concurrent-safe, supersedes on edits, honours consent."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import uuid
from datetime import date, time, timedelta
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text, update

from outreach.clock import ManualClock
from outreach.config import REPO_ROOT, Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import appointment_table, care_plans, patients, reminders
from outreach.outbox.commands import replan, skip_pending
from outreach.patients.enrolment import validate_patient
from outreach.patients.upsert import import_specs
from outreach.planning import planner
from outreach.planning.lock import planning_lock
from outreach.planning.planner import horizon_end, plan_due
from outreach.planning.report import PlanReport
from tests.support.patients import enrol, patient_row


def reminder_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    reminders.c.patient_id,
                    reminders.c.kind,
                    reminders.c.occurrence,
                    reminders.c.send_at,
                    reminders.c.state,
                    reminders.c.skip_reason,
                ).order_by(reminders.c.patient_id, reminders.c.kind, reminders.c.occurrence)
            )
        ]


def forget_watermarks(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(care_plans).values(planned_until=None))


def test_planning_twice_creates_each_reminder_once(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    first = plan_due(engine, settings, clock.now())
    before = reminder_rows(engine)
    forget_watermarks(engine)
    second = plan_due(engine, settings, clock.now())

    assert first.reminders > 0
    assert second.plans == 1
    assert reminder_rows(engine) == before


def test_two_planners_at_once_create_each_reminder_once(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    for n in range(20):
        enrol(engine, settings, clock.now(), patient_id=f"P-{n}", phone=f"+1617555{n:04d}")
    plan_due(engine, settings, clock.now())
    expected = reminder_rows(engine)
    with engine.begin() as conn:
        conn.execute(reminders.delete().where(reminders.c.kind != "consent"))
    forget_watermarks(engine)

    errors: list[BaseException] = []

    def plan() -> None:
        own = make_engine(database_url)
        try:
            plan_due(own, settings, clock.now(), batch=3)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=plan) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert reminder_rows(engine) == expected


def test_a_tick_with_nothing_new_touches_no_plan(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    clock.advance(timedelta(hours=5))

    report = plan_due(engine, settings, clock.now())

    assert (report.plans, report.reminders) == (0, 0)


def test_the_horizon_moves_forward_once_a_day(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    clock.advance(timedelta(days=1))

    report = plan_due(engine, settings, clock.now())

    assert report.plans == 1
    assert report.reminders > 0
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(reminders.c.send_at))).scalar_one()
    assert latest < horizon_end(clock.now(), settings.horizon_days)


def test_nothing_is_planned_before_the_patient_consents(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now(), consent=False)

    report = plan_due(engine, settings, clock.now())

    assert report.plans == 0
    assert {row[1] for row in reminder_rows(engine)} == {"consent"}


def test_sessions_taper_from_three_a_week_to_two(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # Phase one (mon wed fri) runs 2026-11-01 .. 2026-11-28, then tue thu for two weeks.
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    zone = ZoneInfo("America/New_York")
    with engine.begin() as conn:
        starts = conn.execute(select(appointment_table.c.starts_at)).scalars().all()
    local = sorted(s.astimezone(zone) for s in starts)

    assert all(s.hour == 10 and s.minute == 0 for s in local)
    assert {s.strftime("%a") for s in local if s.date() < date(2026, 11, 29)} == {
        "Mon",
        "Wed",
        "Fri",
    }
    assert {s.strftime("%a") for s in local if s.date() >= date(2026, 11, 29)} == {"Tue", "Thu"}


def test_a_plan_edit_supersedes_future_reminders_and_keeps_them(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    count_before = len(reminder_rows(engine))
    edited = validate_patient(
        patient_row(foot_check_time="09:15", exercise_days="", exercise_time="", exercises=""),
        settings,
        2,
    )
    assert not isinstance(edited, list)

    report = import_specs(engine, settings, [(2, edited)], clock.now())
    plan_due(engine, settings, clock.now())

    assert report.updated == 1
    rows = reminder_rows(engine)
    assert len(rows) >= count_before, "reminders are skipped, never deleted"
    zone = ZoneInfo("America/New_York")
    foot = [r for r in rows if r[1] == "foot_check"]
    assert foot and all(r[4] == "pending" for r in foot)
    assert {r[3].astimezone(zone).strftime("%H:%M") for r in foot} == {"09:15"}  # type: ignore[attr-defined]
    exercise = [r for r in rows if r[1] == "exercise"]
    assert exercise and all((r[4], r[5]) == ("skipped", "superseded") for r in exercise)
    with engine.begin() as conn:
        assert conn.execute(select(care_plans.c.version)).scalar_one() == 2


def test_opting_back_in_revives_what_the_opt_out_skipped(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    patient_id = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    with engine.begin() as conn:
        skip_pending(conn, patient_id, "opted_out", clock.now(), keep_consent=False)
        conn.execute(update(patients).values(opted_out=True))
    assert {r[4] for r in reminder_rows(engine) if r[1] != "consent"} == {"skipped"}

    with engine.begin() as conn:
        conn.execute(update(patients).values(opted_out=False))
    forget_watermarks(engine)
    plan_due(engine, settings, clock.now())

    revived = [r for r in reminder_rows(engine) if r[1] != "consent"]
    assert revived and all(r[4] == "pending" for r in revived)


def test_reminders_never_fall_in_quiet_hours_or_after_their_event(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # 07:30 sessions put the 24-hour reminder at 07:30 the day before, inside quiet hours.
    enrol(engine, settings, clock.now(), sessions="mon wed fri at 07:30 for 6 weeks")
    plan_due(engine, settings, clock.now())
    zone = ZoneInfo("America/New_York")
    with engine.begin() as conn:
        rows = conn.execute(select(reminders).where(reminders.c.state == "pending")).all()

    assert rows
    for row in rows:
        assert not settings.quiet_hours.contains(row.send_at.astimezone(zone).time())
        assert row.send_at < row.expires_at
    sessions = [r for r in rows if r.kind == "session"]
    assert {r.send_at.astimezone(zone).strftime("%H:%M") for r in sessions} == {"08:00"}


def test_a_plan_waiting_for_consent_is_set_aside_and_planned_once_consent_comes(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    patient_id = enrol(engine, settings, clock.now(), consent=False)
    plan_due(engine, settings, clock.now())
    with engine.begin() as conn:
        parked = conn.execute(select(care_plans.c.planned_until)).scalar_one()
    assert parked is not None, "idle ticks no longer read it"

    with engine.begin() as conn:
        conn.execute(update(patients).values(consent_state="granted"))
        replan(conn, patient_id, clock.now())
    report = plan_due(engine, settings, clock.now())

    assert report.plans == 1 and report.reminders > 0


def test_a_patients_own_quiet_hours_move_their_reminders(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # 09:30 sessions put the 24-hour reminder at 09:30 the day before: the clinic's quiet
    # hours (21:00-08:00) allow it, this patient's (19:00-10:00) move it to 10:00.
    enrol(
        engine,
        settings,
        clock.now(),
        sessions="mon wed fri at 09:30 for 6 weeks",
        foot_check_time="10:30",
        exercise_time="18:00",
        quiet_hours="19:00-10:00",
    )
    plan_due(engine, settings, clock.now())
    zone = ZoneInfo("America/New_York")
    with engine.begin() as conn:
        rows = conn.execute(select(reminders).where(reminders.c.state == "pending")).all()

    sessions = {r.send_at.astimezone(zone).strftime("%H:%M") for r in rows if r.kind == "session"}
    assert sessions == {"10:00"}
    for row in rows:
        local = row.send_at.astimezone(zone).time()
        assert not (local >= time(19) or local < time(10)), row


# A planner in a process of its own: prints its report as JSON, or, with "hold", takes the
# planning lock, says so and waits to be killed.
PLANNER_PROCESS = """
import json, sys, time
from datetime import datetime
from outreach.config.settings import REPO_ROOT, Settings
from outreach.db.engine import make_engine, upgrade
from outreach.planning.lock import planning_lock
from outreach.planning.planner import plan_due

url, now, mode = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
engine = make_engine(url)
if mode == "hold":
    with planning_lock(engine) as held:
        print("held" if held else "refused", flush=True)
        time.sleep(120)
report = plan_due(engine, Settings(), now, batch=3)
engine.dispose()
print(json.dumps({"plans": report.plans, "reminders": report.reminders, "busy": report.busy}))
"""


def start_planner(
    database_url: str, clock: ManualClock, mode: str = "plan"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PLANNER_PROCESS, database_url, clock.now().isoformat(), mode],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def finished_report(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=120)  # hang protection only
    assert process.returncode == 0
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def enrol_many(engine: Engine, settings: Settings, clock: ManualClock, count: int) -> None:
    for n in range(count):
        enrol(engine, settings, clock.now(), patient_id=f"P-{n}", phone=f"+1617555{n:04d}")


def require_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the planning lock is PostgreSQL's; SQLite plans under its write lock")


def test_two_planner_processes_at_once_create_each_reminder_once(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol_many(engine, settings, clock, 12)
    plan_due(engine, settings, clock.now())
    expected = reminder_rows(engine)
    with engine.begin() as conn:
        conn.execute(reminders.delete().where(reminders.c.kind != "consent"))
    forget_watermarks(engine)

    first, second = start_planner(database_url, clock), start_planner(database_url, clock)
    reports = [finished_report(first), finished_report(second)]

    assert reminder_rows(engine) == expected
    # Either one planned while the other found the lock taken (or nothing left to do), or,
    # on SQLite, their batches took turns; either way every plan was planned once.
    assert sum(r["plans"] for r in reports) == 12
    assert sum(r["reminders"] for r in reports) == len(
        [row for row in expected if row[1] != "consent"]
    )


def test_a_planner_that_finds_the_lock_taken_plans_nothing_and_says_so(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    require_postgresql(database_url)
    enrol_many(engine, settings, clock, 3)

    with planning_lock(engine) as held:
        assert held
        refused = finished_report(start_planner(database_url, clock))
        planned_meanwhile = [row for row in reminder_rows(engine) if row[1] != "consent"]
    after = plan_due(engine, settings, clock.now())

    assert refused == {"plans": 0, "reminders": 0, "busy": True}
    assert planned_meanwhile == []
    assert (after.busy, after.plans) == (False, 3) and after.reminders > 0


def test_the_planning_lock_dies_with_the_process_that_held_it(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    require_postgresql(database_url)
    enrol_many(engine, settings, clock, 2)
    holder = start_planner(database_url, clock, mode="hold")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert plan_due(engine, settings, clock.now()).busy
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)

    deadline = monotonic() + 30  # hang protection: the server notices the closed socket
    report = plan_due(engine, settings, clock.now())
    while report.busy and monotonic() < deadline:
        sleep(0.1)
        report = plan_due(engine, settings, clock.now())

    assert (report.busy, report.plans) == (False, 2)


def test_each_schema_has_a_planning_lock_of_its_own(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    require_postgresql(database_url)
    enrol_many(engine, settings, clock, 1)
    other = f"outreach_test_lock_{uuid.uuid4().hex[:8]}"
    base = database_url.split("?")[0]
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{other}"'))
    try:
        other_url = f"{base}?options=-csearch_path%3D{other}"
        upgrade(other_url)
        other_engine = make_engine(other_url)
        try:
            with planning_lock(other_engine) as held_elsewhere:
                report = plan_due(engine, settings, clock.now())
        finally:
            other_engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{other}" CASCADE'))
        admin.dispose()

    assert held_elsewhere
    assert (report.busy, report.plans) == (False, 1)


def test_an_edit_during_a_planning_batch_waits_for_it_then_supersedes_what_it_wrote(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # The batch has read the plan (08:30 foot checks) when staff save 09:15. The edit must
    # not slip in between the read and the writes: 08:30 reminders would stay pending.
    require_postgresql(database_url)
    enrol(engine, settings, clock.now())
    edited = validate_patient(patient_row(foot_check_time="09:15"), settings, 2)
    assert not isinstance(edited, list)
    target = horizon_end(clock.now(), settings.horizon_days)
    write = planner._postgresql_writer(settings, clock.now(), target)
    editors: list[threading.Thread] = []
    reports: list[Any] = []

    def write_while_an_edit_waits(conn: Any, plans: Any, report: PlanReport) -> None:
        editor = threading.Thread(
            target=lambda: reports.append(
                import_specs(engine, settings, [(2, edited)], clock.now())
            )
        )
        editors.append(editor)
        editor.start()
        wait_until_blocked_or_done(engine, editor)
        write(conn, plans, report)

    planner._plan_batches(engine, target, 100, write_while_an_edit_waits)
    editors[0].join(timeout=30)
    (report,) = reports

    assert report.updated == 1
    zone = ZoneInfo("America/New_York")
    written = [r for r in reminder_rows(engine) if r[1] == "foot_check"]
    assert written and all((r[4], r[5]) == ("skipped", "superseded") for r in written)
    plan_due(engine, settings, clock.now())
    foot = [r for r in reminder_rows(engine) if r[1] == "foot_check" and r[4] == "pending"]
    assert {r[3].astimezone(zone).strftime("%H:%M") for r in foot} == {"09:15"}  # type: ignore[attr-defined]
    with engine.begin() as conn:
        assert conn.execute(select(care_plans.c.version)).scalar_one() == 2


def wait_until_blocked_or_done(engine: Engine, editor: threading.Thread) -> None:
    """Until the edit waits for a row lock in this database, or has finished."""
    deadline = monotonic() + 10
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while monotonic() < deadline and editor.is_alive():
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        sleep(0.02)


# Zones either side of UTC and a half-hour one, the patient's own quiet hours (which move the
# session reminders), a plan not started yet, sessions early and late, phases.
VARIED_PATIENTS: list[dict[str, str]] = [
    {},
    {"timezone": "Asia/Kolkata", "foot_check_time": "08:00"},
    {
        "timezone": "Pacific/Honolulu",
        "quiet_hours": "19:00-10:00",
        "foot_check_time": "10:30",
        "exercise_time": "18:00",
        "sessions": "mon wed fri at 09:30 for 6 weeks",
    },
    {
        "timezone": "Australia/Adelaide",
        "plan_start": "2026-11-27",
        "exercise_days": "",
        "exercise_time": "",
        "exercises": "",
    },
    {
        "timezone": "Europe/London",
        "sessions": "sat at 18:30 for 1 weeks; mon thu at 08:00 for 3 weeks",
    },
]


def test_the_bulk_writer_makes_exactly_what_the_row_by_row_writer_makes(
    database_url: str, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # PostgreSQL's writer computes each plan shape once and streams COPY text; the writer
    # SQLite uses goes plan by plan. Both run here on one database, from the same start.
    require_postgresql(database_url)
    for n, overrides in enumerate(VARIED_PATIENTS):
        fields: dict[str, Any] = {"patient_id": f"V-{n}", "phone": f"+1617555{n:04d}", **overrides}
        enrol(engine, settings, clock.now(), **fields)
    target = horizon_end(clock.now(), settings.horizon_days)
    writers = {
        "bulk": planner._postgresql_writer(settings, clock.now(), target),
        "row by row": planner._sqlite_writer(settings, clock.now(), target),
    }
    made = {}
    for name, write in writers.items():
        report = planner._plan_batches(engine, target, 2, write)
        counts = (report.plans, report.appointments, report.reminders, dict(report.skipped))
        made[name] = (counts, *planned_rows(engine))
        with engine.begin() as conn:
            conn.execute(reminders.delete().where(reminders.c.kind != "consent"))
            conn.execute(appointment_table.delete())
        forget_watermarks(engine)

    (plans, appointments, made_reminders, _), rows, sessions = made["bulk"]
    assert (plans, appointments, made_reminders) == (len(VARIED_PATIENTS), len(sessions), len(rows))
    assert {row[1] for row in rows} == {"foot_check", "exercise", "session"}
    assert made["bulk"] == made["row by row"]


def planned_rows(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every planned reminder, its appointment named by start (ids differ from run to run),
    and every appointment."""
    A = appointment_table
    with engine.begin() as conn:
        sessions = conn.execute(select(A.c.id, A.c.patient_id, A.c.starts_at, A.c.status)).all()
        rows = conn.execute(
            select(
                reminders.c.patient_id,
                reminders.c.kind,
                reminders.c.occurrence,
                reminders.c.appointment_id,
                reminders.c.send_at,
                reminders.c.expires_at,
                reminders.c.state,
                reminders.c.skip_reason,
                reminders.c.plan_version,
            ).where(reminders.c.kind != "consent")
        ).all()
    starts = {session.id: session.starts_at for session in sessions}
    named = []
    for row in rows:
        occurrence, appointment = row.occurrence, row.appointment_id
        if appointment is not None:
            lead = occurrence.rsplit(":", 1)[1]
            occurrence, appointment = f"appt:{lead}", starts[appointment]
        named.append((row.patient_id, row.kind, occurrence, appointment, *tuple(row)[4:]))
    return sorted(named, key=repr), sorted(tuple(session)[1:] for session in sessions)


def test_planned_instants_are_stored_as_every_other_query_binds_them(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    # On SQLite the planner writes through sqlite3's executemany, not SQLAlchemy's; a
    # datetime stored in another text form would never equal one bound in a query.
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    with engine.begin() as conn:
        planned = conn.execute(select(reminders).where(reminders.c.kind == "session")).all()
        assert planned
        for row in planned:
            same_send = reminders.c.send_at == row.send_at
            same_start = appointment_table.c.starts_at == row.expires_at
            assert conn.execute(select(reminders.c.id).where(same_send)).scalars().all()
            assert conn.execute(select(appointment_table.c.id).where(same_start)).scalar_one()
