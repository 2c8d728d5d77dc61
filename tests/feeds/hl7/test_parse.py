"""Reading SIU messages as vendors send them into appointments, and refusing in words (AR for
what this interface does not take, AE for wrong content), without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from outreach.feeds.appointments import FeedAppointment
from outreach.feeds.hl7.ack import build, escape
from outreach.feeds.hl7.header import decode, read_header
from outreach.feeds.hl7.parse import HL7Error, Refused, parse
from outreach.rules.vocabulary import AckCode, FeedStatus
from tests.feeds.hl7.samples import sample

NEW_YORK = ZoneInfo("America/New_York")


def read(name: str, identifier_type: str = "MR") -> FeedAppointment:
    return parse(decode(sample(name)), identifier_type=identifier_type, zone=NEW_YORK).appointment


@pytest.mark.parametrize(
    ("name", "ref", "patient", "status", "starts_at", "name_", "phone", "by_patient"),
    [
        (
            "v23_s12_athena",
            "A-20061",
            "RPT-1001",
            FeedStatus.SCHEDULED,
            datetime(2026, 11, 26, 15, 0, tzinfo=UTC),  # 10:00 in Boston, no offset sent
            "ANA TORRES",
            "(617)555-0142",
            None,
        ),
        (
            "v251_s12_epic_lf",
            "998877",
            "RPT-1002",  # the MR repetition, not Epic's own EPI id that comes first
            FeedStatus.SCHEDULED,
            datetime(2026, 11, 27, 19, 30, tzinfo=UTC),  # TQ1-7, with its offset
            "JOSÉ RAMÍREZ",
            "+16175550188",  # the cell phone (CP), not the first number
            None,
        ),
        (
            "v28_s12_tq1_offset",
            "F-555",  # the filler's id (SCH-2), not the placer's
            "RPT-1003",
            FeedStatus.SCHEDULED,
            datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
            "Mai Nguyen",
            "+16175550144",
            None,
        ),
        (
            "v23_s13_reschedule",
            "A-20061",
            "RPT-1001",
            FeedStatus.SCHEDULED,
            datetime(2026, 11, 27, 19, 0, tzinfo=UTC),
            "ANA TORRES",
            None,
            None,
        ),
        (
            "v23_s15_patient_cancel",
            "A-20061",
            "RPT-1001",
            FeedStatus.CANCELLED,
            datetime(2026, 11, 27, 19, 0, tzinfo=UTC),
            "ANA TORRES",
            None,
            True,  # "Patient cancelled - no transportation"
        ),
        (
            "v251_s15_clinic_cancel",
            "998877",
            "RPT-1002",
            FeedStatus.CANCELLED,
            datetime(2026, 11, 27, 19, 30, tzinfo=UTC),
            "JOSÉ RAMÍREZ",
            None,
            False,  # "Provider unavailable"
        ),
        (
            "v251_s17_delete",
            "998877",
            "RPT-1002",
            FeedStatus.DELETED,
            datetime(2026, 11, 27, 19, 30, tzinfo=UTC),
            "JOSÉ RAMÍREZ",
            None,
            None,
        ),
        (
            "v28_s26_noshow",
            "F-555",
            "RPT-1003",
            FeedStatus.NO_SHOW,
            datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
            "Mai Nguyen",
            None,
            None,
        ),
        (
            "v28_s14_modified",
            "F-555",
            "RPT-1003",
            FeedStatus.SCHEDULED,
            datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
            "Mai Nguyen",
            None,
            None,
        ),
    ],
)
def test_each_sample_reads_as_the_appointment_it_describes(
    name: str,
    ref: str,
    patient: str,
    status: FeedStatus,
    starts_at: datetime,
    name_: str,
    phone: str | None,
    by_patient: bool | None,
) -> None:
    item = read(name)
    assert (item.ref, item.patient_ref, item.status) == (ref, patient, status)
    assert item.starts_at == starts_at
    assert (item.patient_name, item.phone) == (name_, phone)
    assert item.cancelled_by_patient is by_patient


def test_the_message_time_orders_changes() -> None:
    booked, moved = read("v23_s12_athena"), read("v23_s13_reschedule")
    assert booked.changed_at is not None and moved.changed_at is not None
    assert booked.changed_at < moved.changed_at
    assert moved.changed_at == datetime(2026, 11, 23, 19, 5, tzinfo=UTC)


def test_an_empty_identifier_type_takes_the_first_pid_3() -> None:
    assert read("v251_s12_epic_lf", identifier_type="").patient_ref == "E12345"


MSH = "MSH|^~\\&|PMS|RIVERSIDE|OUTREACH|RIVERSIDE|20261123083000||"
SCH = "SCH|1|A-1|||||||||^^45^20261126100000"
PID = "PID|1||RPT-1^^^R^MR||Torres^Ana"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("hello", AckCode.REJECT, "does not begin with a readable MSH"),
        (f"{MSH}SIU^S12||P|2.5\r{SCH}\r{PID}", AckCode.REJECT, "MSH-10"),
        (f"{MSH}SIU^S12|C1|P|2.2\r{SCH}\r{PID}", AckCode.REJECT, "version 2.2 is not taken"),
        (f"{MSH}SIU^S12|C1|P|\r{SCH}\r{PID}", AckCode.REJECT, "version (none)"),
        (f"{MSH}ADT^A04|C1|P|2.5\rPID|1", AckCode.REJECT, "ADT^A04 is not taken here"),
        (f"{MSH}SIU^S99|C1|P|2.5\r{SCH}\r{PID}", AckCode.REJECT, "SIU^S99 is not taken"),
        (f"{MSH}SIU^S12|C1|P|2.5\r{PID}", AckCode.ERROR, "the SCH segment is missing"),
        (f"{MSH}SIU^S12|C1|P|2.5\r{SCH}", AckCode.ERROR, "the PID segment is missing"),
        (f"{MSH}SIU^S12|C1|P|2.5\rSCH|||||\r{PID}", AckCode.ERROR, "the appointment has no id"),
        (f"{MSH}SIU^S12|C1|P|2.5\rSCH|1|A-1\r{PID}", AckCode.ERROR, "has no start time"),
        (
            f"{MSH}SIU^S12|C1|P|2.5\rSCH|1|A-1|||||||||^^45^2026-11-26 10:00\r{PID}",
            AckCode.ERROR,
            "SCH-11: '2026-11-26 10:00' is not an HL7 time",
        ),
        (
            f"{MSH}SIU^S12|C1|P|2.5\rSCH|1|A-1|||||||||^^45^20261126\r{PID}",
            AckCode.ERROR,
            "gives no time of day",
        ),
        (
            f"{MSH}SIU^S12|C1|P|2.5\r{SCH}\rPID|1||999-45-1234^^^SSA^SS",
            AckCode.ERROR,
            "no patient id of type MR in PID-3 (found SS)",
        ),
        (f"{MSH}SIU^S12|C1|P|2.5\r{SCH}\rPID|1", AckCode.ERROR, "the patient has no id"),
    ],
)
def test_what_is_not_taken_or_wrong_is_refused_in_words(
    text: str, code: AckCode, words: str
) -> None:
    with pytest.raises(Refused) as refused:
        parse(text, identifier_type="MR", zone=NEW_YORK)
    assert refused.value.ack == code
    assert words in refused.value.reason


NOW = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)


def test_an_accept_echoes_the_control_id_and_swaps_sender_and_receiver() -> None:
    header = read_header(decode(sample("v251_s12_epic_lf")))
    answer = build(header, AckCode.ACCEPT, control_id="OUTREACH7", now=NOW)

    msh, msa = answer.rstrip("\r").split("\r")
    assert msh == (
        "MSH|^~\\&|OUTREACH|RIVERSIDE|EPIC|RIVERSIDE^1.2.840.114350^ISO|20261123133000+0000||"
        "ACK^S12^ACK|OUTREACH7|P|2.5.1"
    )
    assert msa == "MSA|AA|M202611230915320001"


def test_an_error_carries_err_as_its_version_writes_it() -> None:
    new = read_header(decode(sample("v251_s12_epic_lf")))
    old = read_header(decode(sample("v23_s12_athena")))
    reason = "no patient id of type MR in PID-3 (found SS)"
    v251 = build(
        new,
        AckCode.ERROR,
        control_id="O1",
        now=NOW,
        reason=reason,
        error=HL7Error.REQUIRED_FIELD,
        where=("PID", 3),
    ).split("\r")
    v23 = build(
        old,
        AckCode.ERROR,
        control_id="O2",
        now=NOW,
        reason=reason,
        error=HL7Error.REQUIRED_FIELD,
        where=("PID", 3),
    ).split("\r")

    assert v251[1] == f"MSA|AE|M202611230915320001|{reason}"
    assert v251[2] == f"ERR||PID^1^3|101^Required field missing^HL70357|E||||{reason}"
    assert v23[2] == "ERR|PID^1^3^^101&Required field missing&HL70357"


@pytest.mark.parametrize("separator", ["\x0b", "\x1c", "\r", " ", "A", "1"])
def test_a_header_whose_separator_is_no_punctuation_is_unreadable(separator: str) -> None:
    """A control character taken as the field separator would be echoed into the ACK's
    MSH and break its MLLP frame; such a message is answered as one with no header."""
    text = "MSH" + separator + "^~\\&" + separator + "PMS" + separator + "CLINIC"
    assert read_header(text) is None
    answer = build(read_header(text), AckCode.REJECT, control_id="O4", now=NOW, reason="x")
    assert not set(answer) & {"\x0b", "\x1c"}


def test_the_reason_cannot_break_the_answer() -> None:
    assert escape("a|b^c&d~e\\f\rg\x1ch") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g h"
    answer = build(None, AckCode.REJECT, control_id="O3", now=NOW, reason="x|\x0b\x1c")
    assert "\x0b" not in answer and "\x1c" not in answer
    assert answer.split("\r")[1] == "MSA|AR||x\\F\\  "
