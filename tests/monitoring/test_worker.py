"""`outreach worker`: ticks without a web server, reports itself, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.db.engine import make_engine
from outreach.db.tables import reminders, worker_processes
from tests.support.cli import EXAMPLE, make_everything_due_now, outreach


def test_a_worker_sends_what_is_due_reports_itself_and_stops_cleanly(
    config: Path, database_url: str
) -> None:
    outreach(config, "patients", "import", str(EXAMPLE))
    engine = make_engine(database_url)
    make_everything_due_now(engine)
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "worker"],
        env={**os.environ, "OUTREACH_CONFIG": str(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.begin() as conn:
                states = set(conn.execute(select(reminders.c.state)).scalars())
                ticks = conn.execute(select(worker_processes.c.ticks)).scalars().all()
            if states <= {"sent", "skipped"} and ticks and ticks[0] >= 2:
                break
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=30)
    finally:
        worker.kill()

    assert worker.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    assert "serving" not in stderr, "a worker serves no web pages"
    with engine.begin() as conn:
        assert set(conn.execute(select(reminders.c.state)).scalars()) <= {"sent", "skipped"}
        seen = conn.execute(select(worker_processes)).one()
        senders = set(conn.execute(select(reminders.c.claimed_by)).scalars()) - {None}
    engine.dispose()
    assert stdout.count("[sms to +1******") >= 1
    assert seen.role == "worker"
    assert seen.pid == worker.pid
    assert seen.ticks >= 2 and seen.sent >= 1
    assert seen.stopped_at is not None
    assert seen.last_error is None
    assert senders == {seen.id}, "the worker claims under the id it reports"
    assert seen.id in stderr


def test_a_worker_with_twilio_and_no_credentials_refuses_to_start(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    settings = tmp_path / "config.toml"
    settings.write_text(
        f'[database]\nurl = "{database_url}"\n[sms]\nprovider = "twilio"\n'
        '[twilio]\nfrom_number = "+16175550100"\n'
        '[web]\npublic_base_url = "https://outreach.example.org"\n'
    )

    code, output = outreach(settings, "worker")

    assert code == 1
    assert "TWILIO_ACCOUNT_SID" in output and "TWILIO_AUTH_TOKEN" in output
