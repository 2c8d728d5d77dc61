"""One FHIR sync at a time on PostgreSQL: a session-level advisory lock held for a whole run.

Two workers syncing at once would apply the same pages twice (harmless: the second finds
them unchanged) and race on the watermark; with the lock the second one skips its turn.
SQLite runs one worker anyway. The pattern is planning/lock.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# "the FHIR sync" and this schema's feedhealth table: schemas sharing a server (tests,
# benchmarks, several clinics) do not wait for one another.
_LOCK_KEYS = "hashtext('outreach.fhir-sync'), 'feedhealth'::regclass::oid::integer"


@contextmanager
def sync_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether this process may sync now; PostgreSQL releases the lock if the process
    dies, as it closes the session."""
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
                try:
                    conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEYS})"))
                except Exception:
                    # Never back to the pool holding the lock: ending the session frees it.
                    conn.invalidate()
                    raise
    finally:
        conn.close()
