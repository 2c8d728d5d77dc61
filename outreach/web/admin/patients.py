"""Patients: the list, and each patient's page (plan, sessions, conversation, foot-check
calendar, exercise and pain, consent history). Adding and editing are in patientform.py,
the CSV import in patientimport.py, the buttons on a patient's page in patientactions.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.config import Settings
from outreach.patients.plans import plan_view
from outreach.staff import patientlist
from outreach.staff import patients as patientview
from outreach.web.admin import charts
from outreach.web.deps import EngineDep, NowDep, PagesDep, PatientDep, SettingsDep

router = APIRouter()


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
) -> Response:
    context = page_context(engine, settings, now, patient)
    return pages.render(request, "patient.html", context)


def page_context(
    engine: EngineDep, settings: Settings, now: datetime, patient: dict[str, Any]
) -> dict[str, Any]:
    zone = ZoneInfo(patient["timezone"])
    horizon = now + timedelta(days=settings.horizon_days)
    adherence = patientview.adherence(engine, patient["id"], zone, now)
    return {
        "patient": patient,
        "plan": plan_view(engine, patient["patient_id"], now, horizon),
        "sessions": patientview.upcoming_sessions(engine, patient["id"], now),
        "messages": patientview.thread(engine, patient["id"]),
        "adherence": adherence,
        "charts": _charts(adherence),
        "foot_labels": patientview.FOOT_LABELS,
        "exercise_labels": patientview.EXERCISE_LABELS,
        "consent_history": patientview.consent_history(engine, patient["id"]),
        "escalations": patientview.open_escalations(engine, patient["id"]),
        "today": now.astimezone(zone).date(),
        "session_errors": {},
        "session_values": {},
    }


def _charts(adherence: dict[str, Any]) -> dict[str, Any]:
    weeks = adherence["weeks"]
    pain = adherence["pain"]
    return {
        "completion": charts.bar_chart(
            "Exercise days done, per week",
            [f"{w.day:%d %b}" for w in weeks],
            [w.value for w in weeks],
            top=100,
            suffix="%",
        ),
        "pain": charts.line_chart(
            "Pain reported after exercise (0-10)",
            [f"{d.day:%d %b}" for d in pain],
            [d.value for d in pain],
            top=10,
            threshold=7,
        ),
    }


@router.get("/patients/{external_id}/thread")
def thread(request: Request, engine: EngineDep, pages: PagesDep, patient: PatientDep) -> Response:
    context = {"patient": patient, "messages": patientview.thread(engine, patient["id"])}
    return pages.render(request, "_patient_thread.html", context)
