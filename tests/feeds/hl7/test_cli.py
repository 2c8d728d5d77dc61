"""`outreach hl7 listen` and `outreach worker --hl7` as real processes taking a real MLLP
connection, stopping cleanly on SIGTERM; `outreach hl7 messages` lists what came."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import appointment_table
from outreach.testing.ports import free_port
from tests.feeds.hl7.samples import framed, sample
from tests.support.cli import outreach
from tests.support.patients import T0, enrol

END = b"\x1c\r"


def exchange(port: int, message: bytes, wait: float = 30) -> str:
    """Connect (retrying while the process starts), send, and read the ACK."""
    deadline = time.monotonic() + wait
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with sock:
        sock.sendall(framed(message))
        received = b""
        while END not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.decode()


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", *args],
        env={**os.environ, "OUTREACH_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def enrolled(database_url: str) -> None:
    engine = make_engine(database_url)
    enrol(engine, Settings(), T0, patient_id="RPT-1002", sessions="")
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("command", [["hl7", "listen"], ["worker", "--hl7"]])
def test_the_listener_process_answers_and_stops_on_sigterm(
    config: Path, database_url: str, enrolled: None, command: list[str]
) -> None:
    port = free_port()
    with config.open("a") as file:
        file.write(f"\n[hl7]\nport = {port}\n")
    process = start(config, *command)
    try:
        answer = exchange(port, sample("v251_s12_epic_lf"))
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "MSA|AA|M202611230915320001" in answer
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(appointment_table.c.feed_ref)).scalars().all() == ["998877"]
    engine.dispose()

    code, output = outreach(config, "hl7", "messages", "--json")
    assert code == 0
    (listed,) = json.loads(output)
    assert (listed["type"], listed["control_id"], listed["outcome"], listed["ack"]) == (
        "SIU^S12",
        "M202611230915320001",
        "applied",
        "AA",
    )
    assert listed["sender"] == "RIVERSIDE"


def test_a_port_already_taken_is_said_plainly(config: Path, enrolled: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = outreach(config, "hl7", "listen", "--port", str(port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in output
