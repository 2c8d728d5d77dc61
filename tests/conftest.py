"""Shared fixtures: a migrated database per test, on SQLite by default and on PostgreSQL
when OUTREACH_TEST_DATABASE_URL is set (.ci/run sets it when the local server answers)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.texts.render import Renderer
from tests.support.patients import T0

PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"outreach database: {'PostgreSQL (' + PG_URL + ')' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once with Alembic, then copy the file for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_schema_url() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = f"outreach_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database_url(
    tmp_path: Path, _sqlite_template: Path, _pg_schema_url: str | None
) -> Iterator[str]:
    if _pg_schema_url is None:
        path = tmp_path / "outreach.db"
        shutil.copy(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    engine = create_engine(_pg_schema_url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield _pg_schema_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def renderer(settings: Settings) -> Renderer:
    return Renderer(settings.templates_dir, settings)


@pytest.fixture
def staff(engine: Engine, clock: ManualClock) -> None:
    """Two staff users (tests/support/admin.py USERS), password PASSWORD."""
    from tests.support.admin import add_staff

    add_staff(engine, clock.now())


# Session cookies by username. Every test's staff users have the same ids and password hash,
# so a cookie from one test's sign-in is valid in the next: argon2 makes each real sign-in
# cost a few hundred milliseconds. Signing in itself is tested in test_admin_auth.py.
_SIGNED_IN: dict[str, str] = {}


def _signed_in_client(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, username: str
) -> Any:
    from outreach.web.admin.app import SESSION_COOKIE
    from tests.support.admin import admin_client

    client = admin_client(engine, settings, renderer, clock)
    if username not in _SIGNED_IN:
        response = client.sign_in(username)
        assert response.status_code == 303, response.text
        _SIGNED_IN[username] = client.client.cookies[SESSION_COOKIE]
    else:
        host = client.client.base_url.host  # where the server's own Set-Cookie lands
        client.client.cookies.set(SESSION_COOKIE, _SIGNED_IN[username], domain=host)
    page = client.get("/login", follow_redirects=False)  # signed in: sent on to Today
    assert page.status_code == 303, "the reused session was not accepted"
    return client


@pytest.fixture
def admin(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, staff: None
) -> Any:
    """A client signed in as the admin user."""
    return _signed_in_client(engine, settings, renderer, clock, "admin")


@pytest.fixture
def therapist(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, staff: None
) -> Any:
    """A client signed in as the therapist user."""
    return _signed_in_client(engine, settings, renderer, clock, "terry")


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    """A config.toml on the test's database, ticking every second: for the `outreach` command."""
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n\n[scheduler]\ntick_seconds = 1\n')
    return path
