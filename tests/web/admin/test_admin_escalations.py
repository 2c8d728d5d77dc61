"""The escalations pages: acknowledge and resolve as plain forms and through htmx, the time
to first action and who acted, the note a resolution needs, and who came first."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from httpx import Response
from sqlalchemy import Engine, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, escalations, outbound_messages, patients
from outreach.rules.vocabulary import Severity
from outreach.texts.render import Renderer
from tests.support.admin import Admin, admin_client
from tests.support.escalations import LATER, Clinic

HTMX = {"HX-Request": "true"}


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, staff: None
) -> Clinic:
    clinic = Clinic(engine, settings, clock, renderer, patients=3)
    clinic.reply("P-1", "2", "1")  # urgent
    clinic.reply("P-2", "2", "3")  # routine
    clinic.reply("P-3", "stop texting me")  # review
    return clinic


def listed(admin: Admin, query: str = "") -> list[str]:
    page = admin.get("/escalations" + query)
    assert page.status_code == 200, page.text
    return re.findall(r'<tr id="escalation-\d+".*?href="/patients/([^"]+)"', page.text, re.DOTALL)


def audit(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    with engine.begin() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
    return [(r.username, r.action, json.loads(r.detail)) for r in rows]


def test_acknowledge_then_resolve_records_times_users_audit_and_time_to_first_action(
    admin: Admin, therapist: Admin, clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    urgent = clinic.escalation("P-1")
    clock.advance(timedelta(minutes=12))
    therapist.get(f"/escalations/{urgent}")

    acknowledged = therapist.post(
        f"/escalations/{urgent}/acknowledge", {"next": "/"}, follow_redirects=False
    )
    clock.advance(timedelta(hours=1))
    admin.get(f"/escalations/{urgent}")
    resolved = admin.post(
        f"/escalations/{urgent}/resolve",
        {"note": "Called her; seen in clinic this afternoon.", "next": "/escalations"},
        follow_redirects=False,
    )

    assert (acknowledged.status_code, acknowledged.headers["location"]) == (303, "/")
    assert (resolved.status_code, resolved.headers["location"]) == (303, "/escalations")
    assert audit(engine) == [
        ("terry", "escalation_acknowledged", {"escalation": urgent}),
        (
            "admin",
            "escalation_resolved",
            {"escalation": urgent, "note": "Called her; seen in clinic this afternoon."},
        ),
    ]
    page = admin.get("/escalations?state=resolved").text
    row = re.search(rf'<tr id="escalation-{urgent}".*?</tr>', page, re.DOTALL)
    assert row is not None
    assert "12 min" in row.group(0) and "by Terry Therapist" in row.group(0)
    assert "Called her; seen in clinic this afternoon." in row.group(0)
    assert "resolved" in row.group(0) and "by Alex Admin" in row.group(0)
    detail = admin.get(f"/escalations/{urgent}").text
    assert "Time to first action</dt><dd>12 min" in detail


def test_resolving_without_a_note_is_refused_with_the_error_next_to_the_field(
    admin: Admin, clinic: Clinic, engine: Engine
) -> None:
    urgent = clinic.escalation("P-1")
    admin.get(f"/escalations/{urgent}")

    response = admin.post(f"/escalations/{urgent}/resolve", {"note": "   "})

    assert response.status_code == 422
    assert 'class="field-error" id="note-error"' in response.text
    assert "Write what was done" in response.text
    assert audit(engine) == []
    assert listed(admin) == ["P-1", "P-2", "P-3"]


def test_an_overlong_note_is_refused_and_kept_as_typed(admin: Admin, clinic: Clinic) -> None:
    urgent = clinic.escalation("P-1")
    admin.get(f"/escalations/{urgent}")
    note = "word " * 401

    response = admin.post(f"/escalations/{urgent}/resolve", {"note": note})

    assert response.status_code == 422
    assert "at most 2000 characters" in response.text
    assert note.strip() in response.text


def test_a_second_acknowledge_by_another_user_says_who_did_it_first(
    admin: Admin, therapist: Admin, clinic: Clinic, clock: ManualClock
) -> None:
    urgent = clinic.escalation("P-1")
    therapist.get("/")
    admin.get("/")
    assert therapist.post(f"/escalations/{urgent}/acknowledge", {"next": "/"}).status_code == 200

    second = admin.post(f"/escalations/{urgent}/acknowledge", {"next": "/escalations"})

    assert second.status_code == 200  # followed to the list, with a flash
    assert 'class="flash"' in second.text
    assert "Already acknowledged by Terry Therapist at" in second.text


def test_a_second_resolve_through_htmx_says_who_resolved_it_in_the_row(
    admin: Admin, therapist: Admin, clinic: Clinic
) -> None:
    urgent = clinic.escalation("P-1")
    therapist.get("/")
    admin.get("/")
    therapist.post(f"/escalations/{urgent}/resolve", {"note": "Called."})

    response = admin.post(
        f"/escalations/{urgent}/resolve", {"note": "Me too.", "layout": "today"}, headers=HTMX
    )

    assert response.status_code == 200
    assert "Already resolved by Terry Therapist" in response.text


def test_htmx_buttons_get_the_row_back_not_a_page(admin: Admin, clinic: Clinic) -> None:
    routine = clinic.escalation("P-2")
    admin.get("/escalations")

    acknowledged = admin.post(f"/escalations/{routine}/acknowledge", headers=HTMX)
    blank = admin.post(f"/escalations/{routine}/resolve", {"note": ""}, headers=HTMX)
    resolved = admin.post(f"/escalations/{routine}/resolve", {"note": "Rebooked."}, headers=HTMX)

    for response in (acknowledged, blank, resolved):
        assert response.text.lstrip().startswith(f'<tr id="escalation-{routine}"')
        assert "<html" not in response.text
    assert acknowledged.status_code == 200 and 'data-state="acknowledged"' in acknowledged.text
    assert blank.status_code == 422 and "Write what was done" in blank.text
    assert resolved.status_code == 200 and 'data-state="resolved"' in resolved.text
    assert "Rebooked." in resolved.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "escalations"])
def test_a_redirect_never_leaves_the_site(admin: Admin, clinic: Clinic, target: str) -> None:
    urgent = clinic.escalation("P-1")
    admin.get("/")

    response = admin.post(
        f"/escalations/{urgent}/acknowledge", {"next": target}, follow_redirects=False
    )

    assert response.headers["location"] == f"/escalations/{urgent}"


def test_the_list_filters_by_state_and_severity(
    admin: Admin, clinic: Clinic, engine: Engine
) -> None:
    admin.get("/")
    admin.post(f"/escalations/{clinic.escalation('P-2')}/acknowledge")
    admin.post(f"/escalations/{clinic.escalation('P-3')}/resolve", {"note": "Opted out."})

    assert listed(admin) == ["P-1"]
    assert listed(admin, "?state=acknowledged") == ["P-2"]
    assert listed(admin, "?state=resolved") == ["P-3"]
    assert listed(admin, "?state=all") == ["P-1", "P-2", "P-3"]
    assert listed(admin, "?state=all&severity=urgent") == ["P-1"]
    assert (
        "No open escalations of severity review."
        in admin.get("/escalations?state=open&severity=review").text
    )


@pytest.mark.parametrize(
    ("query", "field"), [("?state=closed", "state"), ("?severity=high", "severity")]
)
def test_an_unknown_filter_value_is_a_field_error(
    admin: Admin, clinic: Clinic, query: str, field: str
) -> None:
    response = admin.get("/escalations" + query)

    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text


def conversation(page: Response) -> str:
    assert page.status_code == 200, page.text
    found = re.search(r'<section class="card" id="conversation".*?</section>', page.text, re.S)
    assert found is not None, "no conversation section"
    return found.group(0)


def exchange_parts(html: str) -> list[tuple[str, str, str]]:
    """(part, direction, text) of each text in the exchange shown, in page order."""
    found = re.findall(r'<li class="(in|out) \w+" data-part="(\w+)">(.*?)</li>', html, re.S)
    return [
        (part, direction, re.sub(r"<span.*?</span>", "", body, flags=re.S).strip())
        for direction, part, body in found
    ]


def sent_to(engine: Engine, patient: str) -> list[tuple[str, str, datetime]]:
    """(template, body, created_at) of what the patient was sent, oldest first."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                outbound_messages.c.template,
                outbound_messages.c.body,
                outbound_messages.c.created_at,
            )
            .join(patients, patients.c.id == outbound_messages.c.patient_id)
            .where(patients.c.external_id == patient)
            .order_by(outbound_messages.c.id)
        ).all()
    return [(r.template, r.body, r.created_at) for r in rows]


def set_escalation(engine: Engine, escalation_id: int, **values: object) -> None:
    """Make an escalation what no reply raises today (an emergency, one with no reply)."""
    with engine.begin() as conn:
        conn.execute(update(escalations).where(escalations.c.id == escalation_id).values(**values))


def test_an_escalation_page_shows_the_exchange_that_raised_it_after_ten_more_texts(
    admin: Admin,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    staff: None,
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=1)
    clinic.reply("P-1", "2")
    clock.advance(timedelta(minutes=3))
    clinic.reply("P-1", "1")
    raised_at = clock.now()
    urgent = clinic.escalation("P-1")
    for word in LATER:
        clock.advance(timedelta(minutes=40))
        clinic.reply("P-1", f"thanks {word}")

    page = admin.get(f"/escalations/{urgent}")
    html = conversation(page)

    sent = sent_to(engine, "P-1")
    [question] = [body for template, body, _ in sent if template == "foot_followup"]
    answers = [body for _, body, at in sent if at == raised_at]
    shown = exchange_parts(html)
    assert ("question", "out", question) in shown
    assert [text for part, _, text in shown if part == "reply"] == ["1"]
    assert answers and [text for part, _, text in shown if part == "answer"] == answers
    assert [part for part, _, _ in shown][-1 - len(answers) :] == ["reply"] + ["answer"] * len(
        answers
    )
    assert ("before", "in", "2") in shown
    assert "This reply raised the escalation" in html and "The question it answered" in html
    assert "thanks" not in html
    assert "The exchange that raised it" in html
    latest = re.search(r'<section class="card" id="latest".*?</section>', page.text, re.S)
    assert latest is not None and "Latest texts" in latest.group(0)
    later = re.findall(r'<li class="in">thanks (\w+)', latest.group(0))
    assert later == LATER[-len(later) :] and len(later) >= 4  # newest at the bottom
    assert '<li class="in">1' not in latest.group(0)  # already in the exchange
    assert page.text.index('id="conversation"') < page.text.index('id="latest"')


def test_an_escalation_no_reply_raised_shows_the_patients_latest_texts_and_says_so(
    admin: Admin, clinic: Clinic, engine: Engine
) -> None:
    urgent = clinic.escalation("P-1")
    set_escalation(engine, urgent, inbound_id=None)

    html = conversation(admin.get(f"/escalations/{urgent}"))

    assert "Latest texts" in html and "No reply of the patient's raised this escalation" in html
    assert '<li class="out">' in html and '<li class="in">1' in html
    assert "data-part" not in html


def test_the_list_and_the_page_give_the_patients_phone_as_a_link_to_call(
    admin: Admin, clinic: Clinic
) -> None:
    urgent = clinic.escalation("P-1")
    call = '<a class="phone" href="tel:+16175550001">(617) 555-0001</a>'

    listing = admin.get("/escalations").text
    row = re.search(rf'<tr id="escalation-{urgent}".*?</tr>', listing, re.S)
    page = admin.get(f"/escalations/{urgent}").text

    assert row is not None and call in row.group(0)
    assert call in page
    for routine_or_review in ("P-2", "P-3"):
        assert Clinic.phone(routine_or_review) in listing


def test_an_emergency_comes_first_with_its_own_badge_and_its_own_filter(
    admin: Admin, clinic: Clinic, engine: Engine
) -> None:
    set_escalation(engine, clinic.escalation("P-3"), severity=Severity.EMERGENCY)

    page = admin.get("/escalations").text

    assert listed(admin) == ["P-3", "P-1", "P-2"]
    assert '<span class="badge emergency">emergency</span>' in page
    assert re.search(r'<tr id="escalation-\d+" class="emergency"', page)
    assert '<option value="emergency">Emergency</option>' in page
    assert listed(admin, "?severity=emergency") == ["P-3"]
    refused = admin.get("/escalations?severity=high").text
    assert "Choose emergency, urgent, routine or review" in refused


def test_an_unknown_escalation_is_a_404_page(admin: Admin, clinic: Clinic) -> None:
    admin.get("/")
    assert admin.get("/escalations/99999").status_code == 404
    assert admin.post("/escalations/99999/acknowledge").status_code == 404
    assert admin.post("/escalations/99999/resolve", {"note": "x"}).status_code == 404


def test_acting_needs_a_signed_in_user_and_the_forms_token(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, clinic: Clinic
) -> None:
    stranger = admin_client(engine, settings, renderer, clock)
    urgent = clinic.escalation("P-1")

    response = stranger.client.post(f"/escalations/{urgent}/acknowledge", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    signed_in = admin_client(engine, settings, renderer, clock)
    signed_in.sign_in("terry")
    forged = signed_in.client.post(f"/escalations/{urgent}/acknowledge", data={"csrf_token": "x"})
    assert forged.status_code == 403
    assert audit(engine) == []


@pytest.mark.parametrize("page", ["/", "/escalations", "/escalations/{id}"])
def test_every_form_carries_the_sessions_token(admin: Admin, clinic: Clinic, page: str) -> None:
    html = admin.get(page.format(id=clinic.escalation("P-1"))).text

    tokens = re.findall(r'name="csrf_token" value="([^"]*)"', html)

    assert len(tokens) >= 3  # sign out, acknowledge, resolve
    assert set(tokens) == {admin.token} and admin.token


def test_each_label_of_the_escalation_header_is_grouped_with_its_value(
    admin: Admin, clinic: Clinic
) -> None:
    urgent = clinic.escalation("P-1")

    page = admin.get(f"/escalations/{urgent}").text

    facts = re.search(r'<dl class="facts">.*?</dl>', page, re.S)
    assert facts is not None
    pairs = re.findall(r'<div(?: class="wide")?><dt>[^<]+</dt><dd', facts.group(0))
    assert len(pairs) == facts.group(0).count("<dt>") >= 8
