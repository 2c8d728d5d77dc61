"""The only writer of the report's rollups (reportday): recounts the clinic days around
the UTC dates the triggers marked (reportdirty), rebuilds ranges on request, and sums the
days of a range for the report.

A recount takes the marks and recounts their days in one transaction. On SQLite that
transaction holds the write lock, so no write can fall between the two. On PostgreSQL a
writer holds a KEY SHARE lock on its date's mark until it commits (migration 0010); the
recount takes only marks no writer holds (FOR UPDATE SKIP LOCKED), whose writes are all
committed and so seen, and leaves the others for the next refresh; it never waits for a
writer, so the two cannot deadlock. Recounts take a transaction-level advisory lock, so
two of them never write the same days at once.

Who recounts. A worker recounts every REFRESH_EVERY (runtime.Service.tick) and notes when
(`refreshed_at` in reportmeta); while it does, a report read sums the stored days as they
are, at most a few minutes behind, and never waits for a recount, however many rows the
last minutes changed (a busy day at 100,000 patients takes seconds to recount). With no
worker keeping them (the demo, a laptop, the command line alone), the read recounts the
marked days itself first, so what it shows is always current.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from outreach.db.tables import report_days, report_dirty, report_meta
from outreach.rules.localtime import local_date
from outreach.staff.report.counts import BY_START, CHARTED, Figure, Tally
from outreach.staff.report.tally import count_days

D = report_days
CHUNK_DAYS = 31  # days recounted per statement set: a month of a large clinic at most
ZONE = "zone"
REFRESHED = "refreshed_at"
REFRESH_EVERY = timedelta(minutes=5)
# A worker that recounted within this long is keeping the rollups: two of its periods and
# a minute for a slow tick.
KEPT_WITHIN = 2 * REFRESH_EVERY + timedelta(minutes=1)
LOCK_KEY = 0x7265706F7274  # "report"

Progress = Callable[[date, date], None]


@dataclass(frozen=True)
class Freshness:
    """How current the stored days are: when a worker last recounted them (None: no worker
    keeps them) and how many UTC dates have writes not yet counted."""

    refreshed_at: datetime | None
    pending: int


def refresh(
    engine: Engine,
    zone: ZoneInfo,
    progress: Progress | None = None,
    now: datetime | None = None,
    rounds: int | None = None,
) -> int:
    """Recount the clinic days around the dates marked stale, a month of marks per
    transaction, so no transaction holds SQLite's write lock for long; how many clinic days
    were recounted. A day of writes marks one or two UTC dates: a few days' work.
    `now`: noted as when the rollups were last kept (the worker's, keep()); `rounds`: at
    most that many months of marks."""
    recounted = 0
    done = 0
    while rounds is None or done < rounds:
        done += 1
        with engine.begin() as conn:
            _one_at_a_time(conn)
            if now is not None:
                _set_meta(conn, REFRESHED, now.astimezone(UTC).isoformat())
            if _zone(conn) != zone.key:
                _mark_everything(conn)
                _set_meta(conn, ZONE, zone.key)
            stale = _take_marks(conn)
            if not stale:
                return recounted
            days = sorted({day for d in stale for day in _clinic_days(d, zone)})
            for first, last in _runs(days):
                _recount(conn, zone, first, last)
        recounted += len(days)
        if progress:
            progress(days[0], days[-1])
    return recounted


def keep(engine: Engine, zone: ZoneInfo, now: datetime) -> bool:
    """The worker's recount: at most a month of marks, noting `now` as when the rollups
    were last kept; whether a full month was taken (more may wait: after an upgrade, all of
    history does, and the worker goes on at its next tick rather than in one long one)."""
    return refresh(engine, zone, now=now, rounds=1) >= CHUNK_DAYS


def freshness(engine: Engine, now: datetime, first: date, last: date) -> Freshness:
    """Whether a worker keeps the rollups (it recounted within KEPT_WITHIN of `now`), and
    how many marked dates that touch the clinic days `first`..`last` wait for its next
    recount."""
    with engine.connect() as conn:
        noted = conn.execute(
            select(report_meta.c.value).where(report_meta.c.name == REFRESHED)
        ).scalar()
        pending = conn.execute(
            select(func.count()).where(
                report_dirty.c.day >= first - timedelta(days=1),
                report_dirty.c.day <= last + timedelta(days=1),
            )
        ).scalar_one()
    at = datetime.fromisoformat(noted) if noted else None
    if at is None or not now - KEPT_WITHIN <= at <= now + KEPT_WITHIN:
        return Freshness(None, int(pending))
    return Freshness(at, int(pending))


def _clinic_days(utc_date: date, zone: ZoneInfo) -> set[date]:
    """The clinic days a UTC date overlaps: one or two (three nowhere: no zone is a day off)."""
    start = datetime.combine(utc_date, time(0), UTC)
    return {local_date(start, zone), local_date(start + timedelta(days=1, microseconds=-1), zone)}


def _take_marks(conn: Connection) -> list[date]:
    """The oldest CHUNK_DAYS marks, deleted: on PostgreSQL only those no writer in flight
    holds (the others wait for the next refresh)."""
    oldest = select(report_dirty.c.day).order_by(report_dirty.c.day).limit(CHUNK_DAYS)
    if conn.dialect.name == "postgresql":
        free = oldest.with_for_update(skip_locked=True).scalar_subquery()
        taken = delete(report_dirty).where(report_dirty.c.day.in_(free))
        return list(conn.execute(taken.returning(report_dirty.c.day)).scalars())
    days = list(conn.execute(oldest).scalars())
    conn.execute(delete(report_dirty).where(report_dirty.c.day.in_(days)))
    return days


def rebuild(
    engine: Engine,
    zone: ZoneInfo,
    first: date | None = None,
    last: date | None = None,
    progress: Progress | None = None,
) -> int:
    """Recount the clinic days `first`..`last` (default: every day with data): their dates
    are marked stale and refreshed as any write's would be; how many days were recounted."""
    with engine.begin() as conn:
        _one_at_a_time(conn)
        if first is None and last is None:
            _mark_everything(conn)
            _set_meta(conn, ZONE, zone.key)
        else:
            low, high = _data_days(conn)
            start, end = first or low, last or high
            if start is not None and end is not None and start <= end:
                _mark(conn, [start + timedelta(days=n) for n in range((end - start).days + 1)])
    return refresh(engine, zone, progress)


def _one_at_a_time(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _recount(conn: Connection, zone: ZoneInfo, first: date, last: date) -> None:
    counted = count_days(conn, zone, first, last)
    conn.execute(delete(D).where(D.c.day >= first, D.c.day <= last))
    rows = [
        {"day": day, "figure": figure, "key": key, "value": value}
        for (day, figure, key), value in counted.items()
        if value
    ]
    if rows:
        conn.execute(insert(D), rows)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs of at most CHUNK_DAYS."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if (
            runs
            and day == runs[-1][1] + timedelta(days=1)
            and (day - runs[-1][0]).days < CHUNK_DAYS
        ):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _zone(conn: Connection) -> str | None:
    return conn.execute(select(report_meta.c.value).where(report_meta.c.name == ZONE)).scalar()


def _set_meta(conn: Connection, name: str, value: str) -> None:
    if conn.execute(
        update(report_meta).where(report_meta.c.name == name).values(value=value)
    ).rowcount:
        return
    conn.execute(insert(report_meta).values(name=name, value=value))


def _mark_everything(conn: Connection) -> None:
    """Days were cut in another zone (or never): recount every day there are rows for."""
    conn.execute(delete(D))
    low, high = _data_days(conn)
    if low is not None and high is not None:
        _mark(conn, [low + timedelta(days=n) for n in range((high - low).days + 1)])


def _mark(conn: Connection, days: list[date]) -> None:
    marked = set(
        conn.execute(select(report_dirty.c.day).where(report_dirty.c.day.in_(days))).scalars()
    )
    fresh = [{"day": d} for d in days if d not in marked]
    if fresh:
        conn.execute(insert(report_dirty), fresh)


def _data_days(conn: Connection) -> tuple[date | None, date | None]:
    """The first and last UTC dates any figure could anchor on."""
    from outreach.db.tables import (
        appointment_table,
        consent_events,
        escalations,
        inbound_messages,
        open_slots,
        outbound_messages,
    )

    found = []
    for column in (
        outbound_messages.c.created_at,
        outbound_messages.c.sent_at,
        inbound_messages.c.received_at,
        appointment_table.c.starts_at,
        escalations.c.created_at,
        consent_events.c.at,
        open_slots.c.opened_at,
    ):
        low, high = conn.execute(select(func.min(column), func.max(column))).one()
        found += [at for at in (low, high) if at is not None]
    if not found:
        return None, None
    return min(found).date() - timedelta(days=1), max(found).date() + timedelta(days=1)


def read(
    engine: Engine, first: date, last: date, live_from: date
) -> tuple[Tally, Counter[tuple[str, str]]]:
    """The stored counts of the clinic days `first`..`last`: per day for the charted
    figures, and summed over the days for every figure; without the sessions of
    `live_from` on, which the report counts as they start."""
    charted = Tally()
    totals: Counter[tuple[str, str]] = Counter()
    in_range = and_(
        D.c.day >= first,
        D.c.day <= last,
        or_(D.c.day < live_from, D.c.figure.notin_([str(f) for f in BY_START])),
    )
    with engine.connect() as conn:
        for day, figure, key, value in conn.execute(
            select(D.c.day, D.c.figure, D.c.key, D.c.value).where(
                in_range, D.c.figure.in_([str(f) for f in CHARTED])
            )
        ):
            charted.add(day, Figure(figure), key, int(value))
        for figure, key, value in conn.execute(
            select(D.c.figure, D.c.key, func.sum(D.c.value))
            .where(in_range)
            .group_by(D.c.figure, D.c.key)
        ):
            totals[(figure, key)] += int(value)
    return charted, totals
