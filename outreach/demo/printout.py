"""The demo's printout: each patient's conversation as a transcript, and the week in numbers."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from outreach.accounts.actions import Action
from outreach.db.tables import (
    audit_events,
    escalations,
    inbound_messages,
    outbound_messages,
    patients,
    staff_messages,
    staff_users,
)
from outreach.demo.tally import DemoResult
from outreach.rules.privacy import mask_phone
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import Severity

SEVERITIES = tuple(s.value for s in Severity)


def print_transcripts(console: Console, engine: Engine) -> None:
    with engine.begin() as conn:
        people = conn.execute(select(patients).order_by(patients.c.id)).all()
        for person in people:
            zone = ZoneInfo(person.timezone)
            console.rule(
                f"[bold]{person.first_name} {person.last_name}[/] · {person.language} · "
                f"{person.timezone} · {mask_phone(person.phone)}"
            )
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True, style="dim")
            grid.add_column(no_wrap=True)
            grid.add_column()
            for when, arrow, text, note in _conversation(conn, person.id):
                grid.add_row(readable_time(when, zone), arrow, text)
                if note:
                    style = "italic cyan" if note.startswith("✎") else "bold red"
                    grid.add_row("", "", f"[{style}]{note}[/]")
            console.print(grid, highlight=False)
            console.print()


def _conversation(conn: Connection, patient_id: int) -> list[tuple[datetime, str, str, str]]:
    lines: list[tuple[datetime, str, str, str]] = []
    for row in conn.execute(
        select(
            outbound_messages.c.created_at,
            outbound_messages.c.body,
            staff_users.c.display_name.label("author"),
        )
        .outerjoin(staff_messages, staff_messages.c.reminder_id == outbound_messages.c.reminder_id)
        .outerjoin(staff_users, staff_users.c.id == staff_messages.c.author_id)
        .where(outbound_messages.c.patient_id == patient_id)
    ):
        note = f"✎ written by {row.author}, from the inbox" if row.author else ""
        lines.append((row.created_at, "→", escape(row.body), escape(note)))
    flagged = {
        row.inbound_id: row
        for row in conn.execute(select(escalations).where(escalations.c.patient_id == patient_id))
    }
    for row in conn.execute(
        select(inbound_messages).where(inbound_messages.c.patient_id == patient_id)
    ):
        note = ""
        if row.id in flagged:
            esc = flagged[row.id]
            note = f"⚑ {esc.severity} escalation: {esc.reason} ({esc.detail})"
        elif row.needs_review:
            note = "⚑ needs a look from staff"
        lines.append((row.received_at, "←", escape(row.body), escape(note)))
    lines += _desk(conn, patient_id)
    return sorted(lines, key=lambda line: (line[0], line[1] == "→"))


def _desk(conn: Connection, patient_id: int) -> list[tuple[datetime, str, str, str]]:
    """What the front desk did with the patient's sessions: a line of its own in the
    transcript (attended marks are left out: they are most of them)."""
    lines: list[tuple[datetime, str, str, str]] = []
    for row in conn.execute(
        select(audit_events.c.at, audit_events.c.action, audit_events.c.detail).where(
            audit_events.c.patient_id == patient_id,
            audit_events.c.action.in_((Action.SESSION_MARKED, Action.SESSION_MOVED)),
        )
    ):
        detail = json.loads(row.detail)
        if row.action == Action.SESSION_MOVED:
            what = f"moved the session of {detail['starts_at']} to {detail['moved_to']}"
        elif detail["mark"][1] == "attended":
            continue
        else:
            what = f"marked the session of {detail['starts_at']} {detail['mark'][1]}"
        lines.append((row.at, "☰", f"[italic cyan]The front desk {escape(what)}.[/]", ""))
    return lines


def print_summary(console: Console, result: DemoResult) -> None:
    table = Table(title="The week in numbers", title_justify="left")
    for column in ("patient", "sent", "skipped (reason)", "replies", "confirmed", "escalations"):
        table.add_column(
            column, justify="left" if column in ("patient", "skipped (reason)") else "right"
        )
    for tally in [*result.patients, result.total]:
        table.add_row(
            tally.name,
            str(tally.sent),
            ", ".join(f"{n} {reason}" for reason, n in sorted(tally.skipped.items())) or "0",
            str(tally.replies),
            str(tally.confirmations),
            ", ".join(f"{tally.escalations[s]} {s}" for s in SEVERITIES if tally.escalations[s])
            or "0",
        )
    console.print(table)
    if result.sessions:
        marks = ", ".join(f"{n} {mark}" for mark, n in sorted(result.sessions.items()))
        console.print(f"Sessions marked by the front desk: {marks}.", highlight=False)
    for filled in result.slots_filled:
        console.print(f"Waitlist: {filled}.", highlight=False)
    if result.inbox:
        console.print(
            f"Inbox: {len(result.inbox)} conversation(s) wait for a person "
            f"({', '.join(result.inbox)}): staff answer them in the admin's /inbox.",
            highlight=False,
        )
