"""The inbox: conversations that need a person (mine, unassigned, everyone's; open or closed),
each patient's whole thread with a reply box, and assigning, closing and reopening. The list
and the thread refresh themselves every 5 s, so a patient's text shows without a reload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from outreach.accounts.users import Staff
from outreach.inbox import threads
from outreach.staff import inbox as view
from outreach.staff.inbox import State, Who
from outreach.web.admin.formvalues import row_id
from outreach.web.admin.pages import flash
from outreach.web.admin.stafftexts import reply_context
from outreach.web.deps import CurrentUser, EngineDep, NowDep, PagesDep, PatientDep

router = APIRouter()

WHO_LABELS = {Who.MINE: "Mine", Who.UNASSIGNED: "Unassigned", Who.ALL: "Everyone's"}


def _filters(who: str, state: str) -> tuple[Who, State]:
    """Unknown values fall back to the default view rather than failing a bookmark."""
    return (
        Who(who) if who in tuple(Who) else Who.ALL,
        State(state) if state in tuple(State) else State.OPEN,
    )


def _list_context(engine: Engine, staff: Staff, who: Who, state: State) -> dict[str, Any]:
    return {
        "who": who,
        "state": state,
        "who_labels": WHO_LABELS,
        "counts": view.counts(engine, staff.id),
        "rows": view.listing(engine, staff.id, who, state),
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    pages: PagesDep,
    who: str = "all",
    state: str = "open",
) -> Response:
    context = _list_context(engine, staff, *_filters(who, state))
    return pages.render(request, "inbox.html", context)


@router.get("/inbox-list", response_class=HTMLResponse)
def inbox_list(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    pages: PagesDep,
    who: str = "all",
    state: str = "open",
) -> Response:
    """The list alone, for htmx to poll."""
    context = _list_context(engine, staff, *_filters(who, state))
    return pages.render(request, "_inbox_list.html", context)


def conversation_context(
    engine: Engine, patient: dict[str, Any], show_all: bool = False
) -> dict[str, Any]:
    return {
        "patient": patient,
        "conversation": view.conversation_state(engine, patient["id"]),
        "colleagues": view.colleagues(engine),
        "messages": view.thread(engine, patient["id"], None if show_all else view.THREAD_SHOWN),
        "show_all": show_all,
    }


@router.get("/inbox/{external_id}", response_class=HTMLResponse)
def conversation(
    request: Request, engine: EngineDep, pages: PagesDep, patient: PatientDep, all: int = 0
) -> Response:
    context = conversation_context(engine, patient, bool(all))
    context.update(reply_context(engine, patient))
    return pages.render(request, "conversation.html", context)


@router.get("/inbox/{external_id}/thread", response_class=HTMLResponse)
def conversation_thread(
    request: Request, engine: EngineDep, pages: PagesDep, patient: PatientDep, all: int = 0
) -> Response:
    """The thread alone, for htmx to poll."""
    context = conversation_context(engine, patient, bool(all))
    return pages.render(request, "_conversation_thread.html", context)


@router.post("/inbox/{external_id}/assign")
async def assign(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    now: NowDep,
    patient: PatientDep,
    to: Annotated[str, Form()] = "",
) -> Response:
    """`to`: a colleague's id, "me", or "" for nobody."""
    user_id = staff.id if to == "me" else row_id(to)
    if to and user_id is None:
        flash(request, "Choose a colleague from the list.")
    else:
        try:
            await run_in_threadpool(_assign, engine, patient["id"], user_id, staff, now)
            flash(request, _assigned_words(engine, staff, user_id))
        except threads.NoConversation:
            flash(request, "This patient has nothing in the inbox to assign.")
        except threads.NoSuchColleague:
            flash(request, "That colleague's account is not active; choose another.")
    return RedirectResponse(f"/inbox/{patient['patient_id']}", status_code=303)


def _assign(engine: Engine, patient_id: int, user_id: int | None, staff: Staff, now: Any) -> None:
    with engine.begin() as conn:
        threads.assign(conn, patient_id, user_id, staff, now)


def _assigned_words(engine: Engine, staff: Staff, user_id: int | None) -> str:
    if user_id is None:
        return "Nobody is assigned now."
    if user_id == staff.id:
        return "Assigned to you."
    names = {c["id"]: c["name"] for c in view.colleagues(engine)}
    return f"Assigned to {names.get(user_id, 'a colleague')}."


@router.post("/inbox/{external_id}/close")
def close(
    request: Request, staff: CurrentUser, engine: EngineDep, now: NowDep, patient: PatientDep
) -> Response:
    try:
        with engine.begin() as conn:
            closed = threads.close(conn, patient["id"], staff, now)
        flash(
            request,
            "Closed: the patient's texts are marked seen." if closed else "It was already closed.",
        )
    except threads.NoConversation:
        flash(request, "This patient has nothing in the inbox to close.")
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{external_id}/reopen")
def reopen(
    request: Request, staff: CurrentUser, engine: EngineDep, now: NowDep, patient: PatientDep
) -> Response:
    try:
        with engine.begin() as conn:
            opened = threads.reopen(conn, patient["id"], staff, now)
        flash(request, "Reopened." if opened else "It was already open.")
    except threads.NoConversation:
        flash(request, "This patient has nothing in the inbox to reopen.")
    return RedirectResponse(f"/inbox/{patient['patient_id']}", status_code=303)
