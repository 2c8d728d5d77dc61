"""Quick replies: canned texts per language that staff start a reply from, listed and edited
by admins. The only writer of the quickreply table. A text is checked by rendering it
(texts/quick.py) before it is saved, so staff never meet a broken one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db.tables import quick_replies
from outreach.rules.plaintext import has_control_characters
from outreach.texts.quick import quick_problem
from outreach.texts.render import Renderer

Q = quick_replies
MAX_NAME = 60


@dataclass(frozen=True)
class QuickReply:
    id: int
    name: str
    language: str
    body: str


class QuickReplyError(ValueError):
    """The quick reply cannot be saved; `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {why}" for field, why in errors.items()))
        self.errors = errors


def all_replies(conn: Connection, language: str | None = None) -> list[QuickReply]:
    """By name, then language; only one language's if given."""
    query = select(Q.c.id, Q.c.name, Q.c.language, Q.c.body).order_by(Q.c.name, Q.c.language)
    if language is not None:
        query = query.where(Q.c.language == language)
    return [QuickReply(r.id, r.name, r.language, r.body) for r in conn.execute(query)]


def find(conn: Connection, reply_id: int) -> QuickReply | None:
    row = conn.execute(
        select(Q.c.id, Q.c.name, Q.c.language, Q.c.body).where(Q.c.id == reply_id)
    ).first()
    return None if row is None else QuickReply(row.id, row.name, row.language, row.body)


def save(
    conn: Connection,
    renderer: Renderer,
    staff: Staff,
    now: datetime,
    *,
    name: str,
    language: str,
    body: str,
    reply_id: int | None = None,
) -> int:
    """Add a quick reply, or change one (`reply_id`); QuickReplyError says what is wrong."""
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "give it a name staff will recognise, e.g. 'Please call us'"
    elif len(name) > MAX_NAME or has_control_characters(name):
        errors["name"] = f"at most {MAX_NAME} characters, on one line"
    if language not in renderer.languages():
        errors["language"] = f"must be one of {', '.join(renderer.languages())}"
    else:
        problem = quick_problem(renderer, body, language)
        if problem is not None:
            errors["body"] = problem
    if errors:
        raise QuickReplyError(errors)
    values = {"name": name, "language": language, "body": body.strip(), "updated_at": now}
    try:
        with conn.begin_nested():
            if reply_id is None:
                reply_id = int(
                    conn.execute(
                        Q.insert().values(**values, updated_by=staff.id).returning(Q.c.id)
                    ).scalar_one()
                )
            elif not conn.execute(
                update(Q).where(Q.c.id == reply_id).values(**values, updated_by=staff.id)
            ).rowcount:
                raise QuickReplyError({"name": "this quick reply no longer exists"})
    except IntegrityError:
        raise QuickReplyError(
            {"name": f"there is already a quick reply named {name!r} in this language"}
        ) from None
    audit.record(
        conn, staff, Action.QUICK_REPLY_SAVED, now,
        detail={"quick_reply": reply_id, "name": name, "language": language, "text": body},
    )  # fmt: skip
    return reply_id


def remove(conn: Connection, staff: Staff, reply_id: int, now: datetime) -> bool:
    """Delete a quick reply; False if there was none."""
    gone = conn.execute(
        delete(Q).where(Q.c.id == reply_id).returning(Q.c.name, Q.c.language)
    ).first()
    if gone is None:
        return False
    audit.record(
        conn, staff, Action.QUICK_REPLY_DELETED, now,
        detail={"quick_reply": reply_id, "name": gone.name, "language": gone.language},
    )  # fmt: skip
    return True
