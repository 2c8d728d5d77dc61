"""The clinic report over a chosen range of days, and the same figures as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from outreach.rules.localtime import local_date
from outreach.staff import report
from outreach.web.admin.charts import bar_chart
from outreach.web.deps import CurrentUser, EngineDep, NowDep, PagesDep, SettingsDep

router = APIRouter()


def _build(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
    start: str | None = None,
    end: str | None = None,
) -> report.Report | Response:
    """The report for the range asked for, or the form again (422) with what was typed."""
    zone = settings.clinic_zone
    today = local_date(now, zone)
    if not start and not end:
        today = report.default_end(today, report.latest_text_day(engine, zone))
    span = report.parse_range(start, end, today)
    if isinstance(span, dict):
        context = {"report": None, "form": {"start": start, "end": end}, "errors": span}
        return pages.render(request, "report.html", {**_static(), **context}, status_code=422)
    return report.build(engine, zone, span, now, settings.late_cancel_hours)


Built = Annotated[report.Report | Response, Depends(_build)]


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, settings: SettingsDep, now: NowDep, pages: PagesDep, found: Built
) -> Response:
    if isinstance(found, Response):
        return found
    context = {
        # No dates typed, and it ends before today: say why.
        "ends_at_latest": found.range.end < local_date(now, settings.clinic_zone)
        and not request.query_params.get("start")
        and not request.query_params.get("end"),
        "report": found,
        "charts": charts(found),
        "form": {"start": found.range.start.isoformat(), "end": found.range.end.isoformat()},
        "errors": {},
    }
    return pages.render(request, "report.html", {**_static(), **context})


@router.post("/report/recount")
def recount(
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """Count what the worker has not counted yet, now, and show the report again."""
    report.refresh(engine, settings.clinic_zone)
    span = report.parse_range(start or None, end or None, local_date(now, settings.clinic_zone))
    where = "/report"
    if isinstance(span, report.DateRange):
        where += f"?start={span.start.isoformat()}&end={span.end.isoformat()}"
    return RedirectResponse(where, status_code=303)


@router.get("/report.csv")
def report_csv(found: Built) -> Response:
    if isinstance(found, Response):
        return found
    name = f"report-{found.range.start.isoformat()}-to-{found.range.end.isoformat()}.csv"
    return Response(
        report.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _static() -> dict[str, object]:
    return {
        "definitions": report.DEFINITIONS,
        "baseline": report.NO_SHOW_BASELINE,
        "kinds": report.PROMPT_KINDS,
        "error_codes": report.ERROR_CODES,
        "max_days": report.MAX_DAYS,
        "default_days": report.DEFAULT_DAYS,
        "duration": report.duration,
        "refresh_minutes": int(report.REFRESH_EVERY.total_seconds() // 60),
    }


def charts(found: report.Report) -> dict[str, Markup]:
    labels = [f"{p.start:%d %b}" for p in found.periods]
    unit = "day" if found.range.bucket_days == 1 else "week"
    return {
        "replies": bar_chart(
            f"Reply rate by {unit}",
            labels,
            [p.replies.percent for p in found.periods],
            top=100,
            suffix="%",
        ),
        "foot_checks": bar_chart(
            f"Foot-check adherence by {unit}",
            labels,
            [p.foot_checks.percent for p in found.periods],
            top=100,
            suffix="%",
        ),
        "escalations": bar_chart(
            f"Escalations per {unit}", labels, [float(p.escalations) for p in found.periods]
        ),
    }
