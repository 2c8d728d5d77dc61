"""Alembic environment: the URL comes from outreach (config.toml or OUTREACH_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from outreach.db import tables as models  # noqa: F401  (registers the tables)
from outreach.db.engine import make_engine

target_metadata = SQLModel.metadata
config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from outreach.config import load_settings

        url = load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations()
