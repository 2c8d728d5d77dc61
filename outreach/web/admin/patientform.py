"""Adding a patient and editing one: the form, and saving it (a new patient is sent the
consent text; a changed plan is planned again)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from outreach.accounts.users import Staff
from outreach.config import LANGUAGES, Settings
from outreach.feeds import appointments as feed_appointments
from outreach.patients import edits as patientedit
from outreach.patients.edits import Saved
from outreach.patients.form import LABELS, PatientForm, in_form_order
from outreach.patients.zonechoices import zone_groups
from outreach.rules.schedule import WEEKDAYS
from outreach.web.admin.pages import Pages, flash
from outreach.web.deps import (
    CurrentUser,
    EngineDep,
    NowDep,
    PagesDep,
    PatientColumnsDep,
    SettingsDep,
)

router = APIRouter()

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def _form_lists(form: FormData) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def _render_form(
    request: Request,
    pages: Pages,
    settings: Settings,
    form: PatientForm,
    errors: dict[str, list[str]],
    external_id: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "form": form,
        "errors": in_form_order(errors),
        "zones": zone_groups(form.values.get("timezone", ""), settings.clinic_timezone),
        "external_id": external_id,
        "weekdays": WEEKDAYS,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        "labels": LABELS,
        "clinic_quiet_hours": str(settings.quiet_hours),
        "clinic_timezone": settings.clinic_timezone,
    }
    return pages.render(request, "patient_form.html", context, status_code=status_code)


async def _submit(
    request: Request,
    engine: EngineDep,
    settings: Settings,
    pages: Pages,
    staff: Staff,
    now: NowDep,
    external_id: str | None,
) -> Response:
    form = PatientForm.from_form(_form_lists(await request.form()))
    if (await request.form()).get("action") == "add_phase":
        # one more empty row, not saved
        return _render_form(request, pages, settings, form, {}, external_id)
    result = await run_in_threadpool(
        patientedit.save_form, engine, settings, staff, form, now, external_id
    )
    if not isinstance(result, Saved):
        return _render_form(request, pages, settings, form, result, external_id, status_code=422)
    if result.change == "created":
        # Appointments a feed kept for this clinic id come in now.
        await run_in_threadpool(feed_appointments.adopt, engine, settings, now)
    flash(request, _saved_message(result))
    return RedirectResponse(f"/patients/{result.external_id}", status_code=303)


def _saved_message(saved: Saved) -> str:
    return {
        "created": f"Patient {saved.external_id} added; the consent text is on its way.",
        "updated": f"Patient {saved.external_id} saved; reminders follow the new plan.",
    }.get(saved.change, "Nothing had changed, so nothing was saved.")


PREFILLED = ("patient_id", "first_name", "last_name", "phone")


@router.get("/patients/new")
def new_form(
    request: Request, staff: CurrentUser, settings: SettingsDep, pages: PagesDep
) -> Response:
    columns = {"timezone": settings.clinic_timezone, "language": "en"}
    # Enrolling from the feeds page: the clinic's id, name and phone the feed gave.
    for name in PREFILLED:
        given = request.query_params.get(name, "").strip()
        if given:
            columns[name] = given[:80]
    form = PatientForm.from_columns(columns)
    return _render_form(request, pages, settings, form, {})


@router.post("/patients/new")
async def create(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
) -> Response:
    return await _submit(request, engine, settings, pages, staff, now, None)


@router.get("/patients/{external_id}/edit")
def edit_form(
    request: Request,
    staff: CurrentUser,
    settings: SettingsDep,
    pages: PagesDep,
    columns: PatientColumnsDep,
    external_id: str,
) -> Response:
    form = PatientForm.from_columns(columns)
    return _render_form(request, pages, settings, form, {}, external_id)


@router.post("/patients/{external_id}/edit")
async def edit(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
    external_id: str,
) -> Response:
    return await _submit(request, engine, settings, pages, staff, now, external_id)
