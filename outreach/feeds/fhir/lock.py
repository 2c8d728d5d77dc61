"""One FHIR sync at a time on PostgreSQL (outreach/db/advisorylock.py).

Two workers syncing at once would apply the same pages twice (harmless: the second finds
them unchanged) and race on the watermark; with the lock the second one skips its turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from outreach.db.advisorylock import advisory_lock


@contextmanager
def sync_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether this process may sync now."""
    with advisory_lock(engine, "outreach.fhir-sync", "feedhealth") as held:
        yield held
