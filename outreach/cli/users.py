"""`outreach users`: the staff who sign in to the admin pages (add, list, password, disable)."""

from __future__ import annotations

import json
import sys
from typing import cast

import click

from outreach.cli.context import Context, console, pass_context
from outreach.cli.times import shown_time, utc_option
from outreach.clock import SystemClock


@click.group()
def users() -> None:
    """Staff who sign in to the admin pages (roles: admin, therapist)."""


@users.command(name="add")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Name shown in the admin and audit log.")
@click.option(
    "--role",
    type=click.Choice(["admin", "therapist"]),
    default="therapist",
    show_default=True,
    help="An admin may also import patient files and read the audit log.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@pass_context
def add_user(
    ctx: Context, username: str, display_name: str, role: str, password_stdin: bool
) -> None:
    """Add a staff user; asks for the password (at least 12 characters) twice.

    Example: outreach users add maria --name "Maria Lopez, PT" --role admin
    """
    from outreach.accounts.users import UserError
    from outreach.accounts.users import add_user as add

    engine = ctx.engine()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = add(engine, username, display_name, password, role, SystemClock().now())
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console().print(f"Added {staff.username} ({staff.role}).")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@utc_option
@pass_context
def list_users(ctx: Context, as_json: bool, utc: bool) -> None:
    """List staff users, whether each may sign in (active or disabled) and when each last
    signed in, in clinic time.

    Example: outreach users list
    """
    from rich.markup import escape
    from rich.table import Table

    from outreach.accounts.users import list_users as listed

    rows = listed(ctx.engine())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("username", "name", "role", "state", "last sign-in"):
        table.add_column(column)
    zone = ctx.settings.clinic_timezone
    for row in rows:
        table.add_row(
            escape(str(row["username"])),
            escape(str(row["name"] or "-")),
            str(row["role"]),
            "active" if row["active"] else "[dim]disabled[/]",
            shown_time(cast(str | None, row["last_sign_in"]), zone, utc),
        )
    console().print(table)


@users.command(name="password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@pass_context
def change_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """Set a user's password; their open sessions end.

    Example: outreach users password maria
    """
    from outreach.accounts.users import UserError, set_password

    engine = ctx.engine()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(engine, username, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console().print(f"Password changed for {username}; their sessions have ended.")


@users.command(name="disable")
@click.argument("username")
@pass_context
def disable_user(ctx: Context, username: str) -> None:
    """Stop a user signing in; their open sessions end. Kept for the audit log.

    Example: outreach users disable maria
    """
    from outreach.accounts.users import UserError, set_active

    try:
        set_active(ctx.engine(), username, False)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    console().print(f"{username} can no longer sign in.")
