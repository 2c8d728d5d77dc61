"""`outreach demo --database FILE`: a new file gets a week; a second run is refused rather
than adding a second week; --fresh replaces an earlier demo's file and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from outreach.cli.main import main
from outreach.config import Settings
from outreach.db.engine import make_engine, upgrade
from outreach.db.tables import outbound_messages, patients
from tests.support.patients import T0, enrol


@pytest.fixture(autouse=True)
def _restore_log_level() -> Iterator[None]:
    # The demo quietens the "outreach" logger for its transcript; later tests need it back.
    logger = logging.getLogger("outreach")
    level = logger.level
    yield
    logger.setLevel(level)


def demo(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["demo", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def counts(path: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        people = conn.execute(select(func.count()).select_from(patients)).scalar_one()
        sent = conn.execute(select(func.count()).select_from(outbound_messages)).scalar_one()
    engine.dispose()
    return people, sent


def test_a_second_run_on_the_same_file_is_refused_and_fresh_starts_the_week_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.db"
    code, output = demo("--database", str(path))
    assert code == 0
    assert f"database: {path} (new)" in output
    first = counts(path)
    assert first[0] == 3

    code, output = demo("--database", str(path))
    assert code == 1
    assert "already holds a database" in output and "--fresh" in output
    assert counts(path) == first  # no second week beside the first

    code, output = demo("--database", str(path), "--fresh")
    assert code == 0
    assert "started afresh: the earlier demo week was replaced" in output
    assert counts(path) == first


def test_an_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    path.touch()
    code, output = demo("--database", str(path))
    assert code == 0 and "(new)" in output
    assert counts(path)[0] == 3


def test_fresh_will_not_delete_a_file_the_demo_did_not_write(tmp_path: Path) -> None:
    csv = tmp_path / "patients.db"
    csv.write_text("patient_id,first_name\nP-1,Ana\n")
    clinic = tmp_path / "clinic.db"
    upgrade(f"sqlite:///{clinic}")
    engine = make_engine(f"sqlite:///{clinic}")
    enrol(engine, Settings(), T0, patient_id="P-1042")
    engine.dispose()

    for path in (csv, clinic):
        before = path.read_bytes()
        code, output = demo("--database", str(path), "--fresh")
        assert code == 1
        assert "not an earlier demo's database" in output
        assert path.read_bytes() == before


def test_fresh_needs_a_database_file() -> None:
    code, output = demo("--fresh")
    assert code == 2 and "--fresh" in output
