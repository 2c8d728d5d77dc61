"""What the fake Twilio stores and how it answers: message records, Twilio's JSON shapes for
a message, an error and a page of messages, and the list filters. Pure, no I/O.

The shapes follow what twilio-python 9 parses: `MessageInstance` reads the message fields,
`Version.exception` turns {"code", "message", "more_info", "status"} into a
`TwilioRestException`, and `Page.load_page` takes the one non-meta key ("messages") as the
records and follows `next_page_uri` relative to `client.api.base_url`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from outreach.texts.smslength import measure

API_VERSION = "2010-04-01"

ERROR_MESSAGES = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def new_sid(prefix: str) -> str:
    """A Twilio-looking sid: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


@dataclass
class FakeMessage:
    """One message as the fake holds it; `messages`/`sent_to` hand out copies."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    status: str
    created_at: datetime
    updated_at: datetime
    direction: str = "outbound-api"
    status_callback: str | None = None
    validity_period: int | None = None
    messaging_service_sid: str | None = None
    sent_at: datetime | None = None
    error_code: int | None = None


def segments(body: str) -> int:
    return max(1, measure(body).segments)


def rfc2822(when: datetime | None) -> str | None:
    # Twilio writes "Mon, 23 Nov 2026 12:00:00 +0000"; the client parses it with parsedate.
    return format_datetime(when) if when is not None else None


def error_json(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, f"Error {code}"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def message_json(m: FakeMessage) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{m.account_sid}/Messages/{m.sid}"
    return {
        "account_sid": m.account_sid,
        "api_version": API_VERSION,
        "body": m.body,
        "date_created": rfc2822(m.created_at),
        "date_sent": rfc2822(m.sent_at),
        "date_updated": rfc2822(m.updated_at),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": ERROR_MESSAGES.get(m.error_code) if m.error_code else None,
        "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": "0",
        "num_segments": str(segments(m.body)),
        "price": None,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": m.to,
        "uri": f"{uri}.json",
    }


class BadFilter(ValueError):
    pass


_OPS = {"DateSent": "=", "DateSent<": "<=", "DateSent>": ">="}


def _bound(name: str, value: str) -> date | datetime:
    # The client sends a datetime as "YYYY-MM-DDTHH:MM:SSZ" and a date as "YYYY-MM-DD".
    try:
        if "T" in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(f"{name} must be YYYY-MM-DD, got {value!r}") from None


def _holds(op: str, bound: date | datetime, sent: datetime) -> bool:
    # "DateSent<" and "DateSent>" go on the wire as "DateSent<=..." and "DateSent>=...":
    # both bounds are inclusive. A bare DateSent always means that whole day.
    if isinstance(bound, datetime) and op != "=":
        return sent <= bound if op == "<=" else sent >= bound
    day = bound.date() if isinstance(bound, datetime) else bound
    if op == "=":
        return sent.date() == day
    return sent.date() <= day if op == "<=" else sent.date() >= day


def _matches(m: FakeMessage, query: Mapping[str, str], bounds: dict[str, date | datetime]) -> bool:
    if "To" in query and m.to != query["To"]:
        return False
    if "From" in query and m.from_ != query["From"]:
        return False
    if not bounds:
        return True
    # A message not sent yet (queued, accepted) has no date_sent: a DateSent filter skips it.
    sent = m.sent_at
    return sent is not None and all(_holds(_OPS[k], b, sent) for k, b in bounds.items())


def select(messages: Sequence[FakeMessage], query: Mapping[str, str]) -> list[FakeMessage]:
    """The messages a list request asks for, newest first as Twilio lists them."""
    bounds = {k: _bound(k, query[k]) for k in _OPS if k in query}
    return [m for m in reversed(messages) if _matches(m, query, bounds)]


def page_json(
    account_sid: str, found: list[FakeMessage], query: Mapping[str, str]
) -> dict[str, Any]:
    """One page of `found` in Twilio's envelope. Next-page links carry a PageToken ("PA" +
    the last sid shown) so paging stays stable while new messages arrive; without a token
    the page starts at Page * PageSize."""
    try:
        size = min(max(int(query.get("PageSize", "50")), 1), 1000)
        page = max(int(query.get("Page", "0")), 0)
    except ValueError:
        raise BadFilter("PageSize and Page must be integers") from None
    start = page * size
    token = query.get("PageToken", "")
    sids = [m.sid for m in found]
    if token.startswith("PA") and token[2:] in sids:
        start = sids.index(token[2:]) + 1
    records = found[start : start + size]
    filters = {k: query[k] for k in ("To", "From", *_OPS) if k in query}
    path = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"

    def uri(page_no: int, page_token: str | None = None) -> str:
        params = {**filters, "PageSize": str(size), "Page": str(page_no)}
        if page_token:
            params["PageToken"] = page_token
        return f"{path}?{urlencode(params)}"

    more = start + size < len(found)
    return {
        "messages": [message_json(m) for m in records],
        "page": page,
        "page_size": size,
        "start": start,
        "end": start + max(len(records) - 1, 0),
        "uri": uri(page, token or None),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + records[-1].sid) if more and records else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }
