"""Quick replies: saved only when they render in the reminders' sandbox, per language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events
from outreach.inbox import quickreplies
from outreach.inbox.quickreplies import QuickReplyError
from outreach.texts.quick import render_quick
from outreach.texts.render import Renderer
from tests.inbox.support import Desk


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    return Desk(engine, settings, clock, renderer)


def save(desk: Desk, name: str, language: str, body: str, reply_id: int | None = None) -> int:
    with desk.engine.begin() as conn:
        return quickreplies.save(
            conn, desk.renderer, desk.admin, desk.clock.now(),
            name=name, language=language, body=body, reply_id=reply_id,
        )  # fmt: skip


def test_a_quick_reply_renders_with_the_patients_name_and_the_clinic(desk: Desk) -> None:
    body = "Hola {{ patient.first_name }}, llame a {{ clinic.name }} al {{ clinic.phone }}."
    reply_id = save(desk, name="Llamenos", language="es", body=body)

    with desk.engine.connect() as conn:
        [saved] = [r for r in quickreplies.all_replies(conn, "es") if r.id == reply_id]
    text = render_quick(desk.renderer, saved.body, "es", "Lucía").body
    assert text.startswith("Hola Lucía, llame a Riverside")
    [entry] = desk.rows(audit_events)
    assert entry.action == "quick_reply_saved"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"body": "Hi {{ patient.name }}"}, "body", "unknown value"),
        ({"body": "Hi {{ patient.first_name "}, "body", "syntax error"),
        ({"body": "About your diabetes: call us"}, "body", "diagnosis"),
        ({"body": "{{ ''.__class__.__mro__ }}"}, "body", ""),
        ({"body": "  "}, "body", "empty"),
        ({"name": ""}, "name", "name"),
        ({"language": "fr"}, "language", "en, es"),
    ],
)
def test_a_quick_reply_that_would_not_render_is_refused_with_the_reason(
    desk: Desk, fields: dict[str, str], field: str, words: str
) -> None:
    form = {"name": "Call us", "language": "en", "body": "Hi {{ patient.first_name }}", **fields}

    with pytest.raises(QuickReplyError) as raised:
        save(desk, form["name"], form["language"], form["body"])

    assert words in raised.value.errors[field]
    assert desk.rows(audit_events) == []


def test_two_quick_replies_may_not_share_a_name_in_one_language(desk: Desk) -> None:
    save(desk, name="Call us", language="en", body="Please call us.")
    save(desk, name="Call us", language="es", body="Llámenos, por favor.")

    with pytest.raises(QuickReplyError, match="already"):
        save(desk, name="Call  us", language="en", body="Call us please.")


def test_editing_and_deleting_a_quick_reply(desk: Desk) -> None:
    reply_id = save(desk, name="Call us", language="en", body="Please call us.")
    save(desk, name="Call us", language="en", body="Please call us today.", reply_id=reply_id)

    with desk.engine.begin() as conn:
        assert quickreplies.find(conn, reply_id).body == "Please call us today."  # type: ignore[union-attr]
        assert quickreplies.remove(conn, desk.admin, reply_id, desk.clock.now())
        assert not quickreplies.remove(conn, desk.admin, reply_id, desk.clock.now())
        assert quickreplies.find(conn, reply_id) is None
