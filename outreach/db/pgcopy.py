"""PostgreSQL's fast path under SQLAlchemy: COPY lines into a temporary table, and run a
statement on the psycopg connection itself, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection


def _driver(conn: Connection) -> Any:
    """The psycopg connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


def copy(conn: Connection, create: str, target: str, lines: list[str]) -> None:
    """Run `create` (a CREATE TEMPORARY TABLE), then COPY `lines` (COPY text) into `target`."""
    with _driver(conn).cursor() as cursor:
        cursor.execute(create)
        if lines:
            with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                copy.write("".join(lines))


def execute(conn: Connection, sql: str, params: dict[str, Any]) -> tuple[int, list[Any]]:
    """Run `sql` unprepared; returns its row count and the rows it returned, if any."""
    with _driver(conn).cursor() as cursor:
        cursor.execute(sql, params, prepare=False)
        return int(cursor.rowcount), (cursor.fetchall() if cursor.description else [])


def stamp_or_null(instant: datetime | None) -> str:
    return "\\N" if instant is None else stamp(instant)


@lru_cache(maxsize=4096)
def stamp(instant: datetime) -> str:
    """An aware instant as COPY text, in UTC."""
    if instant.tzinfo is None:
        raise ValueError(f"refusing to store a naive datetime: {instant!r}")
    return instant.astimezone(UTC).isoformat(sep=" ")
