"""Opt-out is absolute. Whatever a patient texts, in whatever case and padding, and whenever
the service ticks, nothing leaves for them between an opt-out and the next opt-in except the
one confirmation. Texts arrive through FakeTwilio's signed webhooks; reminders leave through
the real Twilio client, and FakeTwilio's record and our TwiML answers are the judge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import patients
from outreach.texts.render import Renderer
from tests.support.patients import enrol
from tests.support.twilio import PATIENT, Clinic, twilio_clinic

STOP_KEYWORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
START_KEYWORDS = ["START", "UNSTOP", "YES", "SÍ"]
# Free text that clearly asks us to stop: treated as an opt-out too.
STOP_REQUESTS = ["stop texting me", "Please stop", "no more texts", "Leave me alone!", "No más"]
ANSWERS = ["1", "2", "3", "4", "C", "R", "DONE 3", "done 8", "SKIP", "HELP", "info"]
OTHER_TEXT = ["thanks!", "What time tomorrow?", "I'll be late", "no más dolor", "ok", ""]
EMOJI = ["👍", "🦶❤️", "😀 ok", "🙏🙏", "2 🤕"]
TICK_EVERY = timedelta(hours=1)  # a running service ticks every 30 s; hourly catches it all


@dataclass(frozen=True)
class Text:
    body: str
    kind: str  # "stop", "start" or "other": what the patient means


@dataclass(frozen=True)
class Wait:
    minutes: int


Step = Text | Wait


def any_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(
        lambda up: "".join(c.upper() if u else c.lower() for c, u in zip(word, up, strict=True))
    )


def keyword(words: list[str]) -> st.SearchStrategy[str]:
    """A keyword as phones send it: any case, stray spaces, a full stop or an emoji."""
    pad = st.sampled_from(["", " ", "  ", "\n", "\t "])
    tail = st.sampled_from(["", "!", ".", " 🛑"])
    cased = st.sampled_from(words).flatmap(any_case)
    return st.tuples(pad, cased, tail, pad).map("".join)


TEXTS: dict[str, st.SearchStrategy[str]] = {
    "stop": st.one_of(keyword(STOP_KEYWORDS), st.sampled_from(STOP_REQUESTS)),
    "start": keyword(START_KEYWORDS),
    "other": st.sampled_from(ANSWERS + OTHER_TEXT + EMOJI),
}
# Half of the texts are neither stop nor start, so reminders get a chance to flow.
texts: st.SearchStrategy[Step] = st.sampled_from(["other", "stop", "other", "start"]).flatmap(
    lambda kind: TEXTS[kind].map(lambda body: Text(body, kind))
)
# Long waits cross foot checks, exercises and session reminders.
waits: st.SearchStrategy[Step] = st.sampled_from([1, 30, 240, 600, 1440]).map(Wait)


def in_turn(pairs: list[tuple[Step, Step]]) -> list[Step]:
    """Each text, then time passing: a minute (a quick second text) up to a whole day."""
    return [step for pair in pairs for step in pair]


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Clinic]:
    with twilio_clinic(engine, settings, clock, renderer) as c:
        yield c


def start_afresh(clinic: Clinic) -> None:
    """Each example gets an empty database and a newly enrolled, consented patient; the
    clock only moves forward, so the plan starts on the clock's day."""
    with clinic.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    today = clinic.clock.now().astimezone(clinic.settings.clinic_zone).date()
    enrol(clinic.engine, clinic.settings, clinic.clock.now(), plan_start=today.isoformat())


def wait_and_tick(clinic: Clinic, wait: timedelta) -> None:
    """Let time pass with the service ticking at least hourly, as a running one would."""
    until = clinic.clock.now() + wait
    while clinic.clock.now() < until:
        clinic.clock.set(min(until, clinic.clock.now() + TICK_EVERY))
        clinic.service.tick()


def opted_out_in_the_database(clinic: Clinic) -> bool:
    with clinic.engine.begin() as conn:
        return bool(conn.execute(select(patients.c.opted_out)).scalar_one())


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    # One FakeTwilio and one web server serve every example; each starts from an empty
    # database (start_afresh).
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(st.tuples(texts, waits), min_size=2, max_size=10).map(in_turn))
@example(  # the plainest case: a day of reminders due on each side of STOP ... START
    steps=[
        *(Text("Stop", "stop"), Wait(1440)),
        *(Text("2", "other"), Wait(1440)),
        *(Text("start", "start"), Wait(1440)),
        *(Text("1", "other"), Wait(1)),
    ]
)
def test_nothing_but_the_confirmation_leaves_between_an_opt_out_and_the_next_opt_in(
    clinic: Clinic, steps: list[Step]
) -> None:
    start_afresh(clinic)
    confirmation = clinic.renderer.render("opted_out", "en", patient={"first_name": "Ana"}).body
    opted_out = False
    before_example = len(clinic.fake.sent_to(PATIENT))
    for step in steps:
        already = len(clinic.fake.sent_to(PATIENT))
        if isinstance(step, Wait):
            wait_and_tick(clinic, timedelta(minutes=step.minutes))
            created = clinic.fake.sent_to(PATIENT)[already:]
            assert not (opted_out and created), f"sent while opted out: {created}"
        else:
            clinic.clock.advance(timedelta(seconds=30))
            answers = clinic.text(step.body)
            assert clinic.fake.sent_to(PATIENT)[already:] == [], "a webhook answers in TwiML"
            if step.kind == "stop" and not opted_out:
                assert answers == [confirmation], f"{step.body!r} opts out, confirmed once"
                opted_out = True
            elif step.kind == "start" and opted_out:
                opted_out = False
            elif opted_out:
                assert answers == [], f"{step.body!r} answered while opted out: {answers}"
        assert opted_out_in_the_database(clinic) == opted_out, f"after {step!r}"
    # Shown by --hypothesis-show-statistics: how often the property met real traffic.
    reminders = len(clinic.fake.sent_to(PATIENT)) - before_example
    event(f"reminders sent: {'none' if reminders == 0 else 'some'}")
    stopped = any(isinstance(step, Text) and step.kind == "stop" for step in steps)
    event(f"asked to stop: {'yes' if stopped else 'no'}")
