"""How each feed is doing (feedhealth): the only writer of its rows.

Whoever receives a message or runs a sync records it here in their own transaction, so the
record commits with what it describes. Readers (`outreach status`, /metrics, the admin) read
the table through outreach/monitoring/feeds.py.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from outreach.db.tables import feed_health
from outreach.rules.vocabulary import AppointmentSource

H = feed_health
ERROR_CHARS = 500  # what staff read of the newest error; the rest is in the log


def record(
    conn: Connection,
    feed: AppointmentSource,
    now: datetime,
    *,
    received: int = 0,
    applied: bool = False,
    error: str | None = None,
    errors: int | None = None,
    watermark: str | None = None,
) -> None:
    """Count `received` messages or resources; note a success (`applied`), an error in
    words (the newest of `errors` of them, one by default), or where the next sync resumes.
    One upsert: two receivers never lose a count.

    Call it once per transaction, last: on PostgreSQL the row stays locked until the commit,
    and a transaction that came back to it after other writes (or in savepoints) could
    deadlock with another receiver doing the same."""
    values: dict[str, object] = {"updated_at": now}
    if received:
        values["last_received_at"] = now
    if applied:
        values["last_applied_at"] = now
    if error is not None:
        values["last_error_at"] = now
        values["last_error"] = error[:ERROR_CHARS]
    if watermark is not None:
        values["watermark"] = watermark
    failed = (1 if error is not None else 0) if errors is None else errors
    counts = {"feed": feed, "received": received, "errors": failed}
    params = {f"new_{name}": value for name, value in (values | counts).items()}
    conn.execute(_upsert(conn.dialect.name, tuple(sorted(values))), params)


@cache
def _upsert(dialect_name: str, names: tuple[str, ...]) -> Any:
    """The upsert for one combination of columns, built once: a feed records hundreds of
    messages a second, and building the statement cost more than running it."""
    given: dict[str, Any] = {name: bindparam(f"new_{name}") for name in names}
    stmt = (postgresql if dialect_name == "postgresql" else sqlite).insert(H)
    stmt = stmt.values(
        feed=bindparam("new_feed"),
        received=bindparam("new_received"),
        errors=bindparam("new_errors"),
        **given,
    )
    return stmt.on_conflict_do_update(
        index_elements=[H.c.feed],
        set_={
            **given,
            "received": H.c.received + bindparam("new_received"),
            "errors": H.c.errors + bindparam("new_errors"),
        },
    )


def watermark(conn: Connection, feed: AppointmentSource) -> str | None:
    """Where the feed's next sync resumes (FHIR: an instant for `_lastUpdated=ge`)."""
    found = conn.execute(select(H.c.watermark).where(H.c.feed == feed)).scalar()
    return None if found is None else str(found)
