"""The patient list: found by id, by name whatever the case and accents, by phone digits;
sorted by name, id, next session or last reply; a page at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, inbound_messages, patients
from outreach.patients.enrolment import validate_patient
from outreach.patients.upsert import import_specs
from outreach.staff.patientlist import ListQuery, parse_list_query, patient_list
from tests.support.patients import enrol, patient_row

PEOPLE = [
    ("P-1", "Luis", "Ramírez"),
    ("P-2", "Ana", "Ávila"),
    ("P-3", "José", "Núñez"),
    ("P-4", "Grace", "Kim"),
    ("P-5", "Beatriz", "Bravo"),
]


@pytest.fixture
def people(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    specs = []
    for n, (pid, first, last) in enumerate(PEOPLE, start=2):
        row = patient_row(
            patient_id=pid, first_name=first, last_name=last, phone=f"+1617555{n:04d}", sessions=""
        )
        spec = validate_patient(row, settings, n)
        assert not isinstance(spec, list), spec
        specs.append((n, spec))
    assert not import_specs(engine, settings, specs, clock.now()).errors


def ids(engine: Engine, now: datetime, **wanted: object) -> list[str]:
    return [p["patient_id"] for p in patient_list(engine, ListQuery(**wanted), now).rows]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ramirez", ["P-1"]),
        ("RAMIREZ", ["P-1"]),
        ("Ramírez", ["P-1"]),
        ("ramír", ["P-1"]),
        ("luis ramirez", ["P-1"]),
        ("ramirez luis", ["P-1"]),
        ("nunez", ["P-3"]),
        ("JOSE", ["P-3"]),
        ("avila", ["P-2"]),
        ("ÁVILA ana", ["P-2"]),
        ("p-4", ["P-4"]),
        ("ramirez ana", []),
    ],
)
def test_search_ignores_case_and_accents_and_word_order(
    engine: Engine, people: None, clock: ManualClock, q: str, expected: list[str]
) -> None:
    assert ids(engine, clock.now(), q=q) == expected


def test_the_search_escapes_like_wildcards(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    enrol(engine, settings, clock.now(), patient_id="P_2", phone="+16175550143")

    assert ids(engine, clock.now(), q="P_", sort="id") == ["P_2"]
    assert ids(engine, clock.now(), q="%") == []
    assert ids(engine, clock.now(), q="0142") == ["P-1"]


def test_a_renamed_patient_is_found_by_the_new_name(
    engine: Engine, people: None, settings: Settings, clock: ManualClock
) -> None:
    row = patient_row(patient_id="P-4", first_name="Grace", last_name="Kim-Peña", sessions="")
    row["phone"] = "+16175550005"
    spec = validate_patient(row, settings, 2)
    assert not isinstance(spec, list), spec
    assert import_specs(engine, settings, [(2, spec)], clock.now()).updated == 1

    assert ids(engine, clock.now(), q="pena") == ["P-4"]
    with engine.connect() as conn:
        key = conn.execute(select(patients.c.name_key).where(patients.c.external_id == "P-4"))
        assert key.scalar_one() == "kim-pena grace"


def test_names_sort_by_last_name_with_accents_among_their_letters(
    engine: Engine, people: None, clock: ManualClock
) -> None:
    # Ávila among the a's, Núñez among the n's: not after z, as a byte order would put them.
    assert ids(engine, clock.now()) == ["P-2", "P-5", "P-4", "P-3", "P-1"]
    assert ids(engine, clock.now(), descending=True) == ["P-1", "P-3", "P-4", "P-5", "P-2"]
    assert ids(engine, clock.now(), sort="id") == ["P-1", "P-2", "P-3", "P-4", "P-5"]


def test_next_session_and_last_reply_sort_with_the_patients_without_one_last(
    engine: Engine, people: None, clock: ManualClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        key = {r.external_id: r.id for r in conn.execute(select(patients))}
        sessions = [  # Past, or cancelled: not a next session.
            ("P-3", now + timedelta(days=1), "scheduled"),
            ("P-1", now + timedelta(days=2), "confirmed"),
            ("P-4", now - timedelta(days=1), "scheduled"),
            ("P-5", now + timedelta(hours=1), "cancelled"),
        ]
        conn.execute(
            insert(appointment_table),
            [
                {"patient_id": key[pid], "starts_at": at, "status": status, "updated_at": now}
                for pid, at, status in sessions
            ],
        )
        for pid, hours in (("P-5", 1), ("P-2", 3)):
            conn.execute(
                insert(inbound_messages).values(
                    patient_id=key[pid],
                    from_phone="+16175550000",
                    body="ok",
                    provider_sid=f"SM{pid}",
                    received_at=now - timedelta(hours=hours),
                )
            )

    soonest = ids(engine, now, sort="next_session")
    assert soonest[:2] == ["P-3", "P-1"] and set(soonest[2:]) == {"P-2", "P-4", "P-5"}
    latest = ids(engine, now, sort="last_reply", descending=True)
    assert latest[:2] == ["P-5", "P-2"] and set(latest[2:]) == {"P-1", "P-3", "P-4"}
    oldest = ids(engine, now, sort="last_reply", descending=False)
    assert oldest[:2] == ["P-2", "P-5"]


def test_pages_cover_every_patient_once_with_the_total(
    engine: Engine, people: None, clock: ManualClock
) -> None:
    pages = [
        patient_list(engine, ListQuery(sort="id", page=n), clock.now(), page_size=2)
        for n in (1, 2, 3, 4)
    ]
    assert [[p["patient_id"] for p in page.rows] for page in pages] == [
        ["P-1", "P-2"],
        ["P-3", "P-4"],
        ["P-5"],
        [],
    ]
    assert {page.total for page in pages} == {5}
    assert (pages[2].pages, pages[2].first, pages[2].last) == (3, 5, 5)


def test_a_status_filter_counts_only_what_it_finds(
    engine: Engine, people: None, clock: ManualClock
) -> None:
    with engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.external_id == "P-4").values(paused=True))
    page = patient_list(engine, ListQuery(status="paused"), clock.now())
    assert ([p["patient_id"] for p in page.rows], page.total) == (["P-4"], 1)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ListQuery()),
        ({"sort": "last_reply"}, ListQuery(sort="last_reply", descending=True)),
        ({"sort": "last_reply", "dir": "asc"}, ListQuery(sort="last_reply", descending=False)),
        ({"sort": "name", "dir": "desc", "page": "3"}, ListQuery(descending=True, page=3)),
        ({"sort": "shoe_size", "dir": "up", "page": "-1"}, ListQuery()),
        ({"status": "paused", "q": "ana"}, ListQuery(q="ana", status="paused")),
        ({"status": "sleeping"}, ListQuery()),
    ],
)
def test_the_url_gives_the_query_and_nonsense_falls_back(
    params: dict[str, str], expected: ListQuery
) -> None:
    assert parse_list_query(params) == expected
    assert parse_list_query(expected.params()) == expected
