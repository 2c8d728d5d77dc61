"""`outreach sessions mark`: what became of a session, from a terminal, with the same rules,
follow-ups and audit as the admin (outreach/sessions/attendance.py)."""

from __future__ import annotations

from datetime import date

import click

from outreach.cli.context import Context, pass_context

MARK_WORDS = ("attended", "no-show", "cancelled-by-patient", "cancelled-by-clinic")


@click.group(name="sessions")
def sessions_group() -> None:
    """Sessions: mark attendance and cancellations."""


@sessions_group.command(name="mark")
@click.argument("patient")
@click.argument("mark", type=click.Choice(MARK_WORDS, case_sensitive=False))
@click.option("--on", "day", required=True, help="The session's date, YYYY-MM-DD, patient's day.")
@click.option("--at", "at", help="Its local start, HH:MM, when the patient has two that day.")
@click.option(
    "--as",
    "username",
    required=True,
    help="The staff user who marks it (the audit log names them).",
)
@pass_context
def mark_session(
    ctx: Context, patient: str, mark: str, day: str, at: str | None, username: str
) -> None:
    """Mark a session attended, no-show, cancelled-by-patient or cancelled-by-clinic.

    A cancellation stops the session's reminders at once. A no-show marked the same day
    queues one text ("We missed you today. Reply R to rebook"), inside the patient's quiet
    hours; the second no-show in a row raises a routine escalation. Marking again corrects
    the mark; the audit log keeps both.

    PATIENT is the clinic's patient id or the phone number in any spelling.

    Example: outreach sessions mark RPT-1001 --on 2026-12-07 no-show --as maria
    """
    from sqlalchemy import select

    from outreach.accounts.users import staff_by_username
    from outreach.clock import SystemClock
    from outreach.db.tables import patients
    from outreach.patients.lookup import patient_id_for
    from outreach.rules.attendance import parse_mark
    from outreach.rules.errors import ConfigError
    from outreach.rules.localtime import parse_hhmm
    from outreach.rules.readabletime import readable_time
    from outreach.sessions import attendance

    engine = ctx.engine()
    staff = staff_by_username(engine, username)
    if staff is None:
        raise click.ClickException(f"no active staff user {username!r} (see `outreach users list`)")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise click.ClickException(f"--on {day!r}: write the date as YYYY-MM-DD") from None
    try:
        clock = parse_hhmm(at, "--at") if at is not None else None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    with engine.connect() as conn:
        patient_id = patient_id_for(conn, patient, ctx.settings.clinic_phone)
        zone = conn.execute(select(patients.c.timezone).where(patients.c.id == patient_id)).scalar()
    if patient_id is None or zone is None:
        raise click.ClickException(f"no patient has the id or phone number {patient!r}")
    found = attendance.sessions_on(engine, patient_id, on, zone, clock)
    if not found:
        when = on.isoformat() + (f" at {at}" if at else "")
        raise click.ClickException(f"{patient} has no session on {when} (the patient's time)")
    if len(found) > 1:
        times = ", ".join(readable_time(s, zone, "%H:%M") for _, s, _ in found)
        raise click.ClickException(
            f"{patient} has {len(found)} sessions that day ({times}): add --at HH:MM"
        )
    appointment_id, starts_at, _ = found[0]
    try:
        marked = attendance.mark(
            engine, ctx.settings, staff, appointment_id, parse_mark(mark), SystemClock().now()
        )
    except attendance.NotMarked as exc:
        raise click.ClickException(f"not marked: {exc}") from None
    when = readable_time(starts_at, zone, "%Y-%m-%d %H:%M")
    if marked.was == marked.mark:
        click.echo(f"The session of {when} was already marked {marked.mark.word}.")
        return
    was = "" if marked.was is None else f" (was {marked.was.replace('_', '-')})"
    click.echo(f"Marked the session of {when} {marked.mark.word}{was}.")
    if marked.no_show_text:
        click.echo("Queued the no-show text: a running worker sends it today.")
    if marked.escalated:
        click.echo(f"Raised a routine escalation: {marked.escalated} no-shows in a row.")
