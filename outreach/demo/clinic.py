"""The demo's clinic: three patients as a CSV would list them, the simulated week's dates, and
the script each patient answers from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from outreach.rules.vocabulary import Attendance

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
        # She could come at short notice on a Tuesday: the waitlist offers her freed slots.
        "waitlist_days": "tue",
        "waitlist_hours": "09:00-18:00",
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
    ("DEMO-1", "slot_offer"): (10, "YES"),  # Luis's freed Tuesday slot
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
    # Grace misses Monday's session: the no-show text, and she asks to rebook.
    ("DEMO-3", "no_show"): (20, "R"),
    # His answer to the front desk's text (below) is for a person: it waits in the inbox.
    ("DEMO-2", "staff:Wed"): (12, "el viernes a las 4 me va bien, gracias"),
}

# The front desk answers from the inbox: (patient, what they wrote) -> (minutes later, text).
FRONT_DESK = ("frontdesk", "Marta, front desk")
STAFF_ANSWERS: dict[tuple[str, str], tuple[int, str]] = {
    ("DEMO-2", "R"): (
        35,
        "Hola Luis, soy Marta de recepción. ¿Le va bien el viernes a las 16:00 en lugar "
        "del jueves?",
    ),
    ("DEMO-2", "a que hora abren el sabado"): (20, "Hola Luis, el sábado abrimos de 9:00 a 13:00."),
}


# The front desk marks each session an hour after it begins: attended, unless listed here
# by (patient, local weekday).
MARKS: dict[tuple[str, str], Attendance] = {("DEMO-3", "Mon"): Attendance.NO_SHOW}

# Patients who phone to cancel: (when, patient, the local weekday of their next session).
CALLS: list[tuple[datetime, str, str]] = [
    # Monday at noon in Chicago, Luis calls off Tuesday's session: a day's notice, so the
    # waitlist is offered the slot.
    (datetime(2026, 10, 26, 17, 0, tzinfo=UTC), "DEMO-2", "Tue"),
]

# The front desk moves a session once the patient agrees a new time in the inbox:
# (patient, what they wrote) -> (minutes later, weekday of the session, new weekday, new time).
STAFF_MOVES: dict[tuple[str, str], tuple[int, str, str, time]] = {
    ("DEMO-2", "el viernes a las 4 me va bien, gracias"): (10, "Thu", "Fri", time(16, 0)),
}


def script(patient: str, prompt: str, weekday: str) -> tuple[int, str] | None:
    """A weekday-specific answer wins over the patient's usual one."""
    specific = (patient, f"{prompt}:{weekday}")
    if specific in ANSWERS:
        return ANSWERS[specific]
    return ANSWERS.get((patient, prompt))
