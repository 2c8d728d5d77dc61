"""Enrolment: checking one patient's values, reading a CSV file, and importing it again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, select

from outreach.config import Settings
from outreach.db import engine as db
from outreach.db.tables import CarePlan, ConsentEvent, Patient, PlanPhase, Reminder
from outreach.patients.csvfile import CsvFormatError, read_csv
from outreach.patients.enrolment import PatientSpec, validate_patient
from outreach.patients.fields import FieldError
from outreach.patients.upsert import import_file, import_specs
from outreach.planning import planner
from outreach.rules.localtime import QuietHours
from outreach.rules.schedule import Phase

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "patients.csv"
EXAMPLE_ROWS = 6
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
TABLES = ("patient", "careplan", "planphase", "consentevent", "reminder", "appointment")
HEADER = "patient_id,first_name,phone,plan_start"


def good_row(**changes: str) -> dict[str, str]:
    row = {
        "patient_id": "RPT-1",
        "first_name": "Ana",
        "last_name": "Torres",
        "phone": "+12125550142",
        "timezone": "America/New_York",
        "language": "en",
        "plan_start": "2026-03-02",
        "plan_end": "",
        "sessions": "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
        "foot_check_time": "08:30",
        "exercise_days": "tue thu sat",
        "exercise_time": "17:00",
        "exercises": "seated calf stretch; heel raises",
        "pain_baseline": "2",
    }
    row.update(changes)
    return row


def valid(settings: Settings, **changes: str) -> PatientSpec:
    result = validate_patient(good_row(**changes), settings, line=2)
    assert isinstance(result, PatientSpec), [str(e) for e in result]
    return result


def problems(settings: Settings, **changes: str) -> list[tuple[str, str]]:
    result = validate_patient(good_row(**changes), settings, line=2)
    assert isinstance(result, list), "expected the row to be rejected"
    return [(e.column, e.reason) for e in result]


def write(tmp_path: Path, text: str, name: str = "patients.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def dump(engine: Engine) -> dict[str, Sequence[Any]]:
    with engine.connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY id").all() for t in TABLES}


def patient_id(engine: Engine, external_id: str) -> int:
    with db.session_scope(engine) as session:
        found = session.exec(select(Patient.id).where(Patient.external_id == external_id)).one()
    assert found is not None
    return int(found)


def reminders_of(engine: Engine, pid: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Reminder.kind, Reminder.state, Reminder.skip_reason).where(
                    Reminder.patient_id == pid
                )
            ).all()
        )


# ---- one patient's values ---------------------------------------------------------------


BAD_VALUES = [
    ("patient_id", "", "must not be blank"),
    ("patient_id", "RPT 1", "must be 1 to 64 letters"),
    ("patient_id", "x" * 65, "must be 1 to 64 letters"),
    ("first_name", "", "must not be blank"),
    ("first_name", "A" * 81, "the limit is 80"),
    ("first_name", "Ana\nMaria", "must be on one line"),
    ("last_name", "B" * 81, "the limit is 80"),
    ("phone", "", "must not be blank"),
    ("phone", "555-12", "is not a valid phone number"),
    ("phone", "call me", "is not a phone number"),
    ("phone", "+15555550142", "is not a valid phone number"),
    ("phone", "+442079460000", "is a landline number"),
    ("phone", "+19005550142", "cannot receive texts"),
    ("timezone", "Mars/Olympus", "is not an IANA timezone"),
    ("timezone", "America", "is not an IANA timezone"),
    ("timezone", "america/new_york", "did you mean 'America/New_York'?"),
    ("language", "fr", "must be en (English) or es (Spanish)"),
    ("plan_start", "", "must not be blank"),
    ("plan_start", "03/02/2026", "must be a date written YYYY-MM-DD"),
    ("plan_start", "2026-02-30", "is not a date on the calendar"),
    ("plan_end", "2026-03-01", "is before plan_start (2026-03-02)"),
    ("plan_end", "soon", "must be a date written YYYY-MM-DD"),
    ("sessions", "mon wed fri at 10:00", "must look like 'mon wed fri at 10:00 for 4 weeks'"),
    ("sessions", "mon funday at 10:00 for 4 weeks", "'funday' is not a weekday"),
    ("sessions", "mon at 25:00 for 2 weeks", "'25:00' is not a 24-hour time"),
    ("sessions", "mon at 10:00 for 53 weeks", "the weeks must be 1 to 52"),
    ("sessions", "mon at 10:00 for 0 weeks", "the weeks must be 1 to 52"),
    ("sessions", "mon at 10:00 for two weeks", "the weeks must be 1 to 52"),
    ("foot_check_time", "22:00", "is inside quiet hours (21:00-08:00)"),
    ("foot_check_time", "07:59", "pick a time from 08:00 to 20:59"),
    ("foot_check_time", "noon", "must be a 24-hour time written HH:MM"),
    ("foot_check_time", "24:00", "must be a 24-hour time written HH:MM"),
    ("exercise_days", "funday", "'funday' is not a weekday"),
    ("exercise_time", "21:00", "is inside quiet hours"),
    ("exercise_time", "5pm", "must be a 24-hour time written HH:MM"),
    ("exercises", "; ;", "lists no exercise names"),
    ("exercises", ";".join(f"move {n}" for n in range(11)), "lists 11 exercises; the limit is 10"),
    ("exercises", "x" * 41, "is 41 characters long; the limit is 40"),
    ("exercises", "neuropathy stretches", "names a diagnosis ('neuropathy')"),
    ("exercises", "ejercicios para Diabéticos; Neuropatía", "names a diagnosis ('Neuropatía')"),
    ("pain_baseline", "11", "must be a whole number from 0 to 10"),
    ("pain_baseline", "-1", "must be a whole number from 0 to 10"),
    ("pain_baseline", "3.5", "must be a whole number from 0 to 10"),
    ("pain_baseline", "²", "must be a whole number from 0 to 10"),
    ("quiet_hours", "late", "must look like '21:00-08:00'"),
    ("first_name", "Ana\x00", "must not contain control characters"),
    ("last_name", "To\x1brres", "must not contain control characters"),
    ("exercises", "heel\x07 raises", "must not contain control characters"),
    ("patient_id", "New", "is a word the admin pages use"),
    ("patient_id", "import", "is a word the admin pages use"),
    ("quiet_hours", "22:00-07:00", "cover at least 21:00-08:00"),
    ("quiet_hours", "08:00-21:00", "cover at least 21:00-08:00"),
]


def test_a_patients_quiet_hours_must_cover_the_clinics(settings: Settings) -> None:
    clinic = replace(settings, quiet_hours=QuietHours(time(20), time(9)))
    found = problems(clinic, quiet_hours="21:00-08:00")
    assert ("quiet_hours", "must cover the clinic's quiet hours (20:00-09:00) as well") in found


def test_send_times_are_checked_against_the_patients_own_quiet_hours(settings: Settings) -> None:
    found = problems(settings, quiet_hours="19:00-09:00", foot_check_time="08:30")
    assert any(c == "foot_check_time" and "quiet hours (19:00-09:00)" in r for c, r in found)


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
def test_it_rejects_a_bad_value_naming_the_column_and_the_reason(
    settings: Settings, column: str, value: str, reason: str
) -> None:
    found = problems(settings, **{column: value})
    assert any(c == column and reason in r for c, r in found), found


GOOD_VALUES: list[tuple[dict[str, str], str, Any]] = [
    ({"patient_id": "a.b-C_9"}, "external_id", "a.b-C_9"),
    ({"first_name": "  Ana  "}, "first_name", "Ana"),
    ({"last_name": ""}, "last_name", ""),
    ({"phone": "(212) 555-0142"}, "phone", "+12125550142"),
    ({"phone": "212.555.0142"}, "phone", "+12125550142"),
    ({"phone": "+34 612 34 56 78"}, "phone", "+34612345678"),
    ({"timezone": ""}, "timezone", "America/New_York"),
    ({"timezone": "America/Phoenix"}, "timezone", "America/Phoenix"),
    ({"language": ""}, "language", "en"),
    ({"language": "English"}, "language", "en"),
    ({"language": "SPANISH"}, "language", "es"),
    ({"language": "Español"}, "language", "es"),
    ({"language": "espanol"}, "language", "es"),
    ({"language": "ES"}, "language", "es"),
    ({"pain_baseline": ""}, "pain_baseline", None),
    ({"pain_baseline": "0"}, "pain_baseline", 0),
    ({"pain_baseline": "10"}, "pain_baseline", 10),
    ({"exercises": " calf stretch ;heel raises; "}, "exercises", ("calf stretch", "heel raises")),
    ({"quiet_hours": ""}, "quiet_hours", None),
    ({"quiet_hours": "21:00-08:00"}, "quiet_hours", None),  # the clinic's own: nothing stored
    ({"quiet_hours": "20:30 - 8:00"}, "quiet_hours", "20:30-08:00"),
    (
        {"exercise_days": "", "exercise_time": "", "exercises": ""},
        "exercises",
        (),
    ),
]


@pytest.mark.parametrize(("changes", "attribute", "expected"), GOOD_VALUES)
def test_it_accepts_and_normalises_a_good_value(
    settings: Settings, changes: dict[str, str], attribute: str, expected: Any
) -> None:
    assert getattr(valid(settings, **changes), attribute) == expected


GOOD_PLANS: list[tuple[dict[str, str], str, Any]] = [
    ({"plan_end": "2026-03-02"}, "end_date", datetime(2026, 3, 2).date()),
    ({"plan_end": ""}, "end_date", None),
    ({"sessions": ""}, "phases", ()),
    (
        {"sessions": "MON Wed at 9:30 for 1 Week;"},
        "phases",
        (Phase((0, 2), time(9, 30), 1),),
    ),
    (
        {"sessions": "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks"},
        "phases",
        (Phase((0, 2, 4), time(10), 4), Phase((1, 3), time(10), 2)),
    ),
    ({"sessions": "sat at 09:00 for 52 weeks"}, "phases", (Phase((5,), time(9), 52),)),
    ({"foot_check_time": "08:00"}, "foot_check_time", time(8, 0)),
    ({"foot_check_time": "20:59"}, "foot_check_time", time(20, 59)),
    ({"foot_check_time": ""}, "foot_check_time", None),
    ({"exercise_days": "Mon, Wed/Fri"}, "exercise_days", (0, 2, 4)),
]


@pytest.mark.parametrize(("changes", "attribute", "expected"), GOOD_PLANS)
def test_it_builds_the_plan_from_good_values(
    settings: Settings, changes: dict[str, str], attribute: str, expected: Any
) -> None:
    assert getattr(valid(settings, **changes).plan, attribute) == expected


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"exercise_time": ""}, "exercise_time", "must not be blank when exercise_days is set"),
        ({"exercises": ""}, "exercises", "must not be blank when exercise_days is set"),
        ({"exercise_days": ""}, "exercise_days", "must not be blank when exercise_time"),
        (
            {"exercise_days": "", "exercise_time": ""},
            "exercise_days",
            "must not be blank when exercise_time or exercises is set",
        ),
    ],
)
def test_it_requires_exercise_days_time_and_names_together(
    settings: Settings, changes: dict[str, str], column: str, reason: str
) -> None:
    assert any(c == column and reason in r for c, r in problems(settings, **changes))


def test_it_reports_every_problem_in_a_row_not_just_the_first(settings: Settings) -> None:
    found = problems(
        settings, phone="555-12", language="fr", plan_start="tomorrow", pain_baseline="99"
    )
    assert [c for c, _ in found] == ["phone", "language", "plan_start", "pain_baseline"]


def test_it_reports_each_bad_phase_with_its_own_text(settings: Settings) -> None:
    result = validate_patient(
        good_row(sessions="mon at 10:00 for 2 weeks; fun at 10:00 for 2 weeks; tue at 7"),
        settings,
    )
    assert isinstance(result, list)
    assert [e.value for e in result] == ["fun at 10:00 for 2 weeks", "tue at 7"]


def test_it_treats_missing_keys_as_blank_values(settings: Settings) -> None:
    result = validate_patient(
        {
            "patient_id": "P1",
            "first_name": "Ana",
            "phone": "+12125550142",
            "plan_start": "2026-03-02",
        },
        settings,
    )
    assert isinstance(result, PatientSpec)
    assert result.language == "en" and result.plan.phases == () and result.pain_baseline is None


def test_it_reads_numbers_without_a_plus_in_the_clinic_country(settings: Settings) -> None:
    spain = Settings(clinic_phone="+34612345678")
    assert valid(settings, phone="212 555 0142").phone == "+12125550142"
    assert valid(spain, phone="612 34 56 79").phone == "+34612345679"


def test_it_names_the_clinic_quiet_hours_and_the_allowed_window(settings: Settings) -> None:
    wide = Settings(quiet_hours=QuietHours(time(20), time(9)))
    [(column, reason)] = problems(wide, foot_check_time="20:15")
    assert column == "foot_check_time"
    assert reason == (
        "is inside quiet hours (20:00-09:00), when no texts are sent; "
        "pick a time from 09:00 to 19:59"
    )


def test_a_field_error_reads_as_a_sentence() -> None:
    error = FieldError(7, "phone", "555-12", "is not a valid phone number")
    assert str(error) == "line 7, phone: '555-12' is not a valid phone number"
    assert str(FieldError(3, "first_name", "", "must not be blank")) == (
        "line 3, first_name: must not be blank"
    )
    assert str(FieldError(0, "language", "fr", "must be en")) == "language: 'fr' must be en"


# ---- reading a file ---------------------------------------------------------------------


def test_the_example_file_is_all_good_rows(settings: Settings) -> None:
    specs, errors = read_csv(EXAMPLE, settings)
    assert errors == []
    assert len(specs) == EXAMPLE_ROWS
    languages = {spec.language for _, spec in specs}
    zones = {spec.timezone for _, spec in specs}
    assert languages == {"en", "es"} and len(zones) >= 4
    assert any(len(spec.plan.phases) > 1 for _, spec in specs)
    assert any(spec.plan.phases == () for _, spec in specs)


def test_it_reports_bad_rows_by_physical_line_and_imports_the_good_ones(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    path = write(
        tmp_path,
        "patient_id,first_name,phone,plan_start,exercise_days,exercise_time,exercises\n"
        "P1,Ana,+12125550142,2026-03-02,,,\n"
        'P2,Ben,+12125550143,2026-03-02,mon wed,17:00,"calf stretch;\n'
        'heel raises"\n'
        "P3,Cy,555-12,2026-03-02,,,\n"
        "\n"
        "P4,Di,+12125550144,2026-13-01,,,\n"
        "P5,Ed,+12125550145,2026-03-02,,,\n",
    )
    report = import_file(engine, settings, path, NOW)
    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (5, "phone", "555-12"),
        (7, "plan_start", "2026-13-01"),
    ]
    assert (report.created, report.total_rows) == (3, 5)
    with db.session_scope(engine) as session:
        stored = session.exec(select(Patient.external_id).order_by(Patient.external_id)).all()
        exercises = session.exec(select(CarePlan.exercises).where(CarePlan.exercises != "")).one()
    assert stored == ["P1", "P2", "P5"]
    assert exercises == "calf stretch\nheel raises"


def test_a_row_spanning_lines_is_reported_at_the_line_it_starts_on(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(
        tmp_path,
        f"{HEADER},last_name\n"
        'P1,Ana,+12125550142,2026-03-02,"Torres\nGarcía"\n'
        "P2,Ben,nope,2026-03-02,Ng\n",
    )
    _, errors = read_csv(path, settings)
    assert [(e.line, e.column) for e in errors] == [(2, "last_name"), (4, "phone")]


def test_header_names_ignore_case_spaces_and_order(tmp_path: Path, settings: Settings) -> None:
    path = write(
        tmp_path, " Plan_Start ,PHONE, first_name ,Patient_ID\n2026-03-02,+12125550142,Ana,P1\n"
    )
    specs, errors = read_csv(path, settings)
    assert errors == [] and specs[0][1].external_id == "P1"


def test_it_accepts_the_byte_order_mark_excel_writes(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(f"{HEADER}\r\nP1,Ramón,+12125550142,2026-03-02\r\n".encode("utf-8-sig"))
    specs, errors = read_csv(path, settings)
    assert errors == [] and specs[0][1].first_name == "Ramón"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        (f"{HEADER},phone_number\n", "unknown columns in the header: 'phone_number'"),
        (f"{HEADER},phone_number\n", "(did you mean 'phone'?)"),
        (f"{HEADER},shoe_size\n", "'shoe_size'; the columns are patient_id"),
        ("patient_id,first_name,plan_start\n", "lacks required columns: phone"),
        ("first_name,last_name\n", "lacks required columns: patient_id, phone, plan_start"),
        (f"{HEADER},Phone\n", "names these columns twice: phone"),
    ],
)
def test_it_rejects_a_bad_header_for_the_whole_file(
    tmp_path: Path, settings: Settings, content: str, message: str
) -> None:
    with pytest.raises(CsvFormatError) as caught:
        read_csv(write(tmp_path, content), settings)
    assert message in str(caught.value)


def test_it_explains_a_file_that_is_not_utf8(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\nP1,Ramón,+12125550142,2026-03-02\n".encode("latin-1"))
    with pytest.raises(CsvFormatError) as caught:
        read_csv(path, settings)
    assert "is not UTF-8 text (line 2 has the byte 0xf3)" in str(caught.value)
    assert "CSV UTF-8" in str(caught.value)


def test_it_explains_a_file_that_cannot_be_read(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(CsvFormatError, match="cannot read"):
        read_csv(tmp_path / "missing.csv", settings)


def test_it_ignores_blank_lines_and_empty_trailing_columns(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(tmp_path, f"{HEADER},,\n\n,,,,,\nP1,Ana,+12125550142,2026-03-02,,\n\n")
    specs, errors = read_csv(path, settings)
    assert errors == [] and [line for line, _ in specs] == [4]


def test_it_rejects_a_value_under_a_column_with_no_name(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path, f"{HEADER}\nP1,Ana,+12125550142,2026-03-02,surprise\n")
    specs, errors = read_csv(path, settings)
    assert specs == []
    assert [str(e) for e in errors] == ["line 2, column 5: 'surprise' has no header name"]


def test_it_rejects_a_patient_id_repeated_later_in_the_file(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\nP1,Ana,+12125550142,2026-03-02\nP2,Ben,+12125550143,2026-03-02\n"
        "P1,Ana,+12125550144,2026-03-02\n",
    )
    specs, errors = read_csv(path, settings)
    assert [line for line, _ in specs] == [2, 3]
    assert [str(e) for e in errors] == [
        "line 4, patient_id: 'P1' appears more than once in the file (first on line 2)"
    ]


def test_it_rejects_a_phone_already_used_by_another_patient_in_the_file(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(
        tmp_path, f"{HEADER}\nP1,Ana,+12125550142,2026-03-02\nP2,Ben,(212) 555-0142,2026-03-02\n"
    )
    specs, errors = read_csv(path, settings)
    assert [line for line, _ in specs] == [2]
    assert [str(e) for e in errors] == [
        "line 3, phone: '(212) 555-0142' is already the phone of patient P1 (line 2)"
    ]


# ---- importing --------------------------------------------------------------------------


def test_a_new_patient_gets_a_plan_a_consent_request_and_one_pending_consent_text(
    settings: Settings, engine: Engine
) -> None:
    report = import_file(engine, settings, EXAMPLE, NOW)
    assert (report.created, report.updated, report.unchanged, report.errors) == (6, 0, 0, [])
    pid = patient_id(engine, "RPT-1001")
    with db.session_scope(engine) as session:
        patient = session.get(Patient, pid)
        plan = session.exec(select(CarePlan).where(CarePlan.patient_id == pid)).one()
        phases = session.exec(
            select(PlanPhase).where(PlanPhase.plan_id == plan.id).order_by(col(PlanPhase.seq))
        ).all()
        events = session.exec(select(ConsentEvent).where(ConsentEvent.patient_id == pid)).all()
    assert patient is not None
    assert (patient.consent_state, patient.opted_out, patient.created_at) == ("pending", False, NOW)
    assert (plan.version, plan.exercise_days, plan.foot_check_time) == (
        1,
        "tue,thu,sat",
        time(8, 30),
    )
    assert plan.exercises == "seated calf stretch\nheel raises at the counter\nankle circles"
    assert [(p.seq, p.weekdays, p.weeks) for p in phases] == [
        (0, "mon,wed,fri", 4),
        (1, "tue,thu", 2),
    ]
    assert [(e.event, e.source, e.at) for e in events] == [("requested", "import", NOW)]
    assert reminders_of(engine, pid) == [("consent", "pending", None)]
    with engine.connect() as conn:
        kinds = conn.exec_driver_sql("SELECT kind, state, count(*) FROM reminder GROUP BY 1, 2")
        assert kinds.all() == [("consent", "pending", EXAMPLE_ROWS)]


def test_reimporting_the_same_file_changes_nothing(settings: Settings, engine: Engine) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    before = dump(engine)
    report = import_file(engine, settings, EXAMPLE, LATER)
    assert (report.created, report.updated, report.unchanged) == (0, 0, EXAMPLE_ROWS)
    assert report.errors == [] and report.total_rows == EXAMPLE_ROWS
    assert dump(engine) == before


def test_it_never_touches_consent_or_opt_out_on_import(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    with engine.begin() as conn:
        conn.execute(update(Patient).values(consent_state="granted", opted_out=True))
    edited = EXAMPLE.read_text(encoding="utf-8").replace("Margaret", "Maggie")
    import_file(engine, settings, write(tmp_path, edited), LATER)
    with db.session_scope(engine) as session:
        patients = session.exec(select(Patient)).all()
        events = session.exec(select(ConsentEvent)).all()
    assert {(p.consent_state, p.opted_out) for p in patients} == {("granted", True)}
    assert len(events) == EXAMPLE_ROWS


def granted_and_planned(engine: Engine, settings: Settings) -> None:
    """Every patient said YES and the planner has made their reminders."""
    with engine.begin() as conn:
        conn.execute(update(Patient).values(consent_state="granted"))
    planner.plan_due(engine, settings, NOW)


def test_an_edited_plan_supersedes_the_patients_pending_reminders(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    granted_and_planned(engine, settings)
    pid, other = patient_id(engine, "RPT-1001"), patient_id(engine, "RPT-1002")
    before_other = reminders_of(engine, other)
    assert ("foot_check", "pending", None) in reminders_of(engine, pid)
    edited = EXAMPLE.read_text(encoding="utf-8").replace(
        "2027-01-22,mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks,08:30",
        "2027-01-22,mon wed fri at 11:00 for 3 weeks; tue thu at 11:00 for 3 weeks,09:00",
    )
    report = import_file(engine, settings, write(tmp_path, edited), LATER)
    assert (report.updated, report.unchanged) == (1, EXAMPLE_ROWS - 1)
    after = reminders_of(engine, pid)
    assert ("consent", "pending", None) in after
    plan_made = [(state, reason) for kind, state, reason in after if kind != "consent"]
    assert plan_made and set(plan_made) == {("skipped", "superseded")}
    assert reminders_of(engine, other) == before_other
    with db.session_scope(engine) as session:
        plan = session.exec(select(CarePlan).where(CarePlan.patient_id == pid)).one()
        phases = session.exec(
            select(PlanPhase).where(PlanPhase.plan_id == plan.id).order_by(col(PlanPhase.seq))
        ).all()
        patient = session.get(Patient, pid)
    assert (plan.version, plan.planned_until, plan.foot_check_time) == (2, None, time(9))
    assert [(p.seq, p.session_time, p.weeks) for p in phases] == [
        (0, time(11), 3),
        (1, time(11), 3),
    ]
    assert patient is not None and patient.updated_at == LATER


def test_a_changed_timezone_counts_as_a_plan_change(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    granted_and_planned(engine, settings)
    pid = patient_id(engine, "RPT-1003")
    edited = EXAMPLE.read_text(encoding="utf-8").replace("America/Los_Angeles", "America/Denver")
    report = import_file(engine, settings, write(tmp_path, edited), LATER)
    assert report.updated == 1
    with db.session_scope(engine) as session:
        plan = session.exec(select(CarePlan).where(CarePlan.patient_id == pid)).one()
        patient = session.get(Patient, pid)
    assert patient is not None and patient.timezone == "America/Denver"
    assert plan.version == 2
    assert all(
        state != "pending" or kind == "consent" for kind, state, _ in reminders_of(engine, pid)
    )


def test_a_changed_name_updates_the_patient_but_leaves_the_plan_alone(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    granted_and_planned(engine, settings)
    pid = patient_id(engine, "RPT-1001")
    reminders_before = reminders_of(engine, pid)
    edited = EXAMPLE.read_text(encoding="utf-8").replace("Margaret,Olsen", "Maggie,Olsen-Berg")
    report = import_file(engine, settings, write(tmp_path, edited), LATER)
    assert (report.updated, report.unchanged) == (1, EXAMPLE_ROWS - 1)
    with db.session_scope(engine) as session:
        patient = session.get(Patient, pid)
        plan = session.exec(select(CarePlan).where(CarePlan.patient_id == pid)).one()
    assert patient is not None
    assert (patient.first_name, patient.last_name, patient.updated_at) == (
        "Maggie",
        "Olsen-Berg",
        LATER,
    )
    assert (plan.version, plan.updated_at) == (1, NOW)
    assert reminders_of(engine, pid) == reminders_before


def test_it_rejects_a_phone_that_belongs_to_another_patient_in_the_database(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    import_file(engine, settings, EXAMPLE, NOW)
    path = write(tmp_path, f"{HEADER}\nNEW-1,Zoe,+1 212 555 0142,2026-03-02\n")
    before = dump(engine)
    report = import_file(engine, settings, path, LATER)
    assert [str(e) for e in report.errors] == [
        "line 2, phone: '+12125550142' is already the phone of patient RPT-1001"
    ]
    assert report.created == 0 and dump(engine) == before


def test_it_imports_in_chunks_and_reports_progress_after_each(
    settings: Settings, engine: Engine
) -> None:
    specs, _ = read_csv(EXAMPLE, settings)
    done: list[int] = []
    report = import_specs(engine, settings, specs, NOW, progress=done.append, chunk=4)
    assert done == [4, 2]
    assert report.created == EXAMPLE_ROWS


def test_a_patient_enrolled_without_a_plan_gets_one_on_import(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    with db.session_scope(engine) as session:
        session.add(
            Patient(
                external_id="P1",
                first_name="Ana",
                phone="+12125550142",
                timezone="America/New_York",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    path = write(
        tmp_path, f"{HEADER},sessions\nP1,Ana,+12125550142,2026-03-02,mon at 10:00 for 2 weeks\n"
    )
    report = import_file(engine, settings, path, LATER)
    assert (report.created, report.updated) == (0, 1)
    with db.session_scope(engine) as session:
        plan = session.exec(select(CarePlan)).one()
        phases = session.exec(select(PlanPhase)).all()
    assert (plan.version, plan.start_date.isoformat(), len(phases)) == (1, "2026-03-02", 1)


def test_it_imports_a_patient_id_only_once_per_import(settings: Settings, engine: Engine) -> None:
    [(line, spec)] = read_csv(EXAMPLE, settings)[0][:1]
    report = import_specs(engine, settings, [(line, spec), (9, spec)], NOW, chunk=1)
    assert report.created == 1
    assert [str(e) for e in report.errors] == [
        "line 9, patient_id: 'RPT-1001' appears more than once in this import"
    ]


def test_a_new_phone_number_is_asked_for_consent_before_anything_else_goes_to_it(
    engine: Engine, settings: Settings
) -> None:
    spec = validate_patient(good_row(), settings, 2)
    assert not isinstance(spec, list)
    import_specs(engine, settings, [(2, spec)], NOW)
    with engine.begin() as conn:
        conn.execute(update(Patient).values(consent_state="granted"))
    planner.plan_due(engine, settings, NOW)
    moved = validate_patient(good_row(phone="+12125550199"), settings, 2)
    assert not isinstance(moved, list)

    report = import_specs(engine, settings, [(2, moved)], LATER)

    assert report.updated == 1
    with db.session_scope(engine) as session:
        patient = session.exec(select(Patient)).one()
        assert (patient.phone, patient.consent_state) == ("+12125550199", "pending")
        pending = session.exec(select(Reminder).where(col(Reminder.state) == "pending")).all()
        assert [(r.kind, r.occurrence) for r in pending] == [("consent", "phone:+12125550199")]
        events = session.exec(select(ConsentEvent).order_by(col(ConsentEvent.id))).all()
        assert events[-1].detail == "phone number changed"
