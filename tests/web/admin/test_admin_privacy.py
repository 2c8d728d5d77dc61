"""Staff work all day with names, phone numbers and texts; none of it may reach the logs.
The main flows run with every logger at DEBUG, and not one record may carry a patient's
name, phone number (in any spelling) or a message's text. Today and the escalations pages
show a patient's phone, to call them: to signed-in staff only."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations, inbound_messages, outbound_messages
from outreach.texts.render import Renderer
from tests.support.admin import BASE, TOKEN, Admin, admin_client
from tests.support.clinic import send_until, signed_reply
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport

NEW_PATIENT = {
    "patient_id": "P-9",
    "first_name": "Wilhelmina",
    "last_name": "Okonkwo",
    "phone": "(617) 555-0199",
    "language": "es",
    "timezone": "America/Chicago",
    "quiet_hours": "",
    "pain_baseline": "3",
    "plan_start": "2026-11-20",
    "plan_end": "",
    "phase-0-days": ["mon", "thu"],
    "phase-0-time": "09:30",
    "phase-0-weeks": "6",
    "foot_check_time": "08:00",
    "exercise_days": ["tue", "sat"],
    "exercise_time": "18:00",
    "exercises": "towel scrunches\nankle circles",
}
FREE_TEXT = "Zapatos nuevos me rozan el talon izquierdo"
NOTE = "Rang Ana Torres on 617-555-0142; booked Thursday"


def spellings(e164: str) -> list[str]:
    """+16175550142, 6175550142, (617) 555-0142, 617-555-0142, 617.555.0142, 617 555 0142."""
    digits = e164.removeprefix("+1")
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return [
        e164,
        digits,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"{area} {exchange} {line}",
    ]


SECRETS = [
    "Wilhelmina",
    "Okonkwo",
    "Ana Torres",
    "Torres",
    FREE_TEXT,
    "talon izquierdo",
    NOTE,
    *spellings("+16175550142"),
    *spellings("+16175550199"),
]


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """Every record, formatted with its traceback. The test client's own request lines
    (httpx) are left out: they quote the URLs the test asked for, and the server keeps no
    access log (web/server.py)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [
        (record.name, formatter.format(record))
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    ]


def text(admin: Admin, body: str) -> None:
    url, headers, form = signed_reply(BASE, TOKEN, body)
    response = admin.client.post(url, content=form, headers=headers)
    assert response.status_code == 200, response.text


def test_no_patient_name_phone_or_text_reaches_the_log(
    caplog: pytest.LogCaptureFixture,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    staff: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    enrol(engine, settings, clock.now())
    send_until(engine, settings, clock, renderer, RecordingTransport(), "foot_check")
    admin = admin_client(engine, settings, renderer, clock)
    assert admin.sign_in("admin").status_code == 303

    # Add a patient, with a mistake first, then edit them.
    admin.get("/patients/new")
    wrong = admin.post("/patients/new", {**NEW_PATIENT, "phone": "617 555 01"})
    assert wrong.status_code == 422
    added = admin.post("/patients/new", NEW_PATIENT, follow_redirects=False)
    assert added.status_code == 303, added.text
    admin.get("/patients/P-9/edit")
    edited = admin.post(
        "/patients/P-9/edit",
        {**NEW_PATIENT, "last_name": "Okonkwo Adeyemi", "phone": "+1 617 555 0199"},
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text

    # Search by name and by phone, in the ways people type them.
    for query in ["Okonkwo", "Ana Torres", "6175550142", "(617) 555-0199", "+16175550199"]:
        found = admin.get("/patients", params={"q": query})
        assert found.status_code == 200 and ("P-9" in found.text or "P-1" in found.text), query

    # Ana replies: free text, then a foot problem and an open sore (urgent).
    for body in (FREE_TEXT, "2", "1"):
        text(admin, body)
    for page in ("/", "/patients/P-1", "/patients/P-1/thread", "/messages", "/escalations"):
        assert admin.get(page).status_code == 200, page

    with engine.begin() as conn:
        # The shoes rubbing a heel is a review; the open sore, urgent.
        escalation_id = conn.execute(
            select(escalations.c.id).where(escalations.c.severity == "urgent")
        ).scalar_one()
        bodies = [b for (b,) in conn.execute(select(outbound_messages.c.body)).all() if b]
        replies = conn.execute(select(inbound_messages.c.body)).scalars().all()
    assert FREE_TEXT in replies
    # The phone to call is on the page, rendered while every logger listens.
    for page in (
        "/",
        "/escalations",
        f"/escalations/{escalation_id}",
        "/patients/P-1",
        "/messages",
    ):
        assert 'href="tel:+16175550142">(617) 555-0142</a>' in admin.get(page).text, page
    admin.get("/escalations")
    acknowledged = admin.post(f"/escalations/{escalation_id}/acknowledge", {"next": "/escalations"})
    assert acknowledged.status_code == 200
    resolved = admin.post(
        f"/escalations/{escalation_id}/resolve", {"next": "/escalations", "note": NOTE}
    )
    assert resolved.status_code == 200

    records = logged(caplog)
    assert records, "nothing was logged: the capture is not working"
    leaks: list[Any] = [
        (secret, name, line)
        for name, line in records
        for secret in [*SECRETS, *bodies]
        if secret in line
    ]
    assert leaks == []


def test_a_request_not_signed_in_sees_no_patients_phone(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, staff: None
) -> None:
    enrol(engine, settings, clock.now())
    send_until(engine, settings, clock, renderer, RecordingTransport(), "foot_check")
    admin = admin_client(engine, settings, renderer, clock)
    for body in ("2", "1"):
        text(admin, body)
    with engine.begin() as conn:
        # The shoes rubbing a heel is a review; the open sore, urgent.
        escalation_id = conn.execute(
            select(escalations.c.id).where(escalations.c.severity == "urgent")
        ).scalar_one()

    for page in ("/", "/today/escalations", "/escalations", f"/escalations/{escalation_id}"):
        response = admin.client.get(page, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        shown = admin.client.get(page)  # and the sign-in page it leads to
        assert [s for s in spellings("+16175550142") if s in response.text + shown.text] == []
