"""How the clinic's sending is doing, read from the database: what `outreach status` shows
and the clinic-wide gauges of /metrics.

Monitoring runs this every 15 seconds or so, on a database of months of reminders, so every
figure is one statement that an index serves (ix_reminder_due, ix_outbound_created,
ix_inboundmessage_processed_at, ix_workerprocess_last_seen_at); none reads patients, and
nothing in a `Health` names one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, case, func, literal_column, select

from outreach.config import Settings
from outreach.db.tables import (
    conversations,
    escalations,
    inbound_messages,
    outbound_messages,
    reminders,
)
from outreach.monitoring import workers
from outreach.monitoring.feeds import FeedState, feed_states
from outreach.monitoring.workers import WorkerSeen
from outreach.rules.retry import MAX_ATTEMPTS, backoff
from outreach.rules.vocabulary import PAGED, ReminderState, Severity

R = reminders
SEVERITIES = tuple(s.value for s in Severity)
RECENT_TEXTS = timedelta(hours=1)


@dataclass(frozen=True)
class Health:
    at: datetime
    due: int  # pending reminders whose moment has come
    oldest_due_at: datetime | None
    in_flight: int  # claimed by a worker now
    expired_leases: int  # claimed, lease run out, not yet recovered
    oldest_expired_lease_at: datetime | None  # when the longest-expired lease ran out
    retrying: int  # pending after a failed try
    texts_last_hour: dict[str, int]  # outbound texts created in the last hour, by status
    workers: tuple[WorkerSeen, ...]  # processes seen within a few ticks
    open_escalations: dict[str, int]  # unresolved, by severity (every severity present)
    oldest_open_urgent_at: datetime | None
    unprocessed_replies: int  # stored, not (yet) interpreted
    inbox_open: int = 0  # conversations waiting for a person
    oldest_inbox_at: datetime | None = None  # the longest-waiting patient text among them
    feeds: tuple[FeedState, ...] = ()  # the clinic's systems sending appointments

    @property
    def oldest_inbox_seconds(self) -> float:
        return _age(self.at, self.oldest_inbox_at)

    @property
    def oldest_due_seconds(self) -> float:
        return _age(self.at, self.oldest_due_at)

    @property
    def expired_lease_seconds(self) -> float:
        return _age(self.at, self.oldest_expired_lease_at)

    @property
    def oldest_open_urgent_seconds(self) -> float:
        return _age(self.at, self.oldest_open_urgent_at)

    @property
    def workers_running(self) -> int:
        return sum(1 for seen in self.workers if seen.stopped_at is None)


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def snapshot(engine: Engine, settings: Settings, now: datetime) -> Health:
    """Every figure at `now`, in one transaction."""
    with engine.connect() as conn:
        due, oldest_due = _due(conn, now)
        in_flight, expired, oldest_expired = _claims(conn, now)
        retrying = _retrying(conn, settings, now)
        texts = _texts_since(conn, now - RECENT_TEXTS)
        open_by_severity, oldest_urgent = _open_escalations(conn)
        unprocessed = _unprocessed_replies(conn)
        inbox_open, oldest_inbox = _inbox(conn)
        feeds = feed_states(conn, now)
    seen = workers.recent(engine, now, settings.tick_seconds)
    return Health(
        at=now,
        due=due,
        oldest_due_at=oldest_due,
        in_flight=in_flight,
        expired_leases=expired,
        oldest_expired_lease_at=oldest_expired,
        retrying=retrying,
        texts_last_hour=texts,
        workers=tuple(seen),
        open_escalations=open_by_severity,
        oldest_open_urgent_at=oldest_urgent,
        unprocessed_replies=unprocessed,
        inbox_open=inbox_open,
        oldest_inbox_at=oldest_inbox,
        feeds=feeds,
    )


def _inbox(conn: Connection) -> tuple[int, datetime | None]:
    C = conversations
    row = conn.execute(
        select(func.count(), func.min(C.c.last_in_at)).where(C.c.closed_at.is_(None))
    ).one()
    return int(row[0]), row[1]


def _due(conn: Connection, now: datetime) -> tuple[int, datetime | None]:
    # Read from ix_reminder_due (state, send_at, kind) alone.
    row = conn.execute(
        select(func.count(), func.min(R.c.send_at)).where(
            R.c.state == ReminderState.PENDING, R.c.send_at <= now
        )
    ).one()
    return int(row[0]), row[1]


def _claims(conn: Connection, now: datetime) -> tuple[int, int, datetime | None]:
    # Claimed rows are the few in flight (ix_reminder_due on state); a lease is read from
    # each of them.
    expired = R.c.lease_until < now
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((expired, 1), else_=0)), 0),
            func.min(case((expired, R.c.lease_until))),
        ).where(R.c.state == ReminderState.CLAIMED)
    ).one()
    return int(row[0]), int(row[1]), row[2]


def _retrying(conn: Connection, settings: Settings, now: datetime) -> int:
    """Pending reminders that have been tried. A retry waits at most the longest backoff,
    so only that stretch of ix_reminder_due is read, not the weeks planned ahead (which
    have no tries yet). A deferral (quiet hours, daily cap) keeps its count of tries too,
    and is counted here while it is due within that stretch."""
    longest_wait = backoff(MAX_ATTEMPTS - 1, settings.retry_backoff_seconds)
    count = conn.execute(
        select(func.count()).where(
            R.c.state == ReminderState.PENDING,
            R.c.send_at <= now + longest_wait,
            R.c.attempts > 0,
        )
    ).scalar_one()
    return int(count)


def _texts_since(conn: Connection, since: datetime) -> dict[str, int]:
    out = outbound_messages
    # Grouped by an expression, not the column: SQLite would otherwise read the whole of
    # ix_outbound_status_created (every text ever, 180 ms at 1.5 million) for its order
    # rather than the last hour of ix_outbound_created (7 ms).
    status = out.c.status.concat(literal_column("''"))
    rows = conn.execute(
        select(status, func.count()).where(out.c.created_at >= since).group_by(status)
    ).all()
    return {status: int(count) for status, count in rows}


def _open_escalations(conn: Connection) -> tuple[dict[str, int], datetime | None]:
    E = escalations
    rows = conn.execute(
        select(E.c.severity, func.count(), func.min(E.c.created_at))
        .where(E.c.resolved_at.is_(None))
        .group_by(E.c.severity)
    ).all()
    counts = dict.fromkeys(SEVERITIES, 0)
    oldest_urgent = None
    for severity, count, oldest in rows:
        counts[severity] = int(count)
        if severity in PAGED and (oldest_urgent is None or oldest < oldest_urgent):
            oldest_urgent = oldest  # emergencies are urgent too
    return counts, oldest_urgent


def _unprocessed_replies(conn: Connection) -> int:
    IN = inbound_messages
    count = conn.execute(select(func.count()).where(IN.c.processed_at.is_(None))).scalar_one()
    return int(count)


def problems(health: Health, max_due_age: float, lease_seconds: int) -> list[str]:
    """Why the clinic's sending needs a look, in words for whoever is paged; [] if healthy."""
    found = []
    if health.workers_running == 0:
        found.append("no worker has reported in the last few ticks: nothing is being sent")
    if health.due and health.oldest_due_seconds > max_due_age:
        found.append(
            f"{health.due} reminders are due; the oldest has waited "
            f"{health.oldest_due_seconds:.0f} s (limit {max_due_age:.0f} s)"
        )
    if health.expired_leases and health.expired_lease_seconds > lease_seconds:
        found.append(
            f"{health.expired_leases} claims have had an expired lease for up to "
            f"{health.expired_lease_seconds:.0f} s (longer than one lease, {lease_seconds} s): "
            "no worker is recovering them"
        )
    for feed in health.feeds:
        if feed.failing:
            found.append(f"the {feed.feed} feed's last attempt failed: {feed.last_error}")
        if feed.stuck:
            found.append(
                f"{feed.stuck} {feed.feed} messages were stored and never handled; "
                "see `outreach hl7 messages`"
            )
    return found
