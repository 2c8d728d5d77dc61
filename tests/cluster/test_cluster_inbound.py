"""5,000 signed replies within a minute across two real web processes on PostgreSQL, some
delivered twice at once to both (Twilio retrying a slow answer), a few forged: by the
database, every reply is stored once and acted on once, and no retry texts back twice.
And one patient's two replies at once, one to each process, are read one after the other."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine, Select, insert, select, text
from sqlalchemy.engine import Connection

from outreach.db.engine import make_engine
from outreach.db.tables import (
    appointment_table,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    outbound_messages,
    patients,
)
from outreach.testing.rows import consenting_patient, delivered_prompt
from outreach.testing.twilio_callbacks import inbound_params
from outreach.testing.twilio_records import new_sid
from tests.support.cluster_web import (
    CLINIC_NUMBER,
    Answer,
    Credentials,
    Delivery,
    fire,
    needs_postgres,
    private_schema,
    signed_delivery,
    texts_back,
    web_processes,
)

pytestmark = [pytest.mark.cluster, needs_postgres]

SERVERS = 2
THREADS = 24  # replies in flight at once, a dozen per process: well inside the pools
RETRIED = 300  # delivered a second time, to the other process, while the first is in flight
FORGED = 25
# The load: the whole burst must have been posted within this.
BURST_SECONDS = 60


@dataclass(frozen=True)
class Kind:
    """One sort of reply: the question its patient has open, what they text, and what the
    product must make of it."""

    name: str
    prompt: str  # foot_check, session or exercise
    body: str
    intent: str
    observation: str | None  # the one observation it records, if any
    answers_prompt: bool
    reply_template: str
    count: int
    needs_review: bool = False
    asks: str | None = None  # the question the text back opens


KINDS = (
    Kind("foot fine", "foot_check", "1", "foot_ok", "foot_ok", True, "foot_ok", 2000),
    Kind("foot problem", "foot_check", "2", "foot_problem", "foot_problem", True,
         "foot_followup", 600, asks="foot_followup"),
    Kind("confirm", "session", "C", "session_confirm", "session_confirmed", True,
         "session_confirmed", 1200),
    Kind("exercise done", "exercise", "DONE 3", "exercise_done", "exercise_done", True,
         "exercise_done", 1000),
    Kind("stop", "foot_check", "STOP", "opt_out", None, False, "opted_out", 50),
    Kind("unreadable", "foot_check", "what time is the pool open?", "unknown", None, False,
         "unknown", 150, needs_review=True),
)  # fmt: skip
REPLIES = sum(kind.count for kind in KINDS)


@dataclass(frozen=True)
class Reply:
    sid: str
    patient_id: int
    kind: Kind


def phone(patient_id: int) -> str:
    """Well-formed US numbers, 10,000 to an area code (555-01xx alone is too few)."""
    area, line = divmod(patient_id, 10_000)
    return f"+1{('617', '212', '415')[area]}555{line:04d}"


def test_a_burst_of_replies_across_two_web_processes_is_stored_and_acted_on_once_each(
    tmp_path: Path,
) -> None:
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    twilio = Credentials()
    with private_schema() as url, database(url) as engine:
        kinds = [kind for kind in KINDS for _ in range(kind.count)]
        rng.shuffle(kinds)
        replies = seed_patients_with_open_questions(engine, kinds)
        with web_processes(SERVERS, url, tmp_path, twilio) as servers:
            deliveries = plan_deliveries(replies, [s.base_url for s in servers], twilio, rng)
            started = time.monotonic()
            answers = fire(deliveries, THREADS)
            seconds = time.monotonic() - started
            logs = {server.pid: server.log() for server in servers}
        print(
            f"\nseed {seed}: {len(deliveries)} deliveries ({REPLIES} replies, {RETRIED} "
            f"delivered twice, {FORGED} forged) in {seconds:.1f} s, "
            f"{len(deliveries) / seconds:.0f} a second; "
            f"statuses {dict(Counter(a.status for a in answers))}"
        )
        assert seconds < BURST_SECONDS, f"the burst took {seconds:.1f} s (seed {seed})"
        problems = (
            wrong_answers(answers)
            + wrong_inbound_rows(engine, replies)
            + wrong_effects(engine, replies)
            + errors_logged(logs)
        )
        assert not problems, f"seed {seed}: " + "\n".join(problems[:20])


def test_two_replies_from_one_patient_at_once_are_read_one_after_the_other(
    tmp_path: Path,
) -> None:
    """A patient taps send twice: the same answer, two MessageSids, one to each process at
    the same moment. The second must be read after the first, as one process reads them:
    it finds the question answered (or the patient opted out) and is not acted on again."""
    twilio = Credentials()
    kinds = [kind for kind in KINDS if kind.body in TWICE for _ in range(TWICE_EACH)]
    with private_schema() as url, database(url) as engine:
        replies = seed_patients_with_open_questions(engine, kinds)
        with web_processes(SERVERS, url, tmp_path, twilio) as servers:
            deliveries = [
                delivery
                for reply in replies
                for delivery in both_at_once(reply, [s.base_url for s in servers], twilio)
            ]
            answers = fire(deliveries, THREADS)
        problems = wrong_answers_to_pairs(answers, replies) + acted_on_twice(engine, replies)
        assert not problems, "\n".join(problems)


TWICE = {"1": "unknown", "C": "unknown", "STOP": "ignored"}  # body: how the second reads
TWICE_EACH = 100


def both_at_once(reply: Reply, servers: list[str], twilio: Credentials) -> list[Delivery]:
    together = threading.Barrier(2, timeout=30)
    return [
        replace(
            signed_delivery(twilio, server, params_of(twilio, sid, reply.patient_id, body)),
            together=together,
        )
        for server, sid, body in zip(
            servers, (reply.sid, new_sid("SM")), (reply.kind.body,) * 2, strict=True
        )
    ]


def wrong_answers_to_pairs(answers: list[Answer], replies: list[Reply]) -> list[str]:
    """Both 200; one text back for the first, and for the second only the "not understood"
    of a question already answered (an opted-out patient hears nothing more)."""
    by_phone = {phone(r.patient_id): r for r in replies}
    texts: Counter[str] = Counter()
    problems = []
    for answer in answers:
        if answer.status != 200 or texts_back(answer) < 0:
            problems.append(f"a reply was answered {answer.status} {answer.text[:120]!r}")
        sender = dict(parse_qsl(answer.delivery.form.decode()))["From"]
        texts[by_phone[sender].kind.name] += texts_back(answer)
    expected = Counter({kind.name: TWICE_EACH * (1 if TWICE[kind.body] == "ignored" else 2)
                        for kind in KINDS if kind.body in TWICE})  # fmt: skip
    if texts != expected:
        problems.append(f"texts back by kind: {dict(texts)}, not {dict(expected)}")
    return problems


def acted_on_twice(engine: Engine, replies: list[Reply]) -> list[str]:
    """Per patient: the first reply read as its kind, the second as TWICE says; one
    observation, one consent event for a STOP, and every reply processed."""
    IN = inbound_messages
    with engine.begin() as conn:
        found = {
            "intents": counted(conn, select(IN.c.patient_id, IN.c.intent)),
            "observations": counted(conn, select(observations.c.patient_id)),
            "consent events": counted(conn, select(consent_events.c.patient_id)),
            "unprocessed": counted(conn, select(IN.c.id).where(IN.c.processed_at.is_(None))),
        }
    expected: dict[str, Counter[tuple[Any, ...]]] = {
        "intents": Counter(
            (r.patient_id, intent)
            for r in replies
            for intent in (r.kind.intent, TWICE[r.kind.body])
        ),
        "observations": Counter((r.patient_id,) for r in replies if r.kind.observation),
        "consent events": Counter((r.patient_id,) for r in replies if r.kind.intent == "opt_out"),
        "unprocessed": Counter(),
    }
    return [
        f"{name}: {difference(expected[name], found[name])}"
        for name in expected
        if found[name] != expected[name]
    ]


def counted(conn: Connection, query: Select[Any]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(row) for row in conn.execute(query))


@contextmanager
def database(url: str) -> Iterator[Engine]:
    engine = make_engine(url, pool_size=1, max_overflow=1)
    try:
        yield engine
    finally:
        engine.dispose()


def seed_patients_with_open_questions(engine: Engine, kinds: list[Kind]) -> list[Reply]:
    """A consenting patient for each kind given, each with the question their reply answers
    sent ten minutes ago (a session reminder for tomorrow's appointment, a foot check or an
    exercise prompt); returns the reply each will send."""
    now = datetime.now(UTC)  # the servers' clock is the system's
    asked = now - timedelta(minutes=10)
    ids = range(1, len(kinds) + 1)
    with engine.begin() as conn:
        conn.execute(insert(patients), [patient(n, asked) for n in ids])
        sessions = [n for n, kind in zip(ids, kinds, strict=True) if kind.prompt == "session"]
        if sessions:  # an empty list would insert one row of defaults
            conn.execute(insert(appointment_table), [appointment(n, now) for n in sessions])
        conn.execute(
            insert(outbound_messages),
            [prompt(n, kind, asked, now) for n, kind in zip(ids, kinds, strict=True)],
        )
        for table in ("patient", "appointment", "outboundmessage"):
            # Explicit ids leave the serial behind; the servers insert after us.
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {len(kinds)})")
            )
    return [Reply(new_sid("SM"), n, kind) for n, kind in zip(ids, kinds, strict=True)]


def patient(n: int, now: datetime) -> dict[str, Any]:
    return consenting_patient(n, f"I-{n}", phone(n), "America/New_York", now)


def appointment(n: int, now: datetime) -> dict[str, Any]:
    """Patient `n`'s session tomorrow, with id `n` too."""
    starts_at = now + timedelta(days=1)
    return {"id": n, "patient_id": n, "starts_at": starts_at, "status": "scheduled",
            "source": "plan", "updated_at": now}  # fmt: skip


def prompt(n: int, kind: Kind, asked: datetime, now: datetime) -> dict[str, Any]:
    """The outbound text with id `n` that asked patient `n` the question."""
    session = kind.prompt == "session"
    return delivered_prompt(
        n,
        kind.prompt,
        phone(n),
        f"Riverside PT: a {kind.prompt} question",
        asked,
        now + timedelta(days=1) if session else asked + timedelta(hours=6),
        id=n,
        prompt_ref=n if session else None,  # the appointment, which has the same id
    )


def plan_deliveries(
    replies: list[Reply], servers: list[str], twilio: Credentials, rng: random.Random
) -> list[Delivery]:
    """Each reply to one server in turn; RETRIED of them to the other one too, at the same
    moment; and FORGED texts saying STOP from patients who really sent something else,
    signed with the wrong token. Built before the clock starts, in a random order."""
    retried = set(rng.sample(range(len(replies)), RETRIED))
    batches: list[list[Delivery]] = []
    for k, reply in enumerate(replies):
        params = params_of(twilio, reply.sid, reply.patient_id, reply.kind.body)
        first = servers[k % len(servers)]
        if k not in retried:
            batches.append([signed_delivery(twilio, first, params)])
            continue
        together = threading.Barrier(2, timeout=30)
        second = servers[(k + 1) % len(servers)]
        batches.append(
            [
                replace(signed_delivery(twilio, server, params), together=together)
                for server in (first, second)
            ]
        )
    for victim in rng.sample([r for r in replies if r.kind.body != "STOP"], FORGED):
        params = params_of(twilio, new_sid("SM"), victim.patient_id, "STOP")
        batches.append([signed_delivery(twilio, rng.choice(servers), params, forged=True)])
    rng.shuffle(batches)
    # A pair stays adjacent, so the pool's threads pick both up together.
    return [delivery for batch in batches for delivery in batch]


def params_of(twilio: Credentials, sid: str, patient_id: int, body: str) -> dict[str, str]:
    return inbound_params(twilio.account_sid, sid, phone(patient_id), CLINIC_NUMBER, body, 1)


def wrong_answers(answers: list[Answer]) -> list[str]:
    """Forged: 403. Genuine: 200 with TwiML, one text back per reply however often it came."""
    problems = []
    server_errors = [a for a in answers if a.status >= 500]
    if server_errors:
        first = server_errors[0]
        problems.append(f"{len(server_errors)} answers were 5xx, the first {first.status}")
    forged = [a for a in answers if a.delivery.forged]
    if len(forged) != FORGED or any(a.status != 403 for a in forged):
        statuses = Counter(a.status for a in forged)
        problems.append(f"forged deliveries were answered {dict(statuses)}, not 403 each")
    texts: dict[str, list[int]] = {}
    for answer in answers:
        if answer.delivery.forged:
            continue
        if answer.status != 200 or texts_back(answer) < 0:
            problems.append(f"a reply was answered {answer.status} {answer.text[:120]!r}")
        texts.setdefault(answer.delivery.sid, []).append(texts_back(answer))
    twice = [sid for sid, counts in texts.items() if len(counts) == 2]
    if len(texts) != REPLIES or len(twice) != RETRIED:
        problems.append(f"{len(texts)} replies answered ({len(twice)} twice)")
    not_one = Counter(sum(counts) for counts in texts.values() if sum(counts) != 1)
    if not_one:
        problems.append(f"replies not texted back exactly once, by texts sent: {dict(not_one)}")
    retried_twice = sum(1 for sid in twice if sorted(texts[sid]) != [0, 1])
    if retried_twice:
        problems.append(f"{retried_twice} replies delivered twice did not text back once")
    return problems


def wrong_inbound_rows(engine: Engine, replies: list[Reply]) -> list[str]:
    """One row per reply sent, none for a forgery; each read as its kind says, without error."""
    IN = inbound_messages
    with engine.begin() as conn:
        rows = conn.execute(
            select(IN.c.provider_sid, IN.c.patient_id, IN.c.prompt_id, IN.c.intent,
                   IN.c.needs_review, IN.c.processed_at, IN.c.error)
        ).all()  # fmt: skip
    problems = []
    stored = Counter(row.provider_sid for row in rows)
    expected = {reply.sid: reply for reply in replies}
    if len(rows) != REPLIES or set(stored) != set(expected) or max(stored.values()) != 1:
        problems.append(
            f"{len(rows)} inbound rows for {REPLIES} replies: {len(set(stored) - set(expected))} "
            f"not sent, {len(set(expected) - set(stored))} lost, "
            f"{sum(1 for n in stored.values() if n > 1)} stored twice"
        )
    misread = Counter(
        expected[row.provider_sid].kind.name
        for row in rows
        if row.provider_sid in expected and not read_as_sent(row, expected[row.provider_sid])
    )
    if misread:
        problems.append(f"replies unprocessed, in error or misread, by kind: {dict(misread)}")
    return problems


def read_as_sent(row: Any, reply: Reply) -> bool:
    kind = reply.kind
    return (
        row.processed_at is not None
        and row.error is None
        and row.patient_id == reply.patient_id
        and row.intent == kind.intent
        and row.needs_review == kind.needs_review
        and row.prompt_id == (reply.patient_id if kind.answers_prompt else None)
    )


def wrong_effects(engine: Engine, replies: list[Reply]) -> list[str]:
    """Each reply's effects exactly once: its observation, its escalation, the appointment
    confirmed, the opt-out with its one consent event, its question closed, one text back
    recorded; and nothing for a forgery or for anyone else."""
    with engine.begin() as conn:
        found = effects_found(conn)
    expected = effects_expected(replies)
    return [
        f"{name}: {difference(expected[name], found[name])}"
        for name in expected
        if found[name] != expected[name]
    ]


def effects_found(conn: Connection) -> dict[str, Counter[tuple[Any, ...]]]:
    IN, OUT, APPOINTMENT = inbound_messages, outbound_messages, appointment_table

    def rows(query: Select[Any]) -> Counter[tuple[Any, ...]]:
        return counted(conn, query)

    by_reply = IN.c.provider_sid
    return {
        "observations": rows(
            select(by_reply, observations.c.kind, observations.c.value).outerjoin_from(
                observations, IN, IN.c.id == observations.c.inbound_id
            )
        ),
        "escalations": rows(
            select(by_reply, escalations.c.reason).outerjoin_from(
                escalations, IN, IN.c.id == escalations.c.inbound_id
            )
        ),
        "appointments changed": rows(
            select(APPOINTMENT.c.id, APPOINTMENT.c.status).where(
                APPOINTMENT.c.status != "scheduled"
            )
        ),
        "patients opted out": rows(select(patients.c.id).where(patients.c.opted_out.is_(True))),
        "consent events": rows(select(consent_events.c.patient_id, consent_events.c.event)),
        "questions answered": rows(select(OUT.c.id).where(OUT.c.answered_at.is_not(None))),
        # Everything after the seeded questions: the texts back, each sent inside TwiML.
        "texts back": rows(
            select(OUT.c.patient_id, OUT.c.template, OUT.c.prompt, OUT.c.status, OUT.c.provider)
            .where(OUT.c.id > REPLIES)
        ),
    }  # fmt: skip


def effects_expected(replies: list[Reply]) -> dict[str, Counter[tuple[Any, ...]]]:
    def each(rows: Iterator[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
        return Counter(rows)

    return {
        "observations": each(
            (r.sid, r.kind.observation, 3 if r.kind.observation == "exercise_done" else None)
            for r in replies
            if r.kind.observation
        ),
        "escalations": each(
            (r.sid, "foot_problem") for r in replies if r.kind.intent == "foot_problem"
        ),
        "appointments changed": each(
            (r.patient_id, "confirmed") for r in replies if r.kind.prompt == "session"
        ),
        "patients opted out": each((r.patient_id,) for r in replies if r.kind.intent == "opt_out"),
        "consent events": each(
            (r.patient_id, "opted_out") for r in replies if r.kind.intent == "opt_out"
        ),
        "questions answered": each((r.patient_id,) for r in replies if r.kind.answers_prompt),
        "texts back": each(
            (r.patient_id, r.kind.reply_template, r.kind.asks, "queued", "twilio") for r in replies
        ),
    }


def difference(expected: Counter[tuple[Any, ...]], found: Counter[tuple[Any, ...]]) -> str:
    missing, extra = expected - found, found - expected
    return (
        f"{sum(missing.values())} missing (e.g. {list(missing.items())[:3]}), "
        f"{sum(extra.values())} unexpected (e.g. {list(extra.items())[:3]})"
    )


def errors_logged(logs: dict[int, str]) -> list[str]:
    """A reply stored but not processed, or any other failure, is logged with a traceback."""
    return [
        f"server {pid} logged {log.count('Traceback')} tracebacks, e.g. "
        f"{log[log.index('Traceback') :][:600]!r}"
        for pid, log in logs.items()
        if "Traceback" in log
    ]
