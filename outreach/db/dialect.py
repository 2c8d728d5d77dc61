"""Where SQLite and PostgreSQL differ for writers: insert-or-ignore/upsert statements, and an
upsert of many rows that counts what it wrote on both."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert(conn: Connection, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


FEW = 4  # rows below which SQLAlchemy's own (cached) executemany is the cheaper path


def executemany(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> int:
    """An upsert of many rows; returns the rows inserted or updated.

    On SQLite through sqlite3's own executemany, compiled once. Elsewhere with RETURNING,
    because executemany's rowcount is -1 on psycopg (PostgreSQL plans through
    planning/bulk.py; this serves the tests that compare the two writers there).

    SQLAlchemy builds each row's parameters in Python, which was a third of planning a day
    for 100,000 patients. Each value still goes through its type's bind processor (a UTC
    datetime becomes SQLite's text form), as SQLAlchemy would send it."""
    if conn.dialect.name != "sqlite":
        return len(conn.execute(stmt.returning(stmt.table.c.id), rows).all())
    if len(rows) <= FEW:
        # A session's few reminders: compiling afresh would cost more than SQLAlchemy's
        # cached statement and its per-row parameters.
        return int(conn.execute(stmt, rows).rowcount)
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    names = compiled.positiontup or []
    fixed = dict(compiled.params)  # the statement's own values, and column defaults
    for column in stmt.table.c:
        default = column.default
        if fixed.get(column.key) is None and default is not None and default.is_scalar:
            fixed[column.key] = default.arg
    dialect = conn.dialect
    processors = [
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    params = [
        tuple(
            (process(value) if process else value)
            for process, value in zip(
                processors, (row.get(name, fixed.get(name)) for name in names), strict=True
            )
        )
        for row in rows
    ]
    return int(conn.exec_driver_sql(compiled.string, params).rowcount)
