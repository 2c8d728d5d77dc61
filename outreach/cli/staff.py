"""`outreach escalations list` and `outreach messages list`: what staff read, at a terminal."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from outreach.cli.context import Context, console, pass_context
from outreach.clock import SystemClock
from outreach.rules.durations import spoken_duration
from outreach.rules.privacy import mask_phone


@click.group()
def escalations() -> None:
    """What needs a human: foot problems, pain, reschedule requests, stop requests."""


@escalations.command(name="list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_escalations(ctx: Context, include_resolved: bool, as_json: bool) -> None:
    """List escalations: open ones first, urgent on top, with time since reported.

    Example: outreach escalations list
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.staff.escalations import escalation_rows

    rows = escalation_rows(ctx.engine(), SystemClock().now(), include_resolved)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("id", "severity", "patient", "reason", "detail", "open for", "state"):
        table.add_column(column)
    for row in rows:
        style = "bold red" if row["severity"] == "urgent" and row["state"] != "resolved" else ""
        table.add_row(
            str(row["id"]),
            row["severity"],
            f"{row['patient_id']} {row['patient']}",
            row["reason"],
            escape(row["detail"]),
            spoken_duration(timedelta(minutes=row["minutes_open"])),
            row["state"],
            style=style,
        )
    console().print(table)
    if not rows:
        console().print("Nothing needs a human right now.")


@click.group(name="messages")
def messages_group() -> None:
    """The message log, both directions."""


@messages_group.command(name="list")
@click.option("--patient", help="Only this patient (clinic id or phone).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_messages(ctx: Context, patient: str | None, limit: int, as_json: bool) -> None:
    """List the newest texts sent and received, with delivery status and what replies meant.

    Example: outreach messages list --patient RPT-1001 --limit 20
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.staff.messagelog import message_rows

    rows = message_rows(ctx.engine(), limit, patient)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("at (UTC)", "", "patient", "kind", "status", "text"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["at"][:16].replace("T", " "),
            "→" if row["direction"] == "out" else "←",
            row["patient_id"] or mask_phone(row["phone"]),
            row["kind"],
            row["status"]
            + (f" ({row['error']})" if row["error"] and row["direction"] == "out" else ""),
            escape(row["body"][:80]),
        )
    console().print(table)
