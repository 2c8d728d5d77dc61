"""Staff accounts: argon2 password hashes, sign-in with a lockout, roles.

Accounts are made on the command line (`outreach users add`) and never deleted, because
the audit log names who did what; `disable` ends an account and its sessions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, insert, select, update

from outreach.accounts.actions import Action
from outreach.db.tables import audit_events, staff_users
from outreach.rules.vocabulary import Role

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
PASSWORD_MIN = 12
PASSWORD_MAX = 256  # argon2 takes any length; a megabyte "password" is an attack
DISPLAY_NAME_MAX = 80
# Five wrong passwords for one username in 15 minutes lock it for the rest of that window.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()


class UserError(ValueError):
    """A username, password or role is not acceptable; the message says why."""


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    display_name: str
    role: str
    stamp: str  # changes when the password does, which ends every session made before
    sessions_after: datetime | None = None  # sessions made before then are void (sign-out)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise UserError(
            "a username is 2 to 64 characters: lower-case letters, digits, '.', '_', '@' or '-',"
            " starting with a letter or digit"
        )
    return name


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise UserError(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise UserError(f"a password may have at most {PASSWORD_MAX} characters")


def add_user(
    engine: Engine, username: str, display_name: str, password: str, role: str, now: datetime
) -> Staff:
    name = check_username(username)
    shown = display_name.strip() or name
    if len(shown) > DISPLAY_NAME_MAX:
        raise UserError(f"a display name may have at most {DISPLAY_NAME_MAX} characters")
    if role not in tuple(Role):
        raise UserError(f"role must be one of {', '.join(Role)}, got {role!r}")
    check_password(password)
    with engine.begin() as conn:
        taken = conn.execute(select(staff_users.c.id).where(staff_users.c.username == name))
        if taken.first() is not None:
            raise UserError(f"the username {name!r} is taken")
        user_id = conn.execute(
            insert(staff_users)
            .values(
                username=name,
                display_name=shown,
                password_hash=_hasher.hash(password),
                role=role,
                active=True,
                created_at=now,
            )
            .returning(staff_users.c.id)
        ).scalar_one()
        return _staff(conn, user_id)  # type: ignore[return-value]


def set_password(engine: Engine, username: str, password: str) -> None:
    check_password(password)
    with engine.begin() as conn:
        changed = conn.execute(
            update(staff_users)
            .where(staff_users.c.username == check_username(username))
            .values(password_hash=_hasher.hash(password))
        ).rowcount
    if not changed:
        raise UserError(f"there is no user {username!r}")


def set_active(engine: Engine, username: str, active: bool) -> None:
    with engine.begin() as conn:
        changed = conn.execute(
            update(staff_users)
            .where(staff_users.c.username == check_username(username))
            .values(active=active)
        ).rowcount
    if not changed:
        raise UserError(f"there is no user {username!r}")


def list_users(engine: Engine) -> list[dict[str, object]]:
    with engine.begin() as conn:
        rows = conn.execute(select(staff_users).order_by(staff_users.c.username)).all()
    return [
        {
            "username": r.username,
            "name": r.display_name,
            "role": r.role,
            "active": r.active,
            "last_sign_in": r.last_login_at.isoformat() if r.last_login_at else None,
        }
        for r in rows
    ]


class LockedOut(Exception):
    """Too many wrong passwords for this username lately."""


def authenticate(engine: Engine, username: str, password: str, now: datetime) -> Staff | None:
    """The active user with this username and password, or None. Raises LockedOut after
    LOCKOUT_FAILURES wrong passwords within LOCKOUT_WINDOW. Every failure is audited."""
    name = username.strip().lower()[:64]
    # Made before the lookup, so the first sign-in pays for it whether the name is known.
    dummy = _dummy_hash()
    with engine.begin() as conn:
        failures = conn.execute(
            select(func.count())
            .select_from(audit_events)
            .where(
                audit_events.c.action == Action.SIGN_IN_FAILED,
                audit_events.c.username == name,
                audit_events.c.at > now - LOCKOUT_WINDOW,
            )
        ).scalar_one()
        if failures >= LOCKOUT_FAILURES:
            raise LockedOut(name)
        row = conn.execute(select(staff_users).where(staff_users.c.username == name)).first()
        ok = _verify(row.password_hash if row is not None else dummy, password)
        if row is None or not ok or not row.active:
            conn.execute(
                insert(audit_events).values(
                    at=now, user_id=None, username=name, action=Action.SIGN_IN_FAILED, detail="{}"
                )
            )
            return None
        values: dict[str, object] = {"last_login_at": now}
        if _hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(update(staff_users).where(staff_users.c.id == row.id).values(**values))
        return _staff(conn, row.id)


@cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong name costs as long as a wrong
    password. Made at the first sign-in, not at import: hashing takes a tenth of a second,
    which every command that imports this module would otherwise pay."""
    return _hasher.hash("not a real password, only a timing equaliser")


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > PASSWORD_MAX:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def staff_by_username(engine: Engine, username: str) -> Staff | None:
    """An active user by name, for commands run at a terminal on a user's behalf."""
    with engine.connect() as conn:
        user_id = conn.execute(
            select(staff_users.c.id).where(staff_users.c.username == username.strip())
        ).scalar()
        return None if user_id is None else _staff(conn, user_id)


def load_staff(conn: Connection, user_id: int) -> Staff | None:
    """The signed-in user for a session, if the account is still active."""
    return _staff(conn, user_id)


def _staff(conn: Connection, user_id: int) -> Staff | None:
    row = conn.execute(
        select(staff_users).where(staff_users.c.id == user_id, staff_users.c.active.is_(True))
    ).first()
    if row is None:
        return None
    stamp = hashlib.sha256(row.password_hash.encode()).hexdigest()[:16]
    return Staff(row.id, row.username, row.display_name, row.role, stamp, row.sessions_after)


def end_sessions(engine: Engine, user_id: int, at: datetime) -> None:
    """Void every session of this user made before `at` (signing out does this)."""
    with engine.begin() as conn:
        conn.execute(
            update(staff_users).where(staff_users.c.id == user_id).values(sessions_after=at)
        )
