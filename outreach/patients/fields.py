"""A row of column values being checked, and the problems found in it, each naming its
line, column and value, so that every problem is reported at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outreach.rules.plaintext import has_control_characters
from outreach.rules.waitlist import Availability, parse_days, parse_hours


@dataclass(frozen=True)
class FieldError:
    line: int  # 0 when the values did not come from a file
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        if not self.value:
            return f"{where}{self.column}: {self.reason}"
        return f"{where}{self.column}: {self.value!r} {self.reason}"


class Row:
    """The values of one row and the problems found in them so far."""

    def __init__(self, values: Mapping[str, str], line: int) -> None:
        self.values = values
        self.line = line
        self.errors: list[FieldError] = []

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def fail(self, column: str, reason: str, value: str | None = None) -> None:
        shown = self.get(column) if value is None else value
        self.errors.append(FieldError(self.line, column, shown, reason))


def one_line(text: str) -> bool:
    return not any(ch in text for ch in "\r\n\t\v\f")


def printable(text: str) -> bool:
    return not has_control_characters(text)


def waitlist(row: Row) -> Availability | None:
    """The waitlist columns: the weekdays ("mon wed fri") and hours ("08:00-12:00") the
    patient could come at short notice, both or neither. None when both are blank."""
    days_text, hours_text = row.get("waitlist_days"), row.get("waitlist_hours")
    if not days_text and not hours_text:
        return None
    days = hours = None
    if not days_text:
        row.fail("waitlist_days", "must not be blank when waitlist_hours is set")
    else:
        try:
            days = parse_days(days_text)
        except ValueError as exc:
            row.fail("waitlist_days", f"has a problem: {exc}")
    if not hours_text:
        row.fail("waitlist_hours", "must not be blank when waitlist_days is set")
    else:
        try:
            hours = parse_hours(hours_text)
        except ValueError as exc:
            row.fail("waitlist_hours", _reason(str(exc), hours_text))
    if days is None or hours is None:
        return None
    return Availability(days, *hours)


def _reason(message: str, value: str) -> str:
    """A rule's message without the value it quotes (the error shows the value already),
    worded like the other columns' problems."""
    message = message.replace(f", got {value!r}", "")
    return (
        message.removeprefix("hours ")
        if message.startswith("hours ")
        else (f"has a problem: {message}")
    )
