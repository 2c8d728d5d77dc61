"""The timezone picker of the patient form: the zones a US or Spanish clinic's patients
mostly live in first, by a name staff know, then every other place's IANA zone."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

COMMON_ZONES = (
    ("America/New_York", "Eastern: New York"),
    ("America/Chicago", "Central: Chicago"),
    ("America/Denver", "Mountain: Denver"),
    ("America/Phoenix", "Arizona: Phoenix (no daylight saving)"),
    ("America/Los_Angeles", "Pacific: Los Angeles"),
    ("America/Anchorage", "Alaska: Anchorage"),
    ("Pacific/Honolulu", "Hawaii: Honolulu"),
    ("America/Puerto_Rico", "Atlantic: Puerto Rico"),
    ("Europe/Madrid", "Spain: Madrid"),
    ("Atlantic/Canary", "Spain: Canary Islands"),
)
# Places, not the aliases ("US/Eastern", "EST5EDT") that tzdata keeps for old systems.
_PLACE = re.compile(r"(Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/.+")

Choices = list[tuple[str, str]]


@cache
def _other_zones() -> tuple[str, ...]:
    common = {zone for zone, _ in COMMON_ZONES}
    return tuple(
        sorted(z for z in available_timezones() if _PLACE.fullmatch(z) and z not in common)
    )


def zone_groups(current: str, clinic_zone: str) -> list[tuple[str, Choices]]:
    """Option groups for the picker. A zone already stored but not listed (an alias from a
    CSV file, or a name that is not a zone at all) is kept as the first option, so saving
    the form never changes it silently."""
    listed = {zone for zone, _ in COMMON_ZONES} | set(_other_zones())
    groups: list[tuple[str, Choices]] = [
        ("", [("", f"The clinic's ({clinic_zone})")]),
    ]
    if current and current not in listed:
        groups.append(("As stored", [(current, current)]))
    groups.append(("Common", [(zone, f"{label} ({zone})") for zone, label in COMMON_ZONES]))
    groups.append(("Everywhere else", [(zone, zone.replace("_", " ")) for zone in _other_zones()]))
    return groups
