"""What operators point at the app: /healthz for a load balancer or an uptime check, and
/metrics for Prometheus."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from outreach.web.deps import EngineDep, ExpositionDep, MetricsTokenDep

# The name these logged under when they lived in web/app.py; operators filter by it.
log = logging.getLogger("outreach.web.app")

router = APIRouter()


@router.get("/healthz")
async def healthz(engine: EngineDep) -> JSONResponse:
    if await run_in_threadpool(database_answers, engine):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


@router.get("/metrics")
async def prometheus(
    request: Request, metrics_token: MetricsTokenDep, exposition: ExpositionDep
) -> Response:
    """No patient data, so no sign-in: like /healthz. A token keeps strangers from
    watching the clinic's volumes where the app faces the internet."""
    if metrics_token is not None:
        given = request.headers.get("authorization", "")
        if not given:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), f"Bearer {metrics_token}".encode()):
            raise HTTPException(403)
    body = await run_in_threadpool(generate_latest, exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def database_answers(engine: Engine) -> bool:
    # A raw connection: on SQLite, a SQLAlchemy one would take the write lock (BEGIN
    # IMMEDIATE, see db/engine.py) for every probe.
    try:
        connection = engine.raw_connection()
        try:
            connection.cursor().execute("SELECT 1")
        finally:
            connection.close()
    except Exception:  # a raw connection raises the driver's own errors too
        log.warning("health check: the database does not answer")
        return False
    return True
