"""A session-level PostgreSQL advisory lock held for a whole run (the planner's, the FHIR
sync's): one process at a time does the run, the others skip their turn.

The lock is taken on a connection of its own, so the run's transactions commit on others,
and PostgreSQL releases it if the process dies. Its two keys are the run's name and one
table of this schema, so schemas sharing a server (tests, benchmarks, several clinics) do
not wait for one another. SQLite needs none: it has one writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


@contextmanager
def advisory_lock(engine: Engine, name: str, table: str) -> Iterator[bool]:
    """Yields whether this process holds the lock `name` (always True off PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    keys = "hashtext(:name), CAST(CAST(CAST(:table AS regclass) AS oid) AS integer)"
    params = {"name": name, "table": table}
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({keys})"), params).scalar())
        try:
            yield held
        finally:
            if held:
                try:
                    conn.execute(text(f"SELECT pg_advisory_unlock({keys})"), params)
                except Exception:
                    # Never back to the pool holding the lock: ending the session frees it.
                    conn.invalidate()
                    raise
    finally:
        conn.close()
