"""The command line's times and lookups: labelled wall-clock times (the clinic's for lists,
the patient's for a plan), ISO-8601 UTC with --utc, phones in any spelling, and errors that
say what was not found."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from outreach.cli.context import console
from outreach.clock import SystemClock
from outreach.db.engine import make_engine
from outreach.db.tables import escalations, patients, staff_users
from tests.support.cli import EXAMPLE, outreach

# Monday 26 October 2026, 21:00 in New York (the clinic, EDT), 20:00 in Chicago (CDT).
STOP_AT = datetime(2026, 10, 27, 1, 0, tzinfo=UTC)
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rich wraps a cell to fit 80 columns; the assertions read whole cells."""
    monkeypatch.setenv("COLUMNS", "220")
    console.cache_clear()
    yield
    console.cache_clear()


@pytest.fixture
def stopped(config: Path, database_url: str) -> None:
    """RPT-1001 (+1 212 555 0142) texted STOP at STOP_AT; the escalation it raised was
    resolved ten minutes later."""
    from outreach.config import load_settings
    from outreach.replies import inbound
    from outreach.texts.render import Renderer
    from tests.support.transport import RecordingTransport

    outreach(config, "patients", "import", str(EXAMPLE))
    settings = load_settings(config)
    engine = make_engine(database_url)
    inbound.receive(
        engine, settings, Renderer(settings.templates_dir, settings), RecordingTransport(),
        STOP_AT, from_phone="+12125550142", body="stop texting me please",
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(escalations).values(resolved_at=STOP_AT + timedelta(minutes=10)))
    engine.dispose()


def test_messages_are_listed_in_clinic_time_labelled_or_in_utc_for_scripts(
    config: Path, stopped: None
) -> None:
    code, output = outreach(config, "messages", "list")
    assert code == 0
    assert output.count("Mon 26 Oct 21:00 EDT") == 2  # the STOP and our answer
    assert "01:00" not in output

    code, output = outreach(config, "messages", "list", "--utc")
    assert code == 0
    assert output.count("2026-10-27T01:00:00Z") == 2 and "EDT" not in output


def test_messages_list_finds_a_patient_by_any_spelling_of_the_phone(
    config: Path, stopped: None
) -> None:
    for typed in ("RPT-1001", "+12125550142", "(212) 555-0142", "212.555.0142", "+1 212 555 0142"):
        code, output = outreach(config, "messages", "list", "--patient", typed, "--json")
        assert code == 0, (typed, output)
        assert {m["patient_id"] for m in json.loads(output)} == {"RPT-1001"}, typed


def test_messages_list_for_an_unknown_patient_fails_and_says_so(
    config: Path, stopped: None
) -> None:
    code, output = outreach(config, "messages", "list", "--patient", "NOPE")

    assert code == 1
    assert "no patient with id or phone 'NOPE'" in output

    code, output = outreach(config, "messages", "list", "--patient", "(212) 555-0199")
    assert code == 1 and "no patient" in output


def test_a_resolved_escalation_is_measured_to_its_resolution_not_to_now(
    config: Path, stopped: None
) -> None:
    code, output = outreach(config, "escalations", "list", "--all", "--json")
    [escalation] = json.loads(output)
    assert code == 0
    assert (escalation["state"], escalation["minutes_open"]) == ("resolved", 10)

    code, output = outreach(config, "escalations", "list", "--all")
    row = next(line for line in output.splitlines() if "stop_request" in line)
    assert "Mon 26 Oct 21:00 EDT" in row and "10 min" in row and "resolved" in row

    code, output = outreach(config, "escalations", "list", "--all", "--utc")
    assert code == 0 and "2026-10-27T01:00:00Z" in output and "EDT" not in output

    code, output = outreach(config, "escalations", "list")
    assert code == 0 and "Nothing needs a human right now." in output


def test_long_texts_are_cut_at_a_word_with_an_ellipsis(
    config: Path, database_url: str, stopped: None
) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(escalations).values(detail="word " * 30 + "zebra"))
    engine.dispose()

    code, output = outreach(config, "escalations", "list", "--all")

    assert code == 0
    assert "word word…" in output and "wor…" not in output and "zebra" not in output


@pytest.fixture
def chicago(config: Path, database_url: str, tmp_path: Path) -> None:
    """P-9, in Chicago, phone (617) 555-0142, a foot check every evening at 20:00 her time
    from today."""
    from outreach.config import load_settings
    from outreach.planning.planner import plan_due

    today = SystemClock().now().date().isoformat()
    path = tmp_path / "chicago.csv"
    path.write_text(
        "patient_id,first_name,phone,timezone,plan_start,foot_check_time\n"
        f"P-9,Ana,+16175550142,America/Chicago,{today},20:00\n"
    )
    assert outreach(config, "patients", "import", str(path))[0] == 0
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(patients).values(consent_state="granted"))
    plan_due(engine, load_settings(config), SystemClock().now())
    engine.dispose()


def test_plan_show_gives_send_times_in_the_patients_time_labelled_or_in_utc(
    config: Path, chicago: None
) -> None:
    code, output = outreach(config, "plan", "show", "P-9", "--days", "3")
    assert code == 0
    assert "the patient's time, America/Chicago" in output
    foot = [line for line in output.splitlines() if "foot_check" in line]
    assert foot and all(re.search(r"20:00 C[SD]T", line) for line in foot), foot

    code, output = outreach(config, "plan", "show", "P-9", "--days", "3", "--utc")
    foot = [line for line in output.splitlines() if "foot_check" in line]
    assert code == 0 and "(UTC)" in output
    # 20:00 CDT is 01:00 UTC, 20:00 CST 02:00 UTC, on the next day.
    assert foot and all(re.search(r"\d{4}-\d\d-\d\dT0[12]:00:00Z", line) for line in foot), foot


@pytest.mark.parametrize(
    "typed", ["P-9", "+16175550142", "(617) 555-0142", "617-555-0142", "+1 617 555 0142"]
)
def test_plan_show_accepts_the_phone_in_any_spelling(
    config: Path, chicago: None, typed: str
) -> None:
    code, output = outreach(config, "plan", "show", typed, "--json")

    assert code == 0, output
    assert json.loads(output)["patient_id"] == "P-9"


def test_plan_show_names_what_it_did_not_find(config: Path, chicago: None) -> None:
    code, output = outreach(config, "plan", "show", "(617) 555-0199")

    assert code == 1 and "no patient with id or phone '(617) 555-0199'" in output


def test_users_list_says_active_or_disabled_and_signs_in_in_clinic_time(
    config: Path, database_url: str
) -> None:
    from tests.support.admin import add_staff

    engine = make_engine(database_url)
    add_staff(engine, STOP_AT)
    with engine.begin() as conn:
        conn.execute(update(staff_users).values(last_login_at=STOP_AT))
    engine.dispose()
    outreach(config, "users", "disable", "terry")

    code, output = outreach(config, "users", "list")
    rows = {
        line.split()[1]: line for line in output.splitlines() if "admin" in line or "terry" in line
    }
    assert code == 0
    assert "active" in rows["admin"] and "disabled" in rows["terry"]
    assert "True" not in output and "False" not in output
    assert "Mon 26 Oct 21:00 EDT" in rows["admin"]

    code, output = outreach(config, "users", "list", "--utc")
    assert code == 0 and output.count("2026-10-27T01:00:00Z") == 2
    assert ISO_UTC.search(output)
