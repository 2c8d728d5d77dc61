"""A CSV file of patients read: every row checked, the good ones as patients and every
problem in the bad ones, named by line and column, so a clinic fixes a spreadsheet in one
pass. Importing what it reads is patients/upsert.py's.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from dataclasses import dataclass
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
    if first.open_quote is not None:
        raise CsvFormatError(
            f'{name}, line {first.open_quote[0]}: the header opens a quote (") that is never closed'
        )
    header = _header(first.cells)
    specs: list[tuple[int, PatientSpec]] = []
    errors: list[FieldError] = []
    id_lines: dict[str, int] = {}
    phone_owners: dict[str, tuple[str, int]] = {}
    for record in records:
        line = record.line
        if record.open_quote is not None:
            errors.append(_unclosed(record, *record.open_quote, header))
            continue
        values, row_errors = _row_values(header, record.cells, line)
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
            errors.extend(row_errors + _spanning(record, header))
        elif isinstance(result, PatientSpec):
            specs.append((line, result))
    return specs, errors


@dataclass(frozen=True)
class Record:
    line: int  # the physical line it starts on
    last_line: int
    cells: list[str]
    # (line, field index) of a quote still open at the end of the file: everything after it
    # was read into one cell.
    open_quote: tuple[int, int] | None = None


def _column(header: list[str], index: int) -> str:
    return header[index] if index < len(header) and header[index] else f"column {index + 1}"


def _unclosed(record: Record, line: int, field: int, header: list[str]) -> FieldError:
    span = (
        f"line {line} was"
        if line == record.last_line
        else f"lines {line} to {record.last_line} were"
    )
    reason = (
        f'opens a quote (") that is never closed, so {span} read as one cell and '
        "not imported: close the quote (or remove it) and import the file again"
    )
    return FieldError(line, _column(header, field), "", reason)


def _spanning(record: Record, header: list[str]) -> list[FieldError]:
    """A bad row read over several lines, with a cell whose later lines hold commas: those
    look like rows pulled into the cell by a quote that the next quote in the file closed.
    Say where. (A quoted cell may hold a line break; one holding whole rows is a mistake.)"""
    if record.last_line == record.line:
        return []
    reason = f'runs over lines {record.line} to {record.last_line}: is a closing quote (") missing?'
    return [
        FieldError(record.line, _column(header, index), "", reason)
        for index, cell in enumerate(record.cells)
        if "," in "".join(cell.splitlines()[1:])
    ]


def _records(data: bytes, name: str) -> Iterator[Record]:
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
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"{name}, line {start}: {exc}") from None
        end = reader.line_num
        # Only the last record can hold a quote left open: the reader takes the rest of the
        # file into it rather than fail.
        opened = _open_quote(lines[start - 1 :]) if end == len(lines) else None
        open_quote = None if opened is None else (start + opened[0], opened[1])
        if open_quote is not None or any(cell.strip() for cell in cells):
            yield Record(start, end, cells, open_quote)


def _open_quote(lines: list[str]) -> tuple[int, int] | None:
    """(line offset, field index) of the quote still open at the end of `lines`, one CSV
    record, read as csv.reader reads: a quote opens a cell only at the cell's start, and
    two quotes inside a quoted cell stand for one."""
    quoted, at_cell_start, field, opened = False, True, 0, (0, 0)
    for offset, physical in enumerate(lines):
        i = 0
        while i < len(physical):
            ch = physical[i]
            if quoted:
                if ch == '"' and physical[i + 1 : i + 2] == '"':
                    i += 1
                elif ch == '"':
                    quoted = False
            elif ch == '"' and at_cell_start:
                quoted, opened = True, (offset, field)
            elif ch == ",":
                field += 1
            at_cell_start = not quoted and ch in ",\r\n"
            i += 1
    return opened if quoted else None


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
