"""Callbacks the fake Twilio posts to our webhooks, signed exactly as Twilio signs them:
X-Twilio-Signature = RequestValidator(auth_token).compute_signature(full URL, POST params)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from twilio.request_validator import RequestValidator

from outreach.testing.twilio_records import API_VERSION, FakeMessage

FORGED = "forged"


@dataclass(frozen=True)
class Posted:
    url: str
    params: dict[str, str]
    status_code: int | None  # None when the webhook could not be reached
    text: str


def _country(number: str) -> str:
    return "US" if number.startswith("+1") else ""


def status_params(m: FakeMessage, status: str, error_code: int | None) -> dict[str, str]:
    params = {
        "MessageSid": m.sid,
        "SmsSid": m.sid,
        "AccountSid": m.account_sid,
        "From": m.from_ or "",
        "To": m.to,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": API_VERSION,
    }
    if m.messaging_service_sid:
        params["MessagingServiceSid"] = m.messaging_service_sid
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def inbound_params(
    account_sid: str, sid: str, from_: str, to: str, body: str, segments: int
) -> dict[str, str]:
    """What Twilio posts to a number's messaging webhook for an incoming SMS."""
    return {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(segments),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


class Poster:
    """Signs and posts callbacks, and runs delayed ones (auto statuses) on a small pool."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._forger = RequestValidator("f" * 32 if auth_token != "f" * 32 else "0" * 32)
        # trust_env=False: a proxy from the environment must not see loopback webhooks.
        self._http = httpx.Client(timeout=10, trust_env=False)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fake-twilio-callback")
        self._lock = threading.Lock()
        self._posted: list[Posted] = []
        self._posted_changed = threading.Condition(self._lock)

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        return str(self._validator.compute_signature(url, dict(params)))

    def post(
        self,
        url: str,
        params: Mapping[str, str],
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST `params` as a form to `url`. `signature`: None signs it properly, "forged"
        signs it with the wrong token, anything else is sent as given."""
        if signature is None:
            signature = self.sign(url, params)
        elif signature == FORGED:
            signature = str(self._forger.compute_signature(url, dict(params)))
        sent = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        try:
            response = self._http.post(url, data=dict(params), headers={**sent, **(headers or {})})
        except httpx.HTTPError as exc:
            self._record(Posted(url, dict(params), None, repr(exc)))
            raise
        self._record(Posted(url, dict(params), response.status_code, response.text))
        return response.status_code, response.text

    def _record(self, posted: Posted) -> None:
        with self._posted_changed:
            self._posted.append(posted)
            self._posted_changed.notify_all()

    @property
    def posted(self) -> list[Posted]:
        with self._lock:
            return list(self._posted)

    def wait_for(self, count: int, timeout: float) -> list[Posted]:
        """Every callback posted so far, once there are at least `count` (or at the timeout)."""
        with self._posted_changed:
            self._posted_changed.wait_for(lambda: len(self._posted) >= count, timeout)
            return list(self._posted)

    def later(self, job: Callable[[], None]) -> None:
        # After stop() the pool refuses work: a callback due then is simply never sent.
        with contextlib.suppress(RuntimeError):
            self._pool.submit(job)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()
