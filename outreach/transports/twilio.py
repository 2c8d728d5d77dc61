"""Twilio, through the official client. Builds the request and maps Twilio's errors; nothing else.

Never retries a create by itself: Twilio has no idempotency key, so a timed-out create may
have been accepted. Such an error is marked `uncertain`, and the dispatcher looks the message
up (`find_sent`) before it ever sends again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outreach.config import Settings, TwilioCredentials
from outreach.transports import Outgoing, Receipt, SendError

OPTED_OUT = "21610"
# The number will never take a text: invalid, not mobile, a landline, unknown or unreachable.
PERMANENT = {"21211", "21614", "21635", "30005", "30006", OPTED_OUT}
# Blocked or filtered by a carrier: sending the same text again would only be blocked again.
NOT_BLINDLY = {"30004", "30007"}
TRANSIENT = {"20429", "30003", "30008"}
RECONCILE_DEPTH = 50


def classify(exc: TwilioRestException) -> SendError:
    code = str(exc.code) if exc.code is not None else None
    status = int(exc.status or 0)
    if code in PERMANENT or code in NOT_BLINDLY:
        return SendError(f"Twilio {code}: {exc.msg}", permanent=True, code=code)
    if code in TRANSIENT or status == 429 or status >= 500:
        return SendError(f"Twilio {code or status}: {exc.msg}", permanent=False, code=code)
    # Any other 4xx is a request Twilio will refuse again as it is.
    return SendError(f"Twilio {code or status}: {exc.msg}", permanent=True, code=code)


class TwilioTransport:
    name = "twilio"

    def __init__(self, settings: Settings, credentials: TwilioCredentials) -> None:
        if not settings.public_base_url:
            raise ValueError("the Twilio transport needs web.public_base_url for status callbacks")
        self.settings = settings
        self.public_base_url = settings.public_base_url
        http = TwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        if http.session is not None:
            # max_retries=0: a POST is never repeated behind our back. The pool holds one
            # connection per concurrent send instead of requests' default ten.
            pool = max(10, settings.send_concurrency)
            for scheme in ("https://", "http://"):
                http.session.mount(scheme, HTTPAdapter(pool_maxsize=pool, max_retries=0))
        # A mapping of our own, not os.environ: TWILIO_REGION / TWILIO_EDGE there would
        # rewrite the API host. It must not be empty: the client treats {} as "use os.environ".
        environment = {"TWILIO_ACCOUNT_SID": credentials.account_sid}
        self.client = Client(
            credentials.account_sid,
            credentials.auth_token,
            environment=environment,
            http_client=http,
        )
        self.client.api.base_url = settings.twilio_api_base_url

    def _sender(self) -> dict[str, str]:
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        assert self.settings.twilio_from_number
        return {"from_": self.settings.twilio_from_number}

    def send(self, message: Outgoing) -> Receipt:
        try:
            created = self.client.messages.create(
                to=message.to,
                body=message.body,
                status_callback=f"{self.public_base_url}/twilio/status?mid={message.message_id}",
                # A text stuck in Twilio's queue expires instead of arriving late.
                validity_period=self.settings.twilio_validity_seconds,
                **self._sender(),
            )
        except TwilioRestException as exc:
            raise classify(exc) from None
        except (requests.RequestException, TwilioException) as exc:
            raise SendError(
                f"no answer from Twilio: {type(exc).__name__}",
                permanent=False,
                code="network",
                uncertain=True,
            ) from None
        return Receipt(provider_sid=str(created.sid), status=str(created.status))

    def find_sent(self, message: Outgoing, since: datetime) -> Receipt | None:
        """The message Twilio accepted for this text, if a create whose answer was lost went
        through: same recipient and sender, sent since `since`, same body. Raises SendError
        when Twilio cannot be asked: the caller tries again later, and sends nothing meanwhile."""
        sender: dict[str, Any] = {}
        if self.settings.twilio_from_number and not self.settings.twilio_messaging_service_sid:
            sender["from_"] = self.settings.twilio_from_number
        # Not filtered by DateSent: a message still queued at Twilio has none yet. The newest
        # few to this number are enough, since the lost create happened minutes ago.
        earliest = since - timedelta(minutes=5)
        try:
            for found in self.client.messages.stream(
                to=message.to, limit=RECONCILE_DEPTH, **sender
            ):
                created = found.date_created
                if found.body == message.body and (created is None or created >= earliest):
                    return Receipt(provider_sid=str(found.sid), status=str(found.status))
        except (requests.RequestException, TwilioException) as exc:
            raise SendError(
                f"cannot list Twilio's messages: {type(exc).__name__}",
                permanent=False,
                code="lookup",
            ) from None
        return None
