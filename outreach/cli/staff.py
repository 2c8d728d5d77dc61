"""`outreach escalations list` and `outreach messages list`: what staff read, at a terminal."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from outreach.cli.context import Context, console, pass_context
from outreach.cli.lookup import patient_keys
from outreach.cli.times import shown_time, utc_option
from outreach.clock import SystemClock
from outreach.rules.durations import spoken_duration
from outreach.rules.privacy import mask_phone
from outreach.rules.shorten import shorten
from outreach.rules.vocabulary import Severity

ESCALATION_COLUMNS = (
    "id",
    "severity",
    "patient",
    "reason",
    "detail",
    "reported",
    "open for",
    "state",
)


@click.group()
def escalations() -> None:
    """What needs a human: foot problems, pain, reschedule requests, stop requests."""


@escalations.command(name="list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@utc_option
@pass_context
def list_escalations(ctx: Context, include_resolved: bool, as_json: bool, utc: bool) -> None:
    """List escalations: open ones first, urgent on top, with when each was reported (in
    clinic time) and how long it has been open (a resolved one: until it was resolved).

    Example: outreach escalations list --all
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.staff.escalations import escalation_rows

    rows = escalation_rows(ctx.engine(), SystemClock().now(), include_resolved)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ESCALATION_COLUMNS:
        table.add_column(column)
    zone = ctx.settings.clinic_timezone
    for row in rows:
        paged = Severity(row["severity"]).pages and row["state"] != "resolved"
        style = "bold red" if paged else ""
        table.add_row(
            str(row["id"]),
            row["severity"],
            escape(f"{row['patient_id']} {row['patient']}"),
            row["reason"],
            escape(shorten(row["detail"], 60)),
            shown_time(row["reported_at"], zone, utc),
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
@click.option("--patient", help="Only this patient: clinic id, or phone in any spelling.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@utc_option
@pass_context
def list_messages(ctx: Context, patient: str | None, limit: int, as_json: bool, utc: bool) -> None:
    """List the newest texts sent and received, in clinic time, with delivery status and
    what replies meant. Exits 1 if --patient names no patient.

    Example: outreach messages list --patient "(617) 555-0142" --limit 20
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.staff.messagelog import PatientNotFound, message_rows

    keys = patient_keys(patient, ctx.settings) if patient is not None else []
    try:
        rows = message_rows(ctx.engine(), limit, keys)
    except PatientNotFound:
        raise click.ClickException(f"no patient with id or phone {patient!r}") from None
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("at", "", "patient", "kind", "status", "text"):
        table.add_column(column)
    zone = ctx.settings.clinic_timezone
    for row in rows:
        table.add_row(
            shown_time(row["at"], zone, utc),
            "→" if row["direction"] == "out" else "←",
            escape(row["patient_id"] or mask_phone(row["phone"])),
            row["kind"],
            row["status"]
            + (f" ({row['error']})" if row["error"] and row["direction"] == "out" else ""),
            escape(shorten(row["body"], 80)),
        )
    console().print(table)
