"""The `outreach` command line, driven as an operator would drive it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from outreach.clock import SystemClock
from outreach.db.engine import make_engine
from outreach.db.tables import patients, reminders
from tests.support.cli import (
    EXAMPLE,
    ROOT,
    make_everything_due_now,
    outreach,
)


def test_init_migrates_a_new_database(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "new.db"}"\n')

    code, output = outreach(config, "init")

    assert code == 0 and "up to date" in output
    assert (tmp_path / "new.db").exists()
    assert outreach(config, "db", "upgrade")[0] == 0


def test_commands_on_a_database_without_tables_say_to_run_init(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n')

    code, output = outreach(config, "patients", "list")

    assert code == 1 and "outreach init" in output


def test_a_bad_setting_is_named_with_its_value(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[sending]\nquiet_hours = "9pm"\n')

    code, output = outreach(config, "patients", "list")

    assert code == 1
    assert "sending.quiet_hours" in output and "'9pm'" in output


def test_importing_the_example_file_twice_changes_nothing_the_second_time(config: Path) -> None:
    first = outreach(config, "patients", "import", str(EXAMPLE))
    second = outreach(config, "patients", "import", str(EXAMPLE))

    assert first == (0, "6 created, 0 updated, 0 unchanged, 0 rows rejected.\n")
    assert second == (0, "0 created, 0 updated, 6 unchanged, 0 rows rejected.\n")


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept(config: Path, tmp_path: Path) -> None:
    lines = EXAMPLE.read_text().splitlines()
    broken = [*lines[:3], lines[3].replace("(213) 555-0144", "555-12"), *lines[4:]]
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(broken) + "\n")

    code, output = outreach(config, "patients", "import", str(path))

    assert code == 1
    assert "line 4, phone:" in output
    assert "5 created, 0 updated, 0 unchanged, 1 rows rejected." in output


def test_patients_list_and_plan_show_speak_json(config: Path, database_url: str) -> None:
    outreach(config, "patients", "import", str(EXAMPLE))
    code, output = outreach(config, "patients", "list", "--json")
    listed = json.loads(output)

    assert code == 0 and len(listed) == 6
    assert {p["status"] for p in listed} == {"awaiting consent"}

    first = listed[0]["patient_id"]
    code, output = outreach(config, "plan", "show", first, "--days", "3", "--json")
    shown = json.loads(output)
    assert code == 0 and shown["patient_id"] == first
    assert [r["kind"] for r in shown["reminders"]] == ["consent"]
    assert shown["plan"]["start_date"]

    code, output = outreach(config, "plan", "show", "NOBODY")
    assert code == 1 and "no patient" in output


def test_plan_show_lists_coming_reminders_in_local_time(
    config: Path, database_url: str, tmp_path: Path
) -> None:
    today = SystemClock().now().date().isoformat()
    path = tmp_path / "today.csv"
    path.write_text(
        "patient_id,first_name,phone,timezone,plan_start,foot_check_time\n"
        f"P-9,Ana,+16175550142,America/New_York,{today},10:00\n"
    )
    outreach(config, "patients", "import", str(path))
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(patients).values(consent_state="granted"))
    from outreach.config import load_settings
    from outreach.planning.planner import plan_due

    plan_due(engine, load_settings(config), SystemClock().now())
    engine.dispose()

    code, output = outreach(config, "plan", "show", "P-9", "--days", "3", "--json")
    shown = json.loads(output)
    foot = [r for r in shown["reminders"] if r["kind"] == "foot_check"]
    assert code == 0 and len(foot) in (2, 3)  # today's may already be past
    # New York's wall clock, labelled EST or EDT by the date.
    assert all(
        re.fullmatch(r"\w{3} \d{4}-\d\d-\d\d 10:00 E[SD]T", r["send_at_local"]) for r in foot
    )
    assert {r["state"] for r in foot} == {"pending"}

    code, output = outreach(config, "plan", "show", "P-9")
    assert code == 0 and "Coming reminders" in output and "foot_check" in output


def test_templates_check_passes_on_the_shipped_templates(config: Path) -> None:
    code, output = outreach(config, "templates", "check")

    assert code == 0, output
    assert "foot_check" in output and "UCS-2" in output and "GSM-7" in output


def test_run_sends_due_reminders_and_stops_cleanly_on_sigterm(
    config: Path, database_url: str
) -> None:
    outreach(config, "patients", "import", str(EXAMPLE))
    engine = make_engine(database_url)
    make_everything_due_now(engine)
    env = {**os.environ, "OUTREACH_CONFIG": str(config)}
    service = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.begin() as conn:
                states = set(conn.execute(select(reminders.c.state)).scalars())
            if "pending" not in states and "claimed" not in states:
                break
            time.sleep(0.2)
        service.send_signal(signal.SIGTERM)
        stdout, stderr = service.communicate(timeout=30)
    finally:
        service.kill()

    assert service.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    with engine.begin() as conn:
        assert set(conn.execute(select(reminders.c.state)).scalars()) <= {"sent", "skipped"}
    assert stdout.count("[sms to +1******") >= 1
    assert "+1212" not in stdout and "+1312" not in stdout, "phone numbers are masked"
    engine.dispose()


def test_escalations_and_messages_are_listed_for_staff(config: Path, database_url: str) -> None:
    from outreach.config import load_settings
    from outreach.replies import inbound
    from outreach.texts.render import Renderer
    from tests.support.transport import RecordingTransport

    outreach(config, "patients", "import", str(EXAMPLE))
    settings = load_settings(config)
    engine = make_engine(database_url)
    now = SystemClock().now()
    inbound.receive(
        engine,
        settings,
        Renderer(settings.templates_dir, settings),
        RecordingTransport(),
        now,
        from_phone="+12125550142",
        body="stop texting me please",
    )
    engine.dispose()

    code, output = outreach(config, "escalations", "list", "--json")
    [escalation] = json.loads(output)
    assert code == 0
    assert (escalation["patient_id"], escalation["reason"], escalation["state"]) == (
        "RPT-1001",
        "stop_request",
        "open",
    )

    code, output = outreach(config, "messages", "list", "--patient", "RPT-1001", "--json")
    listed = json.loads(output)
    assert code == 0
    assert {(m["direction"], m["kind"]) for m in listed} == {
        ("in", "stop_request"),
        ("out", "opted_out"),
    }
    assert outreach(config, "escalations", "list")[0] == 0
    assert outreach(config, "messages", "list")[0] == 0


def test_run_with_twilio_and_no_credentials_refuses_to_start(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n[sms]\nprovider = "twilio"\n'
        '[twilio]\nfrom_number = "+16175550100"\n'
        '[web]\npublic_base_url = "https://outreach.example.org"\n'
    )

    code, output = outreach(config, "run")

    assert code == 1
    assert "TWILIO_ACCOUNT_SID" in output and "TWILIO_AUTH_TOKEN" in output


def test_serve_refuses_to_start_without_what_it_would_serve(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTREACH_SESSION_SECRET", raising=False)
    code, output = outreach(config, "serve")
    assert code == 1 and "OUTREACH_SESSION_SECRET" in output

    code, output = outreach(config, "serve", "--webhooks-only")
    assert code == 1 and "nothing to serve: sms.provider is not 'twilio'" in output


def test_the_help_loads_no_database_web_or_output_library() -> None:
    """`outreach --help` must start fast (bench/startup.py): the commands import what they
    use when they run."""
    probe = (
        "import sys\n"
        "from outreach.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'alembic', 'fastapi', 'uvicorn', 'apscheduler',\n"
        "         'twilio', 'httpx', 'rich', 'jinja2', 'rapidfuzz', 'phonenumbers', 'argon2')\n"
        "print(' '.join(name for name in heavy if name in sys.modules) or 'none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )

    assert done.stdout.splitlines()[-1] == "none"


def test_plan_show_says_a_plan_without_an_end_date_has_none(
    config: Path, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "open.csv"
    path.write_text(
        "patient_id,first_name,phone,timezone,plan_start,foot_check_time\n"
        "P-8,Ana,+16175550142,America/New_York,2026-11-01,10:00\n"
    )
    outreach(config, "patients", "import", str(path))

    code, output = outreach(config, "plan", "show", "P-8")

    assert code == 0 and "Plan version 1, from 2026-11-01 with no end date" in output, output
    assert " to -" not in output
