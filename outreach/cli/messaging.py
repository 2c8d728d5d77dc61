"""`outreach messages send`: a text to one patient from a terminal, with the same checks,
outbox and audit as the admin's reply box (outreach/inbox/texting.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from outreach.cli.context import Context, pass_context
from outreach.cli.staff import messages_group


@messages_group.command(name="send")
@click.argument("patient")
@click.argument("text")
@click.option(
    "--as",
    "username",
    required=True,
    help="The staff user who writes it (the audit log and the thread show their name).",
)
@pass_context
def send_message(ctx: Context, patient: str, text: str, username: str) -> None:
    """Text a patient. It goes through the outbox like every reminder: a running worker sends
    it now, or at the end of the patient's quiet hours unless it answers a text they sent in
    the last hour. Refused, with the reason and exit status 1, if the patient opted out, the
    number cannot take texts, or the text names a diagnosis.

    PATIENT is the clinic's patient id or the phone number in any spelling.

    Example: outreach messages send RPT-1001 "Your session is moved to Thu 3 pm." --as maria
    """
    from outreach.accounts.users import staff_by_username
    from outreach.clock import SystemClock
    from outreach.inbox import texting
    from outreach.rules.readabletime import readable_time

    engine = ctx.engine()
    staff = staff_by_username(engine, username)
    if staff is None:
        raise click.ClickException(f"no active staff user {username!r} (see `outreach users list`)")
    now = SystemClock().now()
    try:
        queued = texting.send(engine, ctx.settings, staff, patient, text, now)
    except texting.NoSuchPatient as exc:
        raise click.ClickException(str(exc)) from None
    except texting.Refused as exc:
        raise click.ClickException(f"not sent: {exc}") from None
    if queued.waits:
        goes = readable_time(queued.send_at, ZoneInfo(queued.timezone))
        click.echo(
            f"Queued: it waits for the end of the patient's quiet hours ({goes}, the "
            "patient's time); a running worker sends it then."
        )
    else:
        click.echo("Queued: a running worker (`outreach worker`) sends it now.")
