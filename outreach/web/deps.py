"""What a route may ask for, as typed dependencies: the settings, engine, clock and renderer
the app was made with, the webhooks' Twilio token and database queue, what /metrics serves
and its token, the admin's pages, the signed-in user, and a patient or escalation by its
id. Only this module and the apps' composition (web/app.py, web/admin/app.py) touch
`app.state`; routes take these as parameters (`engine: EngineDep`, `staff: CurrentUser`).

The plain getters are `async def` so that FastAPI calls them on the event loop rather than
sending each to the thread pool: a webhook resolves several on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine

from outreach.accounts.sessions import session_user
from outreach.accounts.users import Staff
from outreach.clock import Clock
from outreach.config import Settings
from outreach.monitoring.metrics import Exposition
from outreach.patients import edits as patientedit
from outreach.patients.edits import PatientNotFound
from outreach.staff import escalations
from outreach.staff import patients as patientview
from outreach.staff.escalations import EscalationView
from outreach.texts.render import Renderer
from outreach.web.admin.auth import SAFE_METHODS, SignInRequired, check_csrf
from outreach.web.admin.pages import Pages
from outreach.web.databasework import DatabaseWork


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


async def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def get_twilio_token(request: Request) -> str | None:
    """Twilio's auth token, which signs its webhooks; None when sms.provider is not twilio."""
    token: str | None = request.app.state.twilio_auth_token
    return token


async def get_metrics_token(request: Request) -> str | None:
    """The bearer token /metrics asks for; None when it is open to all."""
    token: str | None = request.app.state.metrics_token
    return token


async def get_exposition(request: Request) -> Exposition:
    exposition: Exposition = request.app.state.exposition
    return exposition


async def get_database_work(request: Request) -> DatabaseWork:
    work: DatabaseWork = request.app.state.database_work
    return work


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RendererDep = Annotated[Renderer, Depends(get_renderer)]
PagesDep = Annotated[Pages, Depends(get_pages)]
TwilioTokenDep = Annotated[str | None, Depends(get_twilio_token)]
DatabaseWorkDep = Annotated[DatabaseWork, Depends(get_database_work)]
MetricsTokenDep = Annotated[str | None, Depends(get_metrics_token)]
ExpositionDep = Annotated[Exposition, Depends(get_exposition)]


async def utc_now(clock: ClockDep) -> datetime:
    return clock.now().astimezone(UTC)


NowDep = Annotated[datetime, Depends(utc_now)]


async def signed_in(request: Request, engine: EngineDep) -> Staff | None:
    """The user this request's session belongs to; a void session is cleared."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        return None
    staff = session_user(engine, user_id, request.session.get("stamp"), request.session.get("iat"))
    if staff is None:
        request.session.clear()
    return staff


SignedIn = Annotated[Staff | None, Depends(signed_in)]


async def current_user(request: Request, staff: SignedIn) -> Staff:
    """The signed-in user; anyone else is sent to sign in. Unsafe requests must carry the
    CSRF token too."""
    if staff is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise SignInRequired(path if request.method in SAFE_METHODS else "/")
    await check_csrf(request)
    request.state.staff = staff
    return staff


async def admin_user(staff: Annotated[Staff, Depends(current_user)]) -> Staff:
    if not staff.is_admin:
        raise HTTPException(403, "Only a clinic admin may do this.")
    return staff


CurrentUser = Annotated[Staff, Depends(current_user)]
AdminUser = Annotated[Staff, Depends(admin_user)]


def find_patient(engine: Engine, external_id: str) -> dict[str, Any]:
    """The patient page's header; PatientNotFound (answered 404) if there is none."""
    found = patientview.header(engine, external_id)
    if found is None:
        raise PatientNotFound(external_id)
    return found


def get_patient(engine: EngineDep, external_id: str) -> dict[str, Any]:
    return find_patient(engine, external_id)


def get_patient_columns(engine: EngineDep, external_id: str) -> dict[str, Any]:
    found = patientedit.stored_columns(engine, external_id)
    if found is None:
        raise PatientNotFound(external_id)
    return found


def get_escalation(engine: EngineDep, escalation_id: int) -> EscalationView:
    return escalations.find(engine, escalation_id)


# Sync, so that their queries run on the thread pool as the routes' own did.
PatientDep = Annotated[dict[str, Any], Depends(get_patient)]
PatientColumnsDep = Annotated[dict[str, Any], Depends(get_patient_columns)]
EscalationDep = Annotated[EscalationView, Depends(get_escalation)]
