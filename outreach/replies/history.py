"""A patient's history as the interpreter needs it when a reply comes: the questions still open,
the recent exercise answers, and the pain baseline."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from outreach.db.tables import observations, outbound_messages
from outreach.rules.replies.outcome import Prompt
from outreach.rules.vocabulary import EXERCISE_ANSWERS, ObservationKind, OutboundStatus

OUT = outbound_messages
OPEN_PROMPTS = 5
SKIPS_LOOKED_AT = 5

# Built once with bound parameters: building them for every reply cost more than running
# them on SQLite.
OPEN_PROMPTS_OF = (
    select(OUT.c.id, OUT.c.prompt, OUT.c.prompt_ref)
    .where(
        OUT.c.patient_id == bindparam("patient_id"),
        OUT.c.prompt.is_not(None),
        OUT.c.answered_at.is_(None),
        OUT.c.reply_until > bindparam("now"),
        OUT.c.status.notin_(
            (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED, OutboundStatus.UNKNOWN)
        ),
    )
    .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
    .limit(OPEN_PROMPTS)
)
LATEST_EXERCISE_ANSWERS = (
    select(observations.c.kind)
    .where(
        observations.c.patient_id == bindparam("patient_id"),
        observations.c.kind.in_(EXERCISE_ANSWERS),
    )
    .order_by(observations.c.at.desc(), observations.c.id.desc())
    .limit(SKIPS_LOOKED_AT)
)

LATEST_TEXT_OUT = (
    select(OUT.c.template, OUT.c.created_at)
    .where(OUT.c.patient_id == bindparam("patient_id"))
    .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
    .limit(1)
)


def last_text_out(conn: Connection, patient_id: int) -> tuple[str, datetime] | None:
    """The template and time of the latest text we sent the patient ("staff" for one a
    person wrote), or None."""
    row = conn.execute(LATEST_TEXT_OUT, {"patient_id": patient_id}).first()
    return None if row is None else (row.template, row.created_at)


def open_prompts(conn: Connection, patient_id: int, now: datetime) -> list[Prompt]:
    rows = conn.execute(OPEN_PROMPTS_OF, {"patient_id": patient_id, "now": now}).all()
    return [Prompt(row.id, row.prompt, row.prompt_ref) for row in rows]


def skipped_in_a_row(conn: Connection, patient_id: int) -> int:
    """How many of the patient's latest exercise answers were skips, back to the last done."""
    latest = conn.execute(LATEST_EXERCISE_ANSWERS, {"patient_id": patient_id}).scalars().all()
    count = 0
    for kind in latest:
        if kind != ObservationKind.EXERCISE_SKIPPED:
            break
        count += 1
    return count


def pain_baseline(conn: Connection, patient: Any) -> int | None:
    """The clinic's recorded baseline, else the median of the last five reported scores."""
    if patient.pain_baseline is not None:
        return int(patient.pain_baseline)
    recent = (
        conn.execute(
            select(observations.c.value)
            .where(
                observations.c.patient_id == patient.id,
                observations.c.kind == ObservationKind.EXERCISE_DONE,
                observations.c.value.is_not(None),
            )
            .order_by(observations.c.at.desc())
            .limit(5)
        )
        .scalars()
        .all()
    )
    return int(statistics.median(recent)) if len(recent) >= 3 else None
