"""One R4 Appointment and its included Patient, as a `FeedAppointment`. Pure: no I/O.

Appointment.status onto what outreach does (docs/fhir.md has the table):

    booked, pending                   -> SCHEDULED (reminded)
    cancelled                         -> CANCELLED (reminders stop, the slot may go to the
                                         waitlist)
    entered-in-error                  -> DELETED   (reminders stop; it never was, so its slot
                                         is offered to no one)
    noshow                            -> NO_SHOW   (the no-show follow-up)
    arrived, checked-in, fulfilled    -> ATTENDED
    proposed, waitlist                -> skipped: not an appointment yet

The issue groups entered-in-error with cancelled; outreach's DELETED is a cancellation that
offers no waitlist slot, which is the honest reading of "entered in error".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.patient import Patient

from outreach.feeds.appointments import FeedAppointment, NotApplied
from outreach.rules.vocabulary import AppointmentSource, FeedStatus

STATUSES = {
    "booked": FeedStatus.SCHEDULED,
    "pending": FeedStatus.SCHEDULED,
    "cancelled": FeedStatus.CANCELLED,
    "entered-in-error": FeedStatus.DELETED,
    "noshow": FeedStatus.NO_SHOW,
    "arrived": FeedStatus.ATTENDED,
    "checked-in": FeedStatus.ATTENDED,
    "fulfilled": FeedStatus.ATTENDED,
}
NOT_YET = {
    "proposed": "proposed, not booked yet",
    "waitlist": "on the EHR's waitlist, not booked yet",
}
# HL7 v2 table 0203 (identifier type), under its R4 address and the one before it.
IDENTIFIER_TYPES = (
    "http://terminology.hl7.org/CodeSystem/v2-0203",
    "http://hl7.org/fhir/v2/0203",
)
MEDICAL_RECORD = "MR"
CANCELLATION_REASONS = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
# The value set's codes start with who called it off: pat-* the patient; prov-*, maint and
# meds-inc the clinic's side; oth-* (weather, an error...) says no one in particular.
CLINIC_REASONS = ("prov", "maint", "meds-inc")
_BY_PATIENT = re.compile(r"\b(by|from) (the )?patient\b|\bpatient (cancell?ed|called)", re.I)
_BY_CLINIC = re.compile(
    r"\b(by|from) (the )?(clinic|provider|practitioner|doctor|therapist|physician)\b", re.I
)


@dataclass(frozen=True)
class Skipped:
    """An Appointment outreach does not act on, and why (in words)."""

    ref: str
    reason: str


def patients_by_reference(entries: Sequence[tuple[str | None, Patient]]) -> dict[str, Patient]:
    """Included Patients by every name a reference may use: "Patient/{id}" and the entry's
    fullUrl (an absolute reference)."""
    found: dict[str, Patient] = {}
    for full_url, patient in entries:
        if patient.id:
            found[f"Patient/{patient.id}"] = patient
        if full_url:
            found[full_url] = patient
    return found


def to_feed(
    appointment: Appointment,
    patients: Mapping[str, Patient],
    identifier_system: str | None,
) -> FeedAppointment | Skipped:
    """The appointment as outreach applies it, or Skipped; raises NotApplied when the
    content is wrong (no patient, no start on a booked appointment), in words."""
    ref = appointment.id or ""
    if not ref:
        raise NotApplied("an Appointment came without an id")
    status = str(appointment.status or "")
    if status in NOT_YET:
        return Skipped(ref, NOT_YET[status])
    if status not in STATUSES:
        raise NotApplied(f"Appointment/{ref} has status {status!r}, which R4 does not define")
    feed_status = STATUSES[status]
    start: datetime | None = appointment.start
    if start is None and feed_status == FeedStatus.SCHEDULED:
        raise NotApplied(f"Appointment/{ref} is {status} but has no start time")
    actor = _patient_actor(appointment)
    if actor is None:
        raise NotApplied(f"Appointment/{ref} has no participant who is a Patient")
    patient = _find(patients, actor.reference)
    if patient is not None:
        patient_ref = identifier(patient, identifier_system)
        if patient_ref is None:
            which = f"of system {identifier_system}" if identifier_system else "to match on"
            raise NotApplied(f"Appointment/{ref}: Patient/{patient.id} has no identifier {which}")
        name, phone = patient_name(patient) or _display(actor), mobile_phone(patient)
    elif actor.identifier is not None and actor.identifier.value:
        # A logical reference (Reference.identifier) names the patient without a resource.
        patient_ref, name, phone = str(actor.identifier.value), _display(actor), None
    else:
        raise NotApplied(
            f"Appointment/{ref}: its patient {actor.reference or '(no reference)'} was not "
            "included in the search result"
        )
    meta = appointment.meta
    return FeedAppointment(
        source=AppointmentSource.FHIR,
        ref=ref,
        patient_ref=patient_ref,
        status=feed_status,
        starts_at=start,
        changed_at=meta.lastUpdated if meta is not None else None,
        patient_name=name,
        phone=phone,
        cancelled_by_patient=(
            cancelled_by_patient(appointment) if feed_status == FeedStatus.CANCELLED else None
        ),
    )


def patient_reference(appointment: Appointment) -> str | None:
    """The reference of the appointment's patient ("Patient/example"), if it has one."""
    actor = _patient_actor(appointment)
    return None if actor is None else actor.reference


def _patient_actor(appointment: Appointment) -> Any:
    """The first participant who is a Patient and has not declined: by a reference to a
    Patient, or by the Reference's own type."""
    for participant in appointment.participant or []:
        actor = participant.actor
        if actor is None or participant.status == "declined":
            continue
        reference = actor.reference or ""
        if _is_patient(reference) or actor.type == "Patient":
            return actor
    return None


def _is_patient(reference: str) -> bool:
    parts = reference.split("/")
    # Patient/1, http://host/fhir/Patient/1, Patient/1/_history/2
    return "Patient" in parts[:-1] and parts[-1] != ""


def _find(patients: Mapping[str, Patient], reference: str | None) -> Patient | None:
    if not reference:
        return None
    if reference in patients:
        return patients[reference]
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return patients.get("/".join(parts[-2:]))


def identifier(patient: Patient, system: str | None) -> str | None:
    """The clinic's id of the patient: the identifier of the configured system (and no
    other: another system's number could be a different patient's id in outreach), else the
    medical record number (type MR), else the first with a value."""
    given = [i for i in patient.identifier or [] if i.value]
    if system:
        found = [c for c in given if c.system == system]
        return str(found[0].value) if found else None
    for candidate in given:
        codings = (candidate.type.coding or []) if candidate.type is not None else []
        if any(c.code == MEDICAL_RECORD and c.system in IDENTIFIER_TYPES for c in codings):
            return str(candidate.value)
    return str(given[0].value) if given else None


def patient_name(patient: Patient) -> str:
    """The official name, else the usual one, else the first: "Peter James Chalmers"."""
    names = [n for n in patient.name or [] if n.use not in ("old", "maiden")]
    names.sort(key=lambda n: {"official": 0, "usual": 1}.get(str(n.use), 2))
    for name in names:
        if name.text:
            return str(name.text).strip()
        words = [*(name.given or []), name.family or ""]
        spoken = " ".join(str(w).strip() for w in words if w and str(w).strip())
        if spoken:
            return spoken
    return ""


def mobile_phone(patient: Patient) -> str | None:
    """A phone number to text: a mobile first, then the others by rank; never an old one."""
    phones = [
        t
        for t in patient.telecom or []
        if t.system == "phone" and t.value and t.use != "old" and _current(t.period)
    ]
    phones.sort(key=lambda t: (t.use != "mobile", t.rank if t.rank is not None else 1 << 30))
    return str(phones[0].value).strip() if phones else None


def _current(period: Any) -> bool:
    # An ended period means a number no longer in use; "now" would make this impure, and
    # an end date given at all is the EHR saying so.
    return period is None or period.end is None


def cancelled_by_patient(appointment: Appointment) -> bool | None:
    """Who called it off, where the EHR says so clearly: a code of the
    appointment-cancellation-reason value set, else plain words in its text; None when it
    does not say."""
    reason = appointment.cancelationReason
    if reason is None:
        return None
    for coding in reason.coding or []:
        code = str(coding.code or "")
        if coding.system != CANCELLATION_REASONS or not code:
            continue
        if code == "pat" or code.startswith("pat-"):
            return True
        if any(code == c or code.startswith(c + "-") for c in CLINIC_REASONS):
            return False
    words = " ".join(str(w) for w in [reason.text, *(c.display for c in reason.coding or [])] if w)
    if _BY_PATIENT.search(words):
        return True
    if _BY_CLINIC.search(words):
        return False
    return None


def _display(actor: Any) -> str:
    return str(actor.display or "").strip()
