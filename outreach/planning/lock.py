"""One planner at a time on PostgreSQL (outreach/db/advisorylock.py).

Planning is idempotent anyway, but N workers computing the same million reminders at once
would each pay for all of it. SQLite needs none: each batch takes the database's only
write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from outreach.db.advisorylock import advisory_lock


@contextmanager
def planning_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether this process may plan."""
    with advisory_lock(engine, "outreach.planner", "careplan") as held:
        yield held
