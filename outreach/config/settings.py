"""One typed settings object, loaded once from config.toml, loud when wrong.

Every error names the key and quotes the value; unknown sections and keys are refused. Secrets
never live here: they come from the environment (outreach/config/secrets.py).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from outreach.config import values as v
from outreach.rules.errors import ConfigError
from outreach.rules.localtime import QuietHours, parse_quiet_hours

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path("config.toml")
LANGUAGES = ("en", "es")
PROVIDERS = ("console", "twilio")
FHIR_AUTH = ("none", "bearer", "smart")


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
    # Sessions (outreach/sessions/): a cancellation this close to the start is late, and a
    # no-show gets one text the same day asking them to rebook, unless turned off.
    late_cancel_hours: int = 24
    no_show_text: bool = True
    # The waitlist: a session cancelled at least `waitlist_min_notice_hours` before it starts
    # is offered to `waitlist_offers_at_once` matching patients at a time; each offer stands
    # for `waitlist_offer_minutes`, then the next patients are offered it.
    waitlist_min_notice_hours: int = 4
    waitlist_offers_at_once: int = 3
    waitlist_offer_minutes: int = 60
    # Appointments from the clinic's own systems (outreach/feeds/). HL7 v2 SIU over MLLP: the
    # listener binds to localhost unless told otherwise; patients match on the PID-3 entry
    # of `hl7_identifier_type` (empty: the first entry); an empty list of facilities takes
    # messages from any sender that can reach the port.
    hl7_host: str = "127.0.0.1"
    hl7_port: int = 2575
    hl7_identifier_type: str = "MR"
    hl7_allowed_facilities: tuple[str, ...] = ()
    hl7_tls_cert: Path | None = None
    hl7_tls_key: Path | None = None
    hl7_in_worker: bool = False  # `outreach worker` also runs the listener
    # FHIR R4: Appointment read from `fhir_base_url` every `fhir_interval_minutes` by the
    # worker; patients match on the Patient.identifier of `fhir_identifier_system` (None: an
    # identifier of type MR, else the first). The bearer token comes from the environment.
    fhir_base_url: str | None = None
    fhir_auth: str = "none"  # none, bearer (OUTREACH_FHIR_TOKEN) or smart (backend services)
    fhir_token_url: str | None = None
    fhir_client_id: str | None = None
    fhir_private_key: Path | None = None  # PEM, RSA (RS384) or EC P-384 (ES384)
    fhir_key_id: str | None = None
    fhir_scope: str = "system/Appointment.read system/Patient.read"
    fhir_identifier_system: str | None = None
    fhir_interval_minutes: int = 5
    fhir_page_size: int = 100
    fhir_timeout_seconds: float = 30.0
    source: str = "defaults"

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)


# Each key: (section, name) -> (Settings field, parser). Unknown keys are errors: a typo in a
# safety setting such as quiet_hours must not be silently ignored.
KEYS: dict[tuple[str, str], tuple[str, Any]] = {
    ("clinic", "name"): ("clinic_name", v.text),
    ("clinic", "short_name"): ("clinic_short_name", v.clinic_short_name),
    ("clinic", "phone"): ("clinic_phone", v.check_e164),
    ("clinic", "timezone"): ("clinic_timezone", v.check_timezone),
    ("clinic", "on_call_phone"): ("on_call_phone", v.check_e164),
    ("clinic", "emergency_number"): ("emergency_number", v.emergency_number),
    ("sending", "quiet_hours"): ("quiet_hours", parse_quiet_hours),
    ("sending", "daily_cap"): ("daily_cap", v.int_in(1, 10)),
    ("sending", "session_reminder_hours"): ("session_reminder_hours", v.lead_hours),
    ("scheduler", "horizon_days"): ("horizon_days", v.int_in(1, 60)),
    ("scheduler", "tick_seconds"): ("tick_seconds", v.int_in(1, 3600)),
    ("scheduler", "lease_seconds"): ("lease_seconds", v.int_in(10, 3600)),
    ("scheduler", "batch_size"): ("batch_size", v.int_in(1, 10_000)),
    ("database", "url"): ("database_url", v.text),
    ("sms", "provider"): ("sms_provider", v.choice(PROVIDERS)),
    ("sending", "rate_per_second"): ("send_rate", v.number_in(0.01, 1000)),
    ("sending", "concurrency"): ("send_concurrency", v.int_in(1, 256)),
    ("sending", "retry_backoff_seconds"): ("retry_backoff_seconds", v.int_in(1, 3600)),
    ("sending", "outage_pause_seconds"): ("outage_pause_seconds", v.int_in(1, 3600)),
    ("twilio", "api_base_url"): ("twilio_api_base_url", v.http_url),
    ("twilio", "from_number"): ("twilio_from_number", v.check_e164),
    ("twilio", "messaging_service_sid"): ("twilio_messaging_service_sid", v.messaging_service_sid),
    ("twilio", "validity_period_seconds"): ("twilio_validity_seconds", v.int_in(1, 36000)),
    ("twilio", "timeout_seconds"): ("twilio_timeout_seconds", v.number_in(1, 120)),
    ("web", "public_base_url"): ("public_base_url", v.http_url),
    ("web", "trust_forwarded_headers"): ("trust_forwarded_headers", v.boolean),
    ("web", "host"): ("web_host", v.text),
    ("web", "port"): ("web_port", v.int_in(1, 65535)),
    ("paths", "templates"): ("templates_dir", v.path),
    ("sessions", "late_cancel_hours"): ("late_cancel_hours", v.int_in(1, 168)),
    ("sessions", "no_show_text"): ("no_show_text", v.boolean),
    ("waitlist", "min_notice_hours"): ("waitlist_min_notice_hours", v.int_in(1, 336)),
    ("waitlist", "offers_at_once"): ("waitlist_offers_at_once", v.int_in(1, 50)),
    ("waitlist", "offer_minutes"): ("waitlist_offer_minutes", v.int_in(5, 1440)),
    ("hl7", "host"): ("hl7_host", v.text),
    ("hl7", "port"): ("hl7_port", v.int_in(1, 65535)),
    ("hl7", "identifier_type"): ("hl7_identifier_type", v.hl7_code),
    ("hl7", "allowed_facilities"): ("hl7_allowed_facilities", v.text_list),
    ("hl7", "tls_cert"): ("hl7_tls_cert", v.path),
    ("hl7", "tls_key"): ("hl7_tls_key", v.path),
    ("hl7", "in_worker"): ("hl7_in_worker", v.boolean),
    ("fhir", "base_url"): ("fhir_base_url", v.http_url),
    ("fhir", "auth"): ("fhir_auth", v.choice(FHIR_AUTH)),
    ("fhir", "token_url"): ("fhir_token_url", v.http_url),
    ("fhir", "client_id"): ("fhir_client_id", v.text),
    ("fhir", "private_key"): ("fhir_private_key", v.path),
    ("fhir", "key_id"): ("fhir_key_id", v.text),
    ("fhir", "scope"): ("fhir_scope", v.text),
    ("fhir", "identifier_system"): ("fhir_identifier_system", v.text),
    ("fhir", "interval_minutes"): ("fhir_interval_minutes", v.int_in(1, 1440)),
    ("fhir", "page_size"): ("fhir_page_size", v.int_in(1, 1000)),
    ("fhir", "timeout_seconds"): ("fhir_timeout_seconds", v.number_in(1, 300)),
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
    base = Path(source).parent if source not in ("defaults", "<dict>") else REPO_ROOT
    # Paths in the file are relative to the file.
    for name in ("templates_dir", "hl7_tls_cert", "hl7_tls_key", "fhir_private_key"):
        given = getattr(settings, name)
        if given is not None and not given.is_absolute():
            settings = replace(settings, **{name: (base / given).resolve()})
    _check_feeds(settings)
    return settings


def _check_feeds(settings: Settings) -> None:
    """Settings that only make sense together, named together."""
    if (settings.hl7_tls_cert is None) != (settings.hl7_tls_key is None):
        raise ConfigError("hl7.tls_cert and hl7.tls_key go together: set both, or neither")
    if settings.fhir_auth == "smart":
        missing = [
            f"fhir.{name}"
            for name, value in (
                ("base_url", settings.fhir_base_url),
                ("token_url", settings.fhir_token_url),
                ("client_id", settings.fhir_client_id),
                ("private_key", settings.fhir_private_key),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(f"fhir.auth = 'smart' needs {', '.join(missing)}")


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
