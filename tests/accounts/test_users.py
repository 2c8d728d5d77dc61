"""Staff accounts: made on the command line, argon2-hashed, locked after repeated failures."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from outreach.accounts.users import (
    LOCKOUT_FAILURES,
    LOCKOUT_WINDOW,
    LockedOut,
    UserError,
    add_user,
    authenticate,
    set_active,
    set_password,
)
from outreach.cli.main import main
from outreach.clock import ManualClock
from outreach.db.tables import staff_users

GOOD = "a long enough passphrase"


def test_a_password_is_stored_only_as_an_argon2_hash(engine: Engine, clock: ManualClock) -> None:
    add_user(engine, "Maria", "Maria Lopez, PT", GOOD, "admin", clock.now())
    with engine.begin() as conn:
        row = conn.execute(select(staff_users)).one()
    assert row.username == "maria"  # usernames are compared in lower case
    assert row.password_hash.startswith("$argon2id$") and GOOD not in row.password_hash


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("m", GOOD, "admin", "a username is 2 to 64 characters"),
        ("maria lopez", GOOD, "admin", "a username is 2 to 64 characters"),
        ("maria", "short", "admin", "at least 12 characters"),
        ("maria", "x" * 257, "admin", "at most 256 characters"),
        ("maria", GOOD, "owner", "role must be one of admin, therapist"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    engine: Engine, clock: ManualClock, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        add_user(engine, username, "", password, role, clock.now())


def test_a_username_is_taken_once(engine: Engine, clock: ManualClock) -> None:
    add_user(engine, "maria", "", GOOD, "admin", clock.now())
    with pytest.raises(UserError, match="taken"):
        add_user(engine, "MARIA", "", GOOD, "therapist", clock.now())


def test_sign_in_checks_the_password_and_the_account(engine: Engine, clock: ManualClock) -> None:
    add_user(engine, "maria", "Maria", GOOD, "therapist", clock.now())

    assert authenticate(engine, "maria", "wrong password", clock.now()) is None
    assert authenticate(engine, "nobody", GOOD, clock.now()) is None
    staff = authenticate(engine, " Maria ", GOOD, clock.now())
    assert staff is not None and (staff.username, staff.role) == ("maria", "therapist")

    set_active(engine, "maria", False)
    assert authenticate(engine, "maria", GOOD, clock.now()) is None


def test_the_lockout_ends_after_its_window(engine: Engine, clock: ManualClock) -> None:
    add_user(engine, "maria", "", GOOD, "admin", clock.now())
    for _ in range(LOCKOUT_FAILURES):
        authenticate(engine, "maria", "wrong password", clock.now())

    with pytest.raises(LockedOut):
        authenticate(engine, "maria", GOOD, clock.now())  # even the right one, for now
    clock.advance(LOCKOUT_WINDOW + timedelta(seconds=1))
    assert authenticate(engine, "maria", GOOD, clock.now()) is not None


def test_a_new_password_changes_the_session_stamp(engine: Engine, clock: ManualClock) -> None:
    before = add_user(engine, "maria", "", GOOD, "admin", clock.now())
    set_password(engine, "maria", "another long passphrase")
    after = authenticate(engine, "maria", "another long passphrase", clock.now())
    assert after is not None and after.stamp != before.stamp


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n')
    return path


def cli(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args], input=stdin)
    return result.exit_code, result.output


def test_users_are_added_listed_and_disabled_from_the_command_line(config: Path) -> None:
    code, output = cli(
        config, "users", "add", "maria", "--name", "Maria Lopez", "--role", "admin",
        "--password-stdin", stdin=GOOD + "\n",
    )  # fmt: skip
    assert (code, output.strip()) == (0, "Added maria (admin).")

    code, output = cli(config, "users", "add", "sam", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 12 characters" in output

    assert cli(config, "users", "disable", "maria")[0] == 0
    code, output = cli(config, "users", "list", "--json")
    [maria] = json.loads(output)
    assert (maria["username"], maria["role"], maria["active"]) == ("maria", "admin", False)
    assert cli(config, "users", "disable", "nobody") == (1, "Error: there is no user 'nobody'\n")


def test_the_password_prompt_asks_twice(config: Path) -> None:
    code, output = cli(config, "users", "add", "sam", stdin=f"{GOOD}\n{GOOD}\n")
    assert code == 0 and "Added sam (therapist)." in output
    assert "Password" in output and "Repeat for confirmation" in output
