"""One planner at a time on PostgreSQL: a session-level advisory lock held for a whole run.

Planning is idempotent anyway, but N workers computing the same million reminders at once
would each pay for all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

# Two keys: one for "the planner", one for this schema's plan table, so that schemas
# sharing a server (tests, benchmarks, several clinics) do not wait for one another.
_LOCK_KEYS = "hashtext('outreach.planner'), 'careplan'::regclass::oid::integer"


@contextmanager
def planning_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether this process may plan. On PostgreSQL a session-level advisory lock on a
    connection of its own, held for the whole run (its batches commit on other connections)
    and released by PostgreSQL if the process dies. SQLite needs none: each batch takes the
    database's only write lock."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_KEYS})")).scalar())
        try:
            yield held
        finally:
            if held:
                _unlock(conn)
    finally:
        conn.close()


def _unlock(conn: Connection) -> None:
    try:
        conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEYS})"))
    except Exception:
        # The connection must not go back to the pool still holding the lock: closing it
        # for good ends the session, and PostgreSQL releases the lock with it.
        conn.invalidate()
        raise
