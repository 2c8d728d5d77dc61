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

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
# The elements outreach reads of each resource (outreach/feeds/fhir/mapping.py); each is
# validated as R4, with the elements R4 requires.
WHOLE: frozenset[str] = frozenset()
APPOINTMENT_READ = {
    "resourceType": WHOLE,
    "id": WHOLE,
    "meta": frozenset({"lastUpdated"}),
    "status": WHOLE,
    "start": WHOLE,
    "end": WHOLE,
    "participant": frozenset({"actor", "status"}),
    "cancelationReason": WHOLE,
}
PATIENT_READ = {
    "resourceType": WHOLE,
    "id": WHOLE,
    "identifier": frozenset({"use", "type", "system", "value"}),
    "name": frozenset({"use", "text", "family", "given"}),
    "telecom": WHOLE,
}
PATIENTS_KEPT = 20_000  # validated Patients kept for the rest of a sync
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
        self._validated: dict[str, Patient] = {}

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
        """Each page of Appointments changed at or after `since` (all of them if None).

        The next page is asked for as soon as this one's link is read, in a thread, while the
        caller applies this one: the server's time and ours overlap."""
        url = f"{self.base_url}/Appointment"
        number = 1
        with ThreadPoolExecutor(1, thread_name_prefix="fhir-page") as ahead:
            coming: Future[Any] | None = ahead.submit(
                self._get, url, self.search_params(since), _what(number)
            )
            while coming is not None:
                page = self._page(number, coming.result())
                coming = None
                if page.next_url is not None:
                    self._check_same_server(page.next_url)
                    number += 1
                    coming = ahead.submit(self._get, page.next_url, None, _what(number))
                self._complete(page)
                yield page

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
                    page.appointments.append(
                        Appointment.model_validate(_read_only(resource, APPOINTMENT_READ))
                    )
                except ValidationError as exc:
                    ref = f"Appointment/{resource.get('id', '?')}"
                    page.invalid.append(f"{ref} is not valid R4: {_first_error(exc)}")
            elif kind == "Patient":
                try:
                    patient = self._patient(_read_only(resource, PATIENT_READ))
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

    def _patient(self, data: dict[str, Any]) -> Patient:
        """A Patient validated once per sync however many pages include it (a server includes
        a patient on every page with one of their appointments): the same elements, the same
        model."""
        key = json.dumps(data, sort_keys=True)
        found = self._validated.get(key)
        if found is None:
            if len(self._validated) >= PATIENTS_KEPT:
                self._validated.clear()
            found = self._validated[key] = Patient.model_validate(data)
        return found

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


def _what(number: int) -> str:
    return f"page {number} of the Appointment search"


def _read_only(resource: dict[str, Any], elements: dict[str, frozenset[str]]) -> dict[str, Any]:
    """The elements outreach reads, for validation: the rest (narrative, codings of service
    and specialty, extensions...) is not read, and validating it cost more than the sync's
    writes (fhir.resources validates every nested type in Python). An element whose value
    is a list of objects keeps the keys listed for it."""
    kept: dict[str, Any] = {}
    for key, value in resource.items():
        if key not in elements:
            continue
        inner = elements[key]
        if inner and isinstance(value, list):
            value = [
                {k: v for k, v in item.items() if k in inner} if isinstance(item, dict) else item
                for item in value
            ]
        elif inner and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in inner}
        kept[key] = value
    return kept


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
