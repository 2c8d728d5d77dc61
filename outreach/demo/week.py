"""`outreach demo`: a small clinic's week, simulated in seconds.

Everything real but the patients and the clock: a throwaway SQLite database migrated by
Alembic, enrolment through the same validation as the CSV import, the planner, dispatcher,
templates and reply handling, the console transport. Simulated patients answer from a
script (demo/clinic.py); the transcript and the counts are read back from the database
afterwards (demo/printout.py, demo/tally.py).
"""

from __future__ import annotations

import io
import secrets
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import Engine, select

from outreach.accounts.users import Staff, add_user, staff_by_username
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import outbound_messages, patients, reminders
from outreach.demo import frontdesk
from outreach.demo.clinic import (
    CALLS,
    DEMO_PATIENTS,
    END,
    FRONT_DESK,
    STAFF_ANSWERS,
    STAFF_MOVES,
    START,
    Script,
    script,
)
from outreach.demo.printout import print_summary, print_transcripts
from outreach.demo.tally import DemoResult, summarise
from outreach.inbox import texting
from outreach.patients.enrolment import PatientSpec, validate_patient
from outreach.patients.upsert import import_specs
from outreach.replies import inbound
from outreach.rules.stafftexts import STAFF_TEMPLATE
from outreach.rules.vocabulary import ReminderState, Role
from outreach.runtime import Service
from outreach.texts.render import Renderer
from outreach.transports.console import ConsoleTransport


def run_demo(
    console: Console, database: Path | None = None, settings: Settings | None = None
) -> DemoResult:
    """The week on `database` (new or empty: see demo/database.py), or on a temporary file
    deleted afterwards, when `database` is None (the result's `database` is None then)."""
    if database is not None:
        return _run(console, database, settings or Settings())
    with tempfile.TemporaryDirectory(prefix="outreach-demo-") as folder:
        result = _run(console, Path(folder) / "demo.db", settings or Settings())
    result.database = None
    return result


def _run(console: Console, database: Path, settings: Settings) -> DemoResult:
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    clock = ManualClock(START)
    transport = ConsoleTransport(stream=io.StringIO())  # the transcript comes from the database
    renderer = Renderer(settings.templates_dir, settings)
    service = Service(engine, settings, clock, transport, renderer, worker_id="demo")

    enrol(engine, settings, clock.now())
    front_desk = add_front_desk(engine, clock.now())
    simulate(engine, settings, clock, service, renderer, transport, script, front_desk)
    result = summarise(engine, database)
    print_transcripts(console, engine)
    print_summary(console, result)
    engine.dispose()
    return result


def enrol(engine: Engine, settings: Settings, now: datetime) -> None:
    specs: list[tuple[int, PatientSpec]] = []
    for line, row in enumerate(DEMO_PATIENTS, start=2):
        spec = validate_patient(row, settings, line)
        if isinstance(spec, list):
            raise RuntimeError(f"demo patient {row['patient_id']} is invalid: {spec}")
        specs.append((line, spec))
    report = import_specs(engine, settings, specs, now)
    if report.errors:
        raise RuntimeError(f"demo enrolment failed: {report.errors}")


def add_front_desk(engine: Engine, now: datetime) -> Staff:
    """The member of staff who answers from the inbox in the demo (no one signs in as them:
    the password is random and thrown away)."""
    username, name = FRONT_DESK
    add_user(engine, username, name, secrets.token_urlsafe(24), Role.THERAPIST, now)
    staff = staff_by_username(engine, username)
    assert staff is not None
    return staff


def simulate(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    service: Service,
    renderer: Renderer,
    transport: ConsoleTransport,
    answer: Script,
    front_desk: Staff,
) -> None:
    """Jump the clock from one event to the next: a reminder falling due, a patient's answer
    or call, the front desk's text, mark or move, or a new UTC day for the planner."""
    pending_answers: list[tuple[datetime, str, str]] = []
    desk = Desk(list(CALLS))
    seen = 0
    while clock.now() < END:
        service.tick()
        seen = _queue_answers(engine, seen, pending_answers, answer)
        now = clock.now()
        due = [a for a in pending_answers if a[0] <= now]
        for when, phone, text in due:
            pending_answers.remove((when, phone, text))
            inbound.receive(engine, settings, renderer, transport, now, from_phone=phone, body=text)
            desk.heard(engine, now, phone, text)
        if due or desk.act(engine, settings, front_desk, now):
            continue  # tick again at this moment: a reply or a mark can queue a text
        moments = [a[0] for a in pending_answers] + desk.moments(engine, now)
        clock.set(min(_next_moment(engine, now, moments), END))


class Desk:
    """What the front desk has still to do: texts to write, calls to take, sessions to move,
    and every session to mark an hour after it begins."""

    def __init__(self, calls: list[tuple[datetime, str, str]]) -> None:
        self.texts: list[tuple[datetime, str, str]] = []  # when, patient id, text
        self.moves: list[tuple[datetime, str, str, str, time]] = []
        self.calls = calls

    def heard(self, engine: Engine, now: datetime, phone: str, text: str) -> None:
        """A patient's text, as the front desk reads it in the inbox."""
        with engine.connect() as conn:
            patient = conn.execute(
                select(patients.c.external_id).where(patients.c.phone == phone)
            ).scalar_one()
        planned = STAFF_ANSWERS.get((patient, text))
        if planned is not None:
            minutes, answer = planned
            self.texts.append((now + timedelta(minutes=minutes), patient, answer))
        move = STAFF_MOVES.get((patient, text))
        if move is not None:
            minutes, weekday, to_weekday, to_time = move
            when = now + timedelta(minutes=minutes)
            self.moves.append((when, patient, weekday, to_weekday, to_time))

    def act(self, engine: Engine, settings: Settings, who: Staff, now: datetime) -> bool:
        """Do what is due; whether anything was done."""
        acted = False
        for text in [t for t in self.texts if t[0] <= now]:
            self.texts.remove(text)
            texting.send(engine, settings, who, text[1], text[2], now)
            acted = True
        for call in [c for c in self.calls if c[0] <= now]:
            self.calls.remove(call)
            frontdesk.cancel(engine, settings, who, call[1], call[2], now)
            acted = True
        for move in [m for m in self.moves if m[0] <= now]:
            self.moves.remove(move)
            _, patient, weekday, to_weekday, to_time = move
            frontdesk.move(engine, settings, who, patient, weekday, to_weekday, to_time, now)
            acted = True
        return frontdesk.mark_sessions(engine, settings, who, now) > 0 or acted

    def moments(self, engine: Engine, now: datetime) -> list[datetime]:
        """When the front desk next has something to do."""
        planned = [t[0] for t in self.texts] + [c[0] for c in self.calls]
        planned += [m[0] for m in self.moves]
        mark = frontdesk.next_mark(engine, now, END)
        return planned if mark is None else [*planned, mark]


def _queue_answers(
    engine: Engine, seen: int, pending: list[tuple[datetime, str, str]], answer: Script
) -> int:
    """Decide how each simulated patient answers the questions sent since `seen`."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                outbound_messages.c.id,
                outbound_messages.c.prompt,
                outbound_messages.c.template,
                outbound_messages.c.created_at,
                patients.c.external_id,
                patients.c.phone,
                patients.c.timezone,
            )
            .join(patients, patients.c.id == outbound_messages.c.patient_id)
            .where(outbound_messages.c.id > seen)
            .order_by(outbound_messages.c.id)
        ).all()
    for row in rows:
        seen = row.id
        asked = STAFF_TEMPLATE if row.template == STAFF_TEMPLATE else row.prompt
        if asked is None:
            continue
        weekday = row.created_at.astimezone(ZoneInfo(row.timezone)).strftime("%a")
        planned = answer(row.external_id, asked, weekday)
        if planned is not None:
            minutes, text = planned
            pending.append((row.created_at + timedelta(minutes=minutes), row.phone, text))
    return seen


def _next_moment(engine: Engine, now: datetime, pending: list[datetime]) -> datetime:
    with engine.begin() as conn:
        next_send = conn.execute(
            select(reminders.c.send_at)
            .where(reminders.c.state == ReminderState.PENDING, reminders.c.send_at > now)
            .order_by(reminders.c.send_at)
            .limit(1)
        ).scalar()
    next_day = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    candidates = [next_day, *pending]
    if next_send is not None:
        candidates.append(next_send)
    return min(candidates)
