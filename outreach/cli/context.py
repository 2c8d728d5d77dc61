"""What every command shares: the settings, loaded once; the database engine; the two consoles.

Nothing heavy is imported here at module level: `outreach --help` loads this module, and each
command imports the database, rich and the rest only when it runs.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from outreach.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

# Named, not __name__: operators filter the JSON logs by "outreach.cli", the name the
# commands have always logged under, whichever module of this package logs.
log = logging.getLogger("outreach.cli")


class Context:
    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                raise click.ClickException(f"configuration: {exc}") from None
        return self._settings

    def engine(
        self, must_exist: bool = True, application_name: str | None = None, **kwargs: Any
    ) -> Engine:
        from outreach.db import engine as db

        if must_exist:
            _refuse_a_missing_sqlite_file(self.settings.database_url)
        engine = db.make_engine(self.settings.database_url, application_name, **kwargs)
        if must_exist and not db.has_schema(engine):
            raise click.ClickException(
                f"the database at {safe_url(self.settings.database_url)} has no tables yet: "
                "run `outreach init` first"
            )
        return engine


def _refuse_a_missing_sqlite_file(url: str) -> None:
    """SQLite creates a missing file on first connect: a command run in the wrong folder
    would leave an empty outreach.db there and then complain it has no tables."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:") or parsed.query.get("uri"):
        return  # a URI filename: SQLite's own rules, left to it
    path = Path(name)
    if path.exists():
        return
    where = "" if path.is_absolute() else f", a path relative to this folder, {Path.cwd()}"
    raise click.ClickException(
        f"there is no database at {path} (database url {safe_url(url)}{where}). Run the command "
        "where the database is, point OUTREACH_DATABASE_URL or the config's [database] url "
        "at it, or create it with `outreach init`."
    )


def safe_url(url: str) -> str:
    """Database URLs can carry passwords; show only where they point."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


pass_context = click.make_pass_decorator(Context)


@cache
def console() -> Console:
    """Standard output. Made on first use: rich costs a tenth of a second to import."""
    from rich.console import Console

    return Console()


@cache
def err() -> Console:
    """Standard error, for what went wrong and for progress."""
    from rich.console import Console

    return Console(stderr=True)
