"""A FHIR server's OperationOutcome, in words for staff and the log. Pure."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError

ISSUES_SHOWN = 5


def outcome_words(body: bytes) -> str | None:
    """Each issue as "severity code: details; diagnostics (at expression)", joined by " | ",
    or None when the body is not an OperationOutcome."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return resource_words(data)


def resource_words(data: Any) -> str | None:
    """The same, of a resource already parsed as JSON."""
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        return None
    try:
        outcome = OperationOutcome.model_validate(data)
    except ValidationError:
        # A malformed outcome still says something: read its issues as plain JSON.
        return _issues_words(data.get("issue") or [])
    return _issues_words([issue.model_dump() for issue in outcome.issue or []])


def _issues_words(issues: list[Any]) -> str | None:
    said = [_issue_words(issue) for issue in issues[:ISSUES_SHOWN] if isinstance(issue, dict)]
    said = [words for words in said if words]
    if len(issues) > ISSUES_SHOWN:
        said.append(f"and {len(issues) - ISSUES_SHOWN} more issues")
    return " | ".join(said) or None


def _issue_words(issue: dict[str, Any]) -> str:
    head = " ".join(str(issue[k]) for k in ("severity", "code") if issue.get(k))
    details = issue.get("details") or {}
    texts = [details.get("text")] if isinstance(details, dict) else []
    if isinstance(details, dict) and not details.get("text"):
        texts += [c.get("display") or c.get("code") for c in details.get("coding") or []]
    texts.append(issue.get("diagnostics"))
    body = "; ".join(str(t).strip() for t in texts if t and str(t).strip())
    where = issue.get("expression") or issue.get("location") or []
    if where:
        body += f" (at {', '.join(str(w) for w in where)})"
    return f"{head}: {body}" if head and body else head or body
