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
    help="Keep the demo's SQLite database at this path (default: a temporary file).",
)
def demo(database: Path | None) -> None:
    """Simulate a small clinic's week in a few seconds, on a throwaway database.

    Example: outreach demo
    """
    from outreach.demo.week import run_demo

    # Escalations show in the transcript; the demo needs no log lines on top.
    logging.getLogger("outreach").setLevel(logging.ERROR)
    started = time.perf_counter()
    result = run_demo(console(), database)
    console().print(
        f"Simulated week finished in {time.perf_counter() - started:.1f} s; "
        f"database: {result.database}"
    )
