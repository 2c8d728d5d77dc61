"""A loopback FHIR R4 server for tests, the benchmark and demonstrations: Appointment searches
answered with searchset Bundles built with fhir.resources (R4B models), paged with opaque
links as HAPI pages them, patients included, and the ways real servers refuse.

    GET  /Appointment?_lastUpdated=geX&_count=N&_sort=_lastUpdated&_include=Appointment:patient
    GET  /Appointment?_getpages=TOKEN&_getpagesoffset=K&_count=N     (the `next` links)
    GET  /Patient/ID
    POST /token      SMART Backend Services: a client assertion JWT, checked against a key

Scripted faults (`fail`) answer the next searches with 401, 429 (Retry-After), 500 or a 400
with an OperationOutcome, as many times as asked. Every request is recorded (`requests`).

As a process, for the benchmark (it must not share the sync's interpreter):

    python -m outreach.testing.fhir_server --appointments 10000 --patients 2000 --port 8090
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from outreach.testing.fhir_examples import example

FHIR_JSON = "application/fhir+json"


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None
    outcome: dict[str, Any] | None = None


@dataclass
class Smart:
    """SMART Backend Services: the client's id, its public key, and the tokens handed out."""

    client_id: str
    public_key: Any
    expires_in: int = 300
    issued: list[str] = field(default_factory=list)


class FhirServer:
    def __init__(
        self,
        appointments: list[dict[str, Any]],
        patients: list[dict[str, Any]],
        *,
        token: str | None = None,
        smart: Smart | None = None,
    ) -> None:
        # Validated once as R4 models, and serialised once: a page's Bundle is built with
        # fhir.resources around them (see `_search`), as a server keeps its resources.
        self.appointments = {a["id"]: Appointment.model_validate(a) for a in appointments}
        self.patients = {p["id"]: Patient.model_validate(p) for p in patients}
        self._json: dict[str, dict[str, Any]] = {}
        # Stored serialised, as a server stores them.
        for key, booked in self.appointments.items():
            self._serialised(f"Appointment/{key}", booked)
        for key, person in self.patients.items():
            self._serialised(f"Patient/{key}", person)
        self.token = token
        self.smart = smart
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, str, str | None]] = []  # method, path?query, auth
        self._searches: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/fhir"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/token"

    def start(self) -> FhirServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FhirServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        outcome: dict[str, Any] | None = None,
    ) -> None:
        """The next `times` searches (pages included) are answered `status`."""
        self.faults.append(Fault(status, times, retry_after, outcome))

    def put(self, appointment: dict[str, Any]) -> None:
        """Add or change an appointment, as the EHR would (set its meta.lastUpdated)."""
        with self._lock:
            self.appointments[appointment["id"]] = Appointment.model_validate(appointment)
            self._json.pop(f"Appointment/{appointment['id']}", None)

    def searches(self) -> list[str]:
        return [path for method, path, _ in self.requests if path.startswith("/fhir/Appointment")]

    # -- answers ---------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, query: str, auth: str | None, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((method, f"{path}?{query}" if query else path, auth))
        if method == "POST" and path == "/token":
            return self._token(body)
        if not self._authorised(auth):
            return _outcome(401, "login", "no valid bearer token: sign in first")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if path == "/fhir/Appointment" and method == "GET":
            fault = self._fault()
            if fault is not None:
                return fault
            return self._search(params)
        if path.startswith("/fhir/Patient/") and method == "GET":
            patient = self.patients.get(path.rsplit("/", 1)[1])
            if patient is None:
                return _outcome(404, "not-found", f"{path} is not known")
            return 200, {"Content-Type": FHIR_JSON}, patient.model_dump_json().encode()
        return _outcome(404, "not-supported", f"{method} {path} is not supported here")

    def _authorised(self, auth: str | None) -> bool:
        if self.token is None and self.smart is None:
            return True
        given = (auth or "").removeprefix("Bearer ").strip()
        if self.token is not None and given == self.token:
            return True
        return self.smart is not None and given in self.smart.issued

    def _fault(self) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.popleft()
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.outcome is not None:
            body = OperationOutcome.model_validate(fault.outcome).model_dump_json().encode()
            return fault.status, {"Content-Type": FHIR_JSON, **headers}, body
        status, more, body = _outcome(fault.status, "transient", f"scripted {fault.status}")
        return status, {**more, **headers}, body

    def _search(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        count = int(params.get("_count", "100"))
        if "_getpages" in params:
            ids = self._searches.get(params["_getpages"])
            if ids is None:
                return _outcome(410, "not-found", "that search has expired")
            offset = int(params.get("_getpagesoffset", "0"))
            token = params["_getpages"]
        else:
            since = params.get("_lastUpdated", "")
            with self._lock:
                found = list(self.appointments.values())
            if since.startswith("ge"):
                floor = datetime.fromisoformat(since[2:].replace("Z", "+00:00"))
                found = [a for a in found if _updated(a) >= floor]
            found.sort(key=lambda a: (_updated(a), a.id or ""))
            token = secrets.token_hex(8)
            ids = [a.id or "" for a in found]
            self._searches[token] = ids
            offset = 0
        chosen = [self.appointments[i] for i in ids[offset : offset + count]]
        links = [BundleLink(relation="self", url=f"{self.base_url}/Appointment")]
        if offset + count < len(ids):
            after = f"_getpages={token}&_getpagesoffset={offset + count}&_count={count}"
            links.append(BundleLink(relation="next", url=f"{self.base_url}/Appointment?{after}"))
        entries = [
            BundleEntry(
                fullUrl=f"{self.base_url}/Appointment/{a.id}",
                search=BundleEntrySearch(mode="match"),
            )
            for a in chosen
        ]
        resources = [self._serialised(f"Appointment/{a.id}", a) for a in chosen]
        included: dict[str, Patient] = {}
        for appointment in chosen:
            for participant in appointment.participant or []:
                reference = participant.actor.reference if participant.actor else None
                if reference and reference.startswith("Patient/"):
                    patient = self.patients.get(reference.split("/", 1)[1])
                    if patient is not None:
                        included[reference] = patient
        entries += [
            BundleEntry(
                fullUrl=f"{self.base_url}/{reference}",
                search=BundleEntrySearch(mode="include"),
            )
            for reference in included
        ]
        resources += [self._serialised(ref, patient) for ref, patient in included.items()]
        bundle = Bundle(type="searchset", total=len(ids), link=links, entry=entries)
        # Each entry's resource goes in as its model serialised it (once, and kept).
        shell = json.loads(bundle.model_dump_json())
        for entry, resource in zip(shell.get("entry", []), resources, strict=True):
            entry["resource"] = resource
        return 200, {"Content-Type": FHIR_JSON}, json.dumps(shell).encode()

    def _serialised(self, reference: str, resource: Appointment | Patient) -> dict[str, Any]:
        found = self._json.get(reference)
        if found is None:
            found = self._json[reference] = json.loads(resource.model_dump_json())
        return found

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.smart is None:
            return _json(400, {"error": "unsupported_grant_type"})
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                self.smart.public_key,
                algorithms=["RS384", "ES384"],
                audience=self.token_url,
            )
        except jwt.PyJWTError as exc:
            return _json(401, {"error": "invalid_client", "error_description": str(exc)})
        if claims.get("iss") != self.smart.client_id or claims.get("sub") != self.smart.client_id:
            return _json(401, {"error": "invalid_client", "error_description": "unknown client"})
        token = f"smart-{secrets.token_hex(8)}"
        self.smart.issued.append(token)
        answer = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.smart.expires_in,
            "scope": form.get("scope", ""),
        }
        return _json(200, answer)


def _updated(appointment: Appointment) -> datetime:
    meta = appointment.meta
    stamp = meta.lastUpdated if meta is not None else None
    return stamp if isinstance(stamp, datetime) else datetime(1970, 1, 1, tzinfo=UTC)


def _outcome(status: int, code: str, words: str) -> tuple[int, dict[str, str], bytes]:
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": words}],
        }
    )
    return status, {"Content-Type": FHIR_JSON}, outcome.model_dump_json().encode()


def _json(status: int, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _handler(server: FhirServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization")
            status, headers, payload = server.answer(method, parts.path, parts.query, auth, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the tests read `requests`

    return Handler


# -- resources from the specification's examples -------------------------------------------


def patient(patient_id: str, clinic_id: str, phone: str | None = None) -> dict[str, Any]:
    """The specification's patient-example ("Peter James Chalmers"), under another id, with
    the clinic's id as its MR identifier and, if given, a mobile phone."""
    data = example("patient-example")
    data["id"] = patient_id
    data["identifier"] = [
        {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": "urn:oid:1.2.36.146.595.217.0.1",
            "value": clinic_id,
        }
    ]
    if phone is not None:
        data["telecom"] = [{"system": "phone", "value": phone, "use": "mobile", "rank": 1}]
    return data


def appointment(
    appointment_id: str,
    patient_id: str,
    start: datetime,
    updated: datetime,
    status: str = "booked",
) -> dict[str, Any]:
    """The specification's appointment-example, for another patient and time."""
    data = example("appointment-example")
    data["id"] = appointment_id
    data["status"] = status
    data["start"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    data["end"] = (start + timedelta(minutes=45)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    data["meta"] = {"lastUpdated": updated.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    for participant in data.get("participant", []):
        actor = participant.get("actor", {})
        if str(actor.get("reference", "")).startswith("Patient/"):
            actor["reference"] = f"Patient/{patient_id}"
    if status == "cancelled":
        data["cancelationReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                    "code": "pat",
                }
            ]
        }
    return data


def clinic(
    appointments: int, patients: int, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`appointments` bookings spread over `patients` patients (clinic ids B-1...), two to
    twelve days ahead of `now`, changed over the last hour."""
    people = [patient(f"p{n}", f"B-{n}") for n in range(1, patients + 1)]
    booked = [
        appointment(
            f"a{n}",
            f"p{n % patients + 1}",
            now + timedelta(days=2 + n % 10, minutes=30 * (n // patients % 16)),
            now - timedelta(hours=1) + timedelta(milliseconds=n),
        )
        for n in range(appointments)
    ]
    return booked, people


def main() -> None:
    parser = argparse.ArgumentParser(description="a loopback FHIR server with generated data")
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=2_000)
    parser.add_argument("--now", help="ISO instant the data is generated around (default: now)")
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    booked, people = clinic(args.appointments, args.patients, now)
    server = FhirServer(booked, people).start()
    print(server.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
