"""`outreach report rebuild`: recount the report's daily rollups from the raw rows
(outreach/staff/report/rollups.py)."""

from __future__ import annotations

from datetime import date

import click

from outreach.cli.context import Context, console, err, pass_context


@click.group(name="report")
def report_group() -> None:
    """The clinic report's daily counts."""


@report_group.command(name="rebuild")
@click.option("--from", "first", help="First clinic day to recount, YYYY-MM-DD (default: all).")
@click.option("--to", "last", help="Last clinic day to recount, YYYY-MM-DD (default: all).")
@pass_context
def rebuild(ctx: Context, first: str | None, last: str | None) -> None:
    """Recount the report's daily figures from the texts, replies, sessions and escalations.

    The report keeps itself up to date as rows are written; rebuild after restoring a
    backup, after changing the clinic's time zone, or to check. Without dates, every day
    with data is recounted, a month at a time.

    Example: outreach report rebuild --from 2026-01-01 --to 2026-03-31
    """
    from outreach.staff import report

    try:
        start = date.fromisoformat(first) if first else None
        end = date.fromisoformat(last) if last else None
    except ValueError as error:
        raise click.BadParameter(f"dates look like 2026-01-31: {error}") from error
    if start and end and end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")

    def done(chunk_start: date, chunk_end: date) -> None:
        err().print(f"recounted {chunk_start} to {chunk_end}")

    zone = ctx.settings.clinic_zone
    days = report.rebuild(ctx.engine(), zone, start, end, progress=done)
    console().print(f"Recounted {days} clinic day{'s' if days != 1 else ''} ({zone.key}).")
