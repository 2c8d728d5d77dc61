"""Running the `outreach` command in-process against a test config."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, update

from outreach.cli.main import main
from outreach.clock import SystemClock
from outreach.db.tables import patients, reminders

ROOT = Path(__file__).resolve().parents[2]


EXAMPLE = ROOT / "examples" / "patients.csv"


def outreach(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def make_everything_due_now(engine: Engine) -> None:
    """Every reminder (the consent texts, after an import) due now, whatever the hour, for
    patients living where it is midday."""
    with engine.begin() as conn:
        conn.execute(
            update(reminders).values(
                send_at=SystemClock().now() - timedelta(minutes=1),
                expires_at=SystemClock().now() + timedelta(days=1),
            )
        )
        conn.execute(update(patients).values(timezone=a_zone_where_it_is_midday()))


def a_zone_where_it_is_midday() -> str:
    """Quiet hours must not hold the test's texts back, whenever the suite runs."""
    offset = (12 - SystemClock().now().hour + 12) % 24 - 12  # -12 .. 11
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")
