"""How long patients wait for a person: the report's "median time to the first staff reply".
Pure: the caller reads the texts."""

from __future__ import annotations

import statistics
from datetime import datetime


def median_first_reply_minutes(
    texts_in: list[tuple[int, datetime]], staff_texts: list[tuple[int, datetime]]
) -> float | None:
    """Each staff text (patient id, when) answers the patient's texts since the previous
    staff text; its wait runs from the earliest of those. A staff text that answers nothing
    (the clinic wrote first) has no wait. The median of the waits in minutes, or None."""
    by_patient: dict[int, list[datetime]] = {}
    for patient_id, at in texts_in:
        by_patient.setdefault(patient_id, []).append(at)
    waits: list[float] = []
    previous: dict[int, datetime] = {}
    for patient_id, at in sorted(staff_texts, key=lambda text: text[1]):
        since = previous.get(patient_id)
        previous[patient_id] = at
        asked = [
            t for t in by_patient.get(patient_id, ()) if t <= at and (since is None or t > since)
        ]
        if asked:
            waits.append((at - min(asked)).total_seconds() / 60)
    return statistics.median(waits) if waits else None
