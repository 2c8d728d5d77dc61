"""`outreach sync fhir` and the worker's periodic sync, as the commands run them, against the
loopback FHIR server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import appointment_table
from outreach.testing.fhir_server import FhirServer, appointment, patient
from tests.support.cli import outreach
from tests.support.patients import enrol

A = appointment_table


@pytest.fixture
def ehr() -> Iterator[FhirServer]:
    now = datetime.now(UTC)
    people = [patient("p1", "B-1"), patient("p2", "B-2")]
    booked = [
        appointment(
            f"a{n}", f"p{n % 2 + 1}", now + timedelta(days=2, hours=n), now - timedelta(minutes=n)
        )
        for n in range(5)
    ]
    with FhirServer(booked, people) as server:
        yield server


@pytest.fixture
def configured(config: Path, database_url: str, ehr: FhirServer) -> Path:
    engine = make_engine(database_url)
    enrol(engine, Settings(), datetime.now(UTC), patient_id="B-1", sessions="")
    engine.dispose()
    with config.open("a") as file:
        file.write(f'\n[fhir]\nbase_url = "{ehr.base_url}"\npage_size = 2\n')
    return config


def fhir_sessions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        refs = conn.execute(select(A.c.feed_ref).where(A.c.source == "fhir")).scalars().all()
    engine.dispose()
    return sorted(str(r) for r in refs)


def test_outreach_sync_fhir_applies_and_says_what_it_did(
    configured: Path, database_url: str
) -> None:
    code, output = outreach(configured, "sync", "fhir")

    assert code == 0, output
    assert "3 pages, 5 appointments: 3 applied, 2 for patients not enrolled" in output
    assert fhir_sessions(database_url) == ["a0", "a2", "a4"]


def test_a_sync_that_stops_exits_1_with_the_reason(configured: Path, ehr: FhirServer) -> None:
    ehr.fail(
        403,
        outcome={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "forbidden",
                    "diagnostics": "scope system/Appointment.read not granted",
                }
            ],
        },
    )
    code, output = outreach(configured, "sync", "fhir")

    assert code == 1
    assert "403" in output and "scope system/Appointment.read not granted" in output


def test_since_must_be_an_instant(configured: Path) -> None:
    code, output = outreach(configured, "sync", "fhir", "--since", "last tuesday")
    assert code == 1 and "--since: 'last tuesday' is not an ISO 8601 instant" in output


@pytest.mark.slow
def test_the_worker_syncs_on_its_own(configured: Path, database_url: str) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "worker"],
        env={**os.environ, "OUTREACH_CONFIG": str(configured)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fhir_sessions(database_url) != ["a0", "a2", "a4"]:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert fhir_sessions(database_url) == ["a0", "a2", "a4"]


def test_the_jwks_to_register_is_the_public_half_of_the_key(config: Path, tmp_path: Path) -> None:
    import json

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with config.open("a") as file:
        file.write(f'\n[fhir]\nprivate_key = "{pem}"\nkey_id = "outreach-2026"\n')

    code, output = outreach(config, "sync", "fhir-jwks")

    assert code == 0, output
    (jwk,) = json.loads(output)["keys"]
    assert (jwk["kid"], jwk["alg"], jwk["crv"], "d" in jwk) == (
        "outreach-2026",
        "ES384",
        "P-384",
        False,
    )
    signed = jwt.encode({"iss": "outreach"}, key, algorithm="ES384")
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(signed, public, algorithms=["ES384"])["iss"] == "outreach"
