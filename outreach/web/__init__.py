"""The web side: Twilio's webhooks (inbound texts, status callbacks) and a health check."""

from outreach.web.app import create_app

__all__ = ["create_app"]
