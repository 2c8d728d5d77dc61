"""Plans become reminder rows, idempotently.

Each reminder has a natural key (patient, kind, occurrence) under a unique constraint and is
written with insert-or-ignore, so two planners on two machines create it once. A plan edit
skips the future rows as 'superseded' (never deleted); the next run revives the ones the new
plan still wants, with their new times, and leaves the rest skipped.

Plans carry a watermark (`planned_until`, a UTC day boundary): a tick only touches plans
whose watermark is behind the horizon, so a tick with nothing new costs one indexed query.

On PostgreSQL the writes go through COPY (`planbulk`), and one process plans at a time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Engine,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from outreach import planbulk
from outreach.config import Settings, patient_quiet_hours
from outreach.localtime import place_outside_quiet
from outreach.models import (
    AppointmentStatus,
    ConsentState,
    Patient,
    ReminderKind,
    ReminderState,
    appointment_table,
    care_plans,
    patients,
    plan_phases,
    reminders,
)
from outreach.schedule import (
    Occurrence,
    Phase,
    PlanSpec,
    appointments,
    daily_occurrences,
    parse_weekdays,
    session_reminders,
)

log = logging.getLogger(__name__)

# Skips that a later plan run may undo: the reminder is wanted again after an edit or an
# opt-in. A skip for quiet hours, the cap or a passed event is final.
REVIVABLE = ("superseded", "opted_out", "paused")
CONSENT_REPLY_DAYS = 30
PARALLEL_PLANNERS = 2  # threads planning at once on PostgreSQL; see _plan_in_parallel
# Plain strings for COPY: psycopg writes an Enum member by its name, not its value.
PENDING, SKIPPED = str(ReminderState.PENDING.value), str(ReminderState.SKIPPED.value)

R = reminders
A = appointment_table
P = care_plans
PT = patients
PH = plan_phases


@dataclass
class PlanReport:
    plans: int = 0
    appointments: int = 0
    reminders: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Another process held the planning lock, so this one planned nothing; it plans again
    # on its next tick if anything is still behind the horizon.
    busy: bool = False


def horizon_end(now: datetime, horizon_days: int) -> datetime:
    """The planning target: a whole UTC day boundary, so the watermark moves once a day."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return midnight + timedelta(days=horizon_days + 1)


def plan_due(
    engine: Engine, settings: Settings, now: datetime, batch: int | None = None
) -> PlanReport:
    """Materialise every active plan up to the horizon. Cheap when there is nothing to do.

    On PostgreSQL one process plans at a time (see `planbulk.planning_lock`): planning is
    idempotent anyway, but N workers computing the same million reminders at once would
    each pay for all of it. A process that finds the lock taken reports `busy`."""
    target = horizon_end(now, settings.horizon_days)
    # An idle tick (nearly every tick) needs neither the lock nor the threads: one query.
    with engine.connect() as conn:
        if not conn.execute(_due_plans(target, 0, 1)).first():
            return PlanReport()
    with planbulk.planning_lock(engine) as held:
        if not held:
            log.info("another process is planning; this one skips planning this tick")
            return PlanReport(busy=True)
        if engine.dialect.name != "postgresql":
            return _plan_batches(engine, settings, now, target, batch or 2000)
        return _plan_in_parallel(engine, settings, now, target, batch or 10_000)


def _plan_in_parallel(
    engine: Engine, settings: Settings, now: datetime, target: datetime, batch: int
) -> PlanReport:
    """PostgreSQL: two threads, each planning the plans of one id parity on a connection of
    its own. Half of a batch's time is spent waiting for the server (COPY, the upserts),
    and a thread waiting on a socket leaves the interpreter to the other one.

    A SQLite batch holds the only write lock, so there batches run one by one and stay
    short for the dispatcher's sake; here a batch costs a few statements whatever its size."""
    with ThreadPoolExecutor(PARALLEL_PLANNERS, thread_name_prefix="planner") as pool:
        futures = [
            pool.submit(
                _plan_batches, engine, settings, now, target, batch, (part, PARALLEL_PLANNERS)
            )
            for part in range(PARALLEL_PLANNERS)
        ]
        reports = [future.result() for future in futures]
    total = PlanReport()
    for report in reports:
        total.plans += report.plans
        total.appointments += report.appointments
        total.reminders += report.reminders
        for reason, count in report.skipped.items():
            total.skipped[reason] += count
    return total


def _plan_batches(
    engine: Engine,
    settings: Settings,
    now: datetime,
    target: datetime,
    batch: int,
    part: tuple[int, int] = (0, 1),
) -> PlanReport:
    report = PlanReport()
    last_id = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(_due_plans(target, last_id, batch, part)).all()
            if not rows:
                return report
            last_id = rows[-1].id
            active = [row for row in rows if row.active]
            if active:
                _materialise(conn, settings, active, now, target, report)
            _park(conn, [row.id for row in rows if not row.active], target)
        report.plans += len(active)


def _due_plans(target: datetime, after_id: int, limit: int, part: tuple[int, int] = (0, 1)) -> Any:
    """Plans behind the target after `after_id`; with part (k, n), only ids equal to k mod n."""
    behind = select(P.c.id).where(
        or_(P.c.planned_until.is_(None), P.c.planned_until < _inline(target)),
        P.c.id > after_id,
    )
    if part[1] > 1:
        behind = behind.where(P.c.id % part[1] == part[0])
    return (
        select(
            P.c.id,
            P.c.patient_id,
            P.c.version,
            P.c.start_date,
            P.c.end_date,
            P.c.foot_check_time,
            P.c.exercise_days,
            P.c.exercise_time,
            P.c.planned_until,
            PT.c.timezone,
            PT.c.quiet_hours,
            _may_text().label("active"),
        )
        .join(PT, PT.c.id == P.c.patient_id)
        .where(
            # Through a subquery, so SQLite finds the plans behind the target in the
            # planned_until index; with the OR beside ORDER BY id it walks every plan, and
            # a tick with nothing to plan would cost a scan of all of them.
            P.c.id.in_(behind),
            P.c.id > after_id,
        )
        .order_by(P.c.id)
        .limit(limit)
    )


def _may_text() -> Any:
    return and_(
        PT.c.consent_state == ConsentState.GRANTED,
        PT.c.opted_out.is_(False),
        PT.c.paused.is_(False),
    )


def _park(conn: Connection, plan_ids: list[int], target: datetime) -> None:
    """Plans of patients we may not text move their watermark without making reminders, so
    idle ticks stop reading them; consent, opt-in and resuming call `replan`, which resets it.
    The patient is checked again in the UPDATE: a consent committed since the read must not
    have its reset overwritten."""
    if not plan_ids:
        return
    conn.execute(
        update(P)
        .where(
            P.c.id.in_(plan_ids),
            or_(P.c.planned_until.is_(None), P.c.planned_until < target),
            P.c.patient_id.in_(select(PT.c.id).where(~_may_text())),
        )
        .values(planned_until=target)
    )


def _inline(target: datetime) -> Any:
    # Written into the SQL rather than bound: psycopg prepares a statement run five times,
    # and PostgreSQL's generic plan for "planned_until < $1 ... ORDER BY id LIMIT n" cannot
    # see that almost no plan is behind, so it walks every plan in id order on every tick.
    # The target moves once a day, so this is one more statement a day, not one a tick.
    return literal(target, P.c.planned_until.type, literal_execute=True)


def _materialise(
    conn: Connection,
    settings: Settings,
    plans: Sequence[Any],
    now: datetime,
    target: datetime,
    report: PlanReport,
) -> None:
    phases = _phases_by_plan(conn, [p.id for p in plans])
    windows: dict[int, tuple[datetime, datetime]] = {}
    new_appointments: list[tuple[int, datetime]] = []
    wanted: list[tuple[Any, Occurrence]] = []
    for plan in plans:
        start = max(plan.planned_until or now, now)
        windows[plan.patient_id] = (start, target)
        spec = _spec(plan, phases.get(plan.id, ()))
        zone = _zone(plan.timezone)
        new_appointments.extend(
            (plan.patient_id, starts_at) for starts_at in appointments(spec, zone, start, target)
        )
        quiet = patient_quiet_hours(plan.quiet_hours, settings.quiet_hours)
        wanted.extend(
            (plan, occ) for occ in daily_occurrences(spec, zone, quiet, start, target, now)
        )
    report.appointments += _upsert_appointments(conn, new_appointments, now)
    by_patient = {plan.patient_id: plan for plan in plans}
    for appointment_id, patient_id, starts_at in _appointments_in_windows(conn, windows):
        plan = by_patient[patient_id]
        for occ in session_reminders(
            appointment_id,
            starts_at,
            _zone(plan.timezone),
            patient_quiet_hours(plan.quiet_hours, settings.quiet_hours),
            settings.session_reminder_hours,
            now,
        ):
            wanted.append((plan, occ))
    for _, occ in wanted:
        if occ.skip_reason:
            report.skipped[occ.skip_reason] += 1
    report.reminders += _upsert_wanted(conn, wanted, now)
    _advance_watermarks(conn, plans, target)


def _advance_watermarks(conn: Connection, plans: Sequence[Any], target: datetime) -> None:
    if conn.dialect.name == "postgresql":
        planbulk.advance_watermarks(conn, [(p.id, p.version) for p in plans], target)
        return
    # SQLite: BEGIN IMMEDIATE took the write lock before the plans were read, so no edit
    # can have come in between.
    conn.execute(
        update(P)
        .where(
            P.c.id.in_([p.id for p in plans]),
            or_(P.c.planned_until.is_(None), P.c.planned_until < target),
        )
        .values(planned_until=target)
    )


@lru_cache(maxsize=1024)
def _zone(key: str) -> ZoneInfo:
    # ZoneInfo caches only the last few zones strongly; past that, asking for a zone again
    # can reread its file, and each fresh instance starts with empty conversion caches.
    return ZoneInfo(key)


def _spec(plan: Any, phases: Sequence[Phase]) -> PlanSpec:
    return PlanSpec(
        start_date=plan.start_date,
        end_date=plan.end_date,
        phases=tuple(phases),
        foot_check_time=plan.foot_check_time,
        exercise_days=parse_weekdays(plan.exercise_days),
        exercise_time=plan.exercise_time,
    )


def _phases_by_plan(conn: Connection, plan_ids: list[int]) -> dict[int, list[Phase]]:
    found: dict[int, list[Phase]] = defaultdict(list)
    query = (
        select(PH.c.plan_id, PH.c.weekdays, PH.c.session_time, PH.c.weeks)
        .where(_among(conn, PH.c.plan_id, plan_ids))
        .order_by(PH.c.plan_id, PH.c.seq)
    )
    for row in conn.execute(query).all():
        found[row.plan_id].append(Phase(parse_weekdays(row.weekdays), row.session_time, row.weeks))
    return found


def _among(conn: Connection, column: Any, ids: list[int]) -> Any:
    """`column IN ids`; on PostgreSQL as one array parameter rather than 10,000 of them."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _appointments_in_windows(
    conn: Connection, windows: dict[int, tuple[datetime, datetime]]
) -> list[tuple[int, int, datetime]]:
    """Live appointments (from the plan or entered by staff) inside each patient's window,
    as (id, patient_id, starts_at)."""
    if not windows:
        return []
    if conn.dialect.name == "postgresql":
        return planbulk.appointments_in_windows(conn, windows)
    earliest = min(start for start, _ in windows.values())
    latest = max(end for _, end in windows.values())
    rows = conn.execute(
        select(A.c.id, A.c.patient_id, A.c.starts_at).where(
            A.c.patient_id.in_(list(windows)),
            A.c.starts_at >= earliest,
            A.c.starts_at < latest,
            A.c.status.in_([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED]),
        )
    ).all()
    return [
        (r.id, r.patient_id, r.starts_at)
        for r in rows
        if windows[r.patient_id][0] <= r.starts_at < windows[r.patient_id][1]
    ]


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _upsert_appointments(conn: Connection, rows: list[tuple[int, datetime]], now: datetime) -> int:
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return planbulk.upsert_appointments(conn, rows, now)
    stmt = _insert(conn, A)
    stmt = stmt.on_conflict_do_update(
        index_elements=["patient_id", "starts_at"],
        set_={"status": AppointmentStatus.SCHEDULED, "updated_at": stmt.excluded.updated_at},
        where=A.c.status == AppointmentStatus.SUPERSEDED,
    )
    # RETURNING, because executemany's rowcount is -1 on psycopg.
    stmt = stmt.values(source="plan", status=AppointmentStatus.SCHEDULED).returning(A.c.id)
    params = [{"patient_id": p, "starts_at": s, "updated_at": now} for p, s in rows]
    return len(conn.execute(stmt, params).all())


def _upsert_wanted(conn: Connection, wanted: list[tuple[Any, Occurrence]], now: datetime) -> int:
    if not wanted:
        return 0
    if conn.dialect.name == "postgresql":
        rows = (
            (
                plan.patient_id,
                occ.kind,
                occ.occurrence,
                occ.appointment_id,
                occ.send_at,
                occ.expires_at,
                SKIPPED if occ.skip_reason else PENDING,
                occ.skip_reason,
                plan.version,
            )
            for plan, occ in wanted
        )
        return planbulk.upsert_reminders(conn, rows, now, REVIVABLE)
    return upsert_reminders(conn, [_reminder_row(plan, occ, now) for plan, occ in wanted])


def _reminder_row(plan: Any, occ: Occurrence, now: datetime) -> dict[str, Any]:
    return {
        "patient_id": plan.patient_id,
        "kind": occ.kind,
        "occurrence": occ.occurrence,
        "appointment_id": occ.appointment_id,
        "send_at": occ.send_at,
        "expires_at": occ.expires_at,
        "state": ReminderState.SKIPPED if occ.skip_reason else ReminderState.PENDING,
        "skip_reason": occ.skip_reason,
        "plan_version": plan.version,
        "created_at": now,
        "updated_at": now,
    }


def upsert_reminders(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert-or-ignore on the natural key; a row skipped for a revivable reason comes back."""
    if not rows:
        return 0
    stmt = _insert(conn, R)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["patient_id", "kind", "occurrence"],
        set_={
            "state": excluded.state,
            "skip_reason": excluded.skip_reason,
            "send_at": excluded.send_at,
            "expires_at": excluded.expires_at,
            "plan_version": excluded.plan_version,
            "updated_at": excluded.updated_at,
        },
        # Spelled out as ORs: an IN list cannot be expanded inside an executemany.
        where=and_(
            R.c.state == ReminderState.SKIPPED,
            or_(*(R.c.skip_reason == reason for reason in REVIVABLE)),
        ),
    )
    return len(conn.execute(stmt.returning(R.c.id), rows).all())


def request_consent(
    conn: Connection,
    settings: Settings,
    patient: Patient,
    now: datetime,
    occurrence: str = "enrolment",
) -> None:
    """Queue the consent text: the first and, until YES, the only message to a number."""
    zone = ZoneInfo(patient.timezone)
    expires = now + timedelta(days=CONSENT_REPLY_DAYS)
    quiet = patient_quiet_hours(patient.quiet_hours, settings.quiet_hours)
    send_at = place_outside_quiet(now, zone, quiet, expires, now) or now
    row = {
        "patient_id": patient.id,
        "kind": ReminderKind.CONSENT,
        "occurrence": occurrence,
        "appointment_id": None,
        "send_at": send_at,
        "expires_at": expires,
        "state": ReminderState.PENDING,
        "skip_reason": None,
        "plan_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(_insert(conn, R).on_conflict_do_nothing(), [row])


def skip_pending(
    conn: Connection, patient_id: int, reason: str, now: datetime, *, keep_consent: bool
) -> int:
    """Skip a patient's pending reminders (opt-out, pause, plan edit). Claimed rows are
    already in flight, and the dispatcher re-checks its guards before it sends."""
    query = update(R).where(R.c.patient_id == patient_id, R.c.state == ReminderState.PENDING)
    if keep_consent:
        query = query.where(R.c.kind != ReminderKind.CONSENT)
    result = conn.execute(
        query.values(state=ReminderState.SKIPPED, skip_reason=reason, updated_at=now)
    )
    return int(result.rowcount or 0)


def supersede_plan(conn: Connection, plan_id: int, patient_id: int, now: datetime) -> None:
    """After an edit: future reminders and plan-made appointments give way to the new plan,
    which the next planner run materialises."""
    skip_pending(conn, patient_id, "superseded", now, keep_consent=True)
    conn.execute(
        update(A)
        .where(
            A.c.patient_id == patient_id,
            A.c.source == "plan",
            A.c.status == AppointmentStatus.SCHEDULED,
            A.c.starts_at > now,
        )
        .values(status=AppointmentStatus.SUPERSEDED, updated_at=now)
    )
    conn.execute(
        update(P)
        .where(P.c.id == plan_id)
        .values(version=P.c.version + 1, planned_until=None, updated_at=now)
    )


def replan(conn: Connection, patient_id: int, now: datetime) -> None:
    """Make the next planner run recompute a patient's plan. Call it whenever a patient
    becomes textable again: consent, opt-in, resuming after a pause."""
    conn.execute(
        update(P).where(P.c.patient_id == patient_id).values(planned_until=None, updated_at=now)
    )


def count_due(conn: Connection, now: datetime) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(R)
            .where(R.c.state == ReminderState.PENDING, R.c.send_at <= now)
        ).scalar_one()
    )
