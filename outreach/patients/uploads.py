"""A CSV of patients uploaded in the admin: read by the same code as `outreach import`,
previewed without writing, then imported with one audit entry for the whole file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from outreach.accounts import audit
from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db.engine import session_scope
from outreach.patients import csvfile, upsert
from outreach.patients.fields import FieldError
from outreach.patients.upsert import ImportReport, PreviewRow
from outreach.planning import planner


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]  # the good rows, each new, changed or unchanged
    errors: list[FieldError]  # every problem in the bad rows, by line

    @property
    def bad_lines(self) -> int:
        return len({e.line for e in self.errors})

    def count(self, change: str) -> int:
        return sum(1 for row in self.rows if row.change == change)


def preview_upload(engine: Engine, settings: Settings, data: bytes, name: str) -> Preview:
    """What importing this file would do. Raises CsvFormatError for a file that cannot be
    read at all."""
    specs, errors = csvfile.read_csv_bytes(data, settings, name)
    rows, refused = upsert.preview(engine, settings, specs)
    return Preview(rows, sorted(errors + refused, key=lambda e: e.line))


def import_upload(
    engine: Engine, settings: Settings, who: Staff, data: bytes, name: str, now: datetime
) -> ImportReport:
    """Import the file's good rows in one transaction with its audit entry, then plan.
    Raises CsvFormatError like `preview_upload`."""
    specs, errors = csvfile.read_csv_bytes(data, settings, name)
    with session_scope(engine) as session:
        report = upsert.import_into(session, settings, specs, now)
        report.errors = sorted(errors + report.errors, key=lambda e: e.line)
        report.total_rows = len(specs) + len({e.line for e in errors})
        counts = {
            "file": name,
            "rows": report.total_rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rows_with_errors": len({e.line for e in report.errors}),
        }
        audit.record(session.connection(), who, "patients_imported", now, detail=counts)
    planner.plan_due(engine, settings, now)
    return report
