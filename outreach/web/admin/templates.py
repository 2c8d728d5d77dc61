"""Every SMS template rendered with sample data in every language, with its length,
encoding and segments, and what would go wrong on a patient's phone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from outreach.texts.templatecheck import MAX_SEGMENTS, check_templates
from outreach.web.deps import PagesDep, RendererDep

router = APIRouter()


@router.get("/templates", response_class=HTMLResponse)
def templates(request: Request, renderer: RendererDep, pages: PagesDep) -> Response:
    rows = check_templates(renderer)
    context = {
        "rows": rows,
        "languages": sorted({row.language for row in rows}),
        "problems": sum(1 for row in rows if row.problems),
        "max_segments": MAX_SEGMENTS,
    }
    return pages.render(request, "templates.html", context)
