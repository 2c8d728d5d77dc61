"""`outreach waitlist add|list|remove`: the waitlist from a terminal, with the same checks
and audit as the admin (outreach/sessions/waitlist.py)."""

from __future__ import annotations

from typing import Any

import click

from outreach.cli.context import Context, console, pass_context

AS_OPTION = click.option(
    "--as",
    "username",
    required=True,
    help="The staff user who makes the change (the audit log names them).",
)


@click.group(name="waitlist")
def waitlist_group() -> None:
    """The waitlist: patients offered the slots of sessions others cancel."""


def _staff_and_patient(ctx: Context, username: str, patient: str) -> tuple[Any, Any, int]:
    from outreach.accounts.users import staff_by_username
    from outreach.patients.lookup import patient_id_for

    engine = ctx.engine()
    staff = staff_by_username(engine, username)
    if staff is None:
        raise click.ClickException(f"no active staff user {username!r} (see `outreach users list`)")
    with engine.connect() as conn:
        patient_id = patient_id_for(conn, patient, ctx.settings.clinic_phone)
    if patient_id is None:
        raise click.ClickException(f"no patient has the id or phone number {patient!r}")
    return engine, staff, patient_id


@waitlist_group.command(name="add")
@click.argument("patient")
@click.option("--days", required=True, help='Weekdays they could come: "mon wed fri".')
@click.option("--hours", required=True, help='Earliest and latest start: "08:00-12:00".')
@AS_OPTION
@pass_context
def add(ctx: Context, patient: str, days: str, hours: str, username: str) -> None:
    """Put a patient on the waitlist, or change the days and hours they could come.

    Days and hours are the patient's own clock. A patient already on the list keeps their
    place in the queue (the longest waiting are offered a slot first).

    PATIENT is the clinic's patient id or the phone number in any spelling.

    Example: outreach waitlist add RPT-1001 --days "mon wed fri" --hours 08:00-12:00 --as maria
    """
    from outreach.clock import SystemClock
    from outreach.sessions import waitlist

    engine, staff, patient_id = _staff_and_patient(ctx, username, patient)
    try:
        with engine.begin() as conn:
            changed = waitlist.put_on(conn, staff, patient_id, days, hours, SystemClock().now())
    except waitlist.WaitlistError as exc:
        raise click.ClickException(f"not added: {exc}") from None
    click.echo(f"{patient} is on the waitlist." if changed else f"{patient}: nothing changed.")


@waitlist_group.command(name="remove")
@click.argument("patient")
@AS_OPTION
@pass_context
def remove(ctx: Context, patient: str, username: str) -> None:
    """Take a patient off the waitlist. Offers already sent stand until they lapse.

    Example: outreach waitlist remove RPT-1001 --as maria
    """
    from outreach.clock import SystemClock
    from outreach.sessions import waitlist

    engine, staff, patient_id = _staff_and_patient(ctx, username, patient)
    with engine.begin() as conn:
        removed = waitlist.take_off(conn, staff, patient_id, SystemClock().now())
    if not removed:
        raise click.ClickException(f"{patient} is not on the waitlist")
    click.echo(f"{patient} is off the waitlist.")


@waitlist_group.command(name="list")
@pass_context
def list_waitlist(ctx: Context) -> None:
    """List the waitlist, longest waiting first, then the slots still ahead: who cancelled,
    who was offered each and what they answered, who took it.

    Example: outreach waitlist list
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.clock import SystemClock
    from outreach.rules.readabletime import readable_time
    from outreach.sessions import waitlist, waitlist_board

    zone = ctx.settings.clinic_timezone
    with ctx.engine().connect() as conn:
        entries = waitlist.entries(conn)
        slots = waitlist_board.slots(conn, SystemClock().now())
    table = Table(title="Waitlist")
    for column in ("patient", "name", "days", "hours", "since"):
        table.add_column(column)
    for e in entries:
        since = readable_time(e.added_at, zone, "%Y-%m-%d %H:%M")
        table.add_row(escape(e.external_id), escape(e.name), e.days, e.hours, since)
    console().print(table if entries else "Nobody is on the waitlist.")
    if not slots:
        return
    board = Table(title="Slots")
    for column in ("starts", "freed by", "state", "offers"):
        board.add_column(column)
    for s in slots:
        offers = ", ".join(f"{o.external_id} {o.state} (round {o.round})" for o in s.offers)
        state = f"taken by {s.taken_by}" if s.taken_by else s.state
        if s.closed_why:
            state += f": {s.closed_why}"
        board.add_row(
            readable_time(s.starts_at, s.zone, "%Y-%m-%d %H:%M"),
            escape(s.freed_by),
            escape(state),
            escape(offers or "-"),
        )
    console().print(board)
