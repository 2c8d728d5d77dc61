"""Test doubles that speak real protocols over loopback, so tests never mock a client."""

from outreach.testing.twilio_server import FakeTwilio

__all__ = ["FakeTwilio"]
