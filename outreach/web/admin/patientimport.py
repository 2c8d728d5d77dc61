"""Importing patients from a CSV file, for clinic admins: upload, a preview of what would
change, then the import itself and its report."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from outreach.feeds import appointments as feed_appointments
from outreach.patients import uploads as patientimport
from outreach.patients.csvfile import CsvFormatError
from outreach.web.admin.pages import Pages
from outreach.web.deps import AdminUser, EngineDep, NowDep, PagesDep, SettingsDep

router = APIRouter()

UPLOAD_LIMIT = 2 * 1024 * 1024
# The confirm form carries the file back in hidden fields; Starlette refuses a form field
# over 1 MB, so it goes in base64 pieces below that.
CHUNK = 700_000


@router.get("/patients/import")
def import_form(request: Request, staff: AdminUser, pages: PagesDep) -> Response:
    return pages.render(request, "patients_import.html", {"error": None})


def _import_error(request: Request, pages: Pages, error: str) -> Response:
    context = {"error": error}
    return pages.render(request, "patients_import.html", context, status_code=422)


@router.post("/patients/import/preview")
async def import_preview(
    request: Request, staff: AdminUser, engine: EngineDep, settings: SettingsDep, pages: PagesDep
) -> Response:
    upload = (await request.form()).get("file")
    error = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = "Choose a CSV file to upload."
    else:
        data = await upload.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            error = "The file is larger than 2 MB. Split it into smaller files and import each."
    if error is not None or not isinstance(upload, UploadFile):
        return _import_error(request, pages, error or "")
    name = upload.filename or "the file"
    try:
        preview = await run_in_threadpool(
            patientimport.preview_upload, engine, settings, data, name
        )
    except CsvFormatError as exc:
        return _import_error(request, pages, str(exc))
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    context = {
        "preview": preview,
        "name": name,
        "chunks": [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)],
    }
    return pages.render(request, "patients_import_preview.html", context)


@router.post("/patients/import")
async def import_confirm(
    request: Request,
    staff: AdminUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
) -> Response:
    form = await request.form()
    name = str(form.get("name") or "the file")
    try:
        pieces = [v for v in form.getlist("csv") if isinstance(v, str)]
        data = base64.urlsafe_b64decode("".join(pieces).encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        data = b""
    if not data or len(data) > UPLOAD_LIMIT:
        return _import_error(
            request, pages, "The preview's file did not come back whole; upload it again."
        )
    try:
        report = await run_in_threadpool(
            patientimport.import_upload, engine, settings, staff, data, name, now
        )
    except CsvFormatError as exc:
        return _import_error(request, pages, str(exc))
    if report.created:
        # Appointments a feed kept for these clinic ids come in now.
        await run_in_threadpool(feed_appointments.adopt, engine, settings, now)
    return pages.render(request, "patients_import_report.html", {"report": report, "name": name})
