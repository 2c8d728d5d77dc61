"""Which processes tick, as they report themselves: one row each, refreshed every tick.

Nothing depends on these rows for correctness (claims and leases do that); they are how
staff and monitoring see that workers are alive (`outreach status`, /metrics).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from outreach.db.tables import worker_processes

W = worker_processes
# A process is "seen recently" if it reported within this many ticks.
SEEN_TICKS = 3
# Rows of processes gone this long are pruned by the live ones.
FORGET_AFTER = timedelta(days=7)


def new_worker_id() -> str:
    """host:pid:random. The random part keeps a restarted process (same pid after a reboot,
    or in a container where every worker is pid 1) from taking over a dead one's claims."""
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class WorkerSeen:
    id: str
    hostname: str
    pid: int
    role: str
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None
    ticks: int
    last_tick_ms: float | None
    sent: int
    last_error: str | None


def register(engine: Engine, worker_id: str, role: str, now: datetime) -> None:
    host, pid, _ = worker_id.rsplit(":", 2)
    with engine.begin() as conn:
        conn.execute(delete(W).where(W.c.last_seen_at < now - FORGET_AFTER))
        conn.execute(
            insert(W).values(
                id=worker_id,
                hostname=host,
                pid=int(pid),
                role=role,
                started_at=now,
                last_seen_at=now,
                ticks=0,
                sent=0,
            )
        )


def beat(
    engine: Engine,
    worker_id: str,
    now: datetime,
    tick_ms: float | None,
    sent: int,
    error: str | None,
) -> None:
    """One tick done: `sent` texts more since the last beat, and the tick's error if any."""
    with engine.begin() as conn:
        conn.execute(
            update(W)
            .where(W.c.id == worker_id)
            .values(
                last_seen_at=now,
                ticks=W.c.ticks + 1,
                last_tick_ms=tick_ms,
                sent=W.c.sent + sent,
                last_error=error[:300] if error else None,
            )
        )


def stopped(engine: Engine, worker_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(W).where(W.c.id == worker_id).values(stopped_at=now, last_seen_at=now))


def recent(engine: Engine, now: datetime, tick_seconds: int) -> list[WorkerSeen]:
    """Processes that reported within SEEN_TICKS ticks (a stopped one until it would have)."""
    since = now - timedelta(seconds=SEEN_TICKS * tick_seconds)
    with engine.connect() as conn:
        rows = conn.execute(
            select(W).where(W.c.last_seen_at >= since).order_by(W.c.hostname, W.c.started_at)
        ).all()
    return [WorkerSeen(**row._mapping) for row in rows]
