"""The message log: every filter narrows the rows, bad filter values are field errors (never
a 500, never silently ignored), fifty to a page with an "older" link."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import outbound_messages
from outreach.sending import outbound as messages
from outreach.texts.render import Renderer
from tests.support.admin import BASE, TOKEN, Admin
from tests.support.escalations import Clinic
from tests.support.webhooks import sign

Row = tuple[str, str, str]  # direction, kind, patient


def status_callback(admin: Admin, message_id: int, status: str, error: str = "") -> None:
    params = {"MessageSid": f"SM{message_id:032d}", "MessageStatus": status}
    if error:
        params["ErrorCode"] = error
    path = f"/twilio/status?mid={message_id}"
    response = admin.client.post(
        path,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(BASE + path, params, TOKEN),
        },
    )
    assert response.status_code == 204


def foot_check_to(engine: Engine, phone: str) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                select(outbound_messages.c.id).where(
                    outbound_messages.c.to_phone == phone,
                    outbound_messages.c.template == "foot_check",
                )
            ).scalar_one()
        )


@pytest.fixture
def two_days(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Clinic:
    """Monday 23 Nov (clinic time): foot checks to P-1 (delivered) and P-2 (undelivered,
    30005); P-1 answers 2 and is asked for details. Tuesday: P-1 sends something unclear."""
    clinic = Clinic(engine, settings, clock, renderer, patients=2)
    status_callback(admin, foot_check_to(engine, Clinic.phone("P-1")), "delivered")
    status_callback(admin, foot_check_to(engine, Clinic.phone("P-2")), "undelivered", "30005")
    clinic.reply("P-1", "2")
    clock.advance(timedelta(days=1))
    clinic.reply("P-1", "what do you mean")
    return clinic


def shown(admin: Admin, query: str) -> list[Row]:
    page = admin.get("/messages" + query)
    assert page.status_code == 200, page.text
    rows = re.findall(
        r'data-direction="(\w+)" data-status="\w+" data-kind="(\w+)" data-patient="([^"]*)"',
        page.text,
    )
    return sorted(rows)


ALL = [
    ("in", "foot_problem", "P-1"),
    ("in", "unknown", "P-1"),
    ("out", "foot_check", "P-1"),
    ("out", "foot_check", "P-2"),
    ("out", "foot_followup", "P-1"),
    ("out", "unknown", "P-1"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("?status=delivered", [("out", "foot_check", "P-1")]),
        ("?status=undelivered", [("out", "foot_check", "P-2")]),
        ("?status=received", [r for r in ALL if r[0] == "in"]),
        ("?status=queued", [("out", "foot_followup", "P-1"), ("out", "unknown", "P-1")]),
        ("?kind=foot_check", [("out", "foot_check", "P-1"), ("out", "foot_check", "P-2")]),
        ("?kind=foot_followup", [("out", "foot_followup", "P-1")]),
        ("?direction=in", [r for r in ALL if r[0] == "in"]),
        ("?direction=out", [r for r in ALL if r[0] == "out"]),
        ("?from=2026-11-24", [("in", "unknown", "P-1"), ("out", "unknown", "P-1")]),
        ("?to=2026-11-23", [r for r in ALL if r[1] != "unknown"]),
        ("?from=2026-11-23&to=2026-11-23", [r for r in ALL if r[1] != "unknown"]),
        ("?from=2026-11-25", []),
        ("?patient=P-2", [("out", "foot_check", "P-2")]),
        ("?patient=P-404", []),
        ("?direction=out&patient=P-1&from=2026-11-24", [("out", "unknown", "P-1")]),
        ("?direction=in&kind=foot_check", []),
    ],
)
def test_each_filter_narrows_the_rows(
    admin: Admin, two_days: Clinic, query: str, expected: list[Row]
) -> None:
    assert shown(admin, query) == sorted(expected)


def test_delivery_errors_are_shown_with_their_meaning_and_bodies_are_readable(
    admin: Admin, two_days: Clinic
) -> None:
    page = admin.get("/messages?status=undelivered").text

    assert '<span class="error-code">30005</span>: unknown number' in page
    assert "Riverside PT:" in page  # the text itself, for staff to read
    assert "what do you mean" in admin.get("/messages?direction=in").text


def test_no_match_says_so(admin: Admin, two_days: Clinic) -> None:
    assert "No texts match." in admin.get("/messages?patient=P-404").text


@pytest.mark.parametrize(
    ("query", "field", "kept"),
    [
        ("?from=2026-13-01", "from", 'value="2026-13-01"'),
        ("?to=2026-02-30", "to", 'value="2026-02-30"'),
        ("?from=yesterday", "from", 'value="yesterday"'),
        ("?from=2026-11-24&to=2026-11-23", "to", 'value="2026-11-23"'),
        ("?status=lost", "status", ""),
        ("?kind=newsletter", "kind", ""),
        ("?direction=sideways", "direction", ""),
        ("?page=0", "page", ""),
        ("?page=abc", "page", ""),
    ],
)
def test_a_bad_filter_value_is_a_field_error(
    admin: Admin, two_days: Clinic, query: str, field: str, kept: str
) -> None:
    response = admin.get("/messages" + query)

    assert response.status_code == 422
    assert "Some filters are not valid" in response.text
    if field != "page":
        assert f'id="{field}-error"' in response.text
    assert kept in response.text
    assert 'id="message-log"' not in response.text


def test_fifty_to_a_page_with_an_older_link_that_keeps_the_filter(
    admin: Admin, engine: Engine, clock: ManualClock, renderer: Renderer, two_days: Clinic
) -> None:
    rendered = renderer.render("help", "en")
    with engine.begin() as conn:
        for n in range(55):
            messages.queue(
                conn,
                patient_id=None,
                to="+16175550199",
                rendered=rendered,
                provider="test",
                now=clock.now() + timedelta(seconds=n),
                counts_toward_cap=False,
            )

    first = admin.get("/messages?kind=help")
    assert first.text.count('data-kind="help"') == 50
    older = re.search(r'<a href="([^"]+)" rel="next">Older', first.text)
    assert older is not None and older.group(1) == "/messages?kind=help&amp;page=2"

    second = admin.get("/messages?kind=help&page=2")
    assert second.text.count('data-kind="help"') == 5
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text


def test_each_text_in_the_log_gives_the_patients_phone_as_a_link_to_call(
    admin: Admin, two_days: Clinic
) -> None:
    page = admin.get("/messages?patient=P-2").text

    row = re.search(r'<tr class="message out".*?</tr>', page, re.S)
    assert row is not None
    assert '<a class="phone" href="tel:+16175550002">(617) 555-0002</a>' in row.group(0)


def test_a_reply_shows_what_it_was_understood_as_in_words(admin: Admin, two_days: Clinic) -> None:
    page = admin.get("/messages?direction=in").text

    cells = re.findall(r"<td>([^<]*)</td>\s*<td><span class=\"badge", page)
    assert sorted(cells) == ["Not understood: needs a person", "foot problem"]
