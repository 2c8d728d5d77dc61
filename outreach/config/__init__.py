"""Settings: one typed object, loaded once from config.toml, loud when wrong; secrets from the
environment. Import from here: the modules inside are settings, values (each key's check) and
secrets."""

from outreach.config.secrets import (
    TwilioCredentials,
    check_twilio_ready,
    session_secret,
    twilio_credentials,
)
from outreach.config.settings import (
    DEFAULT_CONFIG,
    LANGUAGES,
    PROVIDERS,
    REPO_ROOT,
    Settings,
    load_settings,
    settings_from_dict,
)
from outreach.config.values import check_e164, check_timezone
from outreach.rules.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "LANGUAGES",
    "PROVIDERS",
    "REPO_ROOT",
    "ConfigError",
    "Settings",
    "TwilioCredentials",
    "check_e164",
    "check_timezone",
    "check_twilio_ready",
    "load_settings",
    "session_secret",
    "settings_from_dict",
    "twilio_credentials",
]
