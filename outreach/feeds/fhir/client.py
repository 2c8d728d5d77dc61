"""Reads Appointments from a FHIR R4 server with httpx, a page at a time.

    GET {base}/Appointment?_lastUpdated=ge{watermark}&_include=Appointment:patient
        &_count={page size}&_sort=_lastUpdated

then each Bundle's `next` link until there is none. Every resource is parsed on its own with
the fhir.resources R4B models, so one malformed Appointment is one error, not a lost page.
A patient the server did not include is read by its reference (`GET Patient/{id}`).

429 and 5xx (and no answer at all) are retried a few times, waiting as the server asks
(Retry-After) or doubling with jitter; then the sync stops, and the next run resumes from
the watermark. Any other refusal stops it at once, with the server's OperationOutcome in
words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from outreach.config import Settings
from outreach.feeds.fhir import auth as auth_
from outreach.feeds.fhir.backoff import ATTEMPTS, BASE_SECONDS, RETRYABLE, too_long, wait_seconds
from outreach.feeds.fhir.errors import FhirError
from outreach.feeds.fhir.mapping import patient_reference
from outreach.feeds.fhir.outcome import outcome_words, resource_words

log = logging.getLogger("outreach.feeds.fhir")

FHIR_JSON = "application/fhir+json"
BODY_CHARS = 200  # of a non-FHIR error body, in the error's words


@dataclass
class Page:
    """One searchset Bundle: its Appointments (search mode match), the Patients included
    or read for them, by reference, and what could not be parsed, in words."""

    number: int
    appointments: list[Appointment] = field(default_factory=list)
    patients: dict[str, Patient] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    next_url: str | None = None


class FhirClient:
    def __init__(
        self,
        base_url: str,
        auth: auth_.Auth | None = None,
        *,
        page_size: int = 100,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = BASE_SECONDS,
        attempts: int = ATTEMPTS,
        trust_env: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth or auth_.NoAuth()
        self.page_size = page_size
        self.sleep = sleep
        self.backoff_base = backoff_base
        self.attempts = attempts
        self.http = httpx.Client(
            timeout=timeout, headers={"Accept": FHIR_JSON}, trust_env=trust_env
        )
        self._read_patients: dict[str, Patient | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> FhirClient:
        if not settings.fhir_base_url:
            raise FhirError("fhir.base_url is not set: there is no FHIR server to read")
        return cls(
            settings.fhir_base_url,
            auth_.from_settings(settings),
            page_size=settings.fhir_page_size,
            timeout=settings.fhir_timeout_seconds,
            **options,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def search_params(self, since: str | None) -> dict[str, str]:
        params = {
            "_include": "Appointment:patient",
            "_count": str(self.page_size),
            "_sort": "_lastUpdated",
        }
        if since:
            params["_lastUpdated"] = f"ge{since}"
        return params

    def pages(self, since: str | None) -> Iterator[Page]:
        """Each page of Appointments changed at or after `since` (all of them if None)."""
        url: str | None = f"{self.base_url}/Appointment"
        params: dict[str, str] | None = self.search_params(since)
        number = 0
        while url is not None:
            number += 1
            body = self._get(url, params, f"page {number} of the Appointment search")
            page = self._page(number, body)
            self._complete(page)
            yield page
            url, params = page.next_url, None
            if url is not None:
                self._check_same_server(url)

    # -- one page --------------------------------------------------------------------------

    def _page(self, number: int, body: Any) -> Page:
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            kind = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
            raise FhirError(f"page {number}: expected a Bundle, the server sent {kind}")
        entries = body.get("entry") or []
        # The envelope and the resources are validated apart: a bad resource costs itself.
        shell = {
            **body,
            "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries],
        }
        try:
            bundle = Bundle.model_validate(shell)
        except ValidationError as exc:
            raise FhirError(f"page {number}: not a valid Bundle: {_first_error(exc)}") from None
        page = Page(number)
        for link in bundle.link or []:
            if link.relation == "next" and link.url:
                page.next_url = str(link.url)
        for entry, raw in zip(bundle.entry or [], entries, strict=True):
            resource = raw.get("resource")
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            mode = entry.search.mode if entry.search is not None else None
            if kind == "Appointment" and mode != "include":
                try:
                    page.appointments.append(Appointment.model_validate(resource))
                except ValidationError as exc:
                    ref = f"Appointment/{resource.get('id', '?')}"
                    page.invalid.append(f"{ref} is not valid R4: {_first_error(exc)}")
            elif kind == "Patient":
                try:
                    patient = Patient.model_validate(resource)
                except ValidationError as exc:
                    log.warning(
                        "Patient/%s is not valid R4: %s", resource.get("id"), _first_error(exc)
                    )
                    continue
                if patient.id:
                    page.patients[f"Patient/{patient.id}"] = patient
                if entry.fullUrl:
                    page.patients[str(entry.fullUrl)] = patient
            elif kind == "OperationOutcome":
                log.warning("the server's search says: %s", resource_words(resource))
        return page

    def _complete(self, page: Page) -> None:
        """Read the patients the server did not include (a server may include each patient
        once per search, or not at all)."""
        for appointment in page.appointments:
            reference = patient_reference(appointment)
            if not reference or _relative(reference) in page.patients or reference in page.patients:
                continue
            relative = _relative(reference)
            if relative not in self._read_patients:
                self._read_patients[relative] = self._read_patient(relative)
            found = self._read_patients[relative]
            if found is not None:
                page.patients[relative] = found

    def _read_patient(self, relative: str) -> Patient | None:
        try:
            body = self._get(f"{self.base_url}/{relative}", None, relative)
        except FhirError as exc:
            if exc.status in (404, 410):
                return None  # gone: the appointment is reported as not applied
            raise
        try:
            return Patient.model_validate(body)
        except ValidationError as exc:
            log.warning("%s is not valid R4: %s", relative, _first_error(exc))
            return None

    # -- one request -----------------------------------------------------------------------

    def _get(self, url: str, params: dict[str, str] | None, what: str) -> Any:
        attempt, renewed = 1, False
        while True:
            try:
                response = self._send(url, params, what)
            except FhirError as exc:
                error = exc
            else:
                if response.status_code == 401 and not renewed and self.auth.renew():
                    renewed = True  # the token may have expired early: one fresh try
                    continue
                if response.is_success:
                    try:
                        return response.json()
                    except ValueError:
                        raise FhirError(f"{what}: the server's answer is not JSON") from None
                error = _refusal(response, what)
            retry = error.retryable and not too_long(error.retry_after, _utcnow())
            if not retry or attempt >= self.attempts:
                if error.retryable:
                    raise FhirError(
                        f"{error} (gave up after {attempt} tries; the next sync resumes here)",
                        retryable=True,
                        status=error.status,
                    )
                raise error
            wait = wait_seconds(attempt, error.retry_after, _utcnow(), self.backoff_base)
            log.warning("%s; trying again in %.1f s", error, wait)
            self.sleep(wait)
            attempt += 1

    def _send(self, url: str, params: dict[str, str] | None, what: str) -> httpx.Response:
        headers = self.auth.headers(self.http)  # may ask the token URL first (FhirError)
        try:
            return self.http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise FhirError(f"{what}: {_network_words(exc, url)}", retryable=True) from None

    def _check_same_server(self, url: str) -> None:
        """A next link must stay on the server: the token goes with it."""
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            raise FhirError(f"the next page is on another server ({theirs.netloc}): not followed")


def _refusal(response: httpx.Response, what: str) -> FhirError:
    status = response.status_code
    said = outcome_words(response.content)
    if said is None:
        text = response.text.strip().replace("\n", " ")
        said = text[:BODY_CHARS] if text and not text.startswith("<") else ""
    words = f"{what}: the FHIR server answered {status} {response.reason_phrase}"
    if status in (401, 403):
        words += " (check fhir.auth and its token or client registration)"
    return FhirError(
        f"{words}: {said}" if said else words,
        retryable=status in RETRYABLE,
        status=status,
        retry_after=response.headers.get("Retry-After"),
    )


def _network_words(exc: httpx.HTTPError, url: str) -> str:
    host = urlsplit(url).netloc
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer from {host} in time"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {host}: {exc}"
    return f"the connection to {host} failed: {exc or type(exc).__name__}"


def _relative(reference: str) -> str:
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:])


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def _utcnow() -> datetime:
    return datetime.now(UTC)
