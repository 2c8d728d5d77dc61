"""/patients past 500: a page at a time with the total, sorted by the column headers, found
by name whatever the accents; and /messages filtered by a patient's name or part of an id."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.patients.enrolment import validate_patient
from outreach.patients.upsert import import_specs
from outreach.texts.render import Renderer
from tests.support.admin import Admin, admin_client
from tests.support.escalations import Clinic
from tests.support.patients import patient_row

COUNT = 520


def listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/patients/([^"]+)">', html)


def links(html: str, rel: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a href="([^"]+)" rel="{rel}">', html)]


@pytest.fixture
def many(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    """520 patients, P-0001 to P-0520; every tenth is a Ramírez, the rest are Smiths."""
    specs = []
    for n in range(1, COUNT + 1):
        last = "Ramírez" if n % 10 == 0 else "Smith"
        row = patient_row(
            patient_id=f"P-{n:04d}",
            first_name=f"Pat{n:04d}",
            last_name=last,
            phone=f"+1617555{n:04d}",
            sessions="",
            foot_check_time="",
            exercise_days="",
            exercise_time="",
            exercises="",
        )
        spec = validate_patient(row, settings, n + 1)
        assert not isinstance(spec, list), spec
        specs.append((n + 1, spec))
    assert not import_specs(engine, settings, specs, clock.now()).errors


def test_the_list_pages_past_500_with_the_total_and_links_that_keep_the_order(
    admin: Admin, many: None
) -> None:
    first = admin.get("/patients?sort=id")
    assert first.status_code == 200
    assert listed(first.text) == [f"P-{n:04d}" for n in range(1, 101)]
    assert "1–100 of 520 patients" in first.text
    assert links(first.text, "prev") == []
    assert links(first.text, "next") == ["/patients?sort=id&page=2"]

    last = admin.get("/patients?sort=id&page=6")
    assert listed(last.text) == [f"P-{n:04d}" for n in range(501, 521)]
    assert "501–520 of 520 patients" in last.text and "Page 6 of 6" in last.text
    assert links(last.text, "prev") == ["/patients?sort=id&page=5"]
    assert links(last.text, "next") == []

    seen = []
    for page in range(1, 7):
        seen += listed(admin.get(f"/patients?sort=id&dir=desc&page={page}").text)
    assert seen == [f"P-{n:04d}" for n in range(COUNT, 0, -1)]


def test_a_page_past_the_end_says_how_many_there_are(admin: Admin, many: None) -> None:
    page = admin.get("/patients?page=99")
    assert page.status_code == 200
    assert listed(page.text) == []
    assert "there are 6 pages" in unescape(page.text)


def test_search_ignores_accents_and_capitals_and_pages_what_it_finds(
    admin: Admin, many: None
) -> None:
    page = admin.get("/patients?q=RAMIREZ")
    assert listed(page.text) == [f"P-{n:04d}" for n in range(10, 521, 10)]
    assert "52 patients" in page.text
    assert links(page.text, "next") == []
    assert listed(admin.get("/patients?q=pat0020+ramírez").text) == ["P-0020"]


def test_column_headers_sort_and_a_second_click_reverses(admin: Admin, many: None) -> None:
    page = admin.get("/patients?q=ramirez").text
    headers = dict(re.findall(r'<th scope="col"[^>]*><a href="([^"]+)">([^<]+)', page))
    by_label = {label.strip(): unescape(href) for href, label in headers.items()}
    assert by_label["ID"] == "/patients?q=ramirez&sort=id"
    assert by_label["Last reply"] == "/patients?q=ramirez&sort=last_reply"
    assert 'aria-sort="ascending"><a href="/patients?q=ramirez&amp;dir=desc">Name' in page

    by_id = admin.get(by_label["ID"]).text
    assert listed(by_id)[:2] == ["P-0010", "P-0020"]
    reverse = re.search(r'aria-sort="ascending"><a href="([^"]+)">ID', by_id)
    assert reverse is not None
    assert listed(admin.get(unescape(reverse[1])).text)[:2] == ["P-0520", "P-0510"]


def test_the_list_needs_a_signed_in_user(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock
) -> None:
    anonymous = admin_client(engine, settings, renderer, clock)
    response = anonymous.get("/patients?q=ramirez", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.fixture
def two(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Clinic:
    """P-1 (Pat1 Torres) and P-2 (Pat2 Torres), each sent a foot check; P-1 answers."""
    clinic = Clinic(engine, settings, clock, renderer, patients=2)
    clinic.reply("P-1", "1")
    return clinic


def patients_shown(admin: Admin, query: str) -> set[str]:
    page = admin.get("/messages" + query)
    assert page.status_code == 200, page.text
    return set(re.findall(r'data-patient="([^"]*)"', page.text))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?patient=P-2", {"P-2"}),
        ("?patient=-1", {"P-1"}),
        ("?patient=p-", {"P-1", "P-2"}),
        ("?patient=pat2", {"P-2"}),
        ("?patient=PAT1+torres", {"P-1"}),
        ("?patient=tórres", {"P-1", "P-2"}),
        ("?patient=555-0002", {"P-2"}),
        ("?patient=nobody", set()),
    ],
)
def test_the_message_log_finds_a_patient_by_name_or_part_of_an_id(
    admin: Admin, two: Clinic, query: str, expected: set[str]
) -> None:
    assert patients_shown(admin, query) == expected


def test_the_message_log_patient_field_says_what_it_takes(admin: Admin, two: Clinic) -> None:
    page = admin.get("/messages").text
    assert '<label for="f-patient">Patient</label>' in page
    assert "Name, part of an ID, or phone digits" in page
