"""The feeds page: the clinic's systems that send appointments (HL7, FHIR), how each is
doing, the appointments waiting for their patient to be enrolled, and the messages that
could not be applied."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from outreach.staff import feeds
from outreach.web.deps import CurrentUser, EngineDep, NowDep, PagesDep

router = APIRouter()


@router.get("/feeds", response_class=HTMLResponse)
async def feeds_page(
    request: Request, staff: CurrentUser, engine: EngineDep, pages: PagesDep, now: NowDep
) -> Response:
    board = await run_in_threadpool(feeds.board, engine, now)
    return pages.render(request, "feeds.html", {"board": board, "now": now})
