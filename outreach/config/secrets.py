"""Secrets come from the environment only, never from config.toml: Twilio's credentials and
the key that signs the admin's cookies. No error quotes a secret's value."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from outreach.config.settings import Settings
from outreach.rules.errors import ConfigError


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
KEY_RECIPE = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


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


def fhir_token(environ: Mapping[str, str] | None = None) -> str:
    """The static bearer token for fhir.auth = 'bearer': from the environment only."""
    env = os.environ if environ is None else environ
    token = env.get("OUTREACH_FHIR_TOKEN", "").strip()
    if not token:
        raise ConfigError("fhir.auth = 'bearer' needs OUTREACH_FHIR_TOKEN in the environment")
    return token
