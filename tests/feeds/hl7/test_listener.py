"""The MLLP listener over real sockets on loopback: each message answered (AA, AE or AR) and
stored raw, duplicates answered as before and applied once, a reschedule before its booking,
broken framing and cut-off connections kept, a burst from several connections, disallowed
senders, and TLS. On SQLite, and on PostgreSQL when OUTREACH_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, select

from outreach.config import Settings
from outreach.db.tables import appointment_table, feed_messages, reminders
from outreach.feeds.hl7.listener import start_in_thread
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import AppointmentStatus, FeedOutcome, ReminderKind
from tests.feeds.hl7.samples import framed, sample
from tests.support.patients import T0, enrol

A = appointment_table
M = feed_messages
END = b"\x1c\r"


class Sender:
    """A practice-management system's interface engine: one MLLP connection."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost") if context else raw
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self) -> list[str]:
        """The next ACK's segments; [] if the listener closed the connection."""
        while END not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return []
            self.buffer += chunk
        block, _, self.buffer = self.buffer.partition(END)
        assert block.startswith(b"\x0b"), block
        return block[1:].decode("utf-8").rstrip("\r").split("\r")

    def exchange(self, message: bytes) -> list[str]:
        self.send(framed(message))
        return self.answer()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def clinic(engine: Engine, settings: Settings) -> None:
    """Ana, José and Mai, enrolled with the clinic ids the samples carry."""
    for external, phone in (("RPT-1001", "+16175550142"), ("RPT-1002", "+16175550143")):
        enrol(engine, settings, T0, patient_id=external, phone=phone, sessions="")
    enrol(engine, settings, T0, patient_id="RPT-1003", phone="+16175550144", sessions="")
    plan_due(engine, settings, T0)


def listening(engine: Engine, settings: Settings) -> Iterator[int]:
    thread, stop, port = start_in_thread(engine, settings, lambda: T0, host="127.0.0.1", port=0)
    yield port
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def port(engine: Engine, settings: Settings, clinic: None) -> Iterator[int]:
    yield from listening(engine, settings)


def stored(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(M.c.outcome, M.c.ack, M.c.control_id).order_by(M.c.id)).all()
    return [tuple(r) for r in rows]


def sessions(engine: Engine) -> list[tuple[str | None, dt.datetime, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(A.c.feed_ref, A.c.starts_at, A.c.status).order_by(A.c.id))
        return [tuple(r) for r in rows]


def msa(answer: list[str]) -> list[str]:
    """MSA's fields, unescaped (the reason may hold the delimiters, escaped as HL7 does)."""
    (line,) = [s for s in answer if s.startswith("MSA|")]
    return [unescape(field) for field in line.split("|")]


def unescape(text: str) -> str:
    for code, char in (("F", "|"), ("S", "^"), ("T", "&"), ("R", "~"), ("E", "\\")):
        text = text.replace(f"\\{code}\\", char)
    return text


def test_a_booking_is_answered_aa_and_becomes_a_session_with_its_reminder(
    engine: Engine, port: int
) -> None:
    sender = Sender(port)
    answer = sender.exchange(sample("v23_s12_athena"))
    sender.close()

    assert answer[0].startswith("MSH|^~\\&|OUTREACH|RIVERSIDE_PT|ATHENA|RIVERSIDE_PT|")
    assert msa(answer)[:3] == ["MSA", "AA", "83451"]
    starts_at = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)
    assert sessions(engine) == [("A-20061", starts_at, AppointmentStatus.SCHEDULED)]
    assert stored(engine) == [(FeedOutcome.APPLIED, "AA", "83451")]
    with engine.connect() as conn:
        (raw,) = conn.execute(select(M.c.raw)).scalars()
        kinds = conn.execute(
            select(reminders.c.kind).where(reminders.c.appointment_id.is_not(None))
        )
        assert list(kinds.scalars()) == [ReminderKind.SESSION]
    assert raw == sample("v23_s12_athena").decode()


def test_the_same_message_twice_is_answered_alike_and_applied_once(
    engine: Engine, port: int
) -> None:
    sender = Sender(port)
    first = sender.exchange(sample("v251_s12_epic_lf"))
    again = sender.exchange(sample("v251_s12_epic_lf"))
    sender.close()

    assert msa(first)[:3] == msa(again)[:3] == ["MSA", "AA", "M202611230915320001"]
    assert len(sessions(engine)) == 1
    assert [s[0] for s in stored(engine)] == [FeedOutcome.APPLIED, FeedOutcome.DUPLICATE]


def test_a_reschedule_before_its_booking_is_the_appointment_and_the_late_booking_changes_nothing(
    engine: Engine, port: int
) -> None:
    sender = Sender(port)
    moved = sender.exchange(sample("v23_s13_reschedule"))
    booked = sender.exchange(sample("v23_s12_athena"))
    sender.close()

    assert msa(moved)[1] == msa(booked)[1] == "AA"
    at_two = dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)
    assert sessions(engine) == [("A-20061", at_two, AppointmentStatus.SCHEDULED)]
    assert [s[0] for s in stored(engine)] == [FeedOutcome.APPLIED, FeedOutcome.UNCHANGED]


def test_a_cancellation_and_a_deletion_stop_the_reminders(engine: Engine, port: int) -> None:
    sender = Sender(port)
    for name in ("v251_s12_epic_lf", "v251_s15_clinic_cancel", "v251_s17_delete"):
        assert msa(sender.exchange(sample(name)))[1] == "AA", name
    sender.close()

    ((_, _, status),) = sessions(engine)
    assert status == AppointmentStatus.CANCELLED
    with engine.connect() as conn:
        states = conn.execute(
            select(reminders.c.state, reminders.c.skip_reason).where(
                reminders.c.kind == ReminderKind.SESSION
            )
        ).all()
    assert [tuple(s) for s in states] == [("skipped", "cancelled")]


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        (
            b"MSH|^~\\&|PMS|RIVERSIDE|||20261123||SIU^S12|C-1|P|2.5\rPID|1||RPT-1001^^^R^MR",
            "AE",
            "the SCH segment is missing",
        ),
        (
            b"MSH|^~\\&|PMS|RIVERSIDE|||20261123||SIU^S99|C-2|P|2.5\rSCH|1|A-9\rPID|1",
            "AR",
            "SIU^S99 is not taken",
        ),
        (b"MSH|^~\\&|PMS|RIVERSIDE|||20261123||ADT^A08|C-3|P|2.5\rPID|1", "AR", "ADT^A08"),
        (b"\xff\xfe not HL7 at all", "AR", "does not begin with a readable MSH"),
    ],
)
def test_wrong_or_unknown_messages_are_answered_in_words_and_kept(
    engine: Engine, port: int, message: bytes, code: str, words: str
) -> None:
    sender = Sender(port)
    answer = sender.exchange(message)
    sender.close()

    assert msa(answer)[1] == code
    assert words in msa(answer)[3]
    assert any(s.startswith("ERR|") for s in answer)
    (row,) = stored(engine)
    assert row[1] == code
    assert sessions(engine) == []


def test_a_block_without_its_start_byte_is_answered_ar_kept_and_the_connection_goes_on(
    engine: Engine, port: int
) -> None:
    sender = Sender(port)
    sender.send(sample("v23_s12_athena") + END)  # no <VT>
    refused = sender.answer()
    accepted = sender.exchange(sample("v251_s12_epic_lf"))
    sender.close()

    assert msa(refused)[1:3] == ["AR", "83451"]  # the header was still read and echoed
    assert "framing" in msa(refused)[3]
    assert msa(accepted)[1] == "AA"
    assert [s[0] for s in stored(engine)] == [FeedOutcome.REJECTED, FeedOutcome.APPLIED]


def test_a_connection_cut_in_mid_message_is_kept(engine: Engine, port: int) -> None:
    sender = Sender(port)
    sender.send(b"\x0b" + sample("v23_s12_athena")[:60])
    sender.close()

    for _ in range(100):
        if stored(engine):
            break
        threading.Event().wait(0.05)
    ((outcome, code, _),) = stored(engine)
    assert (outcome, code) == (FeedOutcome.REJECTED, "AR")
    with engine.connect() as conn:
        detail = conn.execute(select(M.c.detail)).scalar()
    assert detail == "the connection closed in mid-message"


def test_a_burst_from_four_connections_is_answered_and_applied_in_full(
    engine: Engine, port: int
) -> None:
    template = sample("v28_s12_tq1_offset").decode()
    answers: dict[int, list[str]] = {}

    def send(connection: int) -> None:
        sender = Sender(port)
        for n in range(25):
            number = connection * 100 + n
            starts = dt.datetime(2026, 12, 1, 13, 0) + dt.timedelta(minutes=30 * number)
            message = (
                template.replace("C-2028-0001", f"C-{number}")
                .replace("F-555", f"F-{number}")
                .replace("202611301530+0000", starts.strftime("%Y%m%d%H%M+0000"))
            )
            answers[number] = sender.exchange(message.encode())
        sender.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(answers) == 100
    assert {msa(a)[1] for a in answers.values()} == {"AA"}
    assert all(msa(a)[2] == f"C-{n}" for n, a in answers.items())
    assert len(sessions(engine)) == 100


def test_a_sender_not_allowed_is_refused_and_kept(
    engine: Engine, settings: Settings, clinic: None
) -> None:
    only_epic = replace(settings, hl7_allowed_facilities=("RIVERSIDE",))
    for port in listening(engine, only_epic):
        sender = Sender(port)
        refused = sender.exchange(sample("v23_s12_athena"))  # MSH-4 RIVERSIDE_PT
        taken = sender.exchange(sample("v251_s12_epic_lf"))  # MSH-4 RIVERSIDE^1.2.840...
        sender.close()

    assert msa(refused)[1] == "AR"
    assert "sending facility RIVERSIDE_PT is not allowed" in msa(refused)[3]
    assert msa(taken)[1] == "AA"
    assert [s[0] for s in stored(engine)] == [FeedOutcome.REJECTED, FeedOutcome.APPLIED]


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "hl7.crt", folder / "hl7.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_over_tls_the_exchange_is_the_same_and_plain_text_gets_nothing(
    engine: Engine, settings: Settings, clinic: None, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    with_tls = replace(settings, hl7_tls_cert=cert, hl7_tls_key=key)
    context = ssl.create_default_context(cafile=str(cert))
    for port in listening(engine, with_tls):
        sender = Sender(port, context)
        answer = sender.exchange(sample("v23_s12_athena"))
        sender.close()
        plain = Sender(port)
        plain.send(framed(sample("v251_s12_epic_lf")))
        assert plain.answer() == []  # the handshake fails: closed, nothing stored
        plain.close()

    assert msa(answer)[1] == "AA"
    assert [s[0] for s in stored(engine)] == [FeedOutcome.APPLIED]
