"""Whether a signed-in session still holds: the user it names, as long as the account is
active, its password unchanged since (the stamp) and no sign-out came after it was made."""

from __future__ import annotations

from sqlalchemy import Engine

from outreach.accounts.users import Staff, load_staff


def session_user(engine: Engine, user_id: int, stamp: object, issued: object) -> Staff | None:
    """The user of a session that holds `user_id`, `stamp` and `issued` (when it was made, in
    seconds since the epoch), or None if that session is void."""
    with engine.connect() as conn:
        staff = load_staff(conn, user_id)
    if (
        staff is None
        or stamp != staff.stamp
        or not isinstance(issued, float)
        or (staff.sessions_after is not None and issued <= staff.sessions_after.timestamp())
    ):
        return None
    return staff
