"""How long something took or has been waiting, in the words staff read at a glance."""

from __future__ import annotations

from datetime import timedelta


def spoken_duration(value: timedelta) -> str:
    """'45 s', '90 s', '12 min', '3 h 5 min', '2 d 4 h': the two largest units, rounded
    down. A unit is used from two of it on, so a wait of 119 seconds does not read as
    '1 min', nearly half of it lost."""
    seconds = max(0, int(value.total_seconds()))
    if seconds < 2 * 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 2 * 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 2 * 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def median_duration(durations: list[timedelta]) -> timedelta | None:
    """The middle one (the mean of the middle two), to the second; None for none."""
    if not durations:
        return None
    ordered = sorted(durations)
    half = len(ordered) // 2
    middle = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
    return timedelta(seconds=round(middle.total_seconds()))
