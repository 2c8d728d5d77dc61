"""Plans become reminder rows, idempotently.

Each reminder has a natural key (patient, kind, occurrence) under a unique constraint and is
written with insert-or-ignore, so two planners on two machines create it once. A plan edit
skips the future rows as 'superseded' (never deleted); the next run revives the ones the new
plan still wants, with their new times, and leaves the rest skipped.

Plans carry a watermark (`planned_until`, a UTC day boundary): a tick only touches plans
whose watermark is behind the horizon, so a tick with nothing new costs one indexed query.

On PostgreSQL one process plans at a time, and batches are written by `planbulk`: each
plan shape's reminders computed once, the rows streamed by COPY.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Engine,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import (
    Patient,
    appointment_table,
    care_plans,
    patients,
    plan_phases,
    reminders,
)
from outreach.planning import bulk as planbulk
from outreach.rules.localtime import patient_quiet_hours, place_outside_quiet, zone_named
from outreach.rules.schedule import (
    Occurrence,
    Phase,
    appointments,
    daily_occurrences,
    parse_weekdays,
    plan_spec,
    session_reminders,
)
from outreach.rules.vocabulary import AppointmentStatus, ConsentState, ReminderKind, ReminderState

log = logging.getLogger("outreach.planner")

# Skips that a later plan run may undo: the reminder is wanted again after an edit or an
# opt-in. A skip for quiet hours, the cap or a passed event is final.
REVIVABLE = ("superseded", "opted_out", "paused")
CONSENT_REPLY_DAYS = 30
PARALLEL_PLANNERS = 2  # threads planning at once on PostgreSQL; see _plan_in_parallel
# The threads split the plans by blocks of ids, not by parity, so that their inserts land in
# different pages of the reminder indexes rather than taking turns on the same ones.
PLAN_ID_BLOCK = 10_000

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

    def add(
        self, appointments: int, reminders: int, skipped: Mapping[str, int], plans: int = 0
    ) -> None:
        self.plans += plans
        self.appointments += appointments
        self.reminders += reminders
        for reason, count in skipped.items():
            self.skipped[reason] += count


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
        if not conn.execute(_behind(target).limit(1)).first():
            return PlanReport()
    with planbulk.planning_lock(engine) as held:
        if not held:
            log.info("another process is planning; this one skips planning this tick")
            return PlanReport(busy=True)
        if engine.dialect.name != "postgresql":
            return _plan_batches(
                engine, target, batch or 2000, _sqlite_writer(settings, now, target)
            )
        return _plan_in_parallel(engine, settings, now, target, batch or 25_000)


# Writes one batch of plans of patients we may text, adding what it made to the report.
Writer = Callable[[Connection, Sequence[Any], PlanReport], None]


def _sqlite_writer(settings: Settings, now: datetime, target: datetime) -> Writer:
    def write(conn: Connection, plans: Sequence[Any], report: PlanReport) -> None:
        _materialise(conn, settings, plans, now, target, report)

    return write


def _postgresql_writer(settings: Settings, now: datetime, target: datetime) -> Writer:
    materialise = planbulk.Materialiser(settings, now, target, REVIVABLE)

    def write(conn: Connection, plans: Sequence[Any], report: PlanReport) -> None:
        made = materialise(conn, plans)
        report.add(made.appointments, made.reminders, made.skipped)

    return write


def _plan_in_parallel(
    engine: Engine, settings: Settings, now: datetime, target: datetime, batch: int
) -> PlanReport:
    """PostgreSQL: two threads, each planning its own blocks of plan ids on a connection of
    its own. Half of a batch's time is spent waiting for the server (COPY, the upserts),
    and a thread waiting on a socket leaves the interpreter to the other one.

    A SQLite batch holds the only write lock, so there batches run one by one and stay
    short for the dispatcher's sake; here a batch costs a few statements whatever its size."""
    write = _postgresql_writer(settings, now, target)  # shared: its shape cache is per run
    with ThreadPoolExecutor(PARALLEL_PLANNERS, thread_name_prefix="planner") as pool:
        futures = [
            pool.submit(_plan_batches, engine, target, batch, write, (part, PARALLEL_PLANNERS))
            for part in range(PARALLEL_PLANNERS)
        ]
        reports = [future.result() for future in futures]
    total = PlanReport()
    for report in reports:
        total.add(report.appointments, report.reminders, report.skipped, report.plans)
    return total


def _plan_batches(
    engine: Engine, target: datetime, batch: int, write: Writer, part: tuple[int, int] = (0, 1)
) -> PlanReport:
    """The plans behind the target are listed once, then read and written `batch` at a time,
    each batch in a transaction of its own. A plan that falls behind meanwhile (an edit) is
    for the next run."""
    with engine.connect() as conn:
        behind = sorted(conn.execute(_behind(target, part)).scalars())
    report = PlanReport()
    for first in range(0, len(behind), batch):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                planbulk.tune_batch(conn)
            rows = conn.execute(_due_plans(conn, target, behind[first : first + batch])).all()
            active = _hold(conn, [row for row in rows if row.active], target)
            if active:
                write(conn, active, report)
            _park(conn, [row.id for row in rows if not row.active], target)
        report.plans += len(active)
    return report


def _hold(conn: Connection, plans: list[Any], target: datetime) -> list[Any]:
    """Advance the watermarks of the plans about to be written, first: the plans that are
    still as they were read, which are then held until the batch commits.

    On PostgreSQL the UPDATE locks each plan it advances, and it advances only the plans
    whose version and watermark are still those read; one edited or replanned since is left
    out of this batch, still due for the next run. An edit or replan that comes later locks
    its plan first (`supersede_plan`, `replan`), so it waits for this batch to commit and
    then reaches what the batch wrote. Without this, an edit landing between the read and
    the writes would leave the old version's reminders pending.

    On SQLite, BEGIN IMMEDIATE took the only write lock before the plans were read."""
    if not plans:
        return plans
    if conn.dialect.name == "postgresql":
        return planbulk.hold(conn, plans, target)
    conn.execute(
        update(P)
        .where(
            P.c.id.in_([p.id for p in plans]),
            or_(P.c.planned_until.is_(None), P.c.planned_until < target),
        )
        .values(planned_until=target)
    )
    return plans


def _behind(target: datetime, part: tuple[int, int] = (0, 1)) -> Any:
    """Ids of the plans behind the target; with part (k, n), only the k-th of every n blocks.

    In no particular order: with the OR beside an ORDER BY id, SQLite walks every plan rather
    than the planned_until index, and a tick with nothing to plan would cost a scan of all of
    them. For the same reason PostgreSQL is never asked to walk plans in id order here: its
    statistics, updated in the middle of a big run, can make that walk a scan per batch."""
    query = select(P.c.id).where(
        or_(P.c.planned_until.is_(None), P.c.planned_until < _inline(target))
    )
    if part[1] > 1:
        query = query.where((P.c.id // PLAN_ID_BLOCK) % part[1] == part[0])
    return query


def _due_plans(conn: Connection, target: datetime, plan_ids: list[int]) -> Any:
    """The plans among `plan_ids` still behind the target, with what planning them needs; on
    PostgreSQL with their phases as text (see `_phase_text`)."""
    columns = [
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
    ]
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        columns.append(_phase_text().label("phases"))
        among = P.c.id == any_(bindparam("plan_ids", plan_ids, type_=ARRAY(Integer)))
    else:
        among = P.c.id.in_(plan_ids)
    return (
        select(*columns)
        .join(PT, PT.c.id == P.c.patient_id)
        .where(among, or_(P.c.planned_until.is_(None), P.c.planned_until < _inline(target)))
        .order_by(P.c.id)
    )


def _phase_text() -> Any:
    """A plan's phases as one string, "weekdays|session time|weeks" joined by ";" in order:
    hashable as it comes, so plans of one shape share a cache entry without building
    anything per plan. Stored weekdays passed `parse_weekdays`, so they hold neither mark."""
    phase = func.concat_ws(
        "|", PH.c.weekdays, cast(PH.c.session_time, String), cast(PH.c.weeks, String)
    )
    return (
        select(func.string_agg(phase, aggregate_order_by(literal(";"), PH.c.seq)))
        .where(PH.c.plan_id == P.c.id)
        .scalar_subquery()
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
    """SQLite: one batch, a row at a time (see planbulk for PostgreSQL's way)."""
    phases = _phases_by_plan(conn, [p.id for p in plans])
    windows: dict[int, tuple[datetime, datetime]] = {}
    new_appointments: list[tuple[int, datetime]] = []
    wanted: list[tuple[Any, Occurrence]] = []
    for plan in plans:
        start = max(plan.planned_until or now, now)
        windows[plan.patient_id] = (start, target)
        spec = plan_spec(plan, phases.get(plan.id, ()))
        zone = zone_named(plan.timezone)
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
            zone_named(plan.timezone),
            patient_quiet_hours(plan.quiet_hours, settings.quiet_hours),
            settings.session_reminder_hours,
            now,
        ):
            wanted.append((plan, occ))
    for _, occ in wanted:
        if occ.skip_reason:
            report.skipped[occ.skip_reason] += 1
    report.reminders += upsert_reminders(
        conn, [_reminder_row(plan, occ, now) for plan, occ in wanted]
    )


def _phases_by_plan(conn: Connection, plan_ids: list[int]) -> dict[int, list[Phase]]:
    found: dict[int, list[Phase]] = defaultdict(list)
    query = (
        select(PH.c.plan_id, PH.c.weekdays, PH.c.session_time, PH.c.weeks)
        .where(PH.c.plan_id.in_(plan_ids))
        .order_by(PH.c.plan_id, PH.c.seq)
    )
    for row in conn.execute(query).all():
        found[row.plan_id].append(Phase(parse_weekdays(row.weekdays), row.session_time, row.weeks))
    return found


def _appointments_in_windows(
    conn: Connection, windows: dict[int, tuple[datetime, datetime]]
) -> list[tuple[int, int, datetime]]:
    """Live appointments (from the plan or entered by staff) inside each patient's window,
    as (id, patient_id, starts_at)."""
    if not windows:
        return []
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
    stmt = _insert(conn, A)
    stmt = stmt.on_conflict_do_update(
        index_elements=["patient_id", "starts_at"],
        set_={"status": AppointmentStatus.SCHEDULED, "updated_at": stmt.excluded.updated_at},
        where=A.c.status == AppointmentStatus.SUPERSEDED,
    )
    stmt = stmt.values(source="plan", status=AppointmentStatus.SCHEDULED)
    return _executemany(
        conn, stmt, [{"patient_id": p, "starts_at": s, "updated_at": now} for p, s in rows]
    )


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
    return _executemany(conn, stmt, rows)


def _executemany(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> int:
    """An upsert of many rows; returns the rows inserted or updated.

    On SQLite through sqlite3's own executemany, compiled once. Elsewhere with RETURNING,
    because executemany's rowcount is -1 on psycopg (PostgreSQL plans through planbulk;
    this serves the tests that compare the two writers there).

    SQLAlchemy builds each row's parameters in Python, which was a third of planning a day
    for 100,000 patients. Each value still goes through its type's bind processor (a UTC
    datetime becomes SQLite's text form), as SQLAlchemy would send it."""
    if conn.dialect.name != "sqlite":
        return len(conn.execute(stmt.returning(stmt.table.c.id), rows).all())
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    names = compiled.positiontup or []
    fixed = dict(compiled.params)  # the statement's own values, and column defaults
    for column in stmt.table.c:
        default = column.default
        if fixed.get(column.key) is None and default is not None and default.is_scalar:
            fixed[column.key] = default.arg
    dialect = conn.dialect
    processors = [
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    params = [
        tuple(
            (process(value) if process else value)
            for process, value in zip(
                processors, (row.get(name, fixed.get(name)) for name in names), strict=True
            )
        )
        for row in rows
    ]
    return int(conn.exec_driver_sql(compiled.string, params).rowcount)


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
    # The plan first: if a planner batch holds it (see _hold), this waits for that batch to
    # commit, and the skips below then reach what the batch wrote.
    conn.execute(
        update(P)
        .where(P.c.id == plan_id)
        .values(version=P.c.version + 1, planned_until=None, updated_at=now)
    )
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
