"""A row of column values being checked, and the problems found in it, each naming its
line, column and value, so that every problem is reported at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outreach.rules.plaintext import has_control_characters


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
