"""The checks each setting's value passes: each names its key and quotes the value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.rules.errors import ConfigError


def check_e164(value: object, key: str) -> str:
    # Imported here: every command loads the settings, and most never check a number.
    import phonenumbers

    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a phone number like '+16175550100', got {value!r}")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ConfigError(f"{key} must be an E.164 phone number, got {value!r} ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ConfigError(f"{key} is not a valid phone number, got {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_timezone(value: object, key: str) -> str:
    try:
        if not isinstance(value, str) or not value:
            raise ZoneInfoNotFoundError
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder: OSError
        raise ConfigError(
            f"{key} must be an IANA timezone like 'America/New_York', got {value!r}"
        ) from None
    return value


def int_in(low: int, high: int) -> Any:
    def parse(value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{key} must be a whole number from {low} to {high}, got {value!r}")
        return value

    return parse


def text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
    return value.strip()


def choice(options: tuple[str, ...]) -> Any:
    def parse(value: object, key: str) -> str:
        if value not in options:
            raise ConfigError(f"{key} must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return parse


def lead_hours(value: object, key: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 72 for v in value)
    ):
        raise ConfigError(f"{key} must be a list of hours from 1 to 72 like [24, 2], got {value!r}")
    return tuple(sorted(set(value), reverse=True))


def clinic_short_name(value: object, key: str) -> str:
    checked = text(value, key)
    if len(checked) > 30:
        raise ConfigError(f"{key} starts every text, so keep it to 30 characters, got {value!r}")
    return checked


def emergency_number(value: object, key: str) -> str:
    """A short dialling code such as 911, 112 or 999: digits only, 2 to 6 of them."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{2,6}", value):
        raise ConfigError(
            f"{key} must be the digits of the emergency number, e.g. '911', got {value!r}"
        )
    return value


def path(value: object, key: str) -> Path:
    return Path(text(value, key))


def number_in(low: float, high: float) -> Any:
    def parse(value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    return parse


def boolean(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def http_url(value: object, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ConfigError(f"{key} must be a URL like 'https://outreach.example.org', got {value!r}")
    return value.rstrip("/")


def messaging_service_sid(value: object, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"MG[0-9a-fA-F]{32}", value):
        raise ConfigError(f"{key} must look like 'MG' and 32 hex digits, got {value!r}")
    return value


def text_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise ConfigError(f'{key} must be a list of names, e.g. ["MAIN_PMS"], got {value!r}')
    return tuple(x.strip() for x in value)


def hl7_code(value: object, key: str) -> str:
    """An HL7 table code such as MR or PI; empty means none."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_]{0,20}", value.strip()):
        raise ConfigError(f"{key} must be an identifier type code such as 'MR', got {value!r}")
    return value.strip()
