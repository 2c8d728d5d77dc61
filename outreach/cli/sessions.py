"""`outreach sessions mark` and `outreach sessions move`: what became of a session, and a
session's new time, from a terminal, with the same rules, follow-ups and audit as the admin
(outreach/sessions/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import click

from outreach.cli.context import Context, pass_context

if TYPE_CHECKING:
    from outreach.accounts.users import Staff

MARK_WORDS = ("attended", "no-show", "cancelled-by-patient", "cancelled-by-clinic")


@click.group(name="sessions")
def sessions_group() -> None:
    """Sessions: mark attendance and cancellations, move a session."""


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
    from outreach.rules.attendance import parse_mark
    from outreach.sessions import attendance

    found = _session(ctx, patient, day, at, username)
    try:
        marked = attendance.mark(
            found.ctx.engine(),
            ctx.settings,
            found.staff,
            found.appointment_id,
            parse_mark(mark),
            found.now,
        )
    except attendance.NotMarked as exc:
        raise click.ClickException(f"not marked: {exc}") from None
    when = found.when
    if marked.was == marked.mark:
        click.echo(f"The session of {when} was already marked {marked.mark.word}.")
        return
    was = "" if marked.was is None else f" (was {marked.was.replace('_', '-')})"
    click.echo(f"Marked the session of {when} {marked.mark.word}{was}.")
    if marked.no_show_text:
        click.echo("Queued the no-show text: a running worker sends it today.")
    if marked.escalated:
        click.echo(f"Raised a routine escalation: {marked.escalated} no-shows in a row.")


@sessions_group.command(name="move")
@click.argument("patient")
@click.option("--on", "day", required=True, help="The session's date, YYYY-MM-DD, patient's day.")
@click.option("--at", "at", help="Its local start, HH:MM, when the patient has two that day.")
@click.option(
    "--to",
    "to",
    required=True,
    help="The new date and time on the patient's clock: 'YYYY-MM-DD HH:MM'.",
)
@click.option(
    "--as",
    "username",
    required=True,
    help="The staff user who moves it (the audit log names them).",
)
@pass_context
def move_session(
    ctx: Context, patient: str, day: str, at: str | None, to: str, username: str
) -> None:
    """Move a session to a new time in one action.

    The old time's reminders stop at once; the patient is texted the new time once (after
    their quiet hours); the new session's reminder asks for a confirmation again.

    Example: outreach sessions move RPT-1001 --on 2026-12-07 --to "2026-12-08 14:30" --as maria
    """
    from outreach.rules.readabletime import readable_time
    from outreach.sessions import moves

    try:
        new = datetime.strptime(to.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise click.ClickException(
            f"--to {to!r}: write the new time as 'YYYY-MM-DD HH:MM'"
        ) from None
    found = _session(ctx, patient, day, at, username)
    try:
        moved = moves.move(
            found.ctx.engine(),
            ctx.settings,
            found.staff,
            found.appointment_id,
            new.date(),
            new.time(),
            found.now,
        )
    except moves.NotMoved as exc:
        raise click.ClickException(f"not moved: {exc}") from None
    to_words = readable_time(moved.new_starts_at, moved.timezone, "%Y-%m-%d %H:%M")
    click.echo(f"Moved the session of {found.when} to {to_words}.")
    if moved.texted:
        click.echo("Queued the text with the new time: a running worker sends it.")
    else:
        click.echo("No text: the patient may not be texted, or not before the new time.")


@dataclass(frozen=True)
class Found:
    ctx: Context
    staff: Staff
    appointment_id: int
    when: str  # its start on the patient's clock, labelled
    now: datetime


def _session(ctx: Context, patient: str, day: str, at: str | None, username: str) -> Found:
    """The one session PATIENT has on --on (at --at), and the staff user acting."""
    from sqlalchemy import select

    from outreach.accounts.users import staff_by_username
    from outreach.clock import SystemClock
    from outreach.db.tables import patients
    from outreach.patients.lookup import patient_id_for
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
        clock: time | None = parse_hhmm(at, "--at") if at is not None else None
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
    when = readable_time(starts_at, zone, "%Y-%m-%d %H:%M")
    return Found(ctx, staff, appointment_id, when, SystemClock().now())
