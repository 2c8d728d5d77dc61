"""The rules of staff texts, as tables: who may be texted, when a text goes, which replies
need a person, and how long patients waited for one."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.rules import stafftexts
from outreach.rules.durations import median_duration
from outreach.rules.guards import Defer, Facts, Send, Skip, decide
from outreach.rules.intentwords import INTENT_WORDS, intent_words, skip_words
from outreach.rules.localtime import QuietHours
from outreach.rules.replies.outcome import Intent
from outreach.rules.responsetime import first_reply_waits
from outreach.rules.stafftexts import Recipient
from outreach.rules.vocabulary import SkipReason

CHICAGO = ZoneInfo("America/Chicago")
QUIET = QuietHours(time(21), time(8))
# 22:30 in Chicago on Monday 23 November 2026.
NIGHT = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)
MORNING = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 08:00 in Chicago


@pytest.mark.parametrize(
    ("recipient", "refused"),
    [
        (Recipient(False, True, False, None), None),
        (Recipient(True, True, True, None), "opted out"),
        (Recipient(False, True, True, "it is a landline"), "cannot take texts: it is a landline"),
        (Recipient(False, False, False, None), "has not agreed"),
        (Recipient(False, False, True, None), None),  # never agreed, but wrote to us
    ],
)
def test_who_may_be_texted(recipient: Recipient, refused: str | None) -> None:
    reason = stafftexts.refusal(recipient)
    assert reason == refused if refused is None else refused in (reason or "")


@pytest.mark.parametrize(
    ("now", "last_in", "expected"),
    [
        (NIGHT, None, MORNING),  # no text from them: waits for 08:00
        (NIGHT, NIGHT - timedelta(minutes=59), NIGHT),  # answers a text of the hour: now
        (NIGHT, NIGHT - timedelta(minutes=61), MORNING),  # too long ago: the morning
        (MORNING + timedelta(hours=2), None, MORNING + timedelta(hours=2)),  # daytime: now
    ],
)
def test_when_a_staff_text_goes(
    now: datetime, last_in: datetime | None, expected: datetime
) -> None:
    exempt = stafftexts.quiet_exempt_until(now, last_in)
    assert stafftexts.send_time(now, CHICAGO, QUIET, exempt) == expected


def facts(now: datetime, **kw: object) -> Facts:
    values: dict[str, object] = {
        "kind": "staff", "now": now, "zone": CHICAGO, "quiet": QUIET, "consent_granted": True,
        "opted_out": False, "paused": False, "appointment_live": True,
        "expires_at": now + timedelta(days=1), "sent_today": 3, "reserved_today": 0,
        "daily_cap": 3, **kw,
    }  # fmt: skip
    return Facts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("f", "decision"),
    [
        (facts(MORNING), Send()),  # the cap is used up: a staff text is not capped
        (facts(MORNING, paused=True), Send()),  # a pause stops reminders, not people
        (facts(MORNING, consent_granted=False), Send()),  # checked when written
        (facts(MORNING, opted_out=True), Skip(SkipReason.OPTED_OUT)),
        (facts(NIGHT, quiet_exempt_until=NIGHT + timedelta(minutes=5)), Send()),
        (
            facts(NIGHT, quiet_exempt_until=NIGHT - timedelta(minutes=5)),
            Defer(MORNING, SkipReason.QUIET_HOURS),
        ),
        (facts(NIGHT), Defer(MORNING, SkipReason.QUIET_HOURS)),
        (facts(MORNING, expires_at=MORNING), Skip(SkipReason.EXPIRED)),
    ],
)
def test_the_dispatchers_guards_for_a_staff_text(f: Facts, decision: object) -> None:
    assert decide(f) == decision


@pytest.mark.parametrize(
    ("intents", "needs_review", "answers_staff", "expected"),
    [
        ((Intent.UNKNOWN,), True, False, True),
        ((Intent.SESSION_RESCHEDULE,), False, False, True),
        ((Intent.OPT_OUT,), False, False, True),
        ((Intent.STOP_REQUEST,), False, False, True),
        ((Intent.SESSION_CONFIRM,), False, False, False),
        ((Intent.FOOT_OK,), False, False, False),
        ((Intent.THANKS,), False, True, True),  # a thank-you to a person reaches that person
    ],
)
def test_which_replies_need_a_person(
    intents: tuple[Intent, ...], needs_review: bool, answers_staff: bool, expected: bool
) -> None:
    assert stafftexts.needs_a_person(intents, needs_review, answers_staff) is expected


def test_a_reply_answers_a_person_when_their_text_was_the_last_we_sent_this_week() -> None:
    assert stafftexts.answers_staff(("staff", NIGHT - timedelta(days=6)), NIGHT)
    assert not stafftexts.answers_staff(("staff", NIGHT - timedelta(days=8)), NIGHT)
    assert not stafftexts.answers_staff(("foot_check", NIGHT - timedelta(hours=1)), NIGHT)
    assert not stafftexts.answers_staff(None, NIGHT)


def test_every_intent_and_skip_reason_has_words() -> None:
    assert set(INTENT_WORDS) == set(Intent)
    assert intent_words("unknown") == "Not understood: needs a person"
    assert intent_words("unknown_sender") == "from a number no patient has"
    assert all("_" not in skip_words(reason) for reason in SkipReason)


def t(minutes: int) -> datetime:
    return MORNING + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("texts_in", "staff", "median"),
    [
        ([], [], None),
        ([(1, t(0))], [], None),  # never answered: no wait to count yet
        ([(1, t(0)), (1, t(10))], [(1, t(30))], 30.0),  # from the first unanswered text
        ([(1, t(0))], [(1, t(30)), (1, t(40))], 30.0),  # the second answers nothing new
        ([(1, t(0)), (2, t(0)), (3, t(0))], [(1, t(10)), (2, t(20)), (3, t(90))], 20.0),
        ([(1, t(50))], [(1, t(30))], None),  # the clinic wrote first
    ],
)
def test_the_median_wait_for_a_staff_reply(
    texts_in: list[tuple[int, datetime]], staff: list[tuple[int, datetime]], median: float | None
) -> None:
    found = median_duration(first_reply_waits(texts_in, staff))
    assert (None if found is None else found.total_seconds() / 60) == median


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("See you Thursday.\nRiverside PT", None),
        ("", "empty"),
        ("a\x00b", "control characters"),
        ("x" * 1531, "1531 characters long"),
    ],
)
def test_what_is_wrong_with_a_text_staff_typed(body: str, problem: str | None) -> None:
    found = stafftexts.body_problem(body)
    assert found is None if problem is None else problem in (found or "")


def test_every_template_and_reminder_kind_has_words() -> None:
    from pathlib import Path

    from outreach.rules.intentwords import TEXT_WORDS, text_words
    from outreach.rules.vocabulary import ReminderKind

    shipped = {p.name.removesuffix(".txt.j2") for p in Path("templates/sms/en").glob("*.txt.j2")}
    assert shipped | set(ReminderKind) <= set(TEXT_WORDS)
    assert text_words("foot_followup") == "foot check: what did you see?"
