"""Is this request from Twilio? X-Twilio-Signature over the public URL and every parameter.

Twilio signs the URL it called, which behind a proxy is not the URL we see: the public one
comes from `web.public_base_url`, else (only if trusted) from X-Forwarded-Proto/Host, else
from the request itself. Pure functions, so each case is a one-line test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

HEADER = "X-Twilio-Signature"


def public_url(
    request_url: str,
    headers: Mapping[str, str],
    *,
    base_url: str | None,
    trust_forwarded: bool,
) -> str:
    """The URL Twilio called, query string kept as sent (it is part of what is signed).

    `request_url` is the URL as this server saw it; `headers` are the request's headers
    (looked up case-insensitively by the caller's mapping, e.g. Starlette's Headers).
    """
    seen = urlsplit(request_url)
    path_and_query = seen.path + (f"?{seen.query}" if seen.query else "")
    if base_url:
        return base_url.rstrip("/") + path_and_query
    if trust_forwarded:
        scheme = _first(headers.get("x-forwarded-proto")) or seen.scheme
        host = _first(headers.get("x-forwarded-host")) or seen.netloc
        return f"{scheme}://{host}{path_and_query}"
    return request_url


def _first(value: str | None) -> str:
    """A proxy chain appends: 'https, http' means the client-facing hop said https."""
    return (value or "").split(",")[0].strip()


class _Params:
    """Repeated names keep every value: RequestValidator reads them through `getlist`."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def getlist(self, name: str) -> list[str]:
        return self._values[name]


def is_valid(auth_token: str, url: str, params: Sequence[tuple[str, str]], signature: str) -> bool:
    """True only for a signature Twilio made with this token over this URL and these params."""
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, _Params(params), signature))
