"""The web side: Twilio's webhooks, /healthz and /metrics, and the clinic's admin pages."""

from outreach.web.app import create_app

__all__ = ["create_app"]
