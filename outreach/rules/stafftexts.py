"""May staff text this patient, and when does the text go? Pure: the caller gathers the facts.

A staff text keeps the reminders' promises (DOMAIN.md): never after an opt-out, never to a
number that cannot take texts, never in quiet hours, except that an answer to a text the
patient sent within the hour may go at once: they are awake and waiting for it. It does not
count toward the daily cap of reminders, and a pause stops reminders, not people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.rules.localtime import QuietHours, is_quiet, place_outside_quiet
from outreach.rules.plaintext import has_control_characters
from outreach.rules.replies.outcome import Intent

ANSWER_WINDOW = timedelta(minutes=60)
# A staff text not sent within this (an outage) is not sent late: the thread shows it skipped.
EXPIRES_AFTER = timedelta(days=2)
# A reply within this of a staff text (and no reminder since) answers that person.
IN_CONVERSATION_FOR = timedelta(days=7)
# Longer than any text a person writes at a front desk; 10 segments of GSM-7.
MAX_CHARS = 1530


@dataclass(frozen=True)
class Recipient:
    opted_out: bool
    consent_granted: bool
    has_written: bool  # the patient has texted the clinic at least once
    number_problem: str | None  # why the number on file cannot take texts, in words


def refusal(to: Recipient) -> str | None:
    """Why this patient must not be texted, in words for staff; None if they may be."""
    if to.opted_out:
        return "the patient opted out of texts (they can text START to opt back in)"
    if to.number_problem is not None:
        return f"the number on file cannot take texts: {to.number_problem}"
    if not to.consent_granted and not to.has_written:
        return "the patient has not agreed to texts yet and has never texted the clinic"
    return None


def body_problem(body: str) -> str | None:
    """What is wrong with a text staff typed, or None."""
    if not body.strip():
        return "the text is empty"
    if len(body) > MAX_CHARS:
        return f"the text is {len(body)} characters long; at most {MAX_CHARS} go in one message"
    if has_control_characters(body, allowed="\n"):
        return "the text holds control characters (pasted from another program?); retype it"
    return None


def quiet_exempt_until(now: datetime, last_in_at: datetime | None) -> datetime | None:
    """Until when this text may go in quiet hours: an hour after the patient's latest text,
    if that was within the hour; None otherwise."""
    if last_in_at is None or now - last_in_at > ANSWER_WINDOW:
        return None
    return last_in_at + ANSWER_WINDOW


def send_time(
    now: datetime, zone: ZoneInfo, quiet: QuietHours, exempt_until: datetime | None
) -> datetime:
    """Now, or the end of the patient's quiet hours if now is quiet and the text is not an
    answer the patient is waiting for."""
    if exempt_until is not None and now < exempt_until:
        return now
    if not is_quiet(now, zone, quiet):
        return now
    later = place_outside_quiet(now, zone, quiet, not_before=now)
    return now if later is None else later


def may_go_in_quiet_hours(now: datetime, exempt_until: datetime | None) -> bool:
    return exempt_until is not None and now < exempt_until


# What a reply asks of a person even when the rules handled it: to stop (staff confirm and
# note why), to move a session (only a person can), or unclear words about stopping.
ASKS_A_PERSON = frozenset(
    {Intent.OPT_OUT, Intent.STOP_REQUEST, Intent.STOP_UNCLEAR, Intent.SESSION_RESCHEDULE}
)
# The template name an outbound row of a staff text carries (texts/render.as_written).
STAFF_TEMPLATE = "staff"


def needs_a_person(intents: tuple[str, ...], needs_review: bool, answers_staff: bool) -> bool:
    """Does this reply open (or reopen) the patient's conversation in the inbox? Yes when the
    rules could not fully handle it, when it asks something only a person can do, and when it
    comes after a text staff wrote (they are talking to that person now)."""
    return needs_review or answers_staff or any(i in ASKS_A_PERSON for i in intents)


def answers_staff(last_text_out: tuple[str, datetime] | None, now: datetime) -> bool:
    """Is the patient answering a person? Yes when the latest text we sent them (template,
    when) is one staff wrote, in the last days: a reminder sent since then is what a reply
    most likely answers, and the bot reads that one."""
    if last_text_out is None:
        return False
    template, at = last_text_out
    return template == STAFF_TEMPLATE and now - at <= IN_CONVERSATION_FOR
