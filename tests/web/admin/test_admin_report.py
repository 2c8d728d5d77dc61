"""The report page: figures with how they are counted, charts with their numbers, the date
form's errors, and the CSV download."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.texts.render import Renderer
from tests.support.admin import Admin
from tests.support.patients import enrol
from tests.support.report import ANA, Clinic, utc


@pytest.fixture
def answered_monday(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, admin: Admin
) -> Admin:
    """Ana answers Monday's foot check in 4 minutes; it is now Tuesday 07:00 in New York."""
    enrol(engine, settings, clock.now())
    clinic = Clinic(engine, settings, clock, renderer)
    clinic.reply(ANA, "1", utc(23, 13, 34))
    clinic.run_to(utc(24, 12))
    return admin


def text_of(html: str) -> str:
    """The page's words, tags gone and spaces collapsed, to assert on what staff read."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_report_shows_each_figure_and_how_it_is_counted(answered_monday: Admin) -> None:
    response = answered_monday.get("/report?start=2026-11-23&end=2026-11-23")
    words = text_of(response.text)

    assert response.status_code == 200
    assert "Reply rate 100% 1 of 1 questions answered" in words
    assert "Median time to reply 4 min" in words
    assert "Foot-check adherence 100% 1 of 1 daily foot checks answered" in words
    # Monday's 10:00 session had started, was never reminded and never confirmed.
    assert "Unconfirmed sessions (not no-shows) 100% 1 of 1 sessions" in words
    assert "about 10% of US outpatient physical-therapy visits are missed" in words
    assert words.count("How this is counted:") == 15
    assert "No-show rate – 0 of 0 sessions marked attended or no-show were missed" in words
    assert "Slots filled from the waitlist – 0 of 0 slots offered were taken" in words
    assert "Confirmation rate – 0 of 0 sessions reminded were confirmed" in words
    staff_reply = "Median time to the first staff reply – over 0 patient texts answered by"
    assert staff_reply in words


def test_each_chart_comes_with_a_table_of_its_numbers(answered_monday: Admin) -> None:
    html = answered_monday.get("/report?start=2026-11-23&end=2026-11-24").text
    words = text_of(html)

    assert html.count('<svg class="chart"') == 3
    assert "Reply rate by day: the numbers" in words
    assert "Mon 23 Nov 100% 1 1" in words  # rate, answered, sent
    assert "Tue 24 Nov – 0 0" in words  # nothing sent yet on Tuesday: a gap, not 0%
    assert "<caption>Escalations by day</caption>" in html


def test_a_long_range_is_charted_by_the_week(answered_monday: Admin) -> None:
    words = text_of(answered_monday.get("/report?start=2026-10-01&end=2026-11-24").text)

    assert "Reply rate by week (7 days from the first day)" in words
    assert "Thu 19 Nov – Wed 25 Nov 100% 1 1" not in words  # weeks start on the 1st
    assert "Thu 19 Nov – Tue 24 Nov 100% 1 1" in words


def test_without_dates_it_covers_the_last_28_days(admin: Admin) -> None:
    html = admin.get("/report").text

    assert 'name="start" type="date" value="2026-10-27"' in html
    assert 'name="end" type="date" value="2026-11-23"' in html
    assert "Reply rate – 0 of 0 questions answered" in text_of(html)


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("next tuesday", "2026-11-20", "start", "Enter a date as YYYY-MM-DD"),
        ("2026-11-01", "2026-02-30", "end", "Enter a date as YYYY-MM-DD"),
        ("2026-11-20", "2026-11-01", "end", "The end date is before the start date."),
        ("2024-01-01", "2026-11-20", "end", "A report covers at most 366 days."),
    ],
)
def test_bad_dates_are_sent_back_with_the_error_and_what_was_typed(
    admin: Admin, start: str, end: str, field: str, message: str
) -> None:
    response = admin.get("/report", params={"start": start, "end": end})

    assert response.status_code == 422
    assert f'<span class="field-error" id="{field}-error">{message}' in response.text
    assert f'id="f-{field}" name="{field}" type="date" value="{locals()[field]}"' in response.text
    assert "Reply rate" not in response.text


def test_what_was_typed_is_escaped_when_shown_again(admin: Admin) -> None:
    response = admin.get("/report", params={"start": '"><script>alert(1)</script>'})

    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text


def test_the_figures_download_as_csv(answered_monday: Admin) -> None:
    response = answered_monday.get("/report.csv?start=2026-11-23&end=2026-11-23")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="report-2026-11-23-to-2026-11-23.csv"'
    )
    lines = response.text.splitlines()
    assert lines[0] == "period_start,period_end,metric,count,total,value,unit"
    assert "2026-11-23,2026-11-23,reply_rate,1,1,100,%" in lines
    assert "Ana" not in response.text and ANA not in response.text


def test_the_page_links_to_the_csv_of_the_same_range(answered_monday: Admin) -> None:
    html = answered_monday.get("/report?start=2026-11-02&end=2026-11-23").text

    assert 'href="/report.csv?start=2026-11-02&amp;end=2026-11-23"' in html


def test_the_csv_refuses_bad_dates_like_the_page(admin: Admin) -> None:
    response = admin.get("/report.csv?start=2026-11-20&end=2026-11-01")

    assert response.status_code == 422
    assert "The end date is before the start date." in response.text


def test_therapists_see_the_report_too(therapist: Admin) -> None:
    assert therapist.get("/report").status_code == 200
    assert therapist.get(f"/report.csv?start={date(2026, 11, 1)}").status_code == 200


def test_without_dates_and_no_texts_in_the_last_28_days_it_ends_at_the_latest_text(
    answered_monday: Admin, clock: ManualClock
) -> None:
    clock.set(utc(20, 15, month=1).replace(year=2027))  # eight quiet weeks later

    html = answered_monday.get("/report").text

    # Monday 23 November's texts were the last (it is January 2027).
    assert 'name="start" type="date" value="2026-10-27"' in html
    assert 'name="end" type="date" value="2026-11-23"' in html
    words = text_of(html)
    assert "No texts in the last 28 days: the report ends at the latest text." in words
    assert "Reply rate 100% 1 of 1 questions answered" in words


def test_typed_dates_are_kept_even_when_they_hold_no_texts(
    answered_monday: Admin, clock: ManualClock
) -> None:
    clock.set(utc(20, 15, month=1).replace(year=2027))

    html = answered_monday.get("/report?start=2026-12-24&end=2027-01-20").text

    assert 'name="end" type="date" value="2027-01-20"' in html
    assert "the report ends at the latest text" not in html


def test_a_report_the_worker_has_not_caught_up_with_says_so_and_counts_on_request(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, admin: Admin
) -> None:
    from outreach.staff import report

    enrol(engine, settings, clock.now())
    clinic = Clinic(engine, settings, clock, renderer)
    clinic.run_to(utc(23, 20))
    report.keep(engine, settings.clinic_zone, clock.now())  # the worker, at 15:00 local
    clinic.reply(ANA, "1", utc(23, 20, 4))
    url = "/report?start=2026-11-23&end=2026-11-23"

    before = text_of(admin.get(url).text)
    assert "Reply rate 0% 0 of 1 questions answered" in before  # the answer is not counted
    assert "Counted at 15:00 EST" in before
    assert "Texts, replies and marks since then (1 day with changes)" in before
    assert "added by the worker within 5 minutes" in before

    counted = admin.post("/report/recount", {"start": "2026-11-23", "end": "2026-11-23"})
    after = text_of(counted.text)
    assert counted.url.path == "/report" and counted.url.query == b"start=2026-11-23&end=2026-11-23"
    assert "Reply rate 100% 1 of 1 questions answered" in after
    assert "Counted at" not in after
