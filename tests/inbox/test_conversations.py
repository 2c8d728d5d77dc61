"""The inbox's conversations: a reply that needs a person opens one, staff assign and close
it, and what the patient writes after a staff text goes to a person, not the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, conversations, inbound_messages
from outreach.inbox import threads
from outreach.staff import inbox as inboxview
from outreach.staff import today
from outreach.staff.inbox import State, Who
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import enrol

DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    clock.set(DAYTIME)
    desk = Desk(engine, settings, clock, renderer)
    desk.patient_id = enrol(engine, settings, clock.now())
    return desk


def open_names(desk: Desk, who: Who = Who.ALL) -> list[str]:
    return [r.name for r in inboxview.listing(desk.engine, desk.terry.id, who, State.OPEN)]


@pytest.mark.parametrize(
    "text",
    [
        "can I come thursday at 3 instead?",  # a question the rules cannot answer
        "please stop texting me",  # a stop request in words
        "STOP",  # the carrier keyword
        "my car broke down, need to move my session",  # a reschedule wish
    ],
)
def test_a_reply_that_needs_a_person_opens_a_conversation(desk: Desk, text: str) -> None:
    desk.patient_writes(text)

    assert open_names(desk) == ["Ana Torres"]
    [row] = inboxview.listing(desk.engine, desk.terry.id, Who.UNASSIGNED, State.OPEN)
    assert row.latest == text and row.understood


def test_a_reply_the_rules_handled_opens_nothing(desk: Desk) -> None:
    desk.patient_writes("YES")  # consent: handled and answered by the bot

    assert open_names(desk) == []


def test_assigning_closing_and_reopening_are_audited(desk: Desk) -> None:
    desk.patient_writes("can I come thursday at 3 instead?")
    ana = desk.rows(inbound_messages)[0].patient_id
    now = desk.clock.now()

    with desk.engine.begin() as conn:
        threads.assign(conn, ana, desk.terry.id, desk.admin, now)
    assert open_names(desk, Who.MINE) == ["Ana Torres"]
    assert open_names(desk, Who.UNASSIGNED) == []

    with desk.engine.begin() as conn:
        assert threads.close(conn, ana, desk.terry, now)
        assert not threads.close(conn, ana, desk.terry, now)  # already closed
    assert open_names(desk) == []
    assert [r.needs_review for r in desk.rows(inbound_messages)] == [False]
    assert inboxview.counts(desk.engine, desk.terry.id)[State.CLOSED] == 1

    with desk.engine.begin() as conn:
        assert threads.reopen(conn, ana, desk.terry, now)
    assert open_names(desk, Who.MINE) == ["Ana Torres"]  # still Terry's
    actions = [e.action for e in desk.rows(audit_events)]
    assert actions == ["conversation_assigned", "conversation_closed", "conversation_reopened"]


def test_assigning_to_a_colleague_who_does_not_exist_is_refused(desk: Desk) -> None:
    desk.patient_writes("can I come thursday at 3 instead?")
    ana = desk.rows(inbound_messages)[0].patient_id

    with pytest.raises(threads.NoSuchColleague), desk.engine.begin() as conn:
        threads.assign(conn, ana, 999, desk.admin, desk.clock.now())


def test_a_new_text_reopens_a_closed_conversation(desk: Desk) -> None:
    desk.patient_writes("can I come thursday at 3 instead?")
    ana = desk.rows(inbound_messages)[0].patient_id
    with desk.engine.begin() as conn:
        threads.close(conn, ana, desk.terry, desk.clock.now())

    desk.patient_writes("hello? is thursday ok?", after=timedelta(hours=2))

    assert open_names(desk) == ["Ana Torres"]
    [row] = desk.rows(conversations)
    assert row.last_in_at == desk.clock.now() and row.opened_at == desk.clock.now()


def test_after_a_staff_text_the_patients_answer_goes_to_a_person_not_the_bot(
    desk: Desk,
) -> None:
    desk.text(desk.patient_id, "Hi Ana, which day suits you better, Thursday or Friday?")
    desk.dispatch()
    sent_before = len(desk.transport.sent)

    desk.patient_writes("friday afternoon is better for me")

    assert len(desk.transport.sent) == sent_before  # no "sorry, reply 1 or 2" from the bot
    assert open_names(desk) == ["Ana Torres"]
    [reply] = desk.rows(inbound_messages)
    assert reply.needs_review


def test_marking_the_last_reply_seen_on_today_closes_the_conversation(desk: Desk) -> None:
    desk.patient_writes("can I come thursday at 3 instead?")
    desk.patient_writes("or friday?")
    first, second = desk.rows(inbound_messages)

    today.mark_seen(desk.engine, first.id, desk.terry, desk.clock.now())
    assert open_names(desk) == ["Ana Torres"]  # "or friday?" still waits
    today.mark_seen(desk.engine, second.id, desk.terry, desk.clock.now())
    assert open_names(desk) == []


def test_an_answer_to_a_reminder_sent_after_the_staff_text_is_the_bots(desk: Desk) -> None:
    from outreach.sending import outbound
    from outreach.texts.render import Rendered
    from outreach.texts.smslength import measure

    foot_check = "Time for your foot check. Reply 1 if all OK"

    desk.text(desk.patient_id, "Hi Ana, see you Thursday.")
    desk.dispatch()
    with desk.engine.begin() as conn:  # a foot check went out after it
        outbound.queue(
            conn, patient_id=desk.patient_id, to="+16175550142",
            rendered=Rendered("foot_check", "en", foot_check, measure(foot_check)),
            provider="test", now=desk.clock.now() + timedelta(minutes=1),
            counts_toward_cap=True, prompt="foot_check",
            reply_until=desk.clock.now() + timedelta(hours=12),
        )  # fmt: skip

    desk.patient_writes("1", after=timedelta(minutes=5))

    assert open_names(desk) == []
    assert [r.needs_review for r in desk.rows(inbound_messages)] == [False]
