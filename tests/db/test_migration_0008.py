"""0008 gives every patient already stored the name key the list searches and sorts by."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import String, column, insert, select, table

from outreach.db.engine import alembic_config, make_engine, upgrade
from outreach.rules.namekey import name_key


def test_0008_fills_the_name_key_of_the_patients_already_there(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0007")
    now = datetime(2026, 12, 5, 9, 0)
    then = table(
        "patient",
        *(
            column(name)
            for name in (
                "external_id", "first_name", "last_name", "phone", "timezone", "language",
                "consent_state", "opted_out", "paused", "created_at", "updated_at",
            )
        ),
    )  # fmt: skip
    people = [("P-1", "Luis", "Ramírez"), ("P-2", "ÁNGELA", ""), ("P-3", "José  María", "Núñez")]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(then),
            [
                {
                    "external_id": pid, "first_name": first, "last_name": last,
                    "phone": f"+1617555000{n}", "timezone": "America/New_York",
                    "language": "es", "consent_state": "pending", "opted_out": False,
                    "paused": False, "created_at": now, "updated_at": now,
                }
                for n, (pid, first, last) in enumerate(people)
            ],
        )  # fmt: skip
    upgrade(url)
    with engine.connect() as conn:
        stored = table("patient", column("external_id", String), column("name_key", String))
        keys = {r.external_id: r.name_key for r in conn.execute(select(stored))}
    assert keys == {"P-1": "ramirez luis", "P-2": "angela", "P-3": "nunez jose maria"}
    assert keys == {pid: name_key(first, last) for pid, first, last in people}

    command.downgrade(alembic_config(url), "0007")
    upgrade(url)
    engine.dispose()
