"""Patients: the list, add and edit, a CSV import with a preview, and each patient's page
(plan, sessions, conversation, foot-check calendar, exercise and pain, consent history)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from outreach.config import LANGUAGES
from outreach.patients import edits as patientedit
from outreach.patients import uploads as patientimport
from outreach.patients.csvfile import CsvFormatError
from outreach.patients.edits import PatientNotFound, Saved
from outreach.patients.form import LABELS, PatientForm
from outreach.patients.plans import plan_view
from outreach.rules.schedule import WEEKDAYS
from outreach.staff import patients as patientview
from outreach.web.admin import charts
from outreach.web.admin.auth import AdminUser, CurrentUser
from outreach.web.admin.pages import flash, pages, utc_now

router = APIRouter()

UPLOAD_LIMIT = 2 * 1024 * 1024
# The confirm form carries the file back in hidden fields; Starlette refuses a form field
# over 1 MB, so it goes in base64 pieces below that.
CHUNK = 700_000
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def _found(value: Any) -> Any:
    if value is None:
        raise HTTPException(404, "There is no patient with this ID.")
    return value


def _form_lists(form: FormData) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


@router.get("/patients")
def patient_list(request: Request, staff: CurrentUser, q: str = "", status: str = "") -> Response:
    engine = request.app.state.engine
    context = {
        "patients": patientview.patient_list(engine, q, status),
        "q": q,
        "status": status if status in patientview.STATUS_FILTERS else "",
        "statuses": list(patientview.STATUS_FILTERS),
        "limit": patientview.LIST_LIMIT,
    }
    return pages(request).render(request, "patients.html", context)


def _render_form(
    request: Request,
    form: PatientForm,
    errors: dict[str, list[str]],
    external_id: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    context = {
        "form": form,
        "errors": errors,
        "external_id": external_id,
        "weekdays": WEEKDAYS,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        "labels": LABELS,
        "clinic_quiet_hours": str(settings.quiet_hours),
        "clinic_timezone": settings.clinic_timezone,
    }
    return pages(request).render(request, "patient_form.html", context, status_code=status_code)


async def _submit(request: Request, staff: Any, external_id: str | None) -> Response:
    form = PatientForm.from_form(_form_lists(await request.form()))
    if (await request.form()).get("action") == "add_phase":
        return _render_form(request, form, {}, external_id)  # one more empty row, not saved
    state = request.app.state
    try:
        result = await run_in_threadpool(
            patientedit.save_form,
            state.engine,
            state.settings,
            staff,
            form,
            utc_now(request),
            external_id,
        )
    except PatientNotFound:
        raise HTTPException(404, "There is no patient with this ID.") from None
    if not isinstance(result, Saved):
        return _render_form(request, form, result, external_id, status_code=422)
    flash(request, _saved_message(result))
    return RedirectResponse(f"/patients/{result.external_id}", status_code=303)


def _saved_message(saved: Saved) -> str:
    return {
        "created": f"Patient {saved.external_id} added; the consent text is on its way.",
        "updated": f"Patient {saved.external_id} saved; reminders follow the new plan.",
    }.get(saved.change, "Nothing had changed, so nothing was saved.")


@router.get("/patients/new")
def new_form(request: Request, staff: CurrentUser) -> Response:
    settings = request.app.state.settings
    form = PatientForm.from_columns({"timezone": settings.clinic_timezone, "language": "en"})
    return _render_form(request, form, {})


@router.post("/patients/new")
async def create(request: Request, staff: CurrentUser) -> Response:
    return await _submit(request, staff, None)


@router.get("/patients/import")
def import_form(request: Request, staff: AdminUser) -> Response:
    return pages(request).render(request, "patients_import.html", {"error": None})


def _import_error(request: Request, error: str) -> Response:
    context = {"error": error}
    return pages(request).render(request, "patients_import.html", context, status_code=422)


@router.post("/patients/import/preview")
async def import_preview(request: Request, staff: AdminUser) -> Response:
    upload = (await request.form()).get("file")
    error = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = "Choose a CSV file to upload."
    else:
        data = await upload.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            error = "The file is larger than 2 MB. Split it into smaller files and import each."
    if error is not None or not isinstance(upload, UploadFile):
        return _import_error(request, error or "")
    name = upload.filename or "the file"
    state = request.app.state
    try:
        preview = await run_in_threadpool(
            patientimport.preview_upload, state.engine, state.settings, data, name
        )
    except CsvFormatError as exc:
        return _import_error(request, str(exc))
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    context = {
        "preview": preview,
        "name": name,
        "chunks": [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)],
    }
    return pages(request).render(request, "patients_import_preview.html", context)


@router.post("/patients/import")
async def import_confirm(request: Request, staff: AdminUser) -> Response:
    form = await request.form()
    name = str(form.get("name") or "the file")
    try:
        pieces = [v for v in form.getlist("csv") if isinstance(v, str)]
        data = base64.urlsafe_b64decode("".join(pieces).encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        data = b""
    if not data or len(data) > UPLOAD_LIMIT:
        return _import_error(
            request, "The preview's file did not come back whole; upload it again."
        )
    state = request.app.state
    try:
        report = await run_in_threadpool(
            patientimport.import_upload,
            state.engine,
            state.settings,
            staff,
            data,
            name,
            utc_now(request),
        )
    except CsvFormatError as exc:
        return _import_error(request, str(exc))
    return pages(request).render(
        request, "patients_import_report.html", {"report": report, "name": name}
    )


@router.get("/patients/{external_id}")
def patient_page(request: Request, staff: CurrentUser, external_id: str) -> Response:
    return pages(request).render(request, "patient.html", _page_context(request, external_id))


def _page_context(request: Request, external_id: str) -> dict[str, Any]:
    state = request.app.state
    engine = state.engine
    now = utc_now(request)
    patient = _found(patientview.header(engine, external_id))
    zone = ZoneInfo(patient["timezone"])
    horizon = now + timedelta(days=state.settings.horizon_days)
    adherence = patientview.adherence(engine, patient["id"], zone, now)
    return {
        "patient": patient,
        "plan": plan_view(engine, external_id, now, horizon),
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
def thread(request: Request, staff: CurrentUser, external_id: str) -> Response:
    engine = request.app.state.engine
    patient = _found(patientview.header(engine, external_id))
    context = {"patient": patient, "messages": patientview.thread(engine, patient["id"])}
    return pages(request).render(request, "_patient_thread.html", context)


@router.get("/patients/{external_id}/edit")
def edit_form(request: Request, staff: CurrentUser, external_id: str) -> Response:
    columns = _found(patientedit.stored_columns(request.app.state.engine, external_id))
    return _render_form(request, PatientForm.from_columns(columns), {}, external_id)


@router.post("/patients/{external_id}/edit")
async def edit(request: Request, staff: CurrentUser, external_id: str) -> Response:
    return await _submit(request, staff, external_id)


@router.post("/patients/{external_id}/sessions")
async def add_session(request: Request, staff: CurrentUser, external_id: str) -> Response:
    form = await request.form()
    values = {key: str(form.get(key) or "") for key in ("session_date", "session_time")}
    state = request.app.state
    try:
        errors = await run_in_threadpool(
            patientedit.add_session,
            state.engine,
            state.settings,
            staff,
            external_id,
            values["session_date"],
            values["session_time"],
            utc_now(request),
        )
    except PatientNotFound:
        raise HTTPException(404, "There is no patient with this ID.") from None
    if errors:
        # The patient page again, with the add-session form showing what was typed and why.
        context = await run_in_threadpool(_page_context, request, external_id)
        context.update({"session_errors": errors, "session_values": values})
        return pages(request).render(request, "patient.html", context, status_code=422)
    flash(request, f"Session added on {values['session_date']} at {values['session_time']}.")
    return RedirectResponse(f"/patients/{external_id}#sessions", status_code=303)


@router.post("/patients/{external_id}/sessions/{appointment_id}/cancel")
async def cancel_session(
    request: Request, staff: CurrentUser, external_id: str, appointment_id: int
) -> Response:
    state = request.app.state
    try:
        cancelled = await run_in_threadpool(
            patientedit.cancel_session,
            state.engine,
            staff,
            external_id,
            appointment_id,
            utc_now(request),
        )
    except PatientNotFound:
        raise HTTPException(404, "There is no patient with this ID.") from None
    flash(
        request,
        "Session cancelled; its reminders will not be sent."
        if cancelled
        else "That session could not be cancelled: it has passed or was already cancelled.",
    )
    return RedirectResponse(f"/patients/{external_id}#sessions", status_code=303)


async def _set_paused(request: Request, staff: Any, external_id: str, paused: bool) -> Response:
    state = request.app.state
    now: datetime = utc_now(request)
    try:
        changed = await run_in_threadpool(
            patientedit.set_paused, state.engine, state.settings, staff, external_id, paused, now
        )
    except PatientNotFound:
        raise HTTPException(404, "There is no patient with this ID.") from None
    if paused:
        message = "Paused: nothing more will be sent until you resume."
        if not changed:
            message = "This patient was already paused."
    else:
        message = "Resumed: reminders are planned again from now."
        if not changed:
            message = "This patient was not paused."
    flash(request, message)
    return RedirectResponse(f"/patients/{external_id}", status_code=303)


@router.post("/patients/{external_id}/pause")
async def pause(request: Request, staff: CurrentUser, external_id: str) -> Response:
    return await _set_paused(request, staff, external_id, True)


@router.post("/patients/{external_id}/resume")
async def resume(request: Request, staff: CurrentUser, external_id: str) -> Response:
    return await _set_paused(request, staff, external_id, False)


@router.post("/patients/{external_id}/opt-out")
async def opt_out(request: Request, staff: CurrentUser, external_id: str) -> Response:
    form = await request.form()
    reason = form.get("reason")
    text = reason.replace("\x00", "") if isinstance(reason, str) else ""
    try:
        changed = await run_in_threadpool(
            patientedit.record_opt_out,
            request.app.state.engine,
            staff,
            external_id,
            text,
            utc_now(request),
        )
    except PatientNotFound:
        raise HTTPException(404, "There is no patient with this ID.") from None
    flash(
        request,
        "Opted out: nothing more will be sent. Only the patient can opt back in, by texting START."
        if changed
        else "This patient had already opted out.",
    )
    return RedirectResponse(f"/patients/{external_id}", status_code=303)
