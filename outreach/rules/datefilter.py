"""The days typed in a page's filter (the message log, the report, the audit log), read
with the same words for the same mistakes."""

from __future__ import annotations

from datetime import date

NOT_A_DATE = "Enter a date as YYYY-MM-DD, e.g. 2026-11-01."
END_BEFORE_START = "The end date is before the start date."


def typed_days(
    start: str | None, end: str | None, names: tuple[str, str] = ("start", "end")
) -> tuple[date | None, date | None, dict[str, list[str]]]:
    """The first and last day typed (None where blank) and the errors by field name: a text
    that is not a date on the calendar, an end before the start. `names` are the fields'
    names in the form, for the errors."""
    errors: dict[str, list[str]] = {}
    days: list[date | None] = []
    for name, text in zip(names, (start, end), strict=True):
        day = None
        if text and text.strip():
            try:
                day = date.fromisoformat(text.strip())
            except ValueError:
                errors[name] = [NOT_A_DATE]
        days.append(day)
    first, last = days
    if first and last and last < first:
        errors[names[1]] = [END_BEFORE_START]
    return first, last, errors
