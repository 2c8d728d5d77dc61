"""A quote typed by hand and never closed: the import names the line it opened on and keeps
the good rows before it, rather than read the rest of the file into one cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.patients.csvfile import CsvFormatError, read_csv
from tests.support.cli import outreach

HEADER = (
    "patient_id,first_name,last_name,phone,timezone,language,plan_start,plan_end,sessions,"
    "foot_check_time,exercise_days,exercise_time,exercises,pain_baseline"
)
MARGARET = (
    "RPT-1001,Margaret,Olsen,+12125550142,America/New_York,en,2026-11-30,2027-01-22,"
    "mon wed fri at 10:00 for 4 weeks,08:30,tue thu sat,17:00,seated calf stretch; heel raises,2"
)
LUIS = (
    "RPT-1002,Luis,Ramírez,+13125550143,America/Chicago,Spanish,2026-12-02,,"
    "tue thu at 16:00 for 6 weeks,20:00,mon wed fri,09:00,equilibrio junto a la mesa,3"
)
# Someone started quoting the exercises, because they hold a comma, and forgot the end.
GRACE_UNCLOSED = (
    "RPT-1003,Grace,Kim,(213) 555-0144,America/Los_Angeles,en,2026-12-07,,"
    'mon at 13:00 for 8 weeks,09:00,mon wed fri,11:00,"seated marching, toe raises,'
)
CARMEN_QUOTED = (
    "RPT-1004,Carmen,Vega,+16025550145,America/Phoenix,es,2026-11-30,,,19:30,mon wed fri,10:30,"
    '"caminar 10 minutos, círculos de tobillo",1'
)
WALTER = "RPT-1005,Walter,Brooks,+13035550146,America/Denver,English,2026-12-14,,,08:00,,,,"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "patients.csv"
    # As a spreadsheet saves it: CRLF line ends.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_an_unclosed_quote_is_named_by_the_line_it_opened_on_and_earlier_rows_are_kept(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(tmp_path, HEADER, MARGARET, LUIS, GRACE_UNCLOSED, WALTER, "")
    specs, errors = read_csv(path, settings)

    assert [(line, spec.external_id) for line, spec in specs] == [
        (2, "RPT-1001"),
        (3, "RPT-1002"),
    ]
    assert [str(error) for error in errors] == [
        'line 4, exercises: opens a quote (") that is never closed, so lines 4 to 6 were read '
        "as one cell and not imported: close the quote (or remove it) and import the file again"
    ]


def test_an_unclosed_quote_on_the_last_line_is_named_too(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(f"{HEADER}\n{MARGARET}\n{GRACE_UNCLOSED}")  # no line end after the last
    specs, errors = read_csv(path, settings)

    assert [spec.external_id for _, spec in specs] == ["RPT-1001"]
    assert [str(error) for error in errors] == [
        'line 3, exercises: opens a quote (") that is never closed, so line 3 was read '
        "as one cell and not imported: close the quote (or remove it) and import the file again"
    ]


def test_a_quote_closed_rows_later_by_the_next_quote_says_where_the_row_ran(
    tmp_path: Path, settings: Settings
) -> None:
    luis = LUIS.replace(",Ramírez,", ',"Ramírez,')
    path = write(tmp_path, HEADER, MARGARET, luis, CARMEN_QUOTED, WALTER)
    specs, errors = read_csv(path, settings)

    assert [spec.external_id for _, spec in specs] == ["RPT-1001", "RPT-1005"]
    assert {error.line for error in errors} == {3}
    assert 'line 3, last_name: runs over lines 3 to 4: is a closing quote (") missing?' in [
        str(error) for error in errors
    ]


def test_a_quoted_cell_that_is_closed_is_read_whole(tmp_path: Path, settings: Settings) -> None:
    specs, errors = read_csv(write(tmp_path, HEADER, CARMEN_QUOTED), settings)
    assert errors == []
    assert specs[0][1].external_id == "RPT-1004"


def test_a_header_with_an_unclosed_quote_is_refused_with_its_line(
    tmp_path: Path, settings: Settings
) -> None:
    with pytest.raises(CsvFormatError, match=r'line 1: the header opens a quote \("\)'):
        read_csv(write(tmp_path, '"' + HEADER, MARGARET), settings)


def test_the_import_command_reports_the_line_and_imports_the_rows_before_it(
    tmp_path: Path, config: Path
) -> None:
    path = write(tmp_path, HEADER, MARGARET, LUIS, GRACE_UNCLOSED, WALTER)
    code, output = outreach(config, "patients", "import", str(path))

    assert code == 1
    assert "line 4, exercises: opens a quote" in output
    assert "2 created, 0 updated, 0 unchanged, 1 rows rejected." in output
