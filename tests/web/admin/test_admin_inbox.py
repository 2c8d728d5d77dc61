"""The inbox, the reply box, quick replies and messages to many, through HTTP: who may open
each page and post each form (sign-in, CSRF, roles), and what staff see and do there."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    audit_events,
    broadcasts,
    conversations,
    patients,
    quick_replies,
    staff_messages,
)
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from tests.support.admin import Admin, admin_client
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport
from tests.web.admin.test_admin_today import HTMX, section, text_in

PHONE = "+16175550142"
DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York

# Every page and form of the inbox, with a form that would change something.
PAGES = ["/inbox", "/inbox-list", "/inbox/P-1", "/inbox/P-1/thread", "/patients/P-1/reply"]
FORMS = [
    ("/inbox/P-1/assign", {"to": "me"}),
    ("/inbox/P-1/close", {}),
    ("/inbox/P-1/reopen", {}),
    ("/patients/P-1/texts", {"body": "Hi Ana"}),
    ("/patients/P-1/quick-reply", {"reply_id": "1"}),
    ("/texts/measure", {"body": "Hi"}),
    ("/quick-replies", {"name": "x", "language": "en", "body": "Hi"}),
    ("/quick-replies/1/delete", {}),
    ("/broadcast/preview", {"audience": "active", "text_en": "Closed", "text_es": "Cerrado"}),
    ("/broadcast/send", {"audience": "active", "token": "t", "text_en": "Closed"}),
]
ADMIN_ONLY = ["/quick-replies", "/broadcast"]


@pytest.fixture
def ana(engine: Engine, settings: Settings, clock: ManualClock) -> int:
    clock.set(DAYTIME)
    return enrol(engine, settings, clock.now())


@pytest.fixture
def no_quick_replies(engine: Engine) -> None:
    """Without the starters migration 0007 adds (PostgreSQL's tests truncate them anyway)."""
    with engine.begin() as conn:
        conn.execute(delete(quick_replies))


def rows(engine: Engine, table: object) -> list[object]:
    with engine.connect() as conn:
        return list(conn.execute(select(table)).all())  # type: ignore[call-overload]


@pytest.mark.parametrize("path", PAGES + ADMIN_ONLY)
def test_every_inbox_page_needs_sign_in(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, ana: int,
    path: str,
) -> None:  # fmt: skip
    client = admin_client(engine, settings, renderer, clock)

    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(("path", "form"), FORMS)
def test_every_inbox_form_needs_the_csrf_token_and_changes_nothing_without_it(
    admin: Admin, engine: Engine, ana: int, path: str, form: dict[str, str]
) -> None:
    admin.get("/inbox")

    response = admin.client.post(path, data={**form, "csrf_token": "forged"})

    assert response.status_code == 403
    assert rows(engine, staff_messages) == [] and rows(engine, broadcasts) == []
    assert rows(engine, audit_events) == []


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_quick_replies_and_messages_to_many_are_for_admins(therapist: Admin, path: str) -> None:
    assert therapist.get(path).status_code == 403


@pytest.mark.parametrize(
    ("path", "form"), [f for f in FORMS if f[0].startswith(("/quick", "/broadcast"))]
)
def test_a_therapist_cannot_post_the_admin_forms(
    therapist: Admin, engine: Engine, ana: int, path: str, form: dict[str, str]
) -> None:
    therapist.get("/inbox")

    assert therapist.post(path, form).status_code == 403
    assert rows(engine, broadcasts) == [] and rows(engine, audit_events) == []


def test_a_question_shows_in_the_inbox_with_the_phone_and_today_links_to_it(
    admin: Admin, ana: int
) -> None:
    text_in(admin.client, PHONE, "can I come thursday at 3 instead?")

    listing = section(admin.get("/inbox"), "inbox-list")
    assert "can I come thursday at 3 instead?" in listing
    assert 'href="tel:+16175550142"' in listing and "Ana Torres" in listing
    assert "Not understood: needs a person" in listing
    assert "Inbox: 1 conversation needs a person" in admin.get("/").text
    fragment = admin.get("/inbox-list?who=unassigned", headers=HTMX)
    assert fragment.text.lstrip().startswith("<section") and "Ana Torres" in fragment.text


def test_staff_assign_answer_and_close_a_conversation(
    admin: Admin,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    ana: int,
) -> None:
    text_in(admin.client, PHONE, "can I come thursday at 3 instead?")
    admin.get("/inbox/P-1")

    admin.post("/inbox/P-1/assign", {"to": "me"})
    assert "Alex Admin" in section(admin.get("/inbox?who=mine"), "inbox-list")

    page = admin.get("/inbox/P-1")
    sent = admin.post(
        "/patients/P-1/texts", {"body": "Yes, Thursday 3pm is yours.", "token": "a"}, headers=HTMX
    )
    assert sent.status_code == 200 and "Text queued: it goes out now." in sent.text
    assert page.status_code == 200
    thread = admin.get("/inbox/P-1/thread").text
    assert "Yes, Thursday 3pm is yours." in thread and "Alex Admin" in thread
    Dispatcher(engine, settings, clock, RecordingTransport(), renderer, "w").run()
    on_patient_page = admin.get("/patients/P-1/thread").text
    assert (
        "Alex Admin wrote" in on_patient_page and "Yes, Thursday 3pm is yours." in on_patient_page
    )

    admin.post("/inbox/P-1/close", {})
    assert "Ana Torres" not in section(admin.get("/inbox"), "inbox-list")
    assert "Ana Torres" in section(admin.get("/inbox?state=closed"), "inbox-list")
    actions = [e.action for e in rows(engine, audit_events)]  # type: ignore[attr-defined]
    assert actions == ["conversation_assigned", "staff_text_sent", "conversation_closed"]


def test_a_refused_text_says_why_and_keeps_what_was_typed(
    admin: Admin, engine: Engine, ana: int
) -> None:
    admin.get("/inbox/P-1")
    with engine.begin() as conn:
        conn.execute(update(patients).values(opted_out=True))

    refused = admin.post("/patients/P-1/texts", {"body": "Are you OK?", "token": "b"}, headers=HTMX)

    assert refused.status_code == 200  # htmx swaps in no 4xx answer
    assert "Not sent: the patient opted out of texts" in refused.text
    assert "Are you OK?" in refused.text
    assert rows(engine, staff_messages) == []
    assert "You cannot text this patient" in admin.get("/patients/P-1/reply").text


def test_the_counter_measures_like_templates_check(admin: Admin) -> None:
    admin.get("/inbox")

    plain = admin.post("/texts/measure", {"body": "x" * 161}, headers=HTMX).text
    accented = admin.post("/texts/measure", {"body": "Sí, mañana"}, headers=HTMX).text

    assert "161 characters · GSM-7 · 2 segments" in plain
    assert "10 characters · UCS-2 · 1 segment" in accented


def test_a_quick_reply_is_filled_in_for_the_patient(
    admin: Admin, engine: Engine, ana: int, no_quick_replies: None
) -> None:
    admin.get("/quick-replies")
    saved = admin.post(
        "/quick-replies",
        {
            "name": "Call us",
            "language": "en",
            "body": "Hi {{ patient.first_name }}, call {{ clinic.phone }}.",
        },
    )
    assert saved.status_code == 200 and "Quick reply &#39;Call us&#39; saved." in saved.text
    [reply] = rows(engine, quick_replies)
    admin.get("/inbox/P-1")

    filled = admin.post("/patients/P-1/quick-reply", {"reply_id": str(reply.id)}, headers=HTMX)  # type: ignore[attr-defined]

    assert re.search(r"<textarea[^>]*>Hi Ana, call \(617\) 555-0100\.</textarea>", filled.text)


def test_a_broken_quick_reply_is_refused_with_the_field_named(
    admin: Admin, engine: Engine, no_quick_replies: None
) -> None:
    admin.get("/quick-replies")

    page = admin.post(
        "/quick-replies", {"name": "Bad", "language": "en", "body": "Hi {{ patient.nickname }}"}
    )

    assert page.status_code == 422 and "unknown value" in page.text
    assert 'aria-invalid="true"' in page.text and rows(engine, quick_replies) == []


def test_a_message_to_many_is_previewed_then_sent_once(
    admin: Admin, engine: Engine, ana: int
) -> None:
    admin.get("/broadcast")
    form = {
        "audience": "active",
        "on": "",
        "text_en": "Riverside PT is closed tomorrow (snow).",
        "text_es": "",
    }

    shown = admin.post("/broadcast/preview", form)
    assert shown.status_code == 200 and "1 patient</strong>" in shown.text
    assert rows(engine, staff_messages) == []  # a preview sends nothing
    token = re.search(r'name="token" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]

    first = admin.post("/broadcast/send", {**form, "token": token})
    again = admin.post("/broadcast/send", {**form, "token": token})

    assert "1 patient will get it" in first.text
    assert "This message was sent before: nothing more went out." in again.text
    assert len(rows(engine, staff_messages)) == 1 and len(rows(engine, broadcasts)) == 1


def test_a_message_to_many_without_a_day_names_the_field(admin: Admin) -> None:
    admin.get("/broadcast")

    page = admin.post("/broadcast/preview", {"audience": "sessions", "on": "", "text_en": "x"})

    assert page.status_code == 422 and "YYYY-MM-DD" in page.text


def test_an_unknown_patient_is_not_found(admin: Admin) -> None:
    assert admin.get("/inbox/NOPE").status_code == 404


def test_closing_a_patient_with_nothing_in_the_inbox_says_so(
    admin: Admin, engine: Engine, ana: int
) -> None:
    admin.get("/inbox/P-1")

    page = admin.post("/inbox/P-1/close", {})

    assert "nothing in the inbox to close" in page.text and rows(engine, conversations) == []


def test_the_admins_fuzzing_posts_every_form_of_the_inbox() -> None:
    from tests.web.admin.test_admin_fuzz import POSTS

    for path in [path for path, _ in FORMS]:
        assert path.replace("P-1", "{external_id}").replace("/1/", "/{reply_id}/") in POSTS


@pytest.mark.parametrize("value", ["99999999999999999999", "0", "-1", "x", "١٢"])
def test_an_id_that_names_nothing_is_answered_without_a_server_error(
    admin: Admin, ana: int, value: str
) -> None:
    admin.get("/inbox/P-1")

    assert admin.post("/patients/P-1/quick-reply", {"reply_id": value}).status_code == 200
    assert admin.post(f"/quick-replies/{value}/delete", {}).status_code in (200, 404)
    assert admin.post("/inbox/P-1/assign", {"to": value}).status_code == 200
    assert admin.get(f"/quick-replies?edit={value}").status_code == 200
