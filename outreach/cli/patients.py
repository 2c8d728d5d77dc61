"""`outreach patients` (import, list) and `outreach plan show`: enrol patients and look at
their plans."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from outreach.cli.context import Context, console, err, pass_context
from outreach.cli.lookup import patient_keys
from outreach.cli.times import utc_option
from outreach.clock import SystemClock


@click.group()
def patients() -> None:
    """Enrol and list patients."""


@patients.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_patients(ctx: Context, file: Path) -> None:
    """Import patients and their plans from a CSV file (columns in docs/patients-csv.md).

    Bad rows are reported by line and column; good rows are imported. Importing the same
    file again changes nothing. Exits 1 if any row was rejected.

    Example: outreach patients import examples/patients.csv
    """
    from rich.progress import Progress

    from outreach.patients.csvfile import CsvFormatError, read_csv
    from outreach.patients.upsert import import_specs

    settings = ctx.settings
    engine = ctx.engine()
    try:
        specs, errors = read_csv(file, settings)
    except CsvFormatError as exc:
        raise click.ClickException(str(exc)) from None
    with Progress(console=err(), transient=True, disable=len(specs) < 500) as progress:
        task = progress.add_task("importing", total=len(specs))
        report = import_specs(
            engine,
            settings,
            specs,
            SystemClock().now(),
            progress=lambda done: progress.advance(task, done),
        )
    if report.created:
        from outreach.feeds import appointments as feed_appointments

        # Appointments a feed kept for these clinic ids come in now.
        feed_appointments.adopt(engine, settings, SystemClock().now())
    all_errors = sorted(errors + report.errors, key=lambda e: (e.line, e.column))
    for error in all_errors:
        err().print(f"[red]✗[/] {error}", highlight=False)
    console().print(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len({e.line for e in all_errors})} rows rejected."
    )
    if all_errors:
        sys.exit(1)


@patients.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@pass_context
def list_patients(ctx: Context, as_json: bool) -> None:
    """List patients with their consent, opt-out and plan state.

    Example: outreach patients list --json
    """
    from rich.table import Table

    from outreach.patients import plans as views

    rows = views.patient_rows(ctx.engine())
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table()
    for column in ("patient_id", "name", "phone", "language", "timezone", "consent", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["patient_id"],
            row["name"],
            row["phone"],
            row["language"],
            row["timezone"],
            row["consent"],
            row["status"],
        )
    console().print(table)


@click.group()
def plan() -> None:
    """Look at care plans."""


@plan.command(name="show")
@click.argument("patient")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 60))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@utc_option
@pass_context
def show_plan(ctx: Context, patient: str, days: int, as_json: bool, utc: bool) -> None:
    """Show a patient's plan and their coming reminders with send times in the patient's
    own time (labelled, e.g. 20:00 CDT) and states.

    PATIENT is the clinic's patient id or the phone number in any spelling.

    Example: outreach plan show "(617) 555-0142" --days 7
    """
    from outreach.cli.plan_table import print_plan
    from outreach.patients import plans as views

    now = SystemClock().now()
    engine = ctx.engine()
    for key in patient_keys(patient, ctx.settings):
        found = views.plan_view(engine, key, now, now + timedelta(days=days))
        if found is not None:
            break
    else:
        raise click.ClickException(f"no patient with id or phone {patient!r}")
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    print_plan(console(), found, utc)
