"""Alembic owns the schema: the migrations must build exactly what the models describe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, column, insert, select, table
from sqlmodel import SQLModel

from outreach.db.engine import alembic_config, make_engine, upgrade
from outreach.db.tables import outbound_messages


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []


def test_every_migration_can_be_undone_and_redone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_0006_gives_a_page_stranded_in_resending_a_claim_as_old_as_the_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stranded.db'}"
    upgrade(url, "0005")
    created = datetime(2026, 12, 4, 9, 0)  # naive UTC, as SQLite stores it
    page = {
        "template": "on_call",
        "to_phone": "+16175550199",
        "body": "Riverside PT: URGENT - patient P-1 reports: open sore. Please call them today.",
        "encoding": "GSM-7",
        "segments": 1,
        "counts_toward_cap": False,
        "provider": "twilio",
        "created_at": created,
    }
    # The table as 0005 left it: no claimed_at yet.
    then = table("outboundmessage", *(column(name) for name in [*page, "status", "provider_sid"]))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(then),
            [
                {**page, "status": "resending", "provider_sid": None},
                {**page, "status": "queued", "provider_sid": "SM1"},
            ],
        )
    upgrade(url)
    with engine.begin() as conn:
        claims = conn.execute(select(outbound_messages.c.status, outbound_messages.c.claimed_at))
        assert sorted(map(tuple, claims)) == [
            ("queued", None),
            ("resending", created.replace(tzinfo=UTC)),
        ]
    engine.dispose()
