"""Logs: phone numbers masked on every handler, JSON one object per line; and a real worker
whose every stderr line is JSON without the patient's number or the text it sent."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from outreach.clock import SystemClock
from outreach.db.engine import make_engine
from outreach.db.tables import outbound_messages, patients, reminders, worker_processes
from outreach.monitoring import logs
from tests.support.cli import a_zone_where_it_is_midday, outreach

PHONE = "+16175550142"
MASKED = "+1******0142"
SPELLINGS = [PHONE, "16175550142", "6175550142", "617-555-0142", "(617) 555-0142", "617 555 0142"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"texting {PHONE} now", f"texting {MASKED} now"),
        ("call (617) 555-0142.", "call ******0142."),
        ("617.555.0142", "******0142"),
        ("+1 617 555 0142", MASKED),
        ("1-617-555-0142", "*******0142"),
        ("+44 20 7946 0958", "+4*******0958"),
        ("Twilio 21211: The 'To' number +15005550001 is not valid", "+1******0001 is not valid"),
        # Not phones: a clock time, a sid, a worker id, ids, a short number.
        ("retry at 2026-11-23 12:00:00+00:00", "retry at 2026-11-23 12:00:00+00:00"),
        ("sid SM00000000000000000000000000000001", "sid SM00000000000000000000000000000001"),
        ("worker web-1:12345:a1b2c3", "worker web-1:12345:a1b2c3"),
        ("reminders 1, 2, 3, 4, 5, 6, 7, 8, 9, 10", "reminders 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),
        ("reminder 1234567 sent", "reminder 1234567 sent"),
    ],
)
def test_phone_numbers_are_masked_and_other_numbers_are_not(text: str, masked: str) -> None:
    assert masked in logs.mask_phones(text)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler has the filter and the JSON formatter, as configure()
    sets up on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.MaskPhones())
    handler.setFormatter(logs.JsonLines({"role": "worker", "worker": "h:1:abc"}))
    logger = logging.getLogger("outreach.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_filter_masks_arguments_extras_and_tracebacks(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.warning("failed for %s", PHONE, extra={"to": "(617) 555-0142", "attempt": 2})
    try:
        raise ValueError(f"The 'To' number {PHONE} is not a valid phone number")
    except ValueError:
        logger.exception("send failed")

    first, second = lines(stream)
    assert first["message"] == f"failed for {MASKED}"
    assert first["to"] == "******0142" and first["attempt"] == 2
    assert MASKED in str(second["exception"]) and "ValueError" in str(second["exception"])
    assert "6175550142" not in stream.getvalue() and "555-0142" not in stream.getvalue()


def test_a_log_call_with_bad_arguments_is_left_to_logging_to_report() -> None:
    record = logging.makeLogRecord({"msg": "two values %s %s", "args": (PHONE,)})

    assert logs.MaskPhones().filter(record) is True  # a bug in a log call must not break a send
    assert record.args == (PHONE,), "left as it was, for the handler's own error report"


def test_a_json_line_has_time_level_logger_message_and_the_process(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.info("tick: sent %d", 3, extra={"sent": 3})

    [line] = lines(stream)
    assert line["level"] == "INFO" and line["logger"] == "outreach.test_logs"
    assert line["message"] == "tick: sent 3" and line["sent"] == 3
    assert (line["role"], line["worker"]) == ("worker", "h:1:abc")
    assert str(line["time"]).endswith("+00:00") and "T" in str(line["time"])


def test_the_text_format_masks_too(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", logging.INFO)
    try:
        logging.getLogger("outreach.somewhere").info("reply from %s", PHONE)
    finally:
        logs.configure("text", logging.WARNING)

    printed = capsys.readouterr().err
    assert f"INFO outreach.somewhere: reply from {MASKED}" in printed
    assert PHONE not in printed


@pytest.mark.slow
def test_a_real_worker_logs_json_lines_without_numbers_or_texts(
    config: Path, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "patient_id,first_name,phone,timezone,plan_start\n"
        f"P-1,Rosalind,(617) 555-0142,{a_zone_where_it_is_midday()},2026-11-01\n"
    )
    assert outreach(config, "patients", "import", str(path))[0] == 0
    engine = make_engine(database_url)
    with engine.begin() as conn:  # the consent text due now
        conn.execute(
            update(reminders).values(
                send_at=SystemClock().now() - timedelta(minutes=1),
                expires_at=SystemClock().now() + timedelta(days=1),
            )
        )
        assert conn.execute(select(patients.c.phone)).scalar_one() == PHONE
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "-v", "worker"],
        env={**os.environ, "OUTREACH_CONFIG": str(config), "OUTREACH_LOG_FORMAT": "json"},
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
    with engine.begin() as conn:
        [body] = conn.execute(select(outbound_messages.c.body)).scalars()
        worker_id = conn.execute(select(worker_processes.c.id)).scalar_one()
    engine.dispose()

    assert worker.returncode == 0, stderr
    assert body in stdout, "the console provider printed the text: it was sent"
    records = [json.loads(line) for line in stderr.splitlines()]
    messages = [str(record["message"]) for record in records]
    assert any(m.startswith("sent reminder") and MASKED in m for m in messages), messages
    assert any(m == "stopped cleanly" for m in messages), messages
    assert {record["role"] for record in records} >= {"worker"}
    assert all(record.get("worker") == worker_id for record in records), records
    for spelling in SPELLINGS:
        assert spelling not in stderr, spelling
    assert body not in stderr and "Rosalind" not in stderr
