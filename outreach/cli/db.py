"""`outreach init` and `outreach db upgrade`: create or migrate the database (Alembic)."""

from __future__ import annotations

import click

from outreach.cli.context import Context, console, pass_context, safe_url


@click.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or migrate the database named in config.toml (same as `outreach db upgrade`).

    Example: outreach init
    """
    _upgrade(ctx)


@click.group(name="db")
def db_group() -> None:
    """Database schema management (Alembic)."""


@db_group.command()
@pass_context
def upgrade(ctx: Context) -> None:
    """Migrate the database to the newest schema.

    Example: OUTREACH_DATABASE_URL=postgresql+psycopg://outreach@db/outreach outreach db upgrade
    """
    _upgrade(ctx)


def _upgrade(ctx: Context) -> None:
    from outreach.db import engine as db

    url = ctx.settings.database_url
    db.upgrade(url)
    console().print(f"Database at {safe_url(url)} is up to date.")
