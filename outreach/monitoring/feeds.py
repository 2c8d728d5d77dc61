"""Each feed's health as staff and monitoring read it: when it last brought something, when
it last worked, its errors, and the appointments it holds for patients outreach does not know.
Written by outreach/feeds/health.py and the feeds themselves; read here, below them, so
`outreach status` and /metrics need nothing above the monitoring layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from outreach.db.tables import feed_health, feed_messages, unmatched_appointments
from outreach.rules.vocabulary import FeedOutcome

H = feed_health
M = feed_messages
U = unmatched_appointments
# A raw message not handled this long after it arrived is stuck, not in progress.
STUCK_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class FeedState:
    feed: str  # AppointmentSource: hl7, fhir
    last_received_at: datetime | None
    last_applied_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    received: int
    errors: int
    watermark: str | None
    unmatched: int  # appointments kept for patients not enrolled
    stuck: int  # raw messages stored and never handled (an interpretation bug)

    @property
    def failing(self) -> bool:
        """The newest event is an error: the feed is not working now."""
        if self.last_error_at is None:
            return False
        return self.last_applied_at is None or self.last_error_at > self.last_applied_at


def feed_states(conn: Connection, now: datetime) -> tuple[FeedState, ...]:
    """Every feed that has ever reported, and any that holds unmatched appointments."""
    unmatched: dict[str, int] = dict(
        conn.execute(
            select(U.c.source, func.count()).where(U.c.matched_at.is_(None)).group_by(U.c.source)
        ).all()
    )
    stuck: dict[str, int] = dict(
        conn.execute(
            select(M.c.feed, func.count())
            .where(M.c.outcome == FeedOutcome.RECEIVED, M.c.received_at < now - STUCK_AFTER)
            .group_by(M.c.feed)
        ).all()
    )
    rows = {r.feed: r for r in conn.execute(select(H)).all()}
    states = []
    for feed in sorted(set(rows) | set(unmatched) | set(stuck)):
        r = rows.get(feed)
        states.append(
            FeedState(
                feed=str(feed),
                last_received_at=r.last_received_at if r else None,
                last_applied_at=r.last_applied_at if r else None,
                last_error_at=r.last_error_at if r else None,
                last_error=r.last_error if r else None,
                received=int(r.received) if r else 0,
                errors=int(r.errors) if r else 0,
                watermark=r.watermark if r else None,
                unmatched=int(unmatched.get(feed, 0)),
                stuck=int(stuck.get(feed, 0)),
            )
        )
    return tuple(states)
