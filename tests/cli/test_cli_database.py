"""A command run where there is no database says so and creates nothing; `outreach init`
is what creates one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from outreach.cli.main import main


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The wrong folder: no config.toml, no database, the built-in defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTREACH_CONFIG", raising=False)
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    "command", [["status"], ["patients", "list"], ["users", "list"], ["escalations", "list"]]
)
def test_a_command_in_a_folder_without_a_database_says_so_and_creates_none(
    empty_folder: Path, command: list[str]
) -> None:
    code, output = run(*command)

    assert code == 1
    assert "there is no database at outreach.db" in output
    assert f"relative to this folder, {empty_folder}" in output
    assert "`outreach init`" in output
    assert list(empty_folder.iterdir()) == []


def test_init_creates_the_database_there_and_then_commands_work(empty_folder: Path) -> None:
    assert run("init")[0] == 0
    assert (empty_folder / "outreach.db").stat().st_size > 0
    code, output = run("patients", "list")
    assert code == 0, output


def test_an_empty_file_is_a_database_without_tables(empty_folder: Path) -> None:
    (empty_folder / "outreach.db").touch()
    code, output = run("patients", "list")
    assert code == 1
    assert "has no tables yet: run `outreach init` first" in output


def test_an_absolute_path_is_named_without_a_folder(tmp_path: Path, empty_folder: Path) -> None:
    missing = tmp_path / "elsewhere" / "clinic.db"
    config = empty_folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{missing}"\n')
    code, output = run("--config", str(config), "status")
    assert code == 1
    assert f"there is no database at {missing}" in output
    assert "relative" not in output
    assert not missing.parent.exists()
