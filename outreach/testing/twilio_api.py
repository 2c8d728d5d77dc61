"""The Messages API of the fake Twilio, without sockets: auth, routing, create with its
validation and injected faults, list and fetch, and the record of what happened."""

from __future__ import annotations

import base64
import hmac
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from outreach.clock import Clock, SystemClock
from outreach.testing.twilio_faults import Failure, FaultInjection, Hang
from outreach.testing.twilio_http import Reply
from outreach.testing.twilio_records import (
    API_VERSION,
    BadFilter,
    FakeMessage,
    error_json,
    message_json,
    new_sid,
    page_json,
    select,
)

log = logging.getLogger(__name__)

_ROUTE = re.compile(rf"/{API_VERSION}/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # the form of a POST, the query of a GET
    status: int  # 0 when the connection was dropped without an answer


def _flat(raw: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _error(failure: Failure) -> Reply:
    return Reply(failure.status, error_json(failure.status, failure.code, failure.message))


def _not_found(path: str) -> Reply:
    return _error(Failure(404, 20404, f"The requested resource {path} was not found"))


def _validate(form: dict[str, str]) -> Failure | None:
    if not form.get("To"):
        return Failure(400, 21604)
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return Failure(400, 21602)
    if not (form.get("From") or form.get("MessagingServiceSid")):
        return Failure(400, 21603)
    return None


class TwilioApi(FaultInjection):
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        latency_ms: float,
        phone_number: str,
        clock: Clock | None,
    ) -> None:
        super().__init__(latency_ms)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.clock: Clock = clock or SystemClock()
        # Set on stop: every latency, hang and auto-status delay waits on it, so none outlives
        # the server.
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._store: list[FakeMessage] = []
        self._requests: list[RecordedRequest] = []

    # -- what happened ---------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        """Copies of every message a create accepted, oldest first."""
        with self._lock:
            return [replace(m) for m in self._store if m.direction == "outbound-api"]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered (or dropped), in the order the answers went out."""
        with self._lock:
            return list(self._requests)

    def sent_to(self, number: str) -> list[FakeMessage]:
        return [m for m in self.messages if m.to == number]

    def count_by_body(self) -> Counter[str]:
        return Counter(m.body for m in self.messages)

    def message(self, sid: str) -> FakeMessage:
        with self._lock:
            return replace(self._find(sid))

    def _find(self, sid: str) -> FakeMessage:
        found = next((m for m in self._store if m.sid == sid), None)
        if found is None:
            raise KeyError(f"no message {sid!r} at this FakeTwilio")
        return found

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def _add(self, message: FakeMessage) -> None:
        with self._lock:
            self._store.append(message)

    def _set_status(self, sid: str, status: str, error_code: int | None) -> FakeMessage:
        with self._lock:
            message = self._find(sid)
            message.status = status
            message.updated_at = self._now()
            message.error_code = error_code
            if message.from_ is None:
                message.from_ = self.phone_number  # the Messaging Service picked a sender
            if message.sent_at is None and status not in ("accepted", "queued", "sending"):
                message.sent_at = message.updated_at
            return replace(message)

    # -- answering -------------------------------------------------------------------------

    def answer(self, method: str, raw_path: str, auth: str | None, body: bytes) -> Reply:
        url = urlsplit(raw_path)
        params = _flat(body.decode("utf-8", "replace") if method == "POST" else url.query)
        try:
            reply = self._route(method, url.path, params, auth)
        except Exception as exc:
            log.exception("FakeTwilio failed on %s %s", method, raw_path)
            reply = Reply(500, error_json(500, 20500, f"FakeTwilio crashed: {exc!r}"))
        with self._lock:
            status = reply.status if reply.body is not None else 0
            self._requests.append(RecordedRequest(method, url.path, params, status))
        return reply

    def _authorized(self, auth: str | None) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        scheme, _, encoded = (auth or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except ValueError:
            return False
        return scheme.lower() == "basic" and hmac.compare_digest(given, expected)

    def _route(self, method: str, path: str, params: dict[str, str], auth: str | None) -> Reply:
        if not self._authorized(auth):
            return _error(Failure(401, 20003))
        route = _ROUTE.fullmatch(path)
        if route is None or route[1] != self.account_sid:
            return _not_found(path)
        if route[2] is not None:
            if method != "GET":
                return _error(Failure(405, 20004))
            with self._lock:
                found = next((m for m in self._store if m.sid == route[2]), None)
                return _not_found(path) if found is None else Reply(200, message_json(found))
        if method == "GET":
            with self._lock:
                store = list(self._store)
            try:
                return Reply(200, page_json(self.account_sid, select(store, params), params))
            except BadFilter as exc:
                return _error(Failure(400, 20001, str(exc)))
        if method == "POST":
            return self._create(params)
        return _error(Failure(405, 20004))

    def _create(self, form: dict[str, str]) -> Reply:
        self._stopping.wait(self.latency_seconds)
        injected = self._take_injected()
        if isinstance(injected, Failure):
            return _error(injected)
        if isinstance(injected, Hang) and not injected.accept_first:
            self._stopping.wait(injected.seconds)
            return Reply(0, None)
        problem = _validate(form) or self._rule_for(form)
        if problem is not None:
            return _error(problem)
        now = self._now()
        validity = form.get("ValidityPeriod", "")
        message = FakeMessage(
            sid=new_sid("SM"),
            account_sid=self.account_sid,
            to=form["To"],
            from_=form.get("From"),
            body=form.get("Body", ""),
            # With a Messaging Service Twilio answers "accepted" before it picks a sender.
            status="accepted" if form.get("MessagingServiceSid") else "queued",
            created_at=now,
            updated_at=now,
            status_callback=form.get("StatusCallback"),
            validity_period=int(validity) if validity.isdigit() else None,
            messaging_service_sid=form.get("MessagingServiceSid"),
        )
        with self._lock:
            self._store.append(message)
            answer = message_json(message)
        if isinstance(injected, Hang):
            self._stopping.wait(injected.seconds)
        return Reply(201, answer, created=message.sid)
