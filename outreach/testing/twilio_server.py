"""A loopback server that speaks enough of Twilio's REST API for the real `twilio` client:
create, list (filters and paging) and fetch messages, HTTP Basic auth, Twilio's error
bodies, injected faults, and signed status and inbound callbacks to our webhooks.

    with FakeTwilio(webhook_base_url="http://127.0.0.1:8000") as fake:
        client = fake.client()
        sent = client.messages.create(to="+15551230001", from_=fake.phone_number, body="Hi")
        fake.post_status(sent.sid, "delivered")

The pieces: `twilio_api` (the Messages API and its record), `twilio_faults` (fail_next,
hang_next, outage...), `twilio_records` (Twilio's JSON shapes, filters, paging),
`twilio_callbacks` (callback params and signing), `twilio_http` (the threaded server).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

import httpx
import requests.adapters
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outreach.clock import Clock
from outreach.testing.twilio_api import TwilioApi
from outreach.testing.twilio_callbacks import Posted, Poster, inbound_params, status_params
from outreach.testing.twilio_http import LoopbackServer, Reply
from outreach.testing.twilio_records import FakeMessage, new_sid, segments

log = logging.getLogger(__name__)

DEFAULT_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"  # noqa: S105 - a fake's fake token


class FakeTwilio(TwilioApi):
    """Twilio's Messages API on 127.0.0.1 with an OS-chosen port. Single use: start once,
    stop once (or use it as a context manager)."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        latency_ms: float = 0,
        webhook_base_url: str | None = None,
        auto_status: list[str] | None = None,
        auto_status_delay: float = 0.02,
        phone_number: str = "+15005550006",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(account_sid or new_sid("AC"), auth_token, latency_ms, phone_number, clock)
        self.webhook_base_url = webhook_base_url.rstrip("/") if webhook_base_url else None
        self.auto_status = list(auto_status or [])
        self.auto_status_delay = auto_status_delay
        self._poster = Poster(auth_token)
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("a FakeTwilio starts once")
        self._server = LoopbackServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Cut short every latency, hang and pending auto status, then join every thread."""
        self._stopping.set()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads
            self._thread.join()
        self._poster.close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the FakeTwilio first")
        return f"http://127.0.0.1:{self._server.port}"

    def client(self, timeout: float = 10) -> Client:
        """A real `twilio.rest.Client` talking to this server."""
        http = TwilioHttpClient(timeout=timeout)
        # requests would send 127.0.0.1 through an HTTP_PROXY taken from the environment.
        http.session.trust_env = False
        # Only https:// gets a sized pool by default; a benchmark keeps ~50 creates in flight.
        http.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
        # Not environment={}: Client reads `environment or os.environ`, so an empty mapping
        # still lets TWILIO_REGION turn 127.0.0.1 into 127.<region>.0.1.
        env = {"TWILIO_ACCOUNT_SID": self.account_sid}
        client = Client(self.account_sid, self.auth_token, environment=env, http_client=http)
        # Every Messages URL is built from the Api domain's base_url, next pages included.
        client.api.base_url = self.base_url
        return client

    # -- callbacks to our webhooks ---------------------------------------------------------

    def post_status(
        self, message_sid: str, status: str, error_code: int | None = None
    ) -> tuple[int, str]:
        """Move the message to `status` and post Twilio's status callback, signed, to the
        StatusCallback URL given at create (its query string included). Nothing stops a test
        from posting late, twice or out of order, as Twilio may."""
        message = self._set_status(message_sid, status, error_code)
        if not message.status_callback:
            raise ValueError(f"message {message_sid} was created without a StatusCallback")
        return self._poster.post(
            message.status_callback, status_params(message, status, error_code)
        )

    def post_inbound(
        self,
        from_: str,
        body: str,
        to: str | None = None,
        message_sid: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Post an incoming SMS, signed, to {webhook_base_url}/twilio/sms. `to` defaults to
        the number that last texted `from_`, else `phone_number`."""
        if self.webhook_base_url is None:
            raise ValueError("post_inbound needs FakeTwilio(webhook_base_url=...)")
        if to is None:
            senders = [m.from_ for m in self.sent_to(from_) if m.from_]
            to = senders[-1] if senders else self.phone_number
        now = self._now()
        sid = message_sid or new_sid("SM")
        self._add(
            FakeMessage(
                sid=sid,
                account_sid=self.account_sid,
                to=to,
                from_=from_,
                body=body,
                status="received",
                created_at=now,
                updated_at=now,
                direction="inbound",
                sent_at=now,
            )
        )
        params = inbound_params(self.account_sid, sid, from_, to, body, segments(body))
        params.update(extra or {})
        return self._poster.post(f"{self.webhook_base_url}/twilio/sms", params)

    def post_signed(
        self,
        url: str,
        params: dict[str, str],
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST any form to any URL: signed properly (signature=None), signed with the wrong
        token ("forged"), or carrying the signature given."""
        return self._poster.post(url, params, signature, headers)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return self._poster.sign(url, params)

    @property
    def callbacks(self) -> list[Posted]:
        """Every callback posted so far, in order, with the webhook's answer."""
        return self._poster.posted

    def wait_for_callbacks(self, count: int, timeout: float = 5) -> list[Posted]:
        """The callbacks posted so far, once there are `count` of them or `timeout` passed."""
        return self._poster.wait_for(count, timeout)

    def answered(self, reply: Reply) -> None:
        if reply.created and self.auto_status and not self._stopping.is_set():
            sid = reply.created
            self._poster.later(lambda: self._run_auto_status(sid))

    def _run_auto_status(self, sid: str) -> None:
        for status in self.auto_status:
            if self._stopping.wait(self.auto_status_delay):
                return
            try:
                self.post_status(sid, status)
            except ValueError:
                pass  # no StatusCallback: the status still moves, as at Twilio
            except httpx.HTTPError as exc:
                log.warning("status callback for %s not delivered: %r", sid, exc)
