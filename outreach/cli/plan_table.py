"""`outreach plan show` as text: a patient's plan and a table of their coming reminders."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from outreach.cli.times import shown_time


def print_plan(console: Console, view: dict[str, Any], utc: bool = False) -> None:
    """The plan, then the coming reminders in the patient's own time, labelled (20:00 CDT),
    or with `utc` in ISO-8601 UTC."""
    console.print(
        f"[bold]{view['name']}[/] ({view['patient_id']}) · {view['language']} · "
        f"{view['timezone']} · {view['status']}"
    )
    plan = view["plan"]
    if plan is None:
        console.print("No care plan.")
        return
    until = f"to {plan['end_date']}" if plan["end_date"] else "with no end date"
    console.print(f"Plan version {plan['version']}, from {plan['start_date']} {until}")
    for index, phase in enumerate(plan["sessions"], start=1):
        console.print(
            f"  sessions, phase {index}: {phase['days']} at {phase['time']} "
            f"for {phase['weeks']} weeks"
        )
    if plan["foot_check_time"]:
        console.print(f"  foot check: daily at {plan['foot_check_time']}")
    if plan["exercise_days"]:
        console.print(
            f"  exercises: {plan['exercise_days']} at {plan['exercise_time']}: "
            + "; ".join(plan["exercises"])
        )
    zone = view["timezone"]
    where = "UTC" if utc else f"the patient's time, {zone}"
    table = Table(title=f"Coming reminders ({where})", title_justify="left")
    for column in ("send at", "kind", "state", "reason"):
        table.add_column(column)
    for row in view["reminders"]:
        at = shown_time(row["send_at_utc"], zone, utc) if utc else row["send_at_local"]
        table.add_row(at, row["kind"], row["state"], row["skip_reason"] or "")
    console.print(table)
    if not view["reminders"]:
        if view["status"] == "awaiting consent":
            console.print("Nothing is planned until the patient replies YES to the consent text.")
        else:
            console.print("No reminders in this period (the service plans ahead on each tick).")
