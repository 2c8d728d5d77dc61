"""An SIU scheduling message read into a `FeedAppointment`, or refused in words.

Pure. python-hl7 splits the message (it takes what vendors send: Z segments, fields past the
standard's end, missing optional segments, 2.3 to 2.8 alike); this module knows where SIU
keeps what outreach needs:

- the appointment's id: SCH-2 (filler, the scheduling system's own), else SCH-1 (placer),
  the ID component;
- its start: SCH-11.4 (TQ), else TQ1-7 (2.5 and later deprecate SCH-11), else the first
  resource's start (AIS-4, AIG-8, AIL-6, AIP-6);
- the patient: the PID-3 repetition whose identifier type (PID-3.5) is the configured one
  (hl7.identifier_type; empty takes the first repetition), the name (PID-5), the phone
  (PID-13: a cell phone first);
- what happened: the trigger (S12 new, S13 rescheduled, S14 modified, S15 cancelled, S17
  deleted, S26 no-show); an S14 whose filler status (SCH-25) says Cancelled, Deleted,
  Noshow or Complete is taken as that, since some systems send every change as an S14.

Refusals follow HL7's acknowledgment codes. AR (application reject) is for a message this
interface does not take at all, whatever its content: no MSH, no control id, a version
outside 2.3-2.x, a message type or trigger it does not handle. The sender's interface is
misconfigured, and a resend will not help until someone looks. AE (application error) is
for an SIU whose content is wrong: a required segment or field missing, a time that is not
one. The sender should correct that message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from zoneinfo import ZoneInfo

import hl7

from outreach.feeds.appointments import FeedAppointment
from outreach.feeds.hl7.header import SEGMENT_END, Header, read_header, segments
from outreach.feeds.hl7.timestamps import BadTime, parse_time
from outreach.rules.vocabulary import AckCode, AppointmentSource, FeedStatus

TRIGGERS = {
    "S12": FeedStatus.SCHEDULED,  # notification of new appointment booking
    "S13": FeedStatus.SCHEDULED,  # rescheduling (a new time)
    "S14": FeedStatus.SCHEDULED,  # modification
    "S15": FeedStatus.CANCELLED,
    "S17": FeedStatus.DELETED,
    "S26": FeedStatus.NO_SHOW,
}
# SCH-25, HL7 table 0278 (filler status codes), where an S14 carries the change.
FILLER_STATUS = {
    "CANCELLED": FeedStatus.CANCELLED,
    "DELETED": FeedStatus.DELETED,
    "NOSHOW": FeedStatus.NO_SHOW,
    "COMPLETE": FeedStatus.ATTENDED,
}
LOWEST_VERSION = (2, 3)
# (segment, field of its start time), in the order tried after SCH-11 and TQ1.
RESOURCE_STARTS = (("AIS", 4), ("AIG", 8), ("AIL", 6), ("AIP", 6))
READ = frozenset({"SCH", "TQ1", "PID", *(name for name, _ in RESOURCE_STARTS)})
CLINIC_WORDS = ("provider", "clinic", "doctor", "physician", "therapist", "staff", "office")


class HL7Error(IntEnum):
    """HL7 table 0357, message error condition codes: ERR-3 of an AE or AR."""

    SEGMENT_SEQUENCE = 100
    REQUIRED_FIELD = 101
    DATA_TYPE = 102
    UNSUPPORTED_TYPE = 200
    UNSUPPORTED_EVENT = 201
    UNSUPPORTED_VERSION = 203
    INTERNAL = 207

    @property
    def text(self) -> str:
        return ERROR_TEXTS[self]


ERROR_TEXTS = {
    HL7Error.SEGMENT_SEQUENCE: "Segment sequence error",
    HL7Error.REQUIRED_FIELD: "Required field missing",
    HL7Error.DATA_TYPE: "Data type error",
    HL7Error.UNSUPPORTED_TYPE: "Unsupported message type",
    HL7Error.UNSUPPORTED_EVENT: "Unsupported event code",
    HL7Error.UNSUPPORTED_VERSION: "Unsupported version id",
    HL7Error.INTERNAL: "Application internal error",
}


class Refused(ValueError):
    """Not applied: `ack` is AE or AR, the words say why (for the sender and for staff);
    `where` is the segment and field at fault, when there is one."""

    def __init__(
        self, ack: AckCode, reason: str, error: HL7Error, where: tuple[str, int] | None = None
    ) -> None:
        super().__init__(reason)
        self.ack = ack
        self.reason = reason
        self.error = error
        self.where = where


@dataclass(frozen=True)
class Siu:
    header: Header
    appointment: FeedAppointment
    reason: str  # SCH-6, the event reason, in the system's words ("" when none)


def version_of(header: Header) -> tuple[int, ...] | None:
    parts = header.version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def check_header(header: Header | None) -> Header:
    """The header of a message this interface takes; raises Refused (AR) otherwise."""
    if header is None:
        raise Refused(
            AckCode.REJECT,
            "not an HL7 v2 message: it does not begin with a readable MSH segment",
            HL7Error.SEGMENT_SEQUENCE,
        )
    if not header.control_id:
        raise Refused(
            AckCode.REJECT,
            "MSH-10 (message control id) is empty",
            HL7Error.REQUIRED_FIELD,
            ("MSH", 10),
        )
    version = version_of(header)
    if version is None or not LOWEST_VERSION <= version < (3,):
        raise Refused(
            AckCode.REJECT,
            f"HL7 version {header.version or '(none)'} is not taken: 2.3 to 2.8 are",
            HL7Error.UNSUPPORTED_VERSION,
            ("MSH", 12),
        )
    if header.code != "SIU":
        raise Refused(
            AckCode.REJECT,
            f"{header.message_type or 'a message without a type'} is not taken here: "
            "this interface takes scheduling messages (SIU)",
            HL7Error.UNSUPPORTED_TYPE,
            ("MSH", 9),
        )
    if header.trigger not in TRIGGERS:
        raise Refused(
            AckCode.REJECT,
            f"{header.message_type} is not taken: SIU {', '.join(TRIGGERS)} are",
            HL7Error.UNSUPPORTED_EVENT,
            ("MSH", 9),
        )
    return header


def parse(text: str, *, identifier_type: str, zone: ZoneInfo) -> Siu:
    """Raises Refused. `zone`: where times without an offset are (the clinic's)."""
    header = check_header(read_header(text))
    try:
        message = hl7.parse(SEGMENT_END.join(_read_segments(segments(text))))
    except Exception as exc:  # python-hl7 raises whatever its splitting meets
        raise Refused(
            AckCode.ERROR,
            f"the message cannot be read past its header ({type(exc).__name__})",
            HL7Error.SEGMENT_SEQUENCE,
        ) from None
    sch = _segment(message, "SCH")
    pid = _segment(message, "PID")
    if sch is None:
        raise Refused(AckCode.ERROR, "the SCH segment is missing", HL7Error.SEGMENT_SEQUENCE)
    if pid is None:
        raise Refused(AckCode.ERROR, "the PID segment is missing", HL7Error.SEGMENT_SEQUENCE)
    ref = _get(sch, 2) or _get(sch, 1)
    if not ref:
        raise Refused(
            AckCode.ERROR,
            "the appointment has no id (SCH-2 filler id, or SCH-1 placer id)",
            HL7Error.REQUIRED_FIELD,
            ("SCH", 2),
        )
    status = TRIGGERS[header.trigger]
    if header.trigger == "S14":
        status = FILLER_STATUS.get(_get(sch, 25).upper().replace("-", ""), status)
    starts_at = _start(message, sch, zone)
    if starts_at is None and header.trigger == "S12":
        raise Refused(
            AckCode.ERROR,
            "the new appointment has no start time (SCH-11.4, TQ1-7 or AIS-4)",
            HL7Error.REQUIRED_FIELD,
            ("SCH", 11),
        )
    reason = _get(sch, 6, component=2) or _get(sch, 6)
    appointment = FeedAppointment(
        source=AppointmentSource.HL7,
        ref=ref,
        patient_ref=_patient_id(pid, identifier_type),
        status=status,
        starts_at=starts_at,
        changed_at=_time(header.component(7), zone, ("MSH", 7), to_the_minute=False),
        patient_name=_name(pid),
        phone=_phone(pid),
        cancelled_by_patient=_by_patient(reason) if status == FeedStatus.CANCELLED else None,
    )
    return Siu(header, appointment, reason)


def _read_segments(lines: list[str]) -> list[str]:
    """The header and the segments read here, in their order; the rest (PV1, RGS, NTE, Z
    segments...) is stored with the message but not split: python-hl7 splits every field of
    every segment it is given, and that was a third of handling a message."""
    return lines[:1] + [line for line in lines[1:] if line[:3] in READ]


def _segment(message: hl7.Message, name: str) -> hl7.Segment | None:
    for segment in message:
        if str(segment[0]).strip() == name:
            return segment
    return None


def _get(segment: hl7.Segment, field: int, repetition: int = 1, component: int = 1) -> str:
    """Field.repetition.component (first subcomponent), unescaped; "" when absent."""
    try:
        value = segment.extract_field(1, field, repetition, component, 1)
    except (IndexError, KeyError, ValueError, TypeError):
        return ""
    return str(value).strip()


def _repetitions(segment: hl7.Segment, field: int) -> int:
    if field >= len(segment):
        return 0
    value = segment[field]
    return len(value) if isinstance(value, list) else 1


def _time(
    value: str, zone: ZoneInfo, where: tuple[str, int], *, to_the_minute: bool = True
) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value, zone, to_the_minute=to_the_minute)
    except BadTime as exc:
        raise Refused(
            AckCode.ERROR, f"{where[0]}-{where[1]}: {exc}", HL7Error.DATA_TYPE, where
        ) from None


def _start(message: hl7.Message, sch: hl7.Segment, zone: ZoneInfo) -> datetime | None:
    if found := _get(sch, 11, component=4):
        return _time(found, zone, ("SCH", 11))
    tq1 = _segment(message, "TQ1")
    if tq1 is not None and (found := _get(tq1, 7)):
        return _time(found, zone, ("TQ1", 7))
    for name, field in RESOURCE_STARTS:
        segment = _segment(message, name)
        if segment is not None and (found := _get(segment, field)):
            return _time(found, zone, (name, field))
    return None


def _patient_id(pid: hl7.Segment, identifier_type: str) -> str:
    wanted = identifier_type.strip().upper()
    seen: list[str] = []
    for repetition in range(1, _repetitions(pid, 3) + 1):
        value = _get(pid, 3, repetition)
        kind = _get(pid, 3, repetition, 5)
        if value and (not wanted or kind.upper() == wanted):
            return value
        seen.append(kind or "(no type)")
    if not seen:
        raise Refused(
            AckCode.ERROR, "the patient has no id (PID-3)", HL7Error.REQUIRED_FIELD, ("PID", 3)
        )
    raise Refused(
        AckCode.ERROR,
        f"no patient id of type {wanted} in PID-3 (found {', '.join(seen)}); "
        "hl7.identifier_type names the type to match",
        HL7Error.REQUIRED_FIELD,
        ("PID", 3),
    )


def _name(pid: hl7.Segment) -> str:
    return " ".join(part for part in (_get(pid, 5, 1, 2), _get(pid, 5, 1, 1)) if part)


def _phone(pid: hl7.Segment) -> str | None:
    """A cell phone (equipment type CP) first, then home (PRN), then whichever comes first.
    XTN keeps the number in XTN.12 (unformatted), XTN.5-7 (country, area, local) or, before
    2.5, XTN.1."""
    numbers: list[tuple[int, str]] = []
    for repetition in range(1, _repetitions(pid, 13) + 1):
        whole = _get(pid, 13, repetition, 12)
        parts = [_get(pid, 13, repetition, n) for n in (5, 6, 7)]
        if not whole and parts[2]:
            whole = ("+" + parts[0] if parts[0] else "") + parts[1] + parts[2]
        whole = whole or _get(pid, 13, repetition, 1)
        if not whole:
            continue
        equipment = _get(pid, 13, repetition, 3).upper()
        use = _get(pid, 13, repetition, 2).upper()
        rank = 0 if equipment == "CP" else 1 if use == "PRN" else 2
        numbers.append((rank, whole))
    return min(numbers, key=lambda found: found[0])[1] if numbers else None


def _by_patient(reason: str) -> bool | None:
    """Who called it off, when SCH-6 says (its codes are each site's own: words decide)."""
    words = reason.lower()
    if "patient" in words:
        return True
    if any(word in words for word in CLINIC_WORDS):
        return False
    return None
