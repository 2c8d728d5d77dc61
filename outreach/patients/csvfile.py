"""A CSV file of patients read: every row checked, the good ones as patients and every
problem in the bad ones, named by line and column, so a clinic fixes a spreadsheet in one
pass. Importing what it reads is patients/upsert.py's.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from pathlib import Path

from outreach.config import Settings
from outreach.patients.enrolment import COLUMNS, REQUIRED_COLUMNS, PatientSpec, validate_patient
from outreach.patients.fields import FieldError


class CsvFormatError(ValueError):
    """The file as a whole cannot be read: not UTF-8, no header, unknown or missing columns."""


def read_csv(
    path: Path, settings: Settings
) -> tuple[list[tuple[int, PatientSpec]], list[FieldError]]:
    """Every good row as (line, patient), and every problem in the bad ones."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFormatError(f"cannot read {path}: {exc.strerror}") from None
    return read_csv_bytes(data, settings, str(path))


def read_csv_bytes(
    data: bytes, settings: Settings, name: str = "the file"
) -> tuple[list[tuple[int, PatientSpec]], list[FieldError]]:
    """`read_csv` for a file already in memory (an upload); `name` is how errors call it."""
    records = _records(data, name)
    first = next(records, None)
    if first is None:
        raise CsvFormatError(
            f"{name} is empty: the first line must be a header naming the columns "
            f"({', '.join(COLUMNS)})"
        )
    header = _header(first[1])
    specs: list[tuple[int, PatientSpec]] = []
    errors: list[FieldError] = []
    id_lines: dict[str, int] = {}
    phone_owners: dict[str, tuple[str, int]] = {}
    for line, record in records:
        values, row_errors = _row_values(header, record, line)
        result = validate_patient(values, settings, line)
        if isinstance(result, list):
            row_errors.extend(result)
        external_id = values.get("patient_id", "").strip()
        if external_id in id_lines:
            reason = f"appears more than once in the file (first on line {id_lines[external_id]})"
            row_errors.append(FieldError(line, "patient_id", external_id, reason))
        elif external_id:
            id_lines[external_id] = line
            if isinstance(result, PatientSpec):
                owner, owner_line = phone_owners.setdefault(result.phone, (external_id, line))
                if owner != external_id:
                    reason = f"is already the phone of patient {owner} (line {owner_line})"
                    row_errors.append(FieldError(line, "phone", values["phone"].strip(), reason))
        if row_errors:
            errors.extend(row_errors)
        elif isinstance(result, PatientSpec):
            specs.append((line, result))
    return specs, errors


def _records(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the physical line each starts on."""
    try:
        # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CsvFormatError(
            f"{name} is not UTF-8 text (line {line} has the byte {data[exc.start]:#04x}); "
            "in your spreadsheet, save it as 'CSV UTF-8'"
        ) from None
    if "\x00" in text:
        # Spreadsheets never write one; PostgreSQL refuses to store one in text.
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise CsvFormatError(f"{name} is not a text file (line {line} has a NUL byte)")
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"{name}, line {start}: {exc}") from None
        if any(cell.strip() for cell in record):
            yield start, record


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise CsvFormatError(f"the header names these columns twice: {', '.join(repeated)}")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        described = ", ".join(_describe_unknown(n) for n in unknown)
        raise CsvFormatError(
            f"unknown columns in the header: {described}; the columns are {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    if missing:
        raise CsvFormatError(f"the header lacks required columns: {', '.join(missing)}")
    return names


def _describe_unknown(name: str) -> str:
    close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.5)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def _row_values(
    header: list[str], record: list[str], line: int
) -> tuple[dict[str, str], list[FieldError]]:
    values: dict[str, str] = {}
    errors = []
    for index, cell in enumerate(record):
        name = header[index] if index < len(header) else ""
        if name:
            values[name] = cell
        elif cell.strip():
            # Spreadsheets often save empty columns past the last one; only a value there
            # is a problem.
            column = f"column {index + 1}"
            errors.append(FieldError(line, column, cell.strip(), "has no header name"))
    return values, errors
