"""One typed settings object, loaded once from config.toml, loud when wrong.

Every error names the key and quotes the value. Secrets never live here: they come
from the environment (see `twilio_credentials`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path("config.toml")
LANGUAGES = ("en", "es")
PROVIDERS = ("console", "twilio")
# Quiet hours may be widened by a clinic but never narrowed past this window (TCPA-style 8-21).
LATEST_QUIET_START = time(21, 0)
EARLIEST_QUIET_END = time(8, 0)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the key and quotes the value."""


@dataclass(frozen=True)
class QuietHours:
    """A nightly window [start, end) in patient-local time when nothing is sent."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def covers(self, other: QuietHours) -> bool:
        """Every minute quiet in `other` is quiet here too."""
        minutes = (time(m // 60, m % 60) for m in range(24 * 60))
        return all(self.contains(t) for t in minutes if other.contains(t))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=256)
def patient_quiet_hours(own: str | None, clinic: QuietHours) -> QuietHours:
    """A patient's own quiet hours (stored already checked to cover the clinic's), or the
    clinic's."""
    return clinic if not own else parse_quiet_hours(own, "patient.quiet_hours")


@dataclass(frozen=True)
class Settings:
    clinic_name: str = "Riverside Physical Therapy"
    clinic_short_name: str = "Riverside PT"
    clinic_phone: str = "+16175550100"
    clinic_timezone: str = "America/New_York"
    on_call_phone: str | None = None
    emergency_number: str = "911"  # what the emergency text tells a patient to call
    quiet_hours: QuietHours = field(default_factory=lambda: QuietHours(time(21), time(8)))
    daily_cap: int = 3
    horizon_days: int = 14
    session_reminder_hours: tuple[int, ...] = (24,)
    tick_seconds: int = 30
    lease_seconds: int = 120
    batch_size: int = 100
    database_url: str = "sqlite:///outreach.db"
    sms_provider: str = "console"
    send_rate: float = 1.0  # messages per second, the limit of a US long code
    send_concurrency: int = 8  # sends in flight at once (each waits on the provider)
    retry_backoff_seconds: int = 120  # the first retry's wait; each later one doubles it
    outage_pause_seconds: int = 30  # how long a worker stops sending when the provider is down
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_validity_seconds: int = 3600
    twilio_timeout_seconds: float = 15.0
    public_base_url: str | None = None
    trust_forwarded_headers: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    templates_dir: Path = REPO_ROOT / "templates"
    source: str = "defaults"

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)


def parse_hhmm(value: object, key: str) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ConfigError(f"{key} must look like '08:30', got {value!r}")
    hours, minutes = (int(part) for part in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ConfigError(f"{key} must be a time of day between 00:00 and 23:59, got {value!r}")
    return time(hours, minutes)


def parse_quiet_hours(value: object, key: str = "sending.quiet_hours") -> QuietHours:
    if not isinstance(value, str) or not re.fullmatch(
        r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", value
    ):
        raise ConfigError(f"{key} must look like '21:00-08:00', got {value!r}")
    start_text, end_text = value.split("-")
    try:
        quiet = QuietHours(parse_hhmm(start_text, key), parse_hhmm(end_text, key))
    except ConfigError:
        # Quote the whole setting, not just the half that was out of range.
        raise ConfigError(
            f"{key} must be two times of day between 00:00 and 23:59, got {value!r}"
        ) from None
    if quiet.start == quiet.end:
        raise ConfigError(f"{key} must not start and end at the same time, got {value!r}")
    covers_night = (
        quiet.start > quiet.end
        and quiet.start <= LATEST_QUIET_START
        and quiet.end >= EARLIEST_QUIET_END
    )
    if not covers_night:
        raise ConfigError(
            f"{key} must cover at least 21:00-08:00 (texts only between 08:00 and 21:00), "
            f"got {value!r}"
        )
    return quiet


def check_e164(value: object, key: str) -> str:
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


# Each key: (section, name) -> (Settings field, parser). Unknown keys are errors: a typo in a
# safety setting such as quiet_hours must not be silently ignored.
def _int_in(low: int, high: int) -> Any:
    def parse(value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{key} must be a whole number from {low} to {high}, got {value!r}")
        return value

    return parse


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _choice(options: tuple[str, ...]) -> Any:
    def parse(value: object, key: str) -> str:
        if value not in options:
            raise ConfigError(f"{key} must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return parse


def _lead_hours(value: object, key: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 72 for v in value)
    ):
        raise ConfigError(f"{key} must be a list of hours from 1 to 72 like [24, 2], got {value!r}")
    return tuple(sorted(set(value), reverse=True))


def _clinic_short_name(value: object, key: str) -> str:
    text = _text(value, key)
    if len(text) > 30:
        raise ConfigError(f"{key} starts every text, so keep it to 30 characters, got {value!r}")
    return text


def _emergency_number(value: object, key: str) -> str:
    """A short dialling code such as 911, 112 or 999: digits only, 2 to 6 of them."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{2,6}", value):
        raise ConfigError(
            f"{key} must be the digits of the emergency number, e.g. '911', got {value!r}"
        )
    return value


def _path(value: object, key: str) -> Path:
    return Path(_text(value, key))


def _number_in(low: float, high: float) -> Any:
    def parse(value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    return parse


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def _http_url(value: object, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ConfigError(f"{key} must be a URL like 'https://outreach.example.org', got {value!r}")
    return value.rstrip("/")


def _messaging_service(value: object, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"MG[0-9a-fA-F]{32}", value):
        raise ConfigError(f"{key} must look like 'MG' and 32 hex digits, got {value!r}")
    return value


KEYS: dict[tuple[str, str], tuple[str, Any]] = {
    ("clinic", "name"): ("clinic_name", _text),
    ("clinic", "short_name"): ("clinic_short_name", _clinic_short_name),
    ("clinic", "phone"): ("clinic_phone", check_e164),
    ("clinic", "timezone"): ("clinic_timezone", check_timezone),
    ("clinic", "on_call_phone"): ("on_call_phone", check_e164),
    ("clinic", "emergency_number"): ("emergency_number", _emergency_number),
    ("sending", "quiet_hours"): ("quiet_hours", parse_quiet_hours),
    ("sending", "daily_cap"): ("daily_cap", _int_in(1, 10)),
    ("sending", "session_reminder_hours"): ("session_reminder_hours", _lead_hours),
    ("scheduler", "horizon_days"): ("horizon_days", _int_in(1, 60)),
    ("scheduler", "tick_seconds"): ("tick_seconds", _int_in(1, 3600)),
    ("scheduler", "lease_seconds"): ("lease_seconds", _int_in(10, 3600)),
    ("scheduler", "batch_size"): ("batch_size", _int_in(1, 10_000)),
    ("database", "url"): ("database_url", _text),
    ("sms", "provider"): ("sms_provider", _choice(PROVIDERS)),
    ("sending", "rate_per_second"): ("send_rate", _number_in(0.01, 1000)),
    ("sending", "concurrency"): ("send_concurrency", _int_in(1, 256)),
    ("sending", "retry_backoff_seconds"): ("retry_backoff_seconds", _int_in(1, 3600)),
    ("sending", "outage_pause_seconds"): ("outage_pause_seconds", _int_in(1, 3600)),
    ("twilio", "api_base_url"): ("twilio_api_base_url", _http_url),
    ("twilio", "from_number"): ("twilio_from_number", check_e164),
    ("twilio", "messaging_service_sid"): ("twilio_messaging_service_sid", _messaging_service),
    ("twilio", "validity_period_seconds"): ("twilio_validity_seconds", _int_in(1, 36000)),
    ("twilio", "timeout_seconds"): ("twilio_timeout_seconds", _number_in(1, 120)),
    ("web", "public_base_url"): ("public_base_url", _http_url),
    ("web", "trust_forwarded_headers"): ("trust_forwarded_headers", _bool),
    ("web", "host"): ("web_host", _text),
    ("web", "port"): ("web_port", _int_in(1, 65535)),
    ("paths", "templates"): ("templates_dir", _path),
}


def settings_from_dict(data: dict[str, Any], source: str = "<dict>") -> Settings:
    values: dict[str, Any] = {"source": source}
    sections = dict.fromkeys(s for s, _ in KEYS)
    for section, body in data.items():
        if section not in sections:
            # Also catches a key written above every [section] header. No value quoted: a
            # stray [twilio] table may hold a token that belongs in the environment.
            known = ", ".join(sections)
            raise ConfigError(f"{section} is not a known section (known: {known})")
        if not isinstance(body, dict):
            raise ConfigError(f"{section} must be a [{section}] table, got {body!r}")
        for name, value in body.items():
            key = f"{section}.{name}"
            if (section, name) not in KEYS:
                known = ", ".join(f"{s}.{n}" for s, n in KEYS)
                raise ConfigError(f"{key} is not a known setting (known: {known})")
            field_name, parse = KEYS[(section, name)]
            values[field_name] = parse(value, key)
    settings = Settings(**values)
    if not settings.templates_dir.is_absolute():
        base = Path(source).parent if source not in ("defaults", "<dict>") else REPO_ROOT
        settings = replace(settings, templates_dir=(base / settings.templates_dir).resolve())
    return settings


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str = field(repr=False)


def twilio_credentials(environ: Mapping[str, str] | None = None) -> TwilioCredentials:
    """Twilio's credentials come from the environment only, never from config.toml."""
    env = os.environ if environ is None else environ
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    missing = [
        name
        for name, value in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token))
        if not value
    ]
    if missing:
        raise ConfigError(
            f"sms.provider = 'twilio' needs {' and '.join(missing)} in the environment"
        )
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        raise ConfigError("TWILIO_ACCOUNT_SID must look like 'AC' and 32 hex digits")
    return TwilioCredentials(sid, token)


SESSION_SECRET_MIN = 32
KEY_RECIPE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def session_secret(environ: Mapping[str, str] | None = None) -> str:
    """The key that signs admin sign-in cookies: from the environment only, and long."""
    env = os.environ if environ is None else environ
    secret = env.get("OUTREACH_SESSION_SECRET", "").strip()
    if not secret:
        raise ConfigError(
            f"the admin pages need OUTREACH_SESSION_SECRET in the environment; {KEY_RECIPE}"
        )
    if len(secret) < SESSION_SECRET_MIN or len(set(secret)) < 8:
        # No value quoted: it is a secret, even a bad one.
        raise ConfigError(
            f"OUTREACH_SESSION_SECRET must be at least {SESSION_SECRET_MIN} random characters; "
            f"{KEY_RECIPE}"
        )
    return secret


def check_twilio_ready(settings: Settings) -> None:
    """What sending through Twilio needs beyond credentials; named key by key."""
    if not settings.twilio_from_number and not settings.twilio_messaging_service_sid:
        raise ConfigError(
            "sms.provider = 'twilio' needs twilio.from_number or twilio.messaging_service_sid"
        )
    if not settings.public_base_url:
        raise ConfigError(
            "sms.provider = 'twilio' needs web.public_base_url: status callbacks and "
            "signature checks use the public address Twilio calls"
        )


def load_settings(path: Path | None = None) -> Settings:
    """Load config.toml (or OUTREACH_CONFIG); no file means the embedded defaults.

    OUTREACH_DATABASE_URL overrides database.url so operators can keep credentials out of
    the file.
    """
    env_path = os.environ.get("OUTREACH_CONFIG")
    explicit = path is not None or env_path is not None
    chosen = path or (Path(env_path) if env_path else DEFAULT_CONFIG)
    if chosen.exists():
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen} is not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{chosen} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"{chosen} cannot be read: {exc.strerror}") from None
        settings = settings_from_dict(data, source=str(chosen))
    elif explicit:
        raise ConfigError(f"config file {str(chosen)!r} does not exist")
    else:
        settings = Settings()
    env_url = os.environ.get("OUTREACH_DATABASE_URL")
    if env_url:
        settings = replace(settings, database_url=env_url)
    return settings
