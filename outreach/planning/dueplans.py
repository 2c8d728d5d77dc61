"""Which plans are due: those whose watermark (`planned_until`, a UTC day boundary) is
behind the run's target, read with what planning them needs, and parking the plans of
patients we may not text.

A tick only touches plans whose watermark is behind the horizon, so a tick with nothing new
costs one indexed query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
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
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from outreach.db.tables import care_plans, patients, plan_phases
from outreach.rules.vocabulary import ConsentState

# The threads split the plans by blocks of ids, not by parity, so that their inserts land in
# different pages of the reminder indexes rather than taking turns on the same ones.
PLAN_ID_BLOCK = 10_000

P = care_plans
PT = patients
PH = plan_phases


def behind(target: datetime, part: tuple[int, int] = (0, 1)) -> Any:
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


def due_plans(conn: Connection, target: datetime, plan_ids: list[int]) -> Any:
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
        may_text().label("active"),
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


def may_text() -> Any:
    """The condition on a patient row under which their plan makes reminders."""
    return and_(
        PT.c.consent_state == ConsentState.GRANTED,
        PT.c.opted_out.is_(False),
        PT.c.paused.is_(False),
    )


def park(conn: Connection, plan_ids: list[int], target: datetime) -> None:
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
            P.c.patient_id.in_(select(PT.c.id).where(~may_text())),
        )
        .values(planned_until=target)
    )


def _inline(target: datetime) -> Any:
    # Written into the SQL rather than bound: psycopg prepares a statement run five times,
    # and PostgreSQL's generic plan for "planned_until < $1 ... ORDER BY id LIMIT n" cannot
    # see that almost no plan is behind, so it walks every plan in id order on every tick.
    # The target moves once a day, so this is one more statement a day, not one a tick.
    return literal(target, P.c.planned_until.type, literal_execute=True)
