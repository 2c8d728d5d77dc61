"""The Today page: open escalations first (emergency, urgent, routine, review; oldest first),
what goes out today, what failed and replies that need a look. Replies arrive as Twilio
posts them: signed, through the webhook of the same app."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, escalations, inbound_messages, outbound_messages
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import Severity
from outreach.sending import oncall
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from outreach.transports import SendError
from tests.support.admin import BASE, TOKEN, Admin
from tests.support.escalations import Clinic
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport
from tests.support.webhooks import sign

HTMX = {"HX-Request": "true"}


def text_in(client: TestClient, phone: str, body: str) -> None:
    """A patient's reply, posted and signed the way Twilio does."""
    params = {"From": phone, "To": "+16175550100", "Body": body, "MessageSid": _sid()}
    response = client.post(
        "/twilio/sms",
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(BASE + "/twilio/sms", params, TOKEN),
        },
    )
    assert response.status_code == 200, response.text


_sids = iter(range(10**6))


def _sid() -> str:
    return f"SM{next(_sids):032d}"


def section(page: Response, section_id: str) -> str:
    assert page.status_code == 200, page.text
    found = re.search(rf'<section id="{section_id}".*?</section>', page.text, re.DOTALL)
    assert found, f"no section {section_id}"
    return found.group(0)


def escalation_rows(html: str) -> list[tuple[str, str]]:
    """(severity, patient id) of each escalation row, in page order."""
    return re.findall(r'data-severity="(\w+)".*?href="/patients/([^"]+)"', html, re.DOTALL)


def test_today_puts_urgent_above_routine_above_review_and_oldest_first(
    admin: Admin,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
) -> None:
    Clinic(engine, settings, clock, renderer, patients=5)
    replies = [
        ("P-1", ["stop texting me"]),  # review, oldest of all
        ("P-2", ["2", "3"]),  # routine
        ("P-3", ["2", "1"]),  # urgent
        ("P-4", ["2", "2"]),  # urgent, newer
        ("P-5", ["2", "3"]),  # routine, newer
    ]
    for patient, texts in replies:
        for body in texts:
            text_in(admin.client, Clinic.phone(patient), body)
        clock.advance(timedelta(minutes=5))

    rows = escalation_rows(section(admin.get("/"), "escalations"))

    assert rows == [
        ("urgent", "P-3"),
        ("urgent", "P-4"),
        ("routine", "P-2"),
        ("routine", "P-5"),
        ("review", "P-1"),
    ]


def test_each_escalation_shows_its_reason_the_reply_and_time_since_reported(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    Clinic(engine, settings, clock, renderer, patients=1)
    text_in(admin.client, Clinic.phone("P-1"), "2")
    text_in(admin.client, Clinic.phone("P-1"), "2")
    clock.advance(timedelta(hours=2, minutes=5))

    html = section(admin.get("/"), "escalations")

    assert "red, hot or swollen foot" in html
    assert '<q class="reply">2</q>' in html
    assert "2 h 5 min ago" in html
    assert "not texted" in html
    assert 'action="/escalations/' in html and "Acknowledge" in html and "Resolve" in html


def test_an_urgent_escalation_on_today_gives_the_patients_phone_as_a_link_to_call(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=1)
    clinic.reply("P-1", "2", "1")

    html = section(admin.get("/"), "escalations")

    row = re.search(rf'<tr id="escalation-{clinic.escalation("P-1")}".*?</tr>', html, re.S)
    assert row is not None and 'data-severity="urgent"' in row.group(0)
    assert '<a class="phone" href="tel:+16175550001">(617) 555-0001</a>' in row.group(0)


def test_an_emergency_tops_today_with_its_own_badge_and_is_not_texted_until_paged(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=2)
    clinic.reply("P-1", "2", "1")  # urgent, older
    clock.advance(timedelta(minutes=5))
    clinic.reply("P-2", "2", "1")
    emergency = clinic.escalation("P-2")
    with engine.begin() as conn:  # no reply raises one yet: the safety screen will
        conn.execute(
            update(escalations)
            .where(escalations.c.id == emergency)
            .values(severity=Severity.EMERGENCY)
        )

    html = section(admin.get("/"), "escalations")

    assert escalation_rows(html) == [("emergency", "P-2"), ("urgent", "P-1")]
    assert '<span class="badge emergency">emergency</span>' in html
    assert html.count('<span class="badge muted">not texted</span>') == 2
    assert "Needs attention now (2)" in html


def test_today_says_when_the_on_call_phone_was_texted(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=1)
    clinic.reply("P-1", "2", "1")
    on_call = replace(settings, on_call_phone="+16175550199")

    assert oncall.notify_urgent(engine, on_call, renderer, RecordingTransport(), clock.now()) == 1

    html = section(admin.get("/"), "escalations")
    assert "texted" in html and "not texted" not in html


def test_every_section_says_plainly_when_it_is_empty(admin: Admin) -> None:
    page = admin.get("/")

    assert "No open escalations." in section(page, "escalations")
    assert "No reminders are due today." in section(page, "outgoing")
    assert "Nothing failed in the last 7 days." in section(page, "failed")
    assert "No replies need a look." in section(page, "needs-look")


def test_the_escalations_section_refreshes_itself_every_15_seconds(admin: Admin) -> None:
    page = section(admin.get("/"), "escalations")
    assert 'hx-get="/today/escalations"' in page and 'hx-trigger="every 15s' in page

    partial = admin.get("/today/escalations", headers=HTMX)

    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<section id="escalations"')
    assert "<html" not in partial.text


def test_the_polled_section_shows_an_escalation_raised_after_the_page_loaded(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=1)
    assert "No open escalations." in admin.get("/today/escalations").text

    clinic.reply("P-1", "2", "1")

    assert escalation_rows(admin.get("/today/escalations").text) == [("urgent", "P-1")]


def test_what_goes_out_today_counts_by_kind_and_lists_the_next_ones(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())

    html = section(admin.get("/"), "outgoing")

    # Monday 07:00 in New York: today's foot check at 08:30, and the reminder for
    # Tuesday's 10:00 session, sent 24 hours ahead.
    foot = re.search(r'data-kind="foot_check">(.*?)</tr>', html, re.DOTALL)
    assert foot and re.findall(r"<td>(\d+)</td>", foot.group(1)) == ["1", "0", "0", "0"]
    assert re.search(
        r"<td>08:30 EST</td><td><a href=\"/patients/P-1\">P-1</a></td><td>foot check", html
    )


def test_failed_texts_show_their_error_code_in_words(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now())
    transport = RecordingTransport()
    transport.failures = [SendError("Twilio 21211: invalid", permanent=True, code="21211")]
    dispatcher = Dispatcher(engine, settings, clock, transport, renderer, "w")
    while not _outbound(engine):
        plan_due(engine, settings, clock.now())
        dispatcher.run()
        clock.advance(timedelta(minutes=15))

    html = section(admin.get("/"), "failed")

    assert "21211: invalid phone number" in html
    assert "Reminders that could not be sent" in html and "foot check" in html


def test_an_undelivered_status_callback_shows_the_carriers_reason(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    Clinic(engine, settings, clock, renderer, patients=1)
    [sent] = _outbound(engine)
    params = {
        "MessageSid": f"SM{sent.id:032d}",
        "MessageStatus": "undelivered",
        "ErrorCode": "30006",
    }
    path = f"/twilio/status?mid={sent.id}"
    response = admin.client.post(
        path,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(BASE + path, params, TOKEN),
        },
    )
    assert response.status_code == 204

    html = section(admin.get("/"), "failed")
    assert "30006: landline" in html and "undelivered" in html

    clock.advance(timedelta(days=8))
    assert "Nothing failed in the last 7 days." in section(admin.get("/"), "failed")


def test_a_reply_nobody_understood_needs_a_look_until_someone_marks_it_seen(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    Clinic(engine, settings, clock, renderer, patients=1)
    text_in(admin.client, Clinic.phone("P-1"), "what time is it tomorrow?")
    reply_id = _inbound_ids(engine)[-1]

    html = section(admin.get("/"), "needs-look")
    assert "what time is it tomorrow?" in html and "Not understood: needs a person" in html

    response = admin.post(f"/replies/{reply_id}/seen", {"next": "/"}, follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert "No replies need a look." in section(admin.get("/"), "needs-look")
    assert _audit(engine) == [("admin", "reply_reviewed")]


def test_marking_a_reply_seen_through_htmx_removes_its_row(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    Clinic(engine, settings, clock, renderer, patients=1)
    text_in(admin.client, Clinic.phone("P-1"), "huh")
    admin.get("/")

    response = admin.post(f"/replies/{_inbound_ids(engine)[-1]}/seen", headers=HTMX)

    assert (response.status_code, response.text) == (200, "")
    assert admin.post("/replies/999999/seen").status_code == 404


def test_a_reply_that_failed_processing_shows_its_error(
    admin: Admin, engine: Engine, clock: ManualClock
) -> None:
    from outreach.replies import inbound

    reply_id = inbound.store(engine, clock.now(), from_phone="+16175550999", body="hello?")
    assert reply_id is not None
    with engine.begin() as conn:
        conn.execute(
            inbound_messages.update()
            .where(inbound_messages.c.id == reply_id)
            .values(error="KeyError: 'x'", needs_review=True)
        )

    html = section(admin.get("/"), "needs-look")

    assert "hello?" in html and "not processed" in html and "KeyError" in html


def test_acknowledging_on_today_through_htmx_swaps_the_row(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=1)
    clinic.reply("P-1", "2", "1")
    admin.get("/")
    escalation_id = clinic.escalation("P-1")

    response = admin.post(
        f"/escalations/{escalation_id}/acknowledge", {"layout": "today"}, headers=HTMX
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="escalation-{escalation_id}"')
    assert "acknowledged" in response.text and "Alex Admin" in response.text
    assert "ago" in response.text  # the Today layout, not the full one


def _outbound(engine: Engine) -> list[Any]:
    with engine.begin() as conn:
        return list(conn.execute(select(outbound_messages).order_by(outbound_messages.c.id)))


def _inbound_ids(engine: Engine) -> list[int]:
    with engine.begin() as conn:
        return list(
            conn.execute(select(inbound_messages.c.id).order_by(inbound_messages.c.id)).scalars()
        )


def _audit(engine: Engine) -> list[tuple[str, str]]:
    with engine.begin() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
    return [(r.username, r.action) for r in rows if r.action != "sign_in_failed"]


def test_a_reply_to_review_gives_the_patients_phone_as_a_link_to_call(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    Clinic(engine, settings, clock, renderer, patients=1)
    text_in(admin.client, Clinic.phone("P-1"), "can I come Thursday at 3 instead?")

    html = section(admin.get("/"), "needs-look")

    assert '<a class="phone" href="tel:+16175550001">(617) 555-0001</a>' in html
