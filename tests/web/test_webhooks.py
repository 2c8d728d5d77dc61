"""Twilio's webhooks: verified before anything is stored, stored raw, answered in TwiML, and
status callbacks that only ever move a message forward. A real database, a real app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from outreach.clock import ManualClock
from outreach.config import ConfigError, Settings
from outreach.db.engine import make_engine
from outreach.db.tables import (
    consent_events,
    inbound_messages,
    outbound_messages,
    patients,
    reminders,
)
from outreach.replies import inbound
from outreach.testing.ports import free_port
from outreach.texts.render import Renderer
from outreach.web import create_app
from outreach.web.server import build_app
from outreach.web.webhooks import parse_form
from tests.support.patients import enrol
from tests.support.webhooks import (
    BASE,
    CLINIC,
    FORM,
    PHONE,
    TOKEN,
    Params,
    Twilio,
    new_sid,
    rows,
    send_foot_check,
    sign,
)


def message(engine: Engine, message_id: int) -> Any:
    with engine.begin() as conn:
        return conn.execute(
            select(outbound_messages).where(outbound_messages.c.id == message_id)
        ).one()


def messages_in(response: httpx.Response) -> list[ET.Element]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return list(root)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return replace(settings, public_base_url=BASE)


@pytest.fixture
def twilio(
    engine: Engine, app_settings: Settings, clock: ManualClock, renderer: Renderer
) -> Twilio:
    return Twilio(TestClient(create_app(engine, app_settings, TOKEN, renderer, clock)))


@pytest.fixture
def patient(engine: Engine, settings: Settings, clock: ManualClock) -> int:
    return enrol(engine, settings, clock.now())


@pytest.fixture
def foot_check(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, patient: int
) -> Any:
    return send_foot_check(engine, settings, clock, renderer)


def test_a_reply_to_a_foot_check_is_stored_raw_processed_and_answered_in_twiml(
    twilio: Twilio, engine: Engine, foot_check: Any
) -> None:
    response = twilio.text("2", sid="SMreply1", NumMedia="0")

    [message] = messages_in(response)
    assert message.tag == "Message" and "1 Open sore" in (message.text or "")
    [stored] = rows(engine, inbound_messages)
    assert (stored.body, stored.provider_sid, stored.intent) == ("2", "SMreply1", "foot_problem")
    assert json.loads(stored.raw) == {
        "From": PHONE, "To": CLINIC, "MessageSid": "SMreply1", "NumMedia": "0", "Body": "2"
    }  # fmt: skip
    assert stored.processed_at is not None and stored.prompt_id == foot_check.id
    [reply] = [m for m in rows(engine, outbound_messages) if m.template == "foot_followup"]
    assert (reply.provider, reply.status, reply.provider_sid) == ("twilio", "queued", None)
    assert reply.body == message.text
    assert message.get("action") == f"{BASE}/twilio/status?mid={reply.id}"


@pytest.mark.parametrize(
    "forgery",
    ["forged", "missing", "another url", "the url this server sees", "tampered", "another token"],
)
def test_a_request_without_twilios_signature_is_refused_and_nothing_is_stored(
    twilio: Twilio, engine: Engine, patient: int, forgery: str
) -> None:
    params = {"From": PHONE, "To": CLINIC, "Body": "STOP", "MessageSid": new_sid()}
    signature = {
        "forged": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        "missing": None,
        "another url": sign(BASE + "/twilio/status", params),
        "the url this server sees": sign("http://testserver/twilio/sms", params),
        "tampered": sign(BASE + "/twilio/sms", {**params, "Body": "1"}),
        "another token": sign(BASE + "/twilio/sms", params, token="other-token"),
    }[forgery]

    response = twilio.post("/twilio/sms", params, signature=signature, signed=bool(signature))

    assert response.status_code == 403
    assert rows(engine, inbound_messages) == []
    assert not rows(engine, patients)[0].opted_out


def test_a_retried_webhook_is_stored_and_answered_once(
    twilio: Twilio, engine: Engine, foot_check: Any
) -> None:
    first = twilio.text("2", sid="SMsame")
    again = twilio.text("2", sid="SMsame")

    assert len(messages_in(first)) == 1 and messages_in(again) == []
    assert len(rows(engine, inbound_messages)) == 1
    assert len([m for m in rows(engine, outbound_messages) if m.template == "foot_followup"]) == 1


def test_a_text_from_an_unknown_number_is_stored_for_staff_and_not_answered(
    twilio: Twilio, engine: Engine
) -> None:
    response = twilio.text("hello?")

    assert messages_in(response) == []
    [stored] = rows(engine, inbound_messages)
    assert (stored.body, stored.patient_id, stored.intent) == ("hello?", None, "unknown_sender")
    assert stored.needs_review


@pytest.mark.parametrize(
    "body",
    [
        None,  # an MMS with no text sends no Body
        "",
        "x" * 1600,
        "🦶 me duele 😢 足が痛い ∑ Ωμέγα עברית",
        "<script>alert('x')</script> & <b>bold</b> ]]>",
        "'; DROP TABLE patient; -- \" OR 1=1",
        "{{7*7}} {% for x in range(9) %}{{ x }}{% endfor %} ${7*7}",
        "line one\r\nline two\ttab  spaces ",
    ],
    ids=["absent", "empty", "1600 chars", "emoji and scripts", "html", "sql", "jinja", "spacing"],
)
def test_any_text_is_stored_verbatim_and_never_rendered(
    twilio: Twilio, engine: Engine, patient: int, body: str | None
) -> None:
    response = twilio.text(body)

    answer = "".join(m.text or "" for m in messages_in(response))
    [stored] = rows(engine, inbound_messages)
    assert stored.body == (body or "")
    assert "49" not in answer and "{{" not in answer and "<script>" not in answer


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"%zz=\xff", FORM, 400),
        (b"From=%2B16175550142&Body=caf\xe9", FORM, 400),
        (b"From=%2B16175550142&Body=%FF", FORM, 400),
        (b"From=%2B16175550142&Body=%2", FORM, 400),
        (b"From=%2B16175550142&&Body=x", FORM, 400),
        (b"From=%2B16175550142&Body=a%00b&MessageSid=SM1", FORM, 400),
        (b'{"From": "+16175550142"}', "application/json", 415),
        (b"From=%2B16175550142&MessageSid=SM1", "multipart/form-data; boundary=x", 415),
        (b"Body=" + b"x" * 70_000 + b"&From=%2B16175550142&MessageSid=SM1", FORM, 413),
    ],
)
def test_a_malformed_body_is_refused_and_nothing_is_stored(
    twilio: Twilio, engine: Engine, body: bytes, content_type: str, status: int
) -> None:
    response = twilio.post(
        "/twilio/sms", {}, body=body, signature="x", headers={"Content-Type": content_type}
    )

    assert response.status_code == status
    assert rows(engine, inbound_messages) == []


@pytest.mark.parametrize(
    "params",
    [
        {"To": CLINIC, "Body": "1", "MessageSid": "SM1"},
        {"From": "", "To": CLINIC, "Body": "1", "MessageSid": "SM1"},
        {"From": PHONE, "To": CLINIC, "Body": "1"},
        {"From": PHONE, "To": CLINIC, "Body": "1", "MessageSid": ""},
        {"From": "+1" + "6" * 40, "To": CLINIC, "Body": "1", "MessageSid": "SM1"},
        {"From": PHONE, "To": CLINIC, "Body": "1", "MessageSid": "SM" + "0" * 70},
    ],
    ids=["no From", "empty From", "no MessageSid", "empty MessageSid", "long From", "long sid"],
)
def test_a_signed_text_without_a_sender_or_a_sid_is_refused(
    twilio: Twilio, engine: Engine, params: Params
) -> None:
    assert twilio.post("/twilio/sms", params).status_code == 400
    assert rows(engine, inbound_messages) == []


def test_a_reply_that_cannot_be_interpreted_stays_stored_and_twilio_gets_a_200(
    twilio: Twilio, engine: Engine, foot_check: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug in the rules")

    monkeypatch.setattr(inbound, "interpret", broken)
    response = twilio.text("my foot looks red")

    assert messages_in(response) == []
    [stored] = rows(engine, inbound_messages)
    assert stored.body == "my foot looks red" and stored.processed_at is None
    assert "a bug in the rules" in stored.error


def test_forwarded_headers_give_the_public_url_only_when_trusted(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    params = {"From": PHONE, "To": CLINIC, "Body": "hi", "MessageSid": "SMfwd"}
    headers = {
        "Content-Type": FORM,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "sms.clinic.example",
        "X-Twilio-Signature": sign(BASE + "/twilio/sms", params),
    }
    for trusted, expected in ((False, 403), (True, 200)):
        behind_proxy = replace(settings, trust_forwarded_headers=trusted)
        client = TestClient(create_app(engine, behind_proxy, TOKEN, renderer, clock))
        response = client.post("/twilio/sms", content=urlencode(params), headers=headers)
        assert response.status_code == expected


# Status callbacks


@pytest.mark.parametrize(
    ("callbacks", "final"),
    [
        (["sent", "queued"], "sent"),
        (["delivered", "sent"], "delivered"),
        (["delivered", "failed"], "delivered"),
        (["failed", "delivered"], "failed"),
        (["sending", "sent", "delivered"], "delivered"),
        (["delivered", "delivered", "delivered"], "delivered"),
        (["undelivered", "read"], "undelivered"),
        (["accepted", "queued", "sending"], "sending"),
    ],
)
def test_a_status_only_moves_forward(
    twilio: Twilio, engine: Engine, foot_check: Any, callbacks: list[str], final: str
) -> None:
    for status in callbacks:
        twilio.status(status, mid=foot_check.id, sid=foot_check.provider_sid)

    assert message(engine, foot_check.id).status == final


def test_a_callback_without_mid_finds_the_message_by_its_sid(
    twilio: Twilio, engine: Engine, foot_check: Any
) -> None:
    twilio.status("undelivered", mid=None, sid=foot_check.provider_sid, ErrorCode="30005")

    sent = message(engine, foot_check.id)
    assert (sent.status, sent.error_code) == ("undelivered", "30005")


def test_a_callback_brings_the_sid_a_twiml_reply_never_had(
    twilio: Twilio, engine: Engine, foot_check: Any
) -> None:
    messages_in(twilio.text("2"))
    [reply] = [m for m in rows(engine, outbound_messages) if m.template == "foot_followup"]

    twilio.status("sent", mid=reply.id, sid="SMtwiml")
    twilio.status("delivered", mid=None, sid="SMtwiml")

    reply = message(engine, reply.id)
    assert (reply.provider_sid, reply.status) == ("SMtwiml", "delivered")


@pytest.mark.parametrize("mid", [None, 999_999])
def test_a_callback_for_a_message_we_never_sent_changes_nothing(
    twilio: Twilio, engine: Engine, foot_check: Any, mid: int | None
) -> None:
    rows_before = rows(engine, outbound_messages)
    twilio.status("failed", mid=mid, sid="SMnotours", ErrorCode="21610")

    assert rows(engine, outbound_messages) == rows_before
    assert not rows(engine, patients)[0].opted_out


def test_a_forged_status_callback_changes_nothing(
    twilio: Twilio, engine: Engine, foot_check: Any
) -> None:
    params = {"MessageSid": foot_check.provider_sid, "MessageStatus": "failed"}
    response = twilio.post(f"/twilio/status?mid={foot_check.id}", params, signature="forged")

    assert response.status_code == 403
    assert message(engine, foot_check.id).status == foot_check.status


@pytest.mark.parametrize(
    "params",
    [{"MessageSid": "SM1"}, {"MessageStatus": "sent"}],
    ids=["no status", "no message"],
)
def test_a_callback_that_names_no_status_or_message_is_refused(
    twilio: Twilio, params: Params
) -> None:
    assert twilio.post("/twilio/status", params).status_code == 400


def test_error_21610_opts_the_patient_out_once(
    twilio: Twilio, engine: Engine, foot_check: Any, patient: int
) -> None:
    for _ in range(2):  # Twilio may call twice
        twilio.status("failed", mid=foot_check.id, sid=foot_check.provider_sid, ErrorCode="21610")

    [person] = rows(engine, patients)
    assert person.opted_out
    [event] = [e for e in rows(engine, consent_events) if e.event == "opted_out"]
    assert (event.source, event.patient_id) == ("provider", patient)
    assert "21610" in event.detail
    assert not [r for r in rows(engine, reminders) if r.state == "pending"]
    assert {r.skip_reason for r in rows(engine, reminders) if r.state == "skipped"} >= {"opted_out"}
    assert message(engine, foot_check.id).error_code == "21610"


# Health and the rest


def test_the_health_check_asks_the_database(
    twilio: Twilio, settings: Settings, renderer: Renderer, tmp_path: Any
) -> None:
    assert twilio.client.get("/healthz").json() == {"status": "ok"}

    gone = make_engine(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite")
    down = TestClient(create_app(gone, settings, TOKEN, renderer))
    response = down.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "database unavailable"})


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/docs", 404),
        ("GET", "/redoc", 404),
        ("GET", "/openapi.json", 404),
        ("GET", "/twilio/sms", 405),
        ("GET", "/admin", 404),
    ],
)
def test_nothing_else_is_served(twilio: Twilio, method: str, path: str, status: int) -> None:
    assert twilio.client.request(method, path).status_code == status


# Whatever arrives, signed or not: never a 500, and every accepted text stored exactly once.

FIELDS = st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=6)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=FIELDS,
    sender=st.one_of(st.just(PHONE), st.text(max_size=40)),
    body=st.one_of(st.none(), st.text(max_size=200)),
)
def test_any_signed_form_is_answered_without_a_server_error(
    twilio: Twilio, engine: Engine, patient: int, fields: Params, sender: str, body: str | None
) -> None:
    sid = new_sid()
    params = {**fields, "From": sender, "MessageSid": sid}
    if body is not None:
        params["Body"] = body

    response = twilio.post("/twilio/sms", params)
    event(str(response.status_code))

    with engine.begin() as conn:
        stored = conn.execute(
            select(func.count()).where(inbound_messages.c.provider_sid == sid)
        ).scalar_one()
    assert response.status_code in (200, 400), response.text
    assert stored == (1 if response.status_code == 200 else 0)


SIGNED_TEXT_WITH_ANY_TAIL = st.builds(
    lambda tail: f"From=%2B16175550142&MessageSid={new_sid()}&Body=".encode() + tail,
    st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: quote(t).encode())),
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(st.binary(max_size=300), SIGNED_TEXT_WITH_ANY_TAIL))
def test_any_bytes_are_answered_without_a_server_error(
    twilio: Twilio, engine: Engine, patient: int, body: bytes
) -> None:
    before = len(rows(engine, inbound_messages))
    try:
        params = parse_form(body)
    except ValueError:
        params, signature = [], "unsigned"
    else:
        signature = RequestValidator(TOKEN).compute_signature(BASE + "/twilio/sms", Multi(params))

    response = twilio.post("/twilio/sms", {}, body=body, signature=signature)
    event(str(response.status_code))

    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        sid = dict(params)["MessageSid"]
        assert [m.provider_sid for m in rows(engine, inbound_messages)].count(sid) == 1
    else:
        assert len(rows(engine, inbound_messages)) == before


class Multi(dict[str, list[str]]):
    """Repeated names, as RequestValidator reads them (through `getlist`)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in pairs:
            self.setdefault(name, []).append(value)

    def getlist(self, name: str) -> list[str]:
        return self[name]


# The real server


def test_the_app_needs_twilios_credentials(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("OUTREACH_SESSION_SECRET", "s" * 16 + "abcdefghijklmnopqrstuvwxyz")

    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        build_app(replace(settings, sms_provider="twilio"))


def test_the_admin_needs_a_session_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTREACH_SESSION_SECRET", raising=False)
    with pytest.raises(ConfigError, match="OUTREACH_SESSION_SECRET"):
        build_app(settings)
    monkeypatch.setenv("OUTREACH_SESSION_SECRET", "too short")
    with pytest.raises(ConfigError, match="at least 32"):
        build_app(settings)


def test_without_twilio_the_webhooks_are_off(
    engine: Engine, settings: Settings, renderer: Renderer
) -> None:
    client = TestClient(create_app(engine, settings, None, renderer))
    params = {"From": PHONE, "Body": "STOP", "MessageSid": "SMoff"}
    response = client.post("/twilio/sms", data=params)
    assert response.status_code == 404
    assert rows(engine, inbound_messages) == []


@pytest.mark.slow
def test_the_server_answers_a_signed_text_and_stops_on_sigterm(
    engine: Engine, database_url: str, patient: int, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n[web]\npublic_base_url = "{BASE}"\n'
        '[sms]\nprovider = "twilio"\n[twilio]\nfrom_number = "+16175550100"\n'
    )
    port = free_port()
    env = {
        **os.environ,
        "OUTREACH_CONFIG": str(config),
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "OUTREACH_SESSION_SECRET": "a-session-secret-for-this-test-only-0123456789",
    }
    env.pop("OUTREACH_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        params = {"From": PHONE, "To": CLINIC, "Body": "HELP", "MessageSid": "SMserved"}
        headers = {"Content-Type": FORM, "X-Twilio-Signature": sign(BASE + "/twilio/sms", params)}
        response = httpx.post(f"{url}/twilio/sms", content=urlencode(params), headers=headers)
        [help_text] = messages_in(response)
        assert "server" not in response.headers
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=10)

    # Requests in flight finish, then the command exits 0 and says so.
    assert server.returncode == 0, err
    assert b"stopped cleanly" in err
    assert "Riverside" in (help_text.text or "")
    assert [m.body for m in rows(engine, inbound_messages)] == ["HELP"]
    assert PHONE not in (out + err).decode() and b"HELP" not in out + err
