"""Run the webhook app under uvicorn: `outreach serve`."""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI

from outreach.config import Settings, twilio_credentials
from outreach.db import make_engine
from outreach.render import Renderer
from outreach.web.app import create_app


def build_app(settings: Settings) -> FastAPI:
    """The app with its engine, renderer and Twilio auth token (ConfigError if unset)."""
    auth_token = twilio_credentials().auth_token
    # A failed statement's message would otherwise quote its parameters, a reply's text and
    # phone number among them, into the log.
    engine = make_engine(settings.database_url, hide_parameters=True)
    return create_app(engine, settings, auth_token, Renderer(settings.templates_dir, settings))


def serve(app: FastAPI, host: str, port: int, stop: threading.Event) -> None:
    """Serve until `stop` is set, then let the requests in flight finish. uvicorn runs in a
    thread so that the caller owns SIGINT and SIGTERM: `outreach run` must stop its ticks
    cleanly too, and uvicorn, left to itself, ends the process by re-raising the signal."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # Forwarded headers are ours to judge (settings.trust_forwarded_headers), per request.
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    while not stop.wait(0.2):
        if not thread.is_alive():
            raise RuntimeError(f"the web server on {host}:{port} stopped (is the port in use?)")
    server.should_exit = True
    thread.join(timeout=30)
