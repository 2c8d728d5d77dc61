"""The "Try a reply" page: a clinician types what a patient might write and sees what the
rules make of it, as `outreach replies try` shows it, with nothing written."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import Engine, func, select

from outreach.config import Settings
from outreach.db.tables import escalations, inbound_messages, outbound_messages
from outreach.texts.render import Renderer
from outreach.texts.templatecheck import sample_context
from tests.support.admin import Admin

NO_QUESTIONS = ["", "", "", "", ""]


def tried(client: Admin, text: str, **fields: Any) -> str:
    form = {"text": text, "lang": "en", "asked": NO_QUESTIONS, "pain_baseline": "", **fields}
    client.get("/replies/try")  # as a browser would: the form carries the session's token
    page = client.post("/replies/try", form)
    assert page.status_code == 200, page.text
    return page.text


def shown(page: str, element_id: str) -> str:
    """The text of the element with this id (none of them nests its own tag)."""
    found = re.search(rf'<(\w+) [^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.DOTALL)
    assert found, f"no #{element_id} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found[2])).split())


def test_the_templates_page_links_to_the_form(therapist: Admin) -> None:
    assert 'href="/replies/try"' in therapist.get("/templates").text

    page = therapist.get("/replies/try")

    assert page.status_code == 200
    assert '<textarea id="f-text" name="text"' in page.text
    assert page.text.count('name="asked"') == 7  # one per kind of question
    assert 'id="result"' not in page.text


def test_a_danger_sign_shows_the_urgent_tier_the_words_and_the_text_back(
    therapist: Admin,
) -> None:
    page = tried(therapist, "my heel is bleeding")

    assert 'data-severity="urgent"' in page
    assert '<span class="badge urgent">urgent</span>' in page
    assert shown(page, "intents") == "symptom"
    assert shown(page, "needs-staff") == "yes"
    assert "bleeding" in shown(page, "reasons")
    assert "<mark>bleeding</mark>" in page
    assert shown(page, "reply").startswith("Riverside PT: Please keep weight off that foot.")


def test_open_questions_are_read_most_recent_first(therapist: Admin) -> None:
    after_the_follow_up = tried(therapist, "2", asked=["foot_followup", "session", "", "", ""])
    after_the_session = tried(therapist, "C", asked=["session", "foot_followup", "", "", ""])

    assert shown(after_the_follow_up, "intents") == "foot_problem"
    assert 'data-severity="urgent"' in after_the_follow_up
    assert shown(after_the_session, "intents") == "session_confirm"
    # The form comes back as it was sent.
    assert re.search(
        r'id="f-asked-1" name="asked">.*?<option value="session" selected>',
        after_the_session,
        re.DOTALL,
    )


def test_the_text_back_is_rendered_in_the_patients_language(
    admin: Admin, settings: Settings
) -> None:
    expected = Renderer(settings.templates_dir, settings).render(
        "session_confirmed", "es", **sample_context("session_confirmed", "es")
    )

    page = tried(admin, "Sí, ahí estaré", lang="es", asked=["session", "", "", "", ""])

    assert 'data-severity="none"' in page
    assert shown(page, "needs-staff") == "no"
    assert expected.body in html.unescape(page)


def test_an_opted_out_patient_gets_no_text_but_staff_are_told(therapist: Admin) -> None:
    page = tried(therapist, "my foot is bleeding a lot", opted_out="1")

    assert 'data-severity="urgent"' in page
    assert 'id="reply"' not in page
    assert "No text is sent: the patient has opted out" in page
    assert shown(page, "intents") == "ignored , symptom"


def test_pain_is_shown_against_the_patients_baseline(therapist: Admin) -> None:
    page = tried(therapist, "done, pain 5", asked=["exercise", "", "", "", ""], pain_baseline="2")

    assert shown(page, "pain") == "5"
    assert '<span class="badge routine">routine</span>' in page


def test_a_bad_pain_baseline_is_refused_beside_its_field(therapist: Admin) -> None:
    therapist.get("/replies/try")
    page = therapist.post(
        "/replies/try", {"text": "done 3", "lang": "en", "asked": "", "pain_baseline": "12"}
    )

    assert page.status_code == 422
    assert "Pain baseline is a whole number from 0 to 10, or blank; got &#39;12&#39;." in page.text
    assert 'id="f-pain_baseline"' in page.text and 'aria-invalid="true"' in page.text
    assert 'id="result"' not in page.text
    assert "done 3</textarea>" in page.text  # what was typed is kept


def test_an_empty_reply_and_an_unknown_language_are_refused(therapist: Admin) -> None:
    therapist.get("/replies/try")
    page = therapist.post("/replies/try", {"text": "  ", "lang": "fr"})

    assert page.status_code == 422
    assert "Type the reply to try." in page.text
    assert "Choose a language: en, es" in page.text
    assert "2 fields need a change" in page.text


def test_trying_writes_nothing(therapist: Admin, engine: Engine) -> None:
    tried(therapist, "STOP my foot is bleeding")

    with engine.connect() as conn:
        for table in (escalations, inbound_messages, outbound_messages):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0


def test_a_stranger_is_sent_to_sign_in(
    engine: Engine, settings: Settings, renderer: Renderer, clock: Any, staff: None
) -> None:
    from tests.support.admin import admin_client

    stranger = admin_client(engine, settings, renderer, clock)

    page = stranger.get("/replies/try", follow_redirects=False)
    posted = stranger.post("/replies/try", {"text": "hi"}, follow_redirects=False)

    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/replies/try"
    assert posted.status_code == 303 and posted.headers["location"] == "/login"
