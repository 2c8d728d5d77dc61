"""How the commands print times: on a wall clock with the zone's abbreviation ('Mon 26 Oct
20:00 CDT'): the patient's for what concerns their day, the clinic's for clinic-wide lists
(docs/times.md); or, with --utc, as ISO-8601 UTC for scripts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from outreach.rules.readabletime import DEFAULT_FORMAT, readable_time, utc_iso

F = TypeVar("F", bound=Callable[..., None])


def utc_option(command: F) -> F:
    return click.option(
        "--utc",
        is_flag=True,
        help="Print times as ISO-8601 UTC (2026-10-27T01:00:00Z), for scripts, instead of "
        "the wall clock with the zone's abbreviation.",
    )(command)


def shown_time(
    value: datetime | str | None, zone: ZoneInfo | str, utc: bool, fmt: str = DEFAULT_FORMAT
) -> str:
    """An instant (or its ISO text, as the rows for --json carry it) as a table shows it;
    '-' for none."""
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return utc_iso(instant) if utc else readable_time(instant, zone, fmt)
