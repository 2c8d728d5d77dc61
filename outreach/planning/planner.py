"""Plans become reminder rows, idempotently: the planner run.

A run plans every plan whose watermark is behind the horizon (planning/dueplans.py), in
batches, each in a transaction of its own, and hands what each batch makes to the outbox,
the only writer of reminder rows (outreach/outbox/writers.py): on SQLite a row at a time
(planning/rowbyrow.py), on PostgreSQL by COPY (planning/bulk.py), in two threads. A plan
edit skips the future rows as 'superseded' (never deleted); the next run revives the ones
the new plan still wants, with their new times, and leaves the rest skipped.

On PostgreSQL one process plans at a time (planning/lock.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import care_plans
from outreach.planning import bulk as planbulk
from outreach.planning import dueplans
from outreach.planning.lock import planning_lock
from outreach.planning.report import PlanReport
from outreach.planning.rowbyrow import materialise

log = logging.getLogger("outreach.planner")

PARALLEL_PLANNERS = 2  # threads planning at once on PostgreSQL; see _plan_in_parallel

P = care_plans


def horizon_end(now: datetime, horizon_days: int) -> datetime:
    """The planning target: a whole UTC day boundary, so the watermark moves once a day."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return midnight + timedelta(days=horizon_days + 1)


def plan_due(
    engine: Engine, settings: Settings, now: datetime, batch: int | None = None
) -> PlanReport:
    """Materialise every active plan up to the horizon. Cheap when there is nothing to do.

    On PostgreSQL one process plans at a time (see planning/lock.py): planning is
    idempotent anyway, but N workers computing the same million reminders at once would
    each pay for all of it. A process that finds the lock taken reports `busy`."""
    target = horizon_end(now, settings.horizon_days)
    # An idle tick (nearly every tick) needs neither the lock nor the threads: one query.
    with engine.connect() as conn:
        if not conn.execute(dueplans.behind(target).limit(1)).first():
            return PlanReport()
    with planning_lock(engine) as held:
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
        materialise(conn, settings, plans, now, target, report)

    return write


def _postgresql_writer(settings: Settings, now: datetime, target: datetime) -> Writer:
    bulk = planbulk.Materialiser(settings, now, target)

    def write(conn: Connection, plans: Sequence[Any], report: PlanReport) -> None:
        made = bulk(conn, plans)
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
        behind = sorted(conn.execute(dueplans.behind(target, part)).scalars())
    report = PlanReport()
    for first in range(0, len(behind), batch):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                planbulk.tune_batch(conn)
            rows = conn.execute(
                dueplans.due_plans(conn, target, behind[first : first + batch])
            ).all()
            active = _hold(conn, [row for row in rows if row.active], target)
            if active:
                write(conn, active, report)
            dueplans.park(conn, [row.id for row in rows if not row.active], target)
        report.plans += len(active)
    return report


def _hold(conn: Connection, plans: list[Any], target: datetime) -> list[Any]:
    """Advance the watermarks of the plans about to be written, first: the plans that are
    still as they were read, which are then held until the batch commits.

    On PostgreSQL the UPDATE locks each plan it advances, and it advances only the plans
    whose version and watermark are still those read; one edited or replanned since is left
    out of this batch, still due for the next run. An edit or replan that comes later locks
    its plan first (`supersede_plan`, `replan` in outreach/outbox/commands.py), so it waits
    for this batch to commit and then reaches what the batch wrote. Without this, an edit
    landing between the read and the writes would leave the old version's reminders pending.

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
