"""`outreach status`: the clinic's sending at a glance, as tables or one JSON object.

Counts, ages and the processes that tick; never a patient's name, number or text.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from outreach.cli.context import Context, console, pass_context
from outreach.clock import SystemClock
from outreach.rules.durations import spoken_duration
from outreach.rules.vocabulary import Severity

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from outreach.monitoring.feeds import FeedState
    from outreach.monitoring.health import Health
    from outreach.monitoring.workers import WorkerSeen


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@click.option(
    "--check",
    is_flag=True,
    help="Print only what is wrong and exit 1 if anything is: no worker seen recently, the "
    "oldest due reminder older than --max-due-age, or claims whose lease ran out more than a "
    "lease ago. Exit 0 when healthy.",
)
@click.option(
    "--max-due-age",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="Seconds a due reminder may wait before --check calls it a problem.",
)
@pass_context
def status(ctx: Context, as_json: bool, check: bool, max_due_age: float) -> None:
    """Is the clinic's sending healthy? Reminders due and how long the oldest has waited,
    claims in flight and expired leases, retries, unprocessed replies, texts in the last
    hour, the workers seen recently, open escalations by severity, and each feed of
    appointments (HL7, FHIR): when it last brought something and last worked, its errors,
    and appointments waiting for a patient to be enrolled. Counts only: no patient data
    (a feed's last error may quote the clinic's own ids).

    Example: outreach status --check --max-due-age 600 || page-someone
    """
    from rich.markup import escape
    from sqlalchemy.exc import SQLAlchemyError

    from outreach.monitoring import health

    settings = ctx.settings
    engine = ctx.engine()
    try:
        now = health.snapshot(engine, settings, SystemClock().now())
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database does not answer: {type(exc).__name__}") from None
    finally:
        engine.dispose()
    problems = health.problems(now, max_due_age, settings.lease_seconds)
    if as_json:
        click.echo(json.dumps(status_json(now, problems), indent=2))
    elif check:
        for problem in problems:
            console().print(f"✗ {escape(problem)}", highlight=False)
        if not problems:
            console().print(f"✓ healthy: {now.workers_running} workers, {now.due} reminders due")
    else:
        print_status(console(), now, problems)
    if check and problems:
        sys.exit(1)


def status_json(health: Health, problems: list[str]) -> dict[str, Any]:
    return {
        "at": health.at.isoformat(),
        "healthy": not problems,
        "problems": problems,
        "queue": {
            "due": health.due,
            "oldest_due_at": _iso(health.oldest_due_at),
            "oldest_due_seconds": round(health.oldest_due_seconds, 1),
            "in_flight": health.in_flight,
            "expired_leases": health.expired_leases,
            "expired_lease_seconds": round(health.expired_lease_seconds, 1),
            "retrying": health.retrying,
            "unprocessed_replies": health.unprocessed_replies,
        },
        "texts_last_hour": dict(sorted(health.texts_last_hour.items())),
        "workers": [_worker_json(seen, health.at) for seen in health.workers],
        "inbox": {
            "open": health.inbox_open,
            "oldest_waiting_seconds": round(health.oldest_inbox_seconds, 1),
        },
        "escalations": {
            "open": health.open_escalations,
            "oldest_open_urgent_at": _iso(health.oldest_open_urgent_at),
            "oldest_open_urgent_seconds": round(health.oldest_open_urgent_seconds, 1),
        },
        "feeds": [_feed_json(feed) for feed in health.feeds],
    }


def _feed_json(feed: FeedState) -> dict[str, Any]:
    return {
        "feed": feed.feed,
        "failing": feed.failing,
        "last_received_at": _iso(feed.last_received_at),
        "last_applied_at": _iso(feed.last_applied_at),
        "last_error_at": _iso(feed.last_error_at),
        "last_error": feed.last_error,
        "received": feed.received,
        "errors": feed.errors,
        "unmatched": feed.unmatched,
        "stuck": feed.stuck,
        "watermark": feed.watermark,
    }


def _worker_json(seen: WorkerSeen, now: datetime) -> dict[str, Any]:
    return {
        "id": seen.id,
        "host": seen.hostname,
        "pid": seen.pid,
        "role": seen.role,
        "started_at": seen.started_at.isoformat(),
        "last_seen_seconds": round((now - seen.last_seen_at).total_seconds(), 1),
        "ticks": seen.ticks,
        "last_tick_ms": seen.last_tick_ms,
        "sent": seen.sent,
        "last_error": seen.last_error,
        "stopped_at": _iso(seen.stopped_at),
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def print_status(console: Console, health: Health, problems: list[str]) -> None:
    from rich.markup import escape

    console.print(_queue_table(health))
    console.print(_workers_table(health))
    console.print(_escalations_table(health))
    if health.feeds:
        console.print(_feeds_table(health))
    if health.inbox_open:
        waited = spoken_duration(timedelta(seconds=health.oldest_inbox_seconds))
        console.print(
            f"Inbox: {health.inbox_open} conversation(s) wait for a person, the oldest for "
            f"{waited} (/inbox in the admin)",
            highlight=False,
        )
    for problem in problems:
        console.print(f"[bold red]✗[/] {escape(problem)}", highlight=False)
    if not problems:
        console.print("[green]✓[/] healthy: workers are ticking and nothing waits too long")


def _queue_table(health: Health) -> Table:
    from rich.table import Table

    table = Table(title="Queue", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("", justify="right")
    waited = spoken_duration(timedelta(seconds=health.oldest_due_seconds))
    oldest = f" (the oldest has waited {waited})" if health.due else ""
    table.add_row("reminders due now", f"{health.due}{oldest}")
    table.add_row("in flight (claimed)", str(health.in_flight))
    expired = ""
    if health.expired_leases:
        ran_out = spoken_duration(timedelta(seconds=health.expired_lease_seconds))
        expired = f" (the first ran out {ran_out} ago)"
    table.add_row("claims with an expired lease", f"{health.expired_leases}{expired}")
    table.add_row("waiting to retry", str(health.retrying))
    table.add_row("replies not yet processed", str(health.unprocessed_replies))
    texts = ", ".join(f"{n} {s}" for s, n in sorted(health.texts_last_hour.items())) or "none"
    table.add_row("texts in the last hour", texts)
    return table


def _workers_table(health: Health) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Workers seen recently", title_justify="left")
    # The id is what `claimed_by` and the logs name: shown whole.
    table.add_column("id", no_wrap=True)
    for column in ("host", "role", "last seen", "ticks", "last tick", "sent", "last error"):
        table.add_column(column, justify="right" if column in ("ticks", "sent") else "left")
    for seen in health.workers:
        last_seen = spoken_duration(health.at - seen.last_seen_at) + " ago"
        table.add_row(
            escape(seen.id),
            escape(seen.hostname),
            seen.role,
            f"stopped {last_seen}" if seen.stopped_at else last_seen,
            str(seen.ticks),
            f"{seen.last_tick_ms:.0f} ms" if seen.last_tick_ms is not None else "-",
            str(seen.sent),
            escape(seen.last_error or ""),
            style="dim" if seen.stopped_at else "",
        )
    if not health.workers:
        table.add_row("[red]none[/]", "", "", "", "", "", "", "")
    return table


def _escalations_table(health: Health) -> Table:
    from rich.table import Table

    table = Table(title="Open escalations", title_justify="left")
    table.add_column("severity")
    table.add_column("open", justify="right")
    table.add_column("oldest")
    told = False  # the oldest paged one (emergency or urgent) is named once
    for severity, count in health.open_escalations.items():
        paged = Severity(severity).pages and count > 0
        oldest = ""
        if paged and not told:
            oldest = "open for " + spoken_duration(
                timedelta(seconds=health.oldest_open_urgent_seconds)
            )
            told = True
        table.add_row(severity, str(count), oldest, style="bold red" if paged else "")
    return table


def _feeds_table(health: Health) -> Table:
    """The clinic's systems that send appointments: one row each."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Appointment feeds", title_justify="left")
    for column in ("feed", "last brought", "last worked", "received", "errors", "unmatched"):
        table.add_column(column, justify="left" if column.startswith(("feed", "last")) else "right")
    table.add_column("last error")

    def ago(at: datetime | None) -> str:
        return "never" if at is None else spoken_duration(health.at - at) + " ago"

    for feed in health.feeds:
        error = ""
        if feed.last_error_at is not None:
            error = escape(f"{ago(feed.last_error_at)}: {feed.last_error or ''}")
        table.add_row(
            feed.feed,
            ago(feed.last_received_at),
            ago(feed.last_applied_at),
            str(feed.received),
            str(feed.errors),
            str(feed.unmatched),
            error,
            style="bold red" if feed.failing else "",
        )
    return table
