"""The patient form's fields: real date and time inputs, a timezone picker with the common
US and Spanish zones first, placeholders that are examples, and after a failed save the
focus on the first field in error (the messages filter too)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, patients
from outreach.texts.render import Renderer
from tests.support.admin import Admin, admin_client
from tests.support.patients import enrol
from tests.web.admin.test_admin_patients import NEW, P1_FORM


@pytest.fixture
def admin(admin: Admin) -> Admin:
    admin.get("/patients")
    return admin


def tag(html: str, name: str) -> str:
    """The opening tag of the form control named `name`."""
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert found, f"no control named {name}"
    return found[0]


def focused(html: str) -> list[str]:
    """The ids of the controls with autofocus (a page may have at most one)."""
    return re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"[^>]*\bautofocus', html)


def zone_options(html: str) -> list[tuple[str, str]]:
    """(optgroup label, value) of each timezone option, in order."""
    select_html = re.search(r'<select id="f-timezone".*?</select>', html, re.S)
    assert select_html
    found, group = [], ""
    for part in re.finditer(r'<optgroup label="([^"]*)">|<option value="([^"]*)"', select_html[0]):
        if part[1] is not None:
            group = part[1]
        else:
            found.append((group, part[2]))
    return found


def test_dates_and_times_are_real_date_and_time_inputs(admin: Admin) -> None:
    page = admin.get("/patients/new").text
    for name in ("plan_start", "plan_end"):
        assert 'type="date"' in tag(page, name), name
    for name in ("foot_check_time", "exercise_time", "phase-0-time"):
        assert 'type="time"' in tag(page, name), name
    assert focused(page) == []  # nothing is wrong yet: the page opens as usual


def test_the_stored_values_fill_the_date_and_time_inputs_as_browsers_read_them(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    page = admin.get("/patients/P-1/edit").text
    assert 'value="2026-11-01"' in tag(page, "plan_start")
    assert 'value="08:30"' in tag(page, "foot_check_time")
    assert 'value="10:00"' in tag(page, "phase-0-time")


def test_the_timezone_picker_lists_the_common_zones_first_then_every_place(
    admin: Admin, settings: Settings
) -> None:
    page = admin.get("/patients/new").text
    options = zone_options(page)
    assert options[0] == ("", "")  # blank: the clinic's own
    common = [value for group, value in options if group == "Common"]
    assert common[:5] == [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
    ]
    assert {"Europe/Madrid", "Atlantic/Canary", "Pacific/Honolulu"} <= set(common)
    everywhere = [value for group, value in options if group == "Everywhere else"]
    assert "Asia/Tokyo" in everywhere and "Europe/Madrid" not in everywhere
    assert not any(value.startswith(("US/", "Etc/")) for value in everywhere)
    # A new patient starts in the clinic's zone.
    assert f'<option value="{settings.clinic_timezone}" selected>' in page


def test_a_zone_chosen_in_the_picker_is_saved(admin: Admin, engine: Engine) -> None:
    response = admin.post("/patients/new", {**NEW, "timezone": "Europe/Madrid"})
    assert response.status_code == 200, response.text  # followed to the patient's page
    with engine.connect() as conn:
        zone = conn.execute(select(patients.c.timezone).where(patients.c.external_id == "P-9"))
        assert zone.scalar_one() == "Europe/Madrid"


def test_a_stored_zone_the_picker_does_not_list_is_kept_and_saving_changes_nothing(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    with engine.begin() as conn:
        conn.execute(update(patients).values(timezone="US/Eastern"))

    page = admin.get("/patients/P-1/edit").text
    assert zone_options(page)[1] == ("As stored", "US/Eastern")
    assert '<option value="US/Eastern" selected>' in page

    response = admin.post("/patients/P-1/edit", {**P1_FORM, "timezone": "US/Eastern"})
    assert "Nothing had changed" in response.text
    with engine.connect() as conn:
        assert conn.execute(select(audit_events)).all() == []


def test_placeholders_are_examples(admin: Admin) -> None:
    page = admin.get("/patients/new").text
    for name, example in [
        ("patient_id", "e.g. RPT-1042"),
        ("phone", "e.g. +1 617 555 0142"),
        ("quiet_hours", "e.g. 20:00-09:00"),
        ("pain_baseline", "e.g. 3"),
        ("phase-0-weeks", "e.g. 4"),
    ]:
        assert f'placeholder="{example}"' in tag(page, name), name
    assert 'placeholder="e.g. seated calf stretch"' in tag(page, "exercises")
    # Every placeholder on the page is an example, never a value that looks typed in.
    assert all(p.startswith("e.g. ") for p in re.findall(r'placeholder="([^"]*)"', page))
    css = admin.get("/static/admin.css").text
    assert re.search(r"::placeholder \{[^}]*color: #6b7682;[^}]*font-style: italic", css)


@pytest.mark.parametrize(
    ("changes", "first"),
    [
        # Wrong further down too; the focus goes to the one nearest the top.
        ({"pain_baseline": "eleven", "phone": "555-12", "exercises": "neuropathy"}, "f-phone"),
        ({"exercises": "neuropathy walk", "plan_start": "2026-02-30"}, "f-plan_start"),
        ({"exercise_time": "25:00", "timezone": "Mars/Olympus"}, "f-timezone"),
        ({"phase-1-weeks": "99", "foot_check_time": "7"}, None),  # a phase: its first day
        ({"exercises": "neuropathy walk"}, "f-exercises"),
    ],
)
def test_after_a_failed_save_the_first_field_in_error_has_the_focus(
    admin: Admin, changes: dict[str, str], first: str | None
) -> None:
    response = admin.post("/patients/new", {**NEW, **changes})

    assert response.status_code == 422
    boxes = re.findall(r'type="checkbox" name="([^"]+)" value="(\w+)"[^>]*autofocus', response.text)
    assert response.text.count("autofocus") == 1
    if first is None:  # a phase is a row of checkboxes (without ids): its first one
        assert boxes == [("phase-1-days", "mon")]
    else:
        assert focused(response.text) == [first]


def test_the_messages_filter_focuses_its_first_bad_field(admin: Admin) -> None:
    response = admin.get("/messages?to=2026-02-30&status=lost")
    assert response.status_code == 422
    assert focused(response.text) == ["f-status"]


def test_the_form_needs_a_signed_in_user_and_a_csrf_token(
    admin: Admin, engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> None:
    anonymous = admin_client(engine, settings, renderer, clock)
    assert anonymous.get("/patients/new", follow_redirects=False).status_code == 303
    forged = admin.client.post("/patients/new", data={**NEW, "csrf_token": "forged"})
    assert forged.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(patients)).all() == []
