"""Where the demo writes its week: a file the user names with --database, which must be new
or empty (a second run would add a second week beside the first), or replaced with --fresh
when an earlier demo wrote it. Without --database, week.py uses a temporary folder and
deletes it afterwards: the demo's patients are made up, but /tmp is no place to leave them.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from enum import StrEnum
from pathlib import Path

from outreach.db.tables import patients
from outreach.demo.clinic import DEMO_PATIENTS

DEMO_IDS = frozenset(row["patient_id"] for row in DEMO_PATIENTS)


class DemoDatabaseError(Exception):
    """The file named for the demo holds something the demo must not add to or delete."""


class Start(StrEnum):
    NEW = "new"  # the file did not exist or was empty
    AFRESH = "afresh"  # an earlier demo's file, deleted first (--fresh)


def prepare(path: Path, fresh: bool) -> Start:
    """Make `path` ready for a new demo week, or say why not."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return Start.NEW
    if not fresh:
        raise DemoDatabaseError(
            f"{path} already holds a database: running the demo into it again would add a "
            "second week beside the first. Add --fresh to replace it with a new week, or "
            "name a new file."
        )
    if not written_by_the_demo(path):
        raise DemoDatabaseError(
            f"{path} is not an earlier demo's database (it is not SQLite, or it holds "
            "patients the demo did not make), so --fresh will not delete it."
        )
    for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    return Start.AFRESH


def written_by_the_demo(path: Path) -> bool:
    """True when `path` is SQLite with a patient table holding only the demo's patients."""
    if not path.is_file():
        return False
    query = f'SELECT external_id FROM "{patients.name}"'  # noqa: S608 (our own table name)
    try:
        # Read-only: looking must not create, migrate or lock anything.
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            ids = {row[0] for row in conn.execute(query)}
    except sqlite3.DatabaseError:  # not SQLite, or no patient table
        return False
    return ids <= DEMO_IDS
