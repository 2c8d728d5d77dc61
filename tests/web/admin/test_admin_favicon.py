"""The admin's tab has an icon: a small SVG served with the static files, linked from every
page (the sign-in page too, before anyone is signed in)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.texts.render import Renderer
from tests.support.admin import Admin, admin_client

LINK = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def test_every_page_links_the_icon_and_it_is_served_as_svg(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, admin: Admin
) -> None:
    stranger = admin_client(engine, settings, renderer, clock)

    icon = stranger.client.get("/static/favicon.svg")

    assert LINK in stranger.get("/login").text and LINK in admin.get("/").text
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(icon.text).tag == "{http://www.w3.org/2000/svg}svg"
    assert len(icon.content) < 2_000
