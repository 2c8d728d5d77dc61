"""`outreach demo`: a small clinic's week, simulated in seconds.

Everything real but the patients and the clock: a throwaway SQLite database migrated by
Alembic, enrolment through the same validation as the CSV import, the planner, dispatcher,
templates and reply handling, the console transport. Simulated patients answer from a
script; the transcript is read back from the database afterwards.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import escalations, inbound_messages, outbound_messages, patients, reminders
from outreach.patients.enrolment import PatientSpec, validate_patient
from outreach.patients.upsert import import_specs
from outreach.replies import inbound
from outreach.rules.privacy import mask_phone
from outreach.rules.vocabulary import OutboundStatus, ReminderState, Severity
from outreach.runtime import Service
from outreach.texts.render import Renderer
from outreach.transports.console import ConsoleTransport

# Sunday 25 October 2026, 09:00 in New York; the week ends as US clocks fall back on 1 November.
START = datetime(2026, 10, 25, 13, 0, tzinfo=UTC)
END = START + timedelta(days=7, hours=12)

DEMO_PATIENTS = [
    {
        "patient_id": "DEMO-1",
        "first_name": "Ana",
        "last_name": "Torres",
        "phone": "+16175550142",
        "timezone": "America/New_York",
        "language": "en",
        "plan_start": "2026-10-01",
        # Three sessions a week for four weeks, then two: the taper lands mid-week.
        "sessions": "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
        "foot_check_time": "08:30",
        "exercise_days": "tue thu sat",
        "exercise_time": "17:00",
        "exercises": "seated calf stretch; heel raises at the counter; ankle circles",
        "pain_baseline": "2",
    },
    {
        "patient_id": "DEMO-2",
        "first_name": "Luis",
        "last_name": "Ramírez",
        "phone": "+13125550143",
        "timezone": "America/Chicago",
        "language": "es",
        "plan_start": "2026-10-19",
        "sessions": "tue thu at 16:00 for 6 weeks",
        "foot_check_time": "20:00",
        "exercise_days": "mon wed fri",
        "exercise_time": "09:00",
        "exercises": "estiramiento de pantorrilla; equilibrio junto a la mesa",
    },
    {
        "patient_id": "DEMO-3",
        "first_name": "Grace",
        "last_name": "Kim",
        "phone": "+12135550144",
        "timezone": "America/Los_Angeles",
        "language": "en",
        "plan_start": "2026-10-12",
        "sessions": "mon at 13:00 for 8 weeks",
        "foot_check_time": "09:00",
        "exercise_days": "mon wed fri",
        "exercise_time": "11:00",
        "exercises": "seated marching; toe raises",
    },
]

# (patient, what we asked, local weekday) -> (minutes later, their answer); no entry, no answer.
Script = Callable[[str, str, str], tuple[int, str] | None]


ANSWERS: dict[tuple[str, str], tuple[int, str] | None] = {
    ("DEMO-1", "consent"): (4, "Yes"),
    ("DEMO-1", "session"): (25, "C"),
    ("DEMO-1", "foot_check"): (12, "1"),
    ("DEMO-1", "foot_check:Tue"): (15, "2"),
    ("DEMO-1", "foot_followup"): (6, "1"),
    ("DEMO-1", "exercise"): (40, "DONE 3"),
    ("DEMO-1", "exercise:Thu"): (30, "done 3 but I fell yesterday"),  # two meanings
    ("DEMO-1", "exercise:Sat"): (35, "done, pain 8"),
    ("DEMO-2", "consent"): (9, "Sí"),
    ("DEMO-2", "session"): (30, "c"),
    ("DEMO-2", "session:Wed"): (30, "R"),
    ("DEMO-2", "foot_check"): (5, "1"),
    ("DEMO-2", "foot_check:Thu"): None,  # a missed foot check stays unanswered
    # A danger sign in his own words, no menu number: the screen reads it first.
    ("DEMO-2", "foot_check:Sat"): (10, "tengo una llaga en el talon y esta sangrando"),
    ("DEMO-2", "exercise"): (60, "listo 2"),
    ("DEMO-2", "exercise:Wed"): (20, "SALTAR"),
    ("DEMO-2", "exercise:Fri"): (15, "a que hora abren el sabado"),
    ("DEMO-3", "consent"): (2, "YES"),
    ("DEMO-3", "foot_check"): (20, "1"),
    ("DEMO-3", "foot_check:Wed"): (3, "Stop"),
    ("DEMO-3", "exercise"): (50, "Done 2"),
}


def script(patient: str, prompt: str, weekday: str) -> tuple[int, str] | None:
    """A weekday-specific answer wins over the patient's usual one."""
    specific = (patient, f"{prompt}:{weekday}")
    if specific in ANSWERS:
        return ANSWERS[specific]
    return ANSWERS.get((patient, prompt))


SEVERITIES = tuple(s.value for s in Severity)


@dataclass
class DemoResult:
    database: Path
    patients: list[PatientTally]

    @property
    def total(self) -> PatientTally:
        total = PatientTally("all patients")
        for tally in self.patients:
            total.sent += tally.sent
            total.replies += tally.replies
            total.confirmations += tally.confirmations
            total.skipped.update(tally.skipped)
            total.escalations.update(tally.escalations)
        return total


def run_demo(
    console: Console, database: Path | None = None, settings: Settings | None = None
) -> DemoResult:
    settings = settings or Settings()
    workdir = Path(tempfile.mkdtemp(prefix="outreach-demo-"))
    database = database or workdir / "demo.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    clock = ManualClock(START)
    transport = ConsoleTransport(stream=io.StringIO())  # the transcript comes from the database
    renderer = Renderer(settings.templates_dir, settings)
    service = Service(engine, settings, clock, transport, renderer, worker_id="demo")

    enrol(engine, settings, clock.now())
    simulate(engine, settings, clock, service, renderer, transport, script)
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


def simulate(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    service: Service,
    renderer: Renderer,
    transport: ConsoleTransport,
    answer: Script,
) -> None:
    """Jump the clock from one event to the next: a reminder falling due, a patient's answer,
    or a new UTC day for the planner."""
    pending_answers: list[tuple[datetime, str, str]] = []
    seen = 0
    while clock.now() < END:
        service.tick()
        seen = _queue_answers(engine, seen, pending_answers, answer)
        now = clock.now()
        due = [a for a in pending_answers if a[0] <= now]
        if due:
            for when, phone, text in due:
                pending_answers.remove((when, phone, text))
                inbound.receive(
                    engine, settings, renderer, transport, now, from_phone=phone, body=text
                )
            continue  # tick again at this moment: a reply can start a plan or stop one
        clock.set(min(_next_moment(engine, now, pending_answers), END))


def _queue_answers(
    engine: Engine, seen: int, pending: list[tuple[datetime, str, str]], answer: Script
) -> int:
    """Decide how each simulated patient answers the questions sent since `seen`."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                outbound_messages.c.id,
                outbound_messages.c.prompt,
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
        if row.prompt is None:
            continue
        weekday = row.created_at.astimezone(ZoneInfo(row.timezone)).strftime("%a")
        planned = answer(row.external_id, row.prompt, weekday)
        if planned is not None:
            minutes, text = planned
            pending.append((row.created_at + timedelta(minutes=minutes), row.phone, text))
    return seen


def _next_moment(
    engine: Engine, now: datetime, pending: list[tuple[datetime, str, str]]
) -> datetime:
    with engine.begin() as conn:
        next_send = conn.execute(
            select(reminders.c.send_at)
            .where(reminders.c.state == ReminderState.PENDING, reminders.c.send_at > now)
            .order_by(reminders.c.send_at)
            .limit(1)
        ).scalar()
    next_day = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    candidates = [next_day] + [a[0] for a in pending]
    if next_send is not None:
        candidates.append(next_send)
    return min(candidates)


@dataclass
class PatientTally:
    name: str
    sent: int = 0
    replies: int = 0
    confirmations: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    escalations: Counter[str] = field(default_factory=Counter)


def summarise(engine: Engine, database: Path) -> DemoResult:
    """Count the simulated week (reminders planned beyond it are left out)."""
    tallies: dict[int, PatientTally] = {}
    with engine.begin() as conn:
        for row in conn.execute(select(patients).order_by(patients.c.id)):
            tallies[row.id] = PatientTally(f"{row.first_name} {row.last_name}")
        for row in conn.execute(
            select(outbound_messages.c.patient_id).where(
                outbound_messages.c.status == OutboundStatus.SENT
            )
        ):
            tallies[row.patient_id].sent += 1
        for row in conn.execute(select(inbound_messages.c.patient_id, inbound_messages.c.intent)):
            tallies[row.patient_id].replies += 1
            meanings = (row.intent or "").split(",")
            tallies[row.patient_id].confirmations += "session_confirm" in meanings
        for row in conn.execute(
            select(reminders.c.patient_id, reminders.c.skip_reason).where(
                reminders.c.state == ReminderState.SKIPPED, reminders.c.send_at < END
            )
        ):
            tallies[row.patient_id].skipped[row.skip_reason] += 1
        for row in conn.execute(select(escalations.c.patient_id, escalations.c.severity)):
            tallies[row.patient_id].escalations[row.severity] += 1
    return DemoResult(database, list(tallies.values()))


def print_transcripts(console: Console, engine: Engine) -> None:
    with engine.begin() as conn:
        people = conn.execute(select(patients).order_by(patients.c.id)).all()
        for person in people:
            zone = ZoneInfo(person.timezone)
            console.rule(
                f"[bold]{person.first_name} {person.last_name}[/] · {person.language} · "
                f"{person.timezone} · {mask_phone(person.phone)}"
            )
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True, style="dim")
            grid.add_column(no_wrap=True)
            grid.add_column()
            for when, arrow, text, note in _conversation(conn, person.id):
                grid.add_row(when.astimezone(zone).strftime("%a %d %b %H:%M"), arrow, text)
                if note:
                    grid.add_row("", "", f"[bold red]{note}[/]")
            console.print(grid, highlight=False)
            console.print()


def _conversation(conn: Connection, patient_id: int) -> list[tuple[datetime, str, str, str]]:
    lines: list[tuple[datetime, str, str, str]] = []
    for row in conn.execute(
        select(outbound_messages.c.created_at, outbound_messages.c.body).where(
            outbound_messages.c.patient_id == patient_id
        )
    ):
        lines.append((row.created_at, "→", escape(row.body), ""))
    flagged = {
        row.inbound_id: row
        for row in conn.execute(select(escalations).where(escalations.c.patient_id == patient_id))
    }
    for row in conn.execute(
        select(inbound_messages).where(inbound_messages.c.patient_id == patient_id)
    ):
        note = ""
        if row.id in flagged:
            esc = flagged[row.id]
            note = f"⚑ {esc.severity} escalation: {esc.reason} ({esc.detail})"
        elif row.needs_review:
            note = "⚑ needs a look from staff"
        lines.append((row.received_at, "←", escape(row.body), escape(note)))
    return sorted(lines, key=lambda line: (line[0], line[1] == "→"))


def print_summary(console: Console, result: DemoResult) -> None:
    table = Table(title="The week in numbers", title_justify="left")
    for column in ("patient", "sent", "skipped (reason)", "replies", "confirmed", "escalations"):
        table.add_column(
            column, justify="left" if column in ("patient", "skipped (reason)") else "right"
        )
    for tally in [*result.patients, result.total]:
        table.add_row(
            tally.name,
            str(tally.sent),
            ", ".join(f"{n} {reason}" for reason, n in sorted(tally.skipped.items())) or "0",
            str(tally.replies),
            str(tally.confirmations),
            ", ".join(f"{tally.escalations[s]} {s}" for s in SEVERITIES if tally.escalations[s])
            or "0",
        )
    console.print(table)
