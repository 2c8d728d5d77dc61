"""`outreach feeds unmatched`: the appointments the clinic's systems sent for patients
outreach does not know, waiting for staff to enrol them (the admin's Feeds page lists the
same). Each feed's health is in `outreach status`."""

from __future__ import annotations

import json

import click

from outreach.cli.context import Context, console, pass_context
from outreach.cli.times import shown_time, utc_option


@click.group(name="feeds")
def feeds_group() -> None:
    """Appointments from the clinic's own systems (HL7, FHIR)."""


@feeds_group.command(name="unmatched")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@utc_option
@pass_context
def unmatched(ctx: Context, as_json: bool, utc: bool) -> None:
    """List the appointments kept for patients outreach does not know, soonest first. Nobody
    is texted about them. Enrol the patient with the same clinic id (`outreach patients
    import`, or the admin's form) and they become sessions.

    Example: outreach feeds unmatched
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.clock import SystemClock
    from outreach.staff import feeds

    board = feeds.board(ctx.engine(), SystemClock().now())
    zone = ctx.settings.clinic_timezone
    if as_json:
        rows = [
            {
                "clinic_id": u.patient_ref,
                "name": u.patient_name,
                "phone": u.phone,
                "starts_at": None if u.starts_at is None else u.starts_at.isoformat(),
                "status": u.status,
                "feed": u.source,
                "appointment": u.feed_ref,
                "received_at": u.received_at.isoformat(),
            }
            for u in board.unmatched
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not board.unmatched:
        console().print("None: every appointment from the feeds belongs to an enrolled patient.")
        return
    table = Table(title="Appointments waiting for their patient")
    for column in ("clinic id", "name", "phone", "starts", "status", "from"):
        table.add_column(column)
    for u in board.unmatched:
        table.add_row(
            escape(u.patient_ref),
            escape(u.patient_name or "-"),
            escape(u.phone or "-"),
            shown_time(u.starts_at, zone, utc),
            u.status_word,
            escape(f"{u.source_word} · {u.feed_ref}"),
        )
    console().print(table)
