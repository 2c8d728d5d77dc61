"""The report's figures recounted the plainest way, to check the rollups against code that
shares nothing with them: every raw row is read with a bare SELECT and each figure is
counted in Python from its definition (docs/report.md, figures.DEFINITIONS), for the
range's clinic days and as of `now`. Medians are the low median of the raw durations,
compared as staff read them (report.duration), which checks the buckets as well.

Only the rules themselves are shared: the late-cancellation rule, the clinic-day function
and the spoken durations, as the report must agree with them."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, overload
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from outreach.db.tables import (
    appointment_table,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    open_slots,
    outbound_messages,
    staff_messages,
)
from outreach.rules.attendance import is_late_cancellation
from outreach.rules.localtime import local_date
from outreach.staff import report
from outreach.staff.report.daterange import DateRange

NOT_SENT = {"pending", "failed", "undelivered", "unknown"}


@overload
def _aware(at: datetime) -> datetime: ...
@overload
def _aware(at: None) -> None: ...
def _aware(at: datetime | None) -> datetime | None:
    return None if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)


def _rows(conn: Any, table: Any) -> list[Any]:
    return list(conn.execute(select(table)).mappings())


def _low_median(values: list[timedelta]) -> str:
    if not values:
        return report.duration(None)
    ordered = sorted(values)
    return report.duration(ordered[(len(ordered) - 1) // 2])


def _rate(count: int, total: int) -> tuple[int, int]:
    return (count, total)


def recount(
    engine: Engine, zone: ZoneInfo, span: DateRange, now: datetime, late_hours: int
) -> dict[str, Any]:
    """The figures of `span` as staff read them, from the raw rows."""
    with engine.connect() as conn:
        out = _rows(conn, outbound_messages)
        inbound = _rows(conn, inbound_messages)
        seen = _rows(conn, observations)
        sessions = _rows(conn, appointment_table)
        raised = _rows(conn, escalations)
        consents = _rows(conn, consent_events)
        slots = _rows(conn, open_slots)
        staff = _rows(conn, staff_messages)

    def in_range(at: datetime | None) -> bool:
        return at is not None and span.start <= local_date(_aware(at), zone) <= span.end

    def sent_instant(m: Any) -> datetime:
        at: datetime = m["sent_at"] or m["created_at"]
        return _aware(at)

    kinds_told: dict[int, set[str]] = defaultdict(set)  # outbound id -> what answers told
    prompt_of = {i["id"]: i["prompt_id"] for i in inbound}
    for o in seen:
        if o["inbound_id"] is not None and prompt_of.get(o["inbound_id"]) is not None:
            kinds_told[prompt_of[o["inbound_id"]]].add(o["kind"])

    # Questions: counted on the day they were sent, answered whenever.
    sent: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    waits: list[timedelta] = []
    exercise_done = exercise_skipped = 0
    for m in out:
        if m["prompt"] is None or m["status"] in NOT_SENT or not in_range(sent_instant(m)):
            continue
        sent[m["prompt"]] += 1
        if m["answered_at"] is not None:
            answered[m["prompt"]] += 1
            wait = _aware(m["answered_at"]) - sent_instant(m)
            waits.append(max(timedelta(0), timedelta(seconds=int(wait.total_seconds()))))
        if m["prompt"] == "exercise":
            exercise_done += "exercise_done" in kinds_told[m["id"]]
            exercise_skipped += "exercise_skipped" in kinds_told[m["id"]]

    # Texts undeliverable, unless a later try of the same reminder was sent.
    undeliverable: Counter[str] = Counter()
    for m in out:
        if m["status"] not in ("failed", "undelivered") or not in_range(sent_instant(m)):
            continue
        retried = any(
            r["reminder_id"] == m["reminder_id"] and r["id"] > m["id"]
            and r["status"] not in NOT_SENT
            for r in out
        )  # fmt: skip
        if not retried:
            undeliverable[m["error_code"] or "no code"] += 1

    # Sessions: on the day they start, once started.
    reminders_of: dict[int, list[Any]] = defaultdict(list)
    for m in out:
        if m["prompt"] == "session" and m["prompt_ref"] is not None:
            reminders_of[m["prompt_ref"]].append(m)

    def was_confirmed(a: Any) -> bool:
        return a["status"] == "confirmed" or any(
            "session_confirmed" in kinds_told[m["id"]] for m in reminders_of[a["id"]]
        )

    marked: Counter[tuple[bool, str]] = Counter()
    late: Counter[str] = Counter()
    cancelled: Counter[str] = Counter()
    on = unconfirmed = 0
    for a in sessions:
        starts = _aware(a["starts_at"])
        assert starts is not None
        if not in_range(starts) or starts >= now:
            continue
        if a["status"] in ("scheduled", "confirmed"):
            on += 1
            unconfirmed += not was_confirmed(a)
        if a["attendance"] is None:
            continue
        marked[(was_confirmed(a), a["attendance"])] += 1
        if a["attendance"].startswith("cancelled") and a["cancelled_at"] is not None:
            cancelled[a["attendance"]] += 1
            late[a["attendance"]] += is_late_cancellation(
                starts, _aware(a["cancelled_at"]), late_hours
            )

    def no_shows(*sides: bool) -> tuple[int, int]:
        missed = sum(marked[(s, "no_show")] for s in sides)
        return _rate(missed, missed + sum(marked[(s, "attended")] for s in sides))

    # Confirmation: each session once, on the day of its first reminder sent.
    reminded = confirmed = 0
    for appointment_id, texts in reminders_of.items():
        sent_ones = [sent_instant(m) for m in texts if m["status"] not in NOT_SENT]
        if not sent_ones or not in_range(min(sent_ones)):
            continue
        session = next((a for a in sessions if a["id"] == appointment_id), None)
        if session is None:
            continue
        reminded += 1
        confirmed += was_confirmed(session)

    # Escalations by severity now, on the day raised; the first action whenever.
    severities: Counter[str] = Counter({"emergency": 0, "urgent": 0, "routine": 0, "review": 0})
    first_actions: list[timedelta] = []
    unacted = 0
    for e in raised:
        if not in_range(e["created_at"]):
            continue
        severities[e["severity"]] += 1
        acted = [_aware(t) for t in (e["acknowledged_at"], e["resolved_at"]) if t is not None]
        if acted:
            first_actions.append(min(acted) - _aware(e["created_at"]))
        else:
            unacted += 1

    opt_outs = Counter(
        c["source"] for c in consents if c["event"] == "opted_out" and in_range(c["at"])
    )

    # Waits for a person: from the patient's first text after the last staff text to the
    # next staff text (one to one, not a broadcast), on the day the wait began.
    staff_waits: list[timedelta] = []
    for patient_id in {s["patient_id"] for s in staff}:
        mine = sorted(
            _aware(s["created_at"])
            for s in staff
            if s["patient_id"] == patient_id and s["broadcast_id"] is None
        )
        texts = sorted(_aware(i["received_at"]) for i in inbound if i["patient_id"] == patient_id)
        before: datetime | None = None
        for answer in mine:
            asked = [t for t in texts if t <= answer and (before is None or t > before)]
            before = answer
            if asked and in_range(asked[0]):
                staff_waits.append(answer - asked[0])

    opened = [s for s in slots if in_range(s["opened_at"])]
    filled = sum(
        any(a["filled_slot"] == s["id"] and a["source"] == "waitlist" for a in sessions)
        for s in opened
    )

    return {
        "replies": _rate(sum(answered.values()), sum(sent.values())),
        "replies_by_kind": {k: _rate(answered[k], n) for k, n in sorted(sent.items())},
        "median_reply": _low_median(waits),
        "foot_checks": _rate(answered["foot_check"], sent["foot_check"]),
        "exercise": _rate(exercise_done, sent["exercise"]),
        "exercise_skipped": exercise_skipped,
        "undeliverable": dict(sorted(undeliverable.items())),
        "no_shows": no_shows(True, False),
        "no_shows_confirmed": no_shows(True),
        "no_shows_unconfirmed": no_shows(False),
        "late_cancellations": {
            who: _rate(late[who], cancelled[who])
            for who in ("cancelled_by_patient", "cancelled_by_clinic")
        },
        "waitlist_fills": _rate(filled, len(opened)),
        "confirmation": _rate(confirmed, reminded),
        "unconfirmed": _rate(unconfirmed, on),
        "escalations": dict(severities),
        "without_action": _rate(unacted, sum(severities.values())),
        "median_first_action": _low_median(first_actions),
        "median_staff_reply": _low_median(staff_waits),
        "staff_replies": len(staff_waits),
        "opt_outs": dict(sorted(opt_outs.items())),
    }


def as_read(found: report.Report) -> dict[str, Any]:
    """The same figures of a built report, in the oracle's terms."""

    def rate(r: report.Rate) -> tuple[int, int]:
        return (r.count, r.total)

    return {
        "replies": rate(found.replies),
        "replies_by_kind": {k: rate(r) for k, r in found.replies_by_kind.items()},
        "median_reply": report.duration(found.median_reply),
        "foot_checks": rate(found.foot_checks),
        "exercise": rate(found.exercise),
        "exercise_skipped": found.exercise_skipped,
        "undeliverable": dict(sorted(found.undeliverable.items())),
        "no_shows": rate(found.no_shows),
        "no_shows_confirmed": rate(found.no_shows_confirmed),
        "no_shows_unconfirmed": rate(found.no_shows_unconfirmed),
        "late_cancellations": {k: rate(r) for k, r in found.late_cancellations.items()},
        "waitlist_fills": rate(found.waitlist_fills),
        "confirmation": rate(found.confirmation),
        "unconfirmed": rate(found.unconfirmed),
        "escalations": dict(found.escalations),
        "without_action": rate(found.without_action),
        "median_first_action": report.duration(found.median_first_action),
        "median_staff_reply": report.duration(found.median_staff_reply),
        "staff_replies": found.staff_replies,
        "opt_outs": dict(sorted(found.opt_outs.items())),
    }
