"""No form or query string, however odd, makes the admin answer with a server error: every
POST route is posted arbitrary values for the fields its forms really have (and some it has
never heard of), and every GET route is asked for arbitrary query strings."""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from starlette.routing import Mount

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import appointment_table, escalations, inbound_messages
from outreach.replies import inbound
from outreach.texts.render import Renderer
from outreach.web.app import create_app
from tests.support.admin import SECRET, TOKEN, Admin
from tests.support.clinic import PHONE, send_until
from tests.support.patients import T0, enrol, patient_row
from tests.support.transport import RecordingTransport

CSRF = "csrf_token"  # posted by the client; a fuzzed value would only earn a 403


def every_route(app: Any, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in getattr(app, "routes", ()):
        if isinstance(route, Mount):
            if route.path != "/static":
                found += every_route(route.app, prefix + route.path)
        elif isinstance(route, APIRoute):
            found += [(method, prefix + route.path) for method in route.methods or ()]
        elif hasattr(route, "original_router"):
            # FastAPI 0.165 keeps an included router whole, behind a private wrapper.
            context = getattr(route, "include_context", None)
            found += every_route(route.original_router, prefix + getattr(context, "prefix", ""))
    return found


def admin_routes() -> list[tuple[str, str]]:
    """The admin's routes, read off an app that never touches its database. The Twilio
    webhooks have their own fuzzing (tests/web/test_webhooks.py)."""
    settings = Settings()
    app = create_app(
        make_engine("sqlite://"),
        settings,
        TOKEN,
        Renderer(settings.templates_dir, settings),
        ManualClock(T0),
        SECRET,
    )
    return sorted(
        (method, path)
        for method, path in every_route(app)
        if method in ("GET", "POST") and not path.startswith(("/twilio/", "/healthz"))
    )


ROUTES = admin_routes()
POSTS = [path for method, path in ROUTES if method == "POST"]
GETS = [path for method, path in ROUTES if method == "GET"]


class Forms(HTMLParser):
    """The field names of every form on a page, by where the form sends them (a form's
    action, or an element's hx-post / hx-get), and the values the page filled in."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.fields: dict[str, set[str]] = defaultdict(set)
        self.values: dict[str, str] = {}
        self._targets: list[str] = []
        self._open: str | None = None  # the select or textarea being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        target = found.get("hx-post") or found.get("hx-get")
        if tag == "form":
            target = target or found.get("action") or self.page_path
            self._targets.append(target.split("?")[0])
        elif target:
            self.fields[target.split("?")[0]]  # a button that posts with no fields
        name = found.get("name")
        if tag in ("input", "select", "textarea", "button") and name and name != CSRF:
            for where in [*self._targets[-1:], *([target] if target and tag != "form" else [])]:
                self.fields[where.split("?")[0]].add(name)
            if tag == "input" and found.get("value"):
                self.values.setdefault(name, found["value"] or "")
            self._open = name if tag in ("select", "textarea") else self._open
        if tag == "option" and self._open and "selected" in found:
            self.values[self._open] = found.get("value") or ""

    def handle_data(self, data: str) -> None:
        if self._open and data.strip() and self.lasttag == "textarea":
            self.values.setdefault(self._open, data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._targets:
            self._targets.pop()
        if tag in ("select", "textarea"):
            self._open = None


class World:
    """What the routes' ids point at: patient P-1 with a plan, the urgent escalation and the
    replies of a reported foot problem."""

    def __init__(
        self, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
    ) -> None:
        self.patient_row_id = enrol(engine, settings, clock.now())
        transport = RecordingTransport()
        send_until(engine, settings, clock, renderer, transport, "foot_check")
        for answer in ("2", "1"):  # a new foot problem, then "open sore": urgent
            clock.advance(timedelta(minutes=3))
            inbound.receive(
                engine, settings, renderer, transport, clock.now(), from_phone=PHONE, body=answer
            )
        with engine.begin() as conn:
            self.ids = {
                "escalation_id": conn.execute(select(escalations.c.id)).scalar_one(),
                "reply_id": conn.execute(select(func.max(inbound_messages.c.id))).scalar_one(),
                "appointment_id": conn.execute(select(func.min(appointment_table.c.id))).scalar(),
                "external_id": "P-1",
            }

    def fill(self, path: str) -> str:
        """A path template with its parameters pointing at things that exist."""
        return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: str(self.ids.get(m.group(1), 1)), path)


@pytest.fixture
def world(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> World:
    return World(engine, settings, clock, renderer)


_FIELDS: dict[str, set[str]] = {}
# A value each field accepts: what the pages filled in (P-1's edit form), else P-2's row.
VALID: dict[str, str] = {**patient_row(patient_id="P-2", phone="+16175550143")}


def form_fields(admin: Admin, world: World) -> dict[str, set[str]]:
    """The fields of every form on every page, by the path they post to. Read once: every
    test's world is built the same way, so its ids and forms are the same too."""
    admin.get("/")  # sign-in began a new session: this page carries its CSRF token
    if _FIELDS:
        return _FIELDS
    fields = _FIELDS
    for path in GETS:
        page = admin.get(world.fill(path))
        if "html" not in page.headers.get("content-type", ""):
            continue
        parser = Forms(world.fill(path))
        parser.feed(page.text)
        for target, names in parser.fields.items():
            fields[target] = fields.get(target, set()) | names
        VALID.update({k: v for k, v in parser.values.items() if k not in ("patient_id", "phone")})
    return fields


# Values people paste, and values nobody would: unicode, control characters, very long text,
# numbers, dates and times, and nothing at all.
VALUES = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=10),
    st.text(min_size=2000, max_size=6000),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["0", "-1", "P-1", "2026-11-23", "08:30", "25:99", "mon wed", "+16175550142", "a\x00b"]
    ),
    st.dates().map(str),
)
FIELD_VALUES = st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=3))
EXTRA_NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda name: name != CSRF
)


def forms_for(names: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Any of the form's fields, each either a value it accepts or an odd one, and a few
    fields it does not have: mostly-valid forms reach the code behind the validation."""
    known = st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(st.just(VALID[name]), FIELD_VALUES) if name in VALID else FIELD_VALUES
            for name in sorted(names)
        },
    )
    extra = st.dictionaries(EXTRA_NAMES, FIELD_VALUES, max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


FUZZ = hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_the_admin_has_forms_to_fuzz() -> None:
    assert ("GET", "/") in ROUTES and ("POST", "/login") in ROUTES
    assert len(POSTS) >= 3, POSTS


# A CSV upload: the real header and rows of arbitrary cells, or arbitrary bytes.
CSV_TEXT = st.lists(
    st.lists(st.text(max_size=30), min_size=len(patient_row()), max_size=len(patient_row())),
    max_size=4,
).map(lambda rows: "\r\n".join(",".join(row) for row in [list(patient_row()), *rows]))
CSV_BYTES = st.one_of(CSV_TEXT.map(str.encode), st.binary(max_size=3000))
# What the import's confirm step gets back: the previewed file, base64 in form fields.
UPLOADS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/patients/import/preview": st.fixed_dictionaries(
        {"files": st.fixed_dictionaries({"file": st.tuples(st.text(max_size=20), CSV_BYTES)})}
    ),
    "/patients/import": st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"csv": CSV_BYTES.map(base64.urlsafe_b64encode)})}
    ),
}


@pytest.mark.parametrize("path", [p for p in POSTS if p != "/logout"])
def test_no_post_answers_with_a_server_error(path: str, admin: Admin, world: World) -> None:
    url = world.fill(path)
    names = form_fields(admin, world).get(url, set())
    upload = UPLOADS.get(path, st.just({}))

    # First, deterministically, a NUL in each field of an otherwise valid form: PostgreSQL
    # refuses NUL in text, and random search finds it only now and then.
    valid = {name: VALID[name] for name in names if name in VALID}
    for name in sorted(names):
        response = admin.post(url, {**valid, name: "a\x00b"}, follow_redirects=False)
        assert response.status_code < 500, (url, name, response.text[-2000:])

    @FUZZ
    @given(form=forms_for(names), upload=upload)
    def post(form: dict[str, Any], upload: dict[str, Any]) -> None:
        data = {**form, **upload.get("data", {})}
        response = admin.post(url, data, files=upload.get("files"), follow_redirects=False)
        assert response.status_code < 500, (url, form, response.text[-2000:])
        assert response.status_code != 403, "the client's CSRF token went stale"

    post()


@pytest.mark.parametrize("path", GETS)
def test_no_query_string_makes_a_page_fail(path: str, admin: Admin, world: World) -> None:
    url = world.fill(path)
    names = form_fields(admin, world).get(url, set())

    @hypothesis_settings(FUZZ, max_examples=15)
    @given(query=forms_for(names))
    def get(query: dict[str, Any]) -> None:
        response = admin.get(url, params=query, follow_redirects=False)
        assert response.status_code < 500, (url, query, response.text[-2000:])

    get()
