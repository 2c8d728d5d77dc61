"""Quick replies, listed and edited by admins: canned texts per language that staff start a
reply from. Each is checked by rendering it before it is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.inbox import quickreplies
from outreach.inbox.quickreplies import QuickReplyError
from outreach.texts.quick import VARIABLES
from outreach.web.admin.formvalues import row_id
from outreach.web.admin.pages import Pages, flash
from outreach.web.deps import AdminUser, EngineDep, NowDep, PagesDep, RendererDep

router = APIRouter()
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def _page(
    request: Request,
    pages: Pages,
    engine: Any,
    renderer: Any,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with engine.connect() as conn:
        replies = quickreplies.all_replies(conn)
    context = {
        "replies": replies,
        "form": form or {"name": "", "language": "en", "body": "", "reply_id": ""},
        "errors": {key: [why] for key, why in (errors or {}).items()},
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in renderer.languages()],
        "variables": VARIABLES,
    }
    return pages.render(request, "quick_replies.html", context, status_code=status_code)


@router.get("/quick-replies", response_class=HTMLResponse)
def quick_replies(
    request: Request,
    staff: AdminUser,
    engine: EngineDep,
    renderer: RendererDep,
    pages: PagesDep,
    edit: str = "",
) -> Response:
    form = None
    edited = row_id(edit)
    if edited is not None:
        with engine.connect() as conn:
            chosen = quickreplies.find(conn, edited)
        if chosen is not None:
            form = {"name": chosen.name, "language": chosen.language, "body": chosen.body,
                    "reply_id": str(chosen.id)}  # fmt: skip
    return _page(request, pages, engine, renderer, form)


@router.post("/quick-replies")
def save_quick_reply(
    request: Request,
    staff: AdminUser,
    engine: EngineDep,
    renderer: RendererDep,
    pages: PagesDep,
    now: NowDep,
    name: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    reply_id: Annotated[str, Form()] = "",
) -> Response:
    form = {"name": name, "language": language, "body": body, "reply_id": reply_id}
    try:
        with engine.begin() as conn:
            quickreplies.save(
                conn, renderer, staff, now, name=name, language=language, body=body,
                reply_id=row_id(reply_id),
            )  # fmt: skip
    except QuickReplyError as exc:
        return _page(request, pages, engine, renderer, form, exc.errors, status_code=422)
    flash(request, f"Quick reply {' '.join(name.split())!r} saved.")
    return RedirectResponse("/quick-replies", status_code=303)


@router.post("/quick-replies/{reply_id}/delete")
def delete_quick_reply(
    request: Request, staff: AdminUser, engine: EngineDep, now: NowDep, reply_id: str
) -> Response:
    chosen = row_id(reply_id)
    with engine.begin() as conn:
        removed = chosen is not None and quickreplies.remove(conn, staff, chosen, now)
    flash(request, "Quick reply deleted." if removed else "That quick reply was already gone.")
    return RedirectResponse("/quick-replies", status_code=303)
