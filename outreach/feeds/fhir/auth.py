"""How outreach signs in to the FHIR server: not at all, a static bearer token, or SMART
Backend Services (the client-credentials grant with a signed JWT, as in
https://hl7.org/fhir/smart-app-launch/backend-services.html).

SMART: outreach posts a JWT it signs with its private key (RS384 for an RSA key, ES384 for
an EC P-384 one; iss = sub = client id, aud = token URL, a fresh jti, five minutes to live,
`kid` naming the key in the JWKS the EHR holds) to the token URL and receives an access
token, kept until shortly before it expires. The EHR checks the signature against the public
key registered for the client id: `outreach sync fhir-jwks` prints it as a JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from outreach.config import ConfigError, Settings
from outreach.config.secrets import fhir_token
from outreach.feeds.fhir.errors import FhirError
from outreach.feeds.fhir.outcome import outcome_words

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300  # SMART: no more than five minutes
DEFAULT_EXPIRES_SECONDS = 300  # a token response without expires_in
RENEW_BEFORE_SECONDS = 30  # renew this long before the server's expiry


class Auth(Protocol):
    """Headers for each request; `renew` forgets a token the server refused (True if a
    fresh one can be had, so the request is worth one more try)."""

    def headers(self, http: httpx.Client) -> dict[str, str]: ...

    def renew(self) -> bool: ...


class NoAuth:
    def headers(self, http: httpx.Client) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


@dataclass
class BearerAuth:
    token: str = field(repr=False)

    def headers(self, http: httpx.Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self) -> bool:
        return False  # a static token does not get better by asking again


@dataclass
class SmartAuth:
    token_url: str
    client_id: str
    private_key: Any = field(repr=False)  # an RSA or EC private key (cryptography)
    key_id: str
    scope: str
    clock: Callable[[], float] = time.time
    _token: str | None = field(default=None, repr=False)
    _valid_until: float = 0.0

    def headers(self, http: httpx.Client) -> dict[str, str]:
        if self._token is None or self.clock() >= self._valid_until:
            self._fetch(http)
        return {"Authorization": f"Bearer {self._token}"}

    def renew(self) -> bool:
        self._token = None
        return True

    def assertion(self) -> str:
        """The signed JWT that authenticates outreach at the token URL."""
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        headers = {"kid": self.key_id, "typ": "JWT"}
        return jwt.encode(
            claims, self.private_key, algorithm=algorithm(self.private_key), headers=headers
        )

    def _fetch(self, http: httpx.Client) -> None:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        asked = self.clock()
        try:
            response = http.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise FhirError(
                f"could not reach the token URL {self.token_url}: {_network_words(exc)}",
                retryable=True,
            ) from None
        if response.status_code != 200:
            raise FhirError(
                f"the token URL {self.token_url} refused outreach's client {self.client_id}: "
                f"{response.status_code} {_token_error_words(response)}",
                retryable=response.status_code == 429 or response.status_code >= 500,
                status=response.status_code,
                retry_after=response.headers.get("Retry-After"),
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            expires = float(body.get("expires_in") or DEFAULT_EXPIRES_SECONDS)
        except (ValueError, KeyError, TypeError):
            raise FhirError(
                f"the token URL {self.token_url} answered without an access_token"
            ) from None
        self._token = token
        # Shortly before it runs out, but never treat a short-lived token as already stale.
        self._valid_until = asked + max(expires - RENEW_BEFORE_SECONDS, expires / 2)


def algorithm(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES384"
    raise ConfigError("fhir.private_key must be an RSA or EC private key (PEM)")


def load_private_key(path: Path) -> Any:
    """The PEM private key at `path`; errors name the key, never its content."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"fhir.private_key: cannot read {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ConfigError(
            f"fhir.private_key: {path} is not an unencrypted PEM private key"
        ) from None
    algorithm(key)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name != "secp384r1":
        raise ConfigError(f"fhir.private_key: ES384 needs a P-384 key, {path} is {key.curve.name}")
    return key


def public_jwk(key: Any, key_id: str | None = None) -> dict[str, Any]:
    """The public half as a JWK, with kid (default: its RFC 7638 thumbprint), alg and use."""
    public = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))
        members: tuple[str, ...] = ("e", "kty", "n")
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(public))
        members = ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    thumb = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    jwk |= {"kid": key_id or thumb.decode(), "alg": algorithm(key), "use": "sig"}
    jwk.pop("key_ops", None)
    return jwk


def from_settings(settings: Settings) -> Auth:
    """The sign-in that fhir.auth names; ConfigError when something it needs is missing."""
    if settings.fhir_auth == "bearer":
        return BearerAuth(fhir_token())
    if settings.fhir_auth != "smart":
        return NoAuth()
    if not (settings.fhir_token_url and settings.fhir_client_id and settings.fhir_private_key):
        raise ConfigError("fhir.auth = 'smart' needs fhir.token_url, client_id and private_key")
    key = load_private_key(settings.fhir_private_key)
    return SmartAuth(
        token_url=settings.fhir_token_url,
        client_id=settings.fhir_client_id,
        private_key=key,
        key_id=settings.fhir_key_id or str(public_jwk(key)["kid"]),
        scope=settings.fhir_scope,
    )


def _token_error_words(response: httpx.Response) -> str:
    """RFC 6749's error and error_description, or an OperationOutcome, or the reason."""
    said = outcome_words(response.content)
    if said:
        return said
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and body.get("error"):
        description = body.get("error_description")
        return f"{body['error']}" + (f": {description}" if description else "")
    return response.reason_phrase


def _network_words(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__
