"""Patients: the list, and each patient's page (plan, sessions, conversation, foot-check
calendar, exercise and pain, consent history). Adding and editing are in patientform.py,
the CSV import in patientimport.py, the buttons on a patient's page in patientactions.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outreach.config import Settings
from outreach.patients.plans import plan_view
from outreach.rules.adherence import EXERCISE_WEEKS
from outreach.rules.months import parse_month
from outreach.rules.replies.pain import HIGH_PAIN
from outreach.sessions import waitlist, waitlist_board
from outreach.staff import adherence as adherenceview
from outreach.staff import patientlist
from outreach.staff import patients as patientview
from outreach.staff import sessions as sessionview
from outreach.staff.needsdoing import needs_doing
from outreach.staff.patientstatus import status_words
from outreach.web.admin import charts
from outreach.web.admin.patientform import LANGUAGE_NAMES
from outreach.web.deps import EngineDep, NowDep, PagesDep, PatientDep, SettingsDep

router = APIRouter()
LATEST_TEXTS = 20  # the thread on the first screen; "Show all texts" shows THREAD_LIMIT
AllTexts = Annotated[bool, Query(alias="all")]


@router.get("/patients")
def patient_list(request: Request, engine: EngineDep, now: NowDep, pages: PagesDep) -> Response:
    wanted = patientlist.parse_list_query(request.query_params)
    found = patientlist.patient_list(engine, wanted, now)
    context = {
        "found": found,
        "patients": found.rows,
        "wanted": wanted,
        "q": wanted.q,
        "status": wanted.status,
        "statuses": list(patientlist.STATUS_FILTERS),
        "page_link": lambda **changes: "/patients?" + urlencode(wanted.params(**changes)),
        "sort_link": lambda sort: "/patients?" + urlencode(wanted.sorted_by(sort)),
    }
    return pages.render(request, "patients.html", context)


@router.get("/patients/{external_id}")
def patient_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
    patient: PatientDep,
    all_texts: AllTexts = False,
    month: str = "",
) -> Response:
    shown = parse_month(month[:20]) if month else None
    context = page_context(engine, settings, now, patient, all_texts, shown)
    if month and shown is None:
        context["month_error"] = f"Months are written YYYY-MM (2026-10); not {month[:20]!r}."
    return pages.render(request, "patient.html", context)


def page_context(
    engine: EngineDep,
    settings: Settings,
    now: datetime,
    patient: dict[str, Any],
    all_texts: bool = False,
    month: date | None = None,
) -> dict[str, Any]:
    zone = ZoneInfo(patient["timezone"])
    today = now.astimezone(zone).date()
    horizon = now + timedelta(days=settings.horizon_days)
    adherence = adherenceview.adherence(engine, patient["id"], zone, now, month)
    history = patientview.consent_history(engine, patient["id"])
    return {
        "patient": patient,
        "plan": plan_view(engine, patient["patient_id"], now, horizon),
        **_sessions(engine, patient["id"], now),
        **thread_context(engine, patient, all_texts),
        "language_name": LANGUAGE_NAMES.get(patient["language"], patient["language"]),
        "adherence": adherence,
        "charts": _charts(adherence, today, patient["pain_baseline"]),
        "foot_labels": adherenceview.FOOT_LABELS,
        "exercise_labels": adherenceview.EXERCISE_LABELS,
        "consent_history": history,
        "status_words": status_words(patient["status"], history, zone),
        "needs": needs_doing(engine, patient["id"], now),
        "today": today,
        "session_errors": {},
        "session_values": {},
    }


def _sessions(engine: EngineDep, patient_id: int, now: datetime) -> dict[str, Any]:
    recent, coming = sessionview.patient_sessions(engine, patient_id, now)
    with engine.connect() as conn:
        entry = waitlist.entry_of(conn, patient_id)
        taken = waitlist_board.taken_by_patient(conn, patient_id, now)
    return {
        "recent_sessions": recent,
        "sessions": coming,
        "marks_for": sessionview.marks_for,
        "waitlist_entry": entry,
        "waitlist_taken": taken,
    }


def _charts(adherence: dict[str, Any], today: date, baseline: int | None) -> dict[str, Any]:
    weeks = adherence["weeks"]
    # Every exercise day settled: its pain, or None (asked, no pain given) to break the line.
    pain = {d.day: d.value for d in adherence["exercise"] if d.state != "waiting"}
    return {
        "completion": charts.bar_chart(
            "Exercise days done, per week",
            [f"{w.day:%d %b}" for w in weeks],
            [w.value for w in weeks],
            top=100,
            suffix="%",
        ),
        "pain": charts.dated_line_chart(
            "Pain reported after exercise (0-10)",
            today - timedelta(weeks=EXERCISE_WEEKS) + timedelta(days=1),
            today,
            pain,
            top=10,
            threshold=HIGH_PAIN,
            baseline=baseline,
        ),
    }


@router.get("/patients/{external_id}/thread")
def thread(
    request: Request,
    engine: EngineDep,
    pages: PagesDep,
    patient: PatientDep,
    all_texts: AllTexts = False,
) -> Response:
    context = {"patient": patient, **thread_context(engine, patient, all_texts)}
    return pages.render(request, "_patient_thread.html", context)


def thread_context(engine: EngineDep, patient: dict[str, Any], all_texts: bool) -> dict[str, Any]:
    """The latest texts (LATEST_TEXTS, or up to THREAD_LIMIT when all are asked for), and
    whether there are more than are shown."""
    limit = patientview.THREAD_LIMIT if all_texts else LATEST_TEXTS
    messages = patientview.thread(engine, patient["id"], limit + 1)
    return {
        "messages": messages[-limit:],
        "more_texts": len(messages) > limit,
        "all_texts": all_texts,
    }
