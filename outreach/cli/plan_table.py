"""`outreach plan show` as text: a patient's plan and a table of their coming reminders."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_plan(console: Console, view: dict[str, Any]) -> None:
    console.print(
        f"[bold]{view['name']}[/] ({view['patient_id']}) · {view['language']} · "
        f"{view['timezone']} · {view['status']}"
    )
    plan = view["plan"]
    if plan is None:
        console.print("No care plan.")
        return
    ends = f"to {plan['end_date']}" if plan["end_date"] else "with no end date"
    console.print(f"Plan v{plan['version']} from {plan['start_date']} {ends}")
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
    table = Table(title="Coming reminders (patient's local time)", title_justify="left")
    for column in ("send at", "kind", "state", "reason"):
        table.add_column(column)
    for row in view["reminders"]:
        table.add_row(row["send_at_local"], row["kind"], row["state"], row["skip_reason"] or "")
    console.print(table)
    if not view["reminders"]:
        if view["status"] == "awaiting consent":
            console.print("Nothing is planned until the patient replies YES to the consent text.")
        else:
            console.print("No reminders in this period (the service plans ahead on each tick).")
