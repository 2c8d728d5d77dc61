"""`outreach demo`: a small clinic's simulated week on a throwaway database."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from outreach.cli.context import console


@click.command()
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the demo's SQLite database at this new file (default: a temporary file, "
    "deleted afterwards).",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Replace the --database file if an earlier demo wrote it, instead of refusing.",
)
def demo(database: Path | None, fresh: bool) -> None:
    """Simulate a small clinic's week in a few seconds, on a throwaway database.

    With --database the week is kept to look at in the admin; the file must be new, or an
    earlier demo's with --fresh (a second week beside the first would only confuse).

    Example: outreach demo --database demo.db --fresh
    """
    from outreach.demo.database import DemoDatabaseError, Start, prepare
    from outreach.demo.week import run_demo

    if fresh and database is None:
        raise click.UsageError("--fresh replaces the --database file; name one with it")
    start = None
    if database is not None:
        try:
            start = prepare(database, fresh)
        except DemoDatabaseError as exc:
            raise click.ClickException(str(exc)) from None
    # Escalations show in the transcript; the demo needs no log lines on top.
    logging.getLogger("outreach").setLevel(logging.ERROR)
    started = time.perf_counter()
    run_demo(console(), database)
    if start is None:
        where = "database: a temporary one, now deleted (keep one with --database demo.db)"
    elif start is Start.AFRESH:
        where = f"database: {database} (started afresh: the earlier demo week was replaced)"
    else:
        where = f"database: {database} (new)"
    elapsed = time.perf_counter() - started
    # soft_wrap: a path cut in two cannot be copied.
    console().print(f"Simulated week finished in {elapsed:.1f} s; {where}", soft_wrap=True)
