"""Resources from the FHIR R4 specification's own examples (hl7.org/fhir/R4), as the spec
gives them: appointment-example, appointment-example2doctors, appointment-example-request,
patient-example ("example", Peter James Chalmers), patient-example-a ("pat1", its photo left
out), and two OperationOutcomes. Narratives are shortened; nothing else is changed. Tests and
the benchmark copy one and change only what they need (ids, dates, status)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def example(name: str) -> dict[str, Any]:
    """A fresh copy of the example `name` ("appointment-example", "patient-example"...)."""
    return copy.deepcopy(_read(name))


@cache
def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return data
