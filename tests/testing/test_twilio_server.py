"""The fake Twilio, driven by the real `twilio` client over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from outreach.clock import ManualClock
from outreach.testing import FakeTwilio

PATIENT = "+15551230001"
CLINIC = "+15005550006"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def client(fake: FakeTwilio) -> Any:
    return fake.client(timeout=5)


def send(client: Any, body: str = "See you Tuesday", to: str = PATIENT, **kw: Any) -> Any:
    return client.messages.create(to=to, from_=CLINIC, body=body, **kw)


@dataclass
class Received:
    path: str
    signature: str
    form: dict[str, str]


@dataclass
class Receiver:
    """A throwaway webhook: records each POST and answers 200."""

    base_url: str
    posts: list[Received] = field(default_factory=list)

    def validates(self, token: str, post: Received) -> bool:
        url = self.base_url + post.path
        return bool(RequestValidator(token).validate(url, post.form, post.signature))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    posts: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
            signature = self.headers.get("X-Twilio-Signature", "")
            # Twilio sends empty fields (ToState=, FromZip=) and signs them: keep them.
            form = dict(parse_qsl(raw, keep_blank_values=True))
            posts.append(Received(self.path, signature, form))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", posts)
    server.shutdown()
    server.server_close()
    thread.join()


# -- sending, fetching, listing ----------------------------------------------------------------


def test_a_created_message_can_be_fetched_and_listed(fake: FakeTwilio, client: Any) -> None:
    sent = send(client, status_callback="http://hook/twilio/status?mid=7", validity_period=600)

    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.status, sent.to, sent.from_) == ("queued", PATIENT, CLINIC)
    assert sent.direction == "outbound-api"
    assert sent.num_segments == "1" and sent.date_sent is None
    assert isinstance(sent.date_created, datetime)
    assert client.messages(sent.sid).fetch().body == "See you Tuesday"
    assert [m.sid for m in client.messages.list(to=PATIENT)] == [sent.sid]
    [recorded] = fake.messages
    assert recorded.status_callback == "http://hook/twilio/status?mid=7"
    assert recorded.validity_period == 600


def test_the_list_pages_through_five_messages_two_at_a_time(fake: FakeTwilio, client: Any) -> None:
    sids = [send(client, f"message {i}").sid for i in range(5)]
    send(client, to="+15559990000")

    listed = client.messages.list(to=PATIENT, page_size=2)

    assert [m.sid for m in listed] == sids[::-1]  # newest first, as Twilio lists
    gets = [r for r in fake.requests if r.method == "GET"]
    assert [r.params.get("Page") for r in gets] == [None, "1", "2"]
    assert len(list(client.messages.stream(to=PATIENT, page_size=2, limit=3))) == 3


def test_the_list_filters_by_sender_and_by_the_day_a_message_was_sent(
    fake: FakeTwilio, client: Any, receiver: Receiver
) -> None:
    delivered = send(client, status_callback=f"{receiver.base_url}/twilio/status")
    still_queued = send(client)
    other_sender = client.messages.create(to=PATIENT, from_="+15005550001", body="x")
    fake.post_status(delivered.sid, "sent")
    sent_at = fake.message(delivered.sid).sent_at
    assert sent_at is not None

    by_day = client.messages.list(to=PATIENT, from_=CLINIC, date_sent_after=sent_at.date())
    assert [m.sid for m in by_day] == [delivered.sid]  # a queued message has no date_sent yet
    assert [m.sid for m in client.messages.list(date_sent=sent_at)] == [delivered.sid]
    assert client.messages.list(date_sent_before=datetime(2000, 1, 1, tzinfo=UTC)) == []
    from_clinic = {m.sid for m in client.messages.list(from_=CLINIC)}
    assert from_clinic == {delivered.sid, still_queued.sid}
    assert other_sender.sid not in from_clinic


def test_a_messaging_service_send_is_accepted_rather_than_queued(client: Any) -> None:
    sent = client.messages.create(to=PATIENT, messaging_service_sid="MG" + "0" * 32, body="Hi")

    assert (sent.status, sent.from_, sent.messaging_service_sid) == (
        "accepted",
        None,
        "MG" + "0" * 32,
    )


def test_its_clock_stamps_the_messages() -> None:
    with FakeTwilio(clock=ManualClock(datetime(2026, 3, 8, 7, 0, tzinfo=UTC))) as clocked:
        sent = send(clocked.client())

    assert sent.date_created == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_region_and_edge_from_the_environment_do_not_move_the_host(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")

    assert send(fake.client()).status == "queued"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"from_": CLINIC, "body": "x"}, 21604),
        ({"to": PATIENT, "from_": CLINIC}, 21602),
        ({"to": PATIENT, "body": "x"}, 21603),
    ],
)
def test_a_create_missing_a_field_is_refused_as_twilio_refuses_it(
    client: Any, fields: dict[str, str], code: int
) -> None:
    fields.setdefault("to", "")
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(**fields)

    assert (refused.value.status, refused.value.code) == (400, code)


@pytest.mark.parametrize(
    ("status", "code", "expected_code"),
    [
        (400, None, 21211),
        (400, 21614, 21614),
        (429, None, 20429),
        (500, None, 20500),
        (503, None, 20503),
    ],
)
def test_an_injected_error_surfaces_as_a_twilio_rest_exception(
    fake: FakeTwilio, client: Any, status: int, code: int | None, expected_code: int
) -> None:
    fake.fail_next(status=status, code=code)

    with pytest.raises(TwilioRestException) as failed:
        send(client)

    assert (failed.value.status, failed.value.code) == (status, expected_code)
    assert send(client).status == "queued"  # only the next one failed
    assert len(fake.messages) == 1


def test_a_rule_refuses_only_the_matching_recipient(fake: FakeTwilio, client: Any) -> None:
    fake.fail_when(lambda form: form["To"] == "+15005550004", code=21610)

    with pytest.raises(TwilioRestException) as refused:
        send(client, to="+15005550004")

    assert refused.value.code == 21610 and "unsubscribed" in refused.value.msg
    assert send(client).status == "queued"


def test_every_create_fails_during_an_outage(fake: FakeTwilio, client: Any) -> None:
    with fake.outage():
        for _ in range(3):
            with pytest.raises(TwilioRestException) as failed:
                send(client)
            assert (failed.value.status, failed.value.code) == (503, 20503)

    assert send(client).status == "queued"


def test_wrong_credentials_are_refused_with_20003(fake: FakeTwilio) -> None:
    intruder = Client(fake.account_sid, "f" * 32, environment={"_": ""})
    intruder.api.base_url = fake.base_url

    with pytest.raises(TwilioRestException) as refused:
        send(intruder)

    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert fake.messages == [] and fake.requests[-1].status == 401


def test_fetching_an_unknown_message_is_a_404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as missing:
        client.messages("SM" + "0" * 32).fetch()

    assert (missing.value.status, missing.value.code) == (404, 20404)


# -- timeouts ----------------------------------------------------------------------------------


def test_a_hang_times_out_the_client_and_nothing_is_sent(fake: FakeTwilio) -> None:
    fake.hang_next(seconds=2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        send(fake.client(timeout=0.3))

    assert fake.messages == []


def test_a_hang_shorter_than_the_timeout_drops_the_connection_unanswered(fake: FakeTwilio) -> None:
    fake.hang_next(seconds=0.1)

    with pytest.raises(requests.exceptions.ConnectionError):
        send(fake.client(timeout=5))

    assert fake.messages == [] and fake.requests[-1].status == 0


def test_a_message_accepted_before_the_hang_is_recorded_though_the_client_timed_out(
    fake: FakeTwilio,
) -> None:
    fake.hang_next(seconds=2, accept_then_hang=True)

    with pytest.raises(requests.exceptions.ReadTimeout):
        send(fake.client(timeout=0.3), "Your visit is at 9")

    assert fake.count_by_body() == {"Your visit is at 9": 1}
    # The reconciliation path: the message can be found by listing.
    assert [m.body for m in fake.client().messages.list(to=PATIENT)] == ["Your visit is at 9"]


def test_a_stopped_server_refuses_connections(fake: FakeTwilio) -> None:
    client = fake.client(timeout=1)
    fake.stop()

    with pytest.raises(requests.exceptions.ConnectionError):
        send(client)


# -- callbacks ---------------------------------------------------------------------------------


def test_a_status_callback_is_signed_like_twilios(receiver: Receiver) -> None:
    with FakeTwilio() as fake:
        sent = send(fake.client(), status_callback=f"{receiver.base_url}/twilio/status?mid=42")
        assert fake.post_status(sent.sid, "undelivered", error_code=30003)[0] == 200

    [post] = receiver.posts
    assert post.path == "/twilio/status?mid=42"
    assert post.form["MessageSid"] == sent.sid
    assert (post.form["MessageStatus"], post.form["ErrorCode"]) == ("undelivered", "30003")
    assert receiver.validates(fake.auth_token, post)
    assert fake.message(sent.sid).status == "undelivered"


def test_an_inbound_text_is_posted_signed_to_the_sms_webhook(receiver: Receiver) -> None:
    with FakeTwilio(webhook_base_url=receiver.base_url) as fake:
        fake.post_inbound(PATIENT, "YES")

    [post] = receiver.posts
    assert post.path == "/twilio/sms"
    assert (post.form["From"], post.form["To"], post.form["Body"]) == (PATIENT, CLINIC, "YES")
    assert post.form["MessageSid"] == post.form["SmsSid"] == post.form["SmsMessageSid"]
    assert post.form["NumMedia"] == "0" and post.form["ApiVersion"] == "2010-04-01"
    assert post.form["FromCity"] == ""  # blank, and part of what is signed
    assert receiver.validates(fake.auth_token, post)


def test_a_forged_signature_does_not_validate(receiver: Receiver) -> None:
    url = f"{receiver.base_url}/twilio/sms"
    with FakeTwilio() as fake:
        fake.post_signed(url, {"From": PATIENT, "Body": "STOP"}, signature="forged")
        fake.post_signed(url, {"From": PATIENT, "Body": "STOP"})

    forged, genuine = receiver.posts
    assert not receiver.validates(fake.auth_token, forged)
    assert receiver.validates(fake.auth_token, genuine)


def test_auto_status_posts_each_status_in_order(receiver: Receiver) -> None:
    with FakeTwilio(auto_status=["sent", "delivered"], auto_status_delay=0.01) as fake:
        sent = send(fake.client(), status_callback=f"{receiver.base_url}/twilio/status")
        posted = fake.wait_for_callbacks(2, timeout=5)
        assert fake.client().messages(sent.sid).fetch().status == "delivered"

    assert [p.params["MessageStatus"] for p in posted] == ["sent", "delivered"]
    assert [p.form["MessageStatus"] for p in receiver.posts] == ["sent", "delivered"]


# -- load and shutdown -------------------------------------------------------------------------


def test_fifty_concurrent_creates_are_all_recorded_with_distinct_sids() -> None:
    with FakeTwilio(latency_ms=200) as fake:
        client = fake.client()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            sids = list(pool.map(lambda i: send(client, f"reminder {i}").sid, range(50)))
        elapsed = time.monotonic() - started

    assert len(set(sids)) == 50
    assert {m.sid for m in fake.messages} == set(sids)
    assert elapsed < 5  # one after another they would take 10 s


def test_stopping_cuts_hangs_short_and_leaves_no_threads(receiver: Receiver) -> None:
    before = set(threading.enumerate())
    fake = FakeTwilio(auto_status=["sent"], auto_status_delay=30).start()
    client = fake.client(timeout=0.2)
    send(client, status_callback=f"{receiver.base_url}/twilio/status")
    fake.hang_next(seconds=30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(client)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 2
    assert [t.name for t in set(threading.enumerate()) - before] == []
    assert receiver.posts == []
