"""The inbox's conversations: one per patient, open while something they wrote waits for a
person. The only writer of the conversation table.

A conversation opens (or reopens) when a reply needs a person: the rules could not fully
handle it, it asks us to stop or to move a session, or it answers a text staff wrote
(replies/inbound.py decides). Staff assign it, answer it, and close it; closing it takes the
patient's replies off Today's "needs a look" list too, since someone has looked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db import dialect
from outreach.db.tables import conversations, inbound_messages, staff_users

C = conversations
IN = inbound_messages


class NoConversation(LookupError):
    """The patient has no conversation in the inbox."""


class NoSuchColleague(ValueError):
    """An assignment to a user who does not exist or is disabled."""


def open_for(conn: Connection, patient_id: int, received_at: datetime, now: datetime) -> None:
    """The patient wrote something a person must read: open their conversation, or reopen
    it (keeping whoever it was assigned to), and move it up the inbox."""
    stmt = dialect.insert(conn, C).values(
        patient_id=patient_id, opened_at=now, last_in_at=received_at, updated_at=now
    )
    reopened = {
        # A retry can process an older reply after a newer one: keep the newest.
        "last_in_at": case((C.c.last_in_at > received_at, C.c.last_in_at), else_=received_at),
        "opened_at": case((C.c.closed_at.is_(None), C.c.opened_at), else_=now),
        "closed_at": None,
        "closed_by": None,
        "updated_at": now,
    }
    conn.execute(stmt.on_conflict_do_update(index_elements=["patient_id"], set_=reopened))


def assign(
    conn: Connection, patient_id: int, user_id: int | None, staff: Staff, now: datetime
) -> None:
    """Give the conversation to a colleague (or to nobody: `user_id` None)."""
    if user_id is not None:
        active = conn.execute(
            select(staff_users.c.active).where(staff_users.c.id == user_id)
        ).scalar()
        if not active:
            raise NoSuchColleague(f"no active staff user with id {user_id}")
    done = conn.execute(
        update(C)
        .where(C.c.patient_id == patient_id)
        .values(assigned_to=user_id, updated_at=now)
        .returning(C.c.id)
    ).first()
    if done is None:
        raise NoConversation(patient_id)
    audit.record(
        conn, staff, Action.CONVERSATION_ASSIGNED, now, patient_id=patient_id,
        detail={"to": user_id},
    )  # fmt: skip


def close(conn: Connection, patient_id: int, staff: Staff, now: datetime) -> bool:
    """Close an open conversation: the patient's replies have been looked at. False if it
    was already closed."""
    done = conn.execute(
        update(C)
        .where(C.c.patient_id == patient_id, C.c.closed_at.is_(None))
        .values(closed_at=now, closed_by=staff.id, updated_at=now)
        .returning(C.c.id)
    ).first()
    if done is None:
        _must_exist(conn, patient_id)
        return False
    seen = mark_replies_seen(conn, patient_id)
    audit.record(
        conn, staff, Action.CONVERSATION_CLOSED, now, patient_id=patient_id,
        detail={"replies_seen": seen},
    )  # fmt: skip
    return True


def reopen(conn: Connection, patient_id: int, staff: Staff, now: datetime) -> bool:
    """Open a closed conversation again (it was closed too soon). False if it was open."""
    done = conn.execute(
        update(C)
        .where(C.c.patient_id == patient_id, C.c.closed_at.is_not(None))
        .values(closed_at=None, closed_by=None, opened_at=now, updated_at=now)
        .returning(C.c.id)
    ).first()
    if done is None:
        _must_exist(conn, patient_id)
        return False
    audit.record(conn, staff, Action.CONVERSATION_REOPENED, now, patient_id=patient_id)
    return True


def mark_replies_seen(conn: Connection, patient_id: int) -> int:
    """Take every reply of this patient off the needs-a-look list; how many were on it."""
    return int(
        conn.execute(
            update(IN)
            .where(IN.c.patient_id == patient_id, IN.c.needs_review.is_(True))
            .values(needs_review=False)
        ).rowcount
    )


def close_if_all_seen(conn: Connection, patient_id: int, staff: Staff, now: datetime) -> bool:
    """After a reply is marked seen on Today: close the conversation if nothing else the
    patient wrote still needs a look. True if it closed."""
    waiting = conn.execute(
        select(IN.c.id).where(IN.c.patient_id == patient_id, IN.c.needs_review.is_(True))
    ).first()
    if waiting is not None:
        return False
    return bool(
        conn.execute(
            update(C)
            .where(C.c.patient_id == patient_id, C.c.closed_at.is_(None))
            .values(closed_at=now, closed_by=staff.id, updated_at=now)
        ).rowcount
    )


def _must_exist(conn: Connection, patient_id: int) -> None:
    if conn.execute(select(C.c.id).where(C.c.patient_id == patient_id)).first() is None:
        raise NoConversation(patient_id)
