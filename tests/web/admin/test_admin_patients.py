"""The patients pages through the app: list and search, add and edit with field errors,
sessions entered by hand, pause and resume, the CSV import with its preview, and the
patient page fed by real replies through the Twilio webhook."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, select, update
from twilio.request_validator import RequestValidator

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    appointment_table,
    audit_events,
    care_plans,
    consent_events,
    outbound_messages,
    patients,
    reminders,
)
from outreach.planning.planner import plan_due
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from tests.support.admin import BASE, TOKEN, Admin
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport

NEW = {
    "patient_id": "P-9",
    "first_name": "Carla",
    "last_name": "Mendez",
    "phone": "+16175550199",
    "timezone": "America/Chicago",
    "language": "es",
    "plan_start": "2026-11-23",
    "phase-0-days": ["mon", "wed"],
    "phase-0-time": "10:00",
    "phase-0-weeks": "4",
    "phase-1-days": ["tue"],
    "phase-1-time": "11:00",
    "phase-1-weeks": "2",
    "foot_check_time": "09:00",
    "exercise_days": ["tue", "thu"],
    "exercise_time": "17:00",
    "exercises": "heel raises\nseated calf stretch",
    "pain_baseline": "3",
}
# The form of the default enrolled patient (tests/conftest.py patient_row).
P1_FORM = {
    "first_name": "Ana",
    "last_name": "Torres",
    "phone": "+16175550142",
    "timezone": "America/New_York",
    "language": "en",
    "plan_start": "2026-11-01",
    "phase-0-days": ["mon", "wed", "fri"],
    "phase-0-time": "10:00",
    "phase-0-weeks": "4",
    "phase-1-days": ["tue", "thu"],
    "phase-1-time": "10:00",
    "phase-1-weeks": "2",
    "foot_check_time": "08:30",
    "exercise_days": ["tue", "thu", "sat"],
    "exercise_time": "17:00",
    "exercises": "seated calf stretch\nheel raises",
    "pain_baseline": "2",
}
HEADER = (
    "patient_id,first_name,last_name,phone,timezone,language,plan_start,sessions,foot_check_time"
)


@pytest.fixture
def admin(admin: Admin) -> Admin:
    """Signed in, on a page: signing in starts a new session with a new CSRF token."""
    admin.get("/patients")
    return admin


@pytest.fixture
def therapist(therapist: Admin) -> Admin:
    therapist.get("/patients")
    return therapist


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(table.c.id)).all())


def patient(engine: Engine, external_id: str) -> Any:
    [row] = rows(engine, patients, patients.c.external_id == external_id)
    return row


def audit_actions(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    return [(r.action, json.loads(r.detail)) for r in rows(engine, audit_events)]


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="{re.escape(name)}-error">([^<]*)<', html)
    assert found, f"no error shown for {name}"
    return unescape(found.group(1))


def input_value(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}"[^>]* value="([^"]*)"', html)
    assert found, f"no input {name}"
    return found.group(1)


@pytest.fixture
def three(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    """P-1 active, P-2 awaiting consent, P-3 paused."""
    enrol(engine, settings, clock.now())
    enrol(
        engine,
        settings,
        clock.now(),
        consent=False,
        patient_id="P-2",
        first_name="Ben",
        last_name="Ortiz",
        phone="+16175550143",
    )
    third = enrol(
        engine,
        settings,
        clock.now(),
        patient_id="P-3",
        first_name="Cy",
        last_name="Young",
        phone="+16175550144",
    )
    with engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == third).values(paused=True))


def listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/patients/([^"]+)">', html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["P-2", "P-1", "P-3"]),  # by last name: Ortiz, Torres, Young
        ("?q=torres", ["P-1"]),
        ("?q=Ben+Ortiz", ["P-2"]),
        ("?q=p-3", ["P-3"]),
        ("?q=(617)+555-0143", ["P-2"]),
        ("?q=%25", []),
        ("?q=torres%00", ["P-1"]),  # PostgreSQL refuses a NUL; it is dropped
        ("?status=active", ["P-1"]),
        ("?status=awaiting+consent", ["P-2"]),
        ("?status=paused", ["P-3"]),
        ("?status=opted+out", []),
        ("?q=555&status=paused", ["P-3"]),
    ],
)
def test_the_list_finds_patients_by_id_name_phone_digits_and_status(
    admin: Admin, three: None, query: str, expected: list[str]
) -> None:
    response = admin.get("/patients" + query)

    assert response.status_code == 200
    assert listed(response.text) == expected


def test_only_an_admin_sees_the_import_link(admin: Admin, therapist: Admin) -> None:
    assert 'href="/patients/import"' in admin.get("/patients").text
    page = therapist.get("/patients").text
    assert 'href="/patients/new"' in page and 'href="/patients/import"' not in page


def test_adding_a_patient_creates_them_their_plan_a_consent_text_and_an_audit_entry(
    admin: Admin, engine: Engine
) -> None:
    response = admin.post("/patients/new", NEW, follow_redirects=False)

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/patients/P-9"
    carla = patient(engine, "P-9")
    assert (carla.first_name, carla.language, carla.timezone) == ("Carla", "es", "America/Chicago")
    assert (carla.consent_state, carla.pain_baseline) == ("pending", 3)
    [plan] = rows(engine, care_plans, care_plans.c.patient_id == carla.id)
    assert (plan.exercise_days, plan.exercises) == ("tue,thu", "heel raises\nseated calf stretch")
    [consent] = rows(engine, reminders, reminders.c.patient_id == carla.id)
    assert (consent.kind, consent.state) == ("consent", "pending")
    [requested] = rows(engine, consent_events, consent_events.c.patient_id == carla.id)
    assert (requested.event, requested.source) == ("requested", "staff")
    [(action, detail)] = audit_actions(engine)
    assert action == "patient_created"
    assert detail["sessions"] == [None, "mon wed at 10:00 for 4 weeks; tue at 11:00 for 2 weeks"]
    page = admin.get(response.headers["location"]).text
    assert "Patient P-9 added" in page and "Carla Mendez" in page


def test_bad_values_are_shown_beside_their_fields_and_what_was_typed_is_kept(
    admin: Admin, engine: Engine
) -> None:
    typed = {
        **NEW,
        "phone": "555-12",
        "plan_start": "23/11/2026",
        "timezone": "america/chicago",
        "phase-1-weeks": "99",
        "phase-2-days": ["fri"],  # a third phase begun and not finished
        "exercises": "heel raises\nneuropathy walk",
    }

    response = admin.post("/patients/new", typed)

    assert response.status_code == 422
    html = response.text
    assert "is not a valid phone number" in field_error(html, "phone")
    assert "YYYY-MM-DD" in field_error(html, "plan_start")
    assert "did you mean 'America/Chicago'?" in field_error(html, "timezone")
    assert "the weeks must be 1 to 52" in field_error(html, "phase-1")
    assert "enter the session time" in field_error(html, "phase-2")
    assert "'neuropathy walk' names a diagnosis" in field_error(html, "exercises")
    assert input_value(html, "phone") == "555-12"
    assert input_value(html, "plan_start") == "23/11/2026"
    assert 'value="99"' in html and "neuropathy walk</textarea>" in html
    assert rows(engine, patients) == [] and audit_actions(engine) == []


def test_add_another_phase_keeps_what_was_typed_and_saves_nothing(
    admin: Admin, engine: Engine
) -> None:
    response = admin.post("/patients/new", {**NEW, "action": "add_phase"})

    assert response.status_code == 200
    assert 'id="phase-2"' in response.text and 'id="phase-3"' not in response.text
    assert input_value(response.text, "first_name") == "Carla"
    assert rows(engine, patients) == []


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("patient_id", "P-1", "is already the ID of another patient"),
        ("phone", "(617) 555-0142", "is already the phone of patient P-1"),
    ],
)
def test_a_taken_id_or_another_patients_phone_is_a_field_error(
    admin: Admin,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    field: str,
    value: str,
    error: str,
) -> None:
    enrol(engine, settings, clock.now())

    response = admin.post("/patients/new", {**NEW, field: value})

    assert response.status_code == 422
    assert error in field_error(response.text, field)
    assert [p.external_id for p in rows(engine, patients)] == ["P-1"]


def test_editing_a_phase_supersedes_the_old_session_reminders_and_plans_the_new_ones(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    form = admin.get("/patients/P-1/edit").text
    assert input_value(form, "phase-0-time") == "10:00" and 'value="wed" checked' in form

    response = admin.post(
        "/patients/P-1/edit", {**P1_FORM, "phase-0-time": "15:00"}, follow_redirects=False
    )

    assert response.status_code == 303
    sessions = rows(engine, reminders, reminders.c.patient_id == ana, reminders.c.kind == "session")
    old = [r for r in sessions if r.plan_version == 1]
    new = [r for r in sessions if r.state == "pending"]
    assert old and {(r.state, r.skip_reason) for r in old} == {("skipped", "superseded")}
    assert new and {r.plan_version for r in new} == {2}
    live = rows(
        engine,
        appointment_table,
        appointment_table.c.patient_id == ana,
        appointment_table.c.status == "scheduled",
    )
    # Wed 25 Nov at 15:00 in New York is 20:00 UTC.
    assert datetime(2026, 11, 25, 20, 0, tzinfo=UTC) in {a.starts_at for a in live}
    [(action, detail)] = audit_actions(engine)
    assert action == "patient_updated"
    assert detail == {
        "sessions": [
            "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
            "mon wed fri at 15:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
        ]
    }
    assert "15:00" in admin.get("/patients/P-1").text


def test_saving_an_unchanged_form_writes_nothing(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())

    response = admin.post("/patients/P-1/edit", P1_FORM)

    assert "Nothing had changed" in response.text
    assert audit_actions(engine) == []


def test_a_new_phone_number_is_asked_for_consent_again(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())

    admin.post("/patients/P-1/edit", {**P1_FORM, "phone": "+16175550177"})

    assert patient(engine, "P-1").consent_state == "pending"
    last = rows(engine, consent_events, consent_events.c.patient_id == ana)[-1]
    assert (last.event, last.source, last.detail) == ("requested", "staff", "phone number changed")


def test_an_unknown_patient_is_not_found(admin: Admin) -> None:
    for path in ("/patients/P-404", "/patients/P-404/edit", "/patients/P-404/thread"):
        assert admin.get(path).status_code == 404, path
    for path in ("/patients/P-404/edit", "/patients/P-404/pause", "/patients/P-404/sessions"):
        assert admin.post(path, P1_FORM).status_code == 404, path


def session_rows(engine: Engine, patient_id: int, source: str) -> list[Any]:
    A = appointment_table
    return rows(engine, A, A.c.patient_id == patient_id, A.c.source == source)


def test_a_session_added_by_hand_gets_reminders_and_cancelling_it_skips_them(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())

    added = admin.post(
        "/patients/P-1/sessions",
        {"session_date": "2026-11-28", "session_time": "11:30"},
        follow_redirects=False,
    )

    assert added.status_code == 303
    [session] = session_rows(engine, ana, "manual")
    assert session.starts_at == datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    own = rows(engine, reminders, reminders.c.appointment_id == session.id)
    assert own and {r.state for r in own} == {"pending"}

    cancelled = admin.post(
        f"/sessions/{session.id}/mark",
        {"mark": "cancelled_by_clinic", "next": "/patients/P-1#sessions"},
        follow_redirects=False,
    )

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "/patients/P-1#sessions"
    [session] = session_rows(engine, ana, "manual")
    assert (session.status, session.attendance) == ("cancelled", "cancelled_by_clinic")
    own = rows(engine, reminders, reminders.c.appointment_id == session.id)
    assert {(r.state, r.skip_reason) for r in own} == {("skipped", "cancelled")}
    assert audit_actions(engine) == [
        ("session_added", {"starts_at": "2026-11-28 11:30 EST"}),
        (
            "session_marked",
            {"starts_at": "2026-11-28 11:30 EST", "mark": [None, "cancelled-by-clinic"]},
        ),
    ]


@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({"session_date": "28/11/2026", "session_time": "11:30"}, "session_date", "YYYY-MM-DD"),
        ({"session_date": "2026-11-28", "session_time": "25:00"}, "session_time", "HH:MM"),
        ({"session_date": "2026-11-20", "session_time": "11:30"}, "session_date", "passed"),
        ({"session_date": "2026-11-25", "session_time": "10:00"}, "session_time", "already"),
    ],
)
def test_a_bad_session_time_is_shown_on_the_patient_page(
    admin: Admin,
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    values: dict[str, str],
    field: str,
    error: str,
) -> None:
    ana = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())  # makes the plan's Wednesday 10:00 session

    response = admin.post("/patients/P-1/sessions", values)

    assert response.status_code == 422
    assert error in field_error(response.text, field)
    assert input_value(response.text, "session_date") == values["session_date"]
    assert session_rows(engine, ana, "manual") == []


def test_pausing_skips_pending_reminders_and_resuming_plans_them_again(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())

    paused = admin.post("/patients/P-1/pause", follow_redirects=False)

    assert paused.status_code == 303 and patient(engine, "P-1").paused
    mine = rows(engine, reminders, reminders.c.patient_id == ana, reminders.c.kind != "consent")
    assert mine and {(r.state, r.skip_reason) for r in mine} == {("skipped", "paused")}
    assert "Resume texts" in admin.get("/patients/P-1").text

    admin.post("/patients/P-1/resume")

    assert not patient(engine, "P-1").paused
    mine = rows(engine, reminders, reminders.c.patient_id == ana, reminders.c.kind != "consent")
    assert {r.state for r in mine} == {"pending"}
    assert [a for a, _ in audit_actions(engine)] == ["patient_paused", "patient_resumed"]


def upload(admin: Admin, content: bytes, name: str = "patients.csv") -> Any:
    admin.get("/patients/import")
    return admin.client.post(
        "/patients/import/preview",
        data={"csrf_token": admin.token},
        files={"file": (name, content, "text/csv")},
    )


CSV = (
    HEADER + "\n"
    "P-1,Ana,Torres,+16175550142,America/New_York,en,2026-11-01,"
    '"mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",08:30\n'
    "P-4,Dora,Lopez,+16175550150,,es,2026-12-01,mon at 09:00 for 3 weeks,\n"
    "P-5,Eli,,not a phone,,,2026-12-01,,\n"
    "P-6,Fay,,+16175550151,Mars/Base,,2026-12-01,,25:00\n"
).encode()


def test_the_import_preview_writes_nothing_and_shows_bad_rows_by_line(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(
        engine,
        settings,
        clock.now(),
        exercise_days="",
        exercise_time="",
        exercises="",
        pain_baseline="",
    )
    before = (len(rows(engine, patients)), len(rows(engine, reminders)))

    response = upload(admin, CSV)

    assert response.status_code == 200, response.text
    html = response.text
    bad = re.findall(r'<tr class="bad-row"><td>(\d+)</td><td>([a-z_]+)</td>', html)
    assert bad == [("4", "phone"), ("5", "timezone"), ("5", "foot_check_time")]
    assert "1 new, 0 changed, 1 unchanged" in html
    assert "Import 2 good rows" in html
    assert (len(rows(engine, patients)), len(rows(engine, reminders))) == before
    assert audit_actions(engine) == []


def test_confirming_the_import_writes_only_the_good_rows_and_one_audit_entry(
    admin: Admin, engine: Engine
) -> None:
    preview = upload(admin, CSV).text
    hidden = {
        "name": re.findall(r'name="name" value="([^"]*)"', preview)[0],
        "csv": re.findall(r'name="csv" value="([^"]*)"', preview),
    }

    response = admin.post("/patients/import", hidden)

    assert response.status_code == 200
    assert [p.external_id for p in rows(engine, patients)] == ["P-1", "P-4"]
    [(action, detail)] = audit_actions(engine)
    assert action == "patients_imported"
    assert detail == {
        "file": "patients.csv",
        "rows": 4,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rows_with_errors": 2,
    }
    assert "rows not imported" in response.text


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"patient,name\nP-1,Ana\n", "unknown columns in the header"),
        (HEADER.encode() + b"\nP-1,J\xf6rg,,+16175550142,,,2026-12-01,,\n", "is not UTF-8"),
        (b"", "is empty"),
        (HEADER.encode() + b"\nP-1,A\x00na,,+16175550142,,,2026-12-01,,\n", "NUL byte"),
        (b"x" * (2 * 1024 * 1024 + 1), "larger than 2 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_form_error(
    admin: Admin, engine: Engine, content: bytes, error: str
) -> None:
    response = upload(admin, content)

    assert response.status_code == 422
    assert error in response.text and 'role="alert"' in response.text
    assert rows(engine, patients) == []


def test_a_therapist_may_not_import(therapist: Admin) -> None:
    assert therapist.get("/patients/import").status_code == 403
    assert therapist.post("/patients/import/preview").status_code == 403
    assert therapist.post("/patients/import", {"csv": "eA=="}).status_code == 403


class Phone:
    """Ana's phone, texting the clinic through the signed Twilio webhook."""

    def __init__(self, admin: Admin) -> None:
        self.client = admin.client
        self.count = 0

    def text(self, body: str) -> None:
        self.count += 1
        params = {
            "From": "+16175550142",
            "To": "+16175550100",
            "Body": body,
            "MessageSid": f"SMreply{self.count:026d}",
        }
        signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/twilio/sms", params)
        response = self.client.post(
            "/twilio/sms",
            content=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        assert response.status_code == 200, response.text


def send_due(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, at: datetime
) -> None:
    plan_due(engine, settings, clock.now())
    clock.set(at)
    plan_due(engine, settings, clock.now())
    Dispatcher(engine, settings, clock, RecordingTransport(), renderer, "w").run()


def test_the_patient_page_shows_the_thread_calendar_pain_and_consent_history(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now())
    phone = Phone(admin)
    # Monday's foot check goes out at 08:30 New York time and is answered "all OK".
    send_due(engine, settings, clock, renderer, datetime(2026, 11, 23, 13, 31, tzinfo=UTC))
    phone.text("1")
    # Tuesday's foot check goes unanswered; Tuesday's exercises are done with pain 8.
    send_due(engine, settings, clock, renderer, datetime(2026, 11, 24, 13, 31, tzinfo=UTC))
    send_due(engine, settings, clock, renderer, datetime(2026, 11, 24, 22, 1, tzinfo=UTC))
    phone.text("DONE 8")
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # Tuesday's windows have closed
    phone.text("what is this?")
    clock.advance(timedelta(minutes=1))
    phone.text("STOP")

    page = admin.get("/patients/P-1").text

    directions = re.findall(r'data-direction="(in|out)"', page)
    assert directions.count("in") == 4 and directions[-2:] == ["in", "out"]
    assert (
        "Understood as: feet all OK" in page and "Understood as: exercises done, a symptom" in page
    )
    assert "Not understood: needs a person" in page  # "what is this?"
    assert "Understood as: unknown" not in page and "exercise_done" not in page
    assert "needs a look" in page
    states = dict(re.findall(r'title="(\w{3} \d\d \w{3}): ([^"]+)"', page))
    assert states["Mon 23 Nov"] == "answered: all OK"
    assert states["Tue 24 Nov"] == "missed (text sent, no answer)"
    assert states["Sun 22 Nov"] == "no text"
    assert len(states) == 30  # November, the month of the latest foot check
    assert "<desc>24 Nov: 8</desc>" in page  # the pain chart states its numbers
    assert "<title>baseline 2</title>" in page and "<title>escalates at 7</title>" in page
    assert "Pain reported after exercise" in page
    assert re.search(r"<td>opted out</td><td>sms</td><td>stop</td>", page)
    assert re.search(r"<td>requested</td><td>import</td>", page)
    assert "Open escalations" in page and 'href="/escalations"' in page


def test_the_thread_is_a_partial_the_page_refreshes_every_5_seconds(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    before = admin.get("/patients/P-1/thread").text
    assert 'id="thread"' in before and 'hx-trigger="every 5s [' in before
    assert 'hx-get="/patients/P-1/thread"' in before and "<html" not in before
    assert 'data-direction="in"' not in before

    Phone(admin).text("hello?")

    after = admin.get("/patients/P-1/thread").text
    assert re.search(r'data-direction="in">.*?hello\?', after, re.S)


def test_an_admin_can_go_from_a_patient_to_their_audit_history(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    page = admin.get("/patients/P-1").text
    assert 'href="/audit?patient=P-1"' in page
    assert admin.get("/audit?patient=P-1").status_code == 200


def test_staff_record_an_opt_out_the_patient_asked_for_in_person(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    patient_id = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())

    page = admin.post("/patients/P-1/opt-out", {"reason": "by phone\x00, to the front desk"})

    assert "Only the patient can opt back in" in page.text
    with engine.begin() as conn:
        person = conn.execute(select(patients).where(patients.c.id == patient_id)).one()
        history = conn.execute(
            select(consent_events.c.event, consent_events.c.source, consent_events.c.detail)
            .where(consent_events.c.patient_id == patient_id)
            .order_by(consent_events.c.id)
        ).all()
        pending = conn.execute(
            select(reminders.c.id).where(
                reminders.c.patient_id == patient_id, reminders.c.state == "pending"
            )
        ).all()
        actions = conn.execute(select(audit_events.c.action, audit_events.c.username)).all()
    assert person.opted_out
    assert history[-1] == ("opted_out", "staff", "admin: by phone, to the front desk")
    assert pending == []
    assert ("patient_opted_out", "admin") in actions
    again = admin.post("/patients/P-1/opt-out", {"reason": ""})
    assert "already opted out" in again.text
    assert "The patient asked us to stop texting" not in again.text


def test_the_patient_page_header_gives_their_phone_as_a_link_to_call(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())

    page = admin.get("/patients/P-1").text

    header = re.search(r'<section class="card patient-header".*?</section>', page, re.S)
    assert header is not None
    assert '<a class="phone" href="tel:+16175550142">(617) 555-0142</a>' in header.group(0)


def thread_of(html: str) -> str:
    found = re.search(r'<div id="thread".*?</ol>', html, re.S)
    assert found, "no thread"
    return found.group(0)


def thread_texts(html: str) -> list[str]:
    return re.findall(r'data-direction="(?:in|out)"', thread_of(html))


def test_the_page_shows_the_latest_20_texts_and_a_link_to_all_of_them(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    phone = Phone(admin)
    for n in range(15):  # each answered: 30 texts both ways
        clock.advance(timedelta(minutes=10))
        phone.text(f"question {n}?")

    page = admin.get("/patients/P-1").text
    everything = admin.get("/patients/P-1?all=1").text
    polled = admin.get("/patients/P-1/thread?all=1").text

    latest = thread_of(page)
    assert len(thread_texts(page)) == 20 and "question 14?" in latest
    assert "question 4?" not in latest
    assert 'href="/patients/P-1?all=1#conversation">Show all texts</a>' in page
    assert len(thread_texts(everything)) > 20 and "question 0?" in thread_of(everything)
    assert "Show all texts" not in everything
    assert 'hx-get="/patients/P-1/thread?all=1"' in polled and "question 0?" in polled


def test_needs_doing_lists_open_escalations_replies_to_review_and_failed_texts(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now())
    calm = admin.get("/patients/P-1").text
    assert "Nothing: no open escalations, no replies to review, no failed texts." in calm

    phone = Phone(admin)
    send_due(engine, settings, clock, renderer, datetime(2026, 11, 23, 13, 31, tzinfo=UTC))
    phone.text("2")
    phone.text("1")  # an open sore: urgent
    phone.text("can I come Thursday at 3 instead?")
    with engine.begin() as conn:
        conn.execute(
            update(outbound_messages)
            .where(outbound_messages.c.template == "foot_check")
            .values(status="undelivered", error_code="30005")
        )

    page = admin.get("/patients/P-1").text

    card = re.search(r'<section class="card needs-doing".*?</section>', page, re.S)
    assert card is not None
    html = card.group(0)
    assert re.search(r'<a href="/escalations/\d+">open sore, bleeding or pus</a>', html)
    assert "can I come Thursday at 3 instead?" in html and 'action="/replies/' in html
    assert "foot check" in html and "30005: unknown number" in html


def test_an_opted_out_patient_has_one_status_in_words_and_no_pause_button(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    active = admin.get("/patients/P-1").text
    assert "Active: reminders going out" in active and "/patients/P-1/pause" in active
    assert "no end date" in active and "open-ended" not in active

    Phone(admin).text("STOP")
    page = admin.get("/patients/P-1").text

    header = re.search(r'<section class="card patient-header".*?</section>', page, re.S)
    assert header is not None
    assert "Opted out on 23 Nov 2026: no texts" in header.group(0)
    assert "Consent" not in header.group(0) and "granted" not in header.group(0)
    assert "/patients/P-1/pause" not in page and "Pause texts" not in page


def calendar_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'title="(\w{3} \d\d \w{3}): ([^"]+)"', html))


def test_the_calendar_moves_by_month_and_opens_on_the_latest_foot_checks(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now())
    send_due(engine, settings, clock, renderer, datetime(2026, 11, 23, 13, 31, tzinfo=UTC))
    Phone(admin).text("1")
    clock.set(datetime(2027, 1, 20, 15, 0, tzinfo=UTC))  # no foot check since November

    opened = admin.get("/patients/P-1").text
    october = admin.get("/patients/P-1?month=2026-10").text
    january = admin.get("/patients/P-1?month=2027-01").text

    assert "Foot checks, November 2026" in opened
    assert calendar_states(opened)["Mon 23 Nov"] == "answered: all OK"
    assert 'href="/patients/P-1?month=2026-10#foot-checks" rel="prev">← October 2026' in opened
    assert 'href="/patients/P-1?month=2026-12#foot-checks" rel="next">December 2026 →' in opened
    assert 'href="/patients/P-1?month=2027-01#foot-checks">This month' in opened
    assert "Foot checks, October 2026" in october and len(calendar_states(october)) == 31
    assert set(calendar_states(october).values()) == {"no text"}
    assert 'rel="next"' not in january  # nothing to see after this month
    assert calendar_states(january)["Thu 21 Jan"] == "not yet"


def test_a_month_that_is_not_one_is_said_and_the_default_month_shown(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())

    page = admin.get("/patients/P-1", params={"month": "2026-13"})

    assert page.status_code == 200
    assert "Months are written YYYY-MM (2026-10); not &#39;2026-13&#39;." in page.text
    assert "Foot checks, November 2026" in page.text


@pytest.mark.parametrize(
    "query",
    [
        {"month": "0001-01"},
        {"month": "9999-12"},
        {"month": "a\x00b"},
        {"month": "2026-1" * 500},
        {"all": "maybe"},
        {"all": "1", "month": "2026-11"},
    ],
)
def test_odd_months_and_all_flags_never_fail_the_page(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, query: dict[str, str]
) -> None:
    enrol(engine, settings, clock.now())

    assert admin.get("/patients/P-1", params=query).status_code in (200, 422)
    assert admin.get("/patients/P-1/thread", params=query).status_code in (200, 422)
