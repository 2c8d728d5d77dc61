"""How long patients wait for a person: the report's "median time to the first staff reply".
Pure: the caller reads the texts."""

from __future__ import annotations

from datetime import datetime, timedelta


def first_reply_waits(
    texts_in: list[tuple[int, datetime]], staff_texts: list[tuple[int, datetime]]
) -> list[timedelta]:
    """Each staff text (patient id, when) answers the patient's texts since the previous
    staff text; its wait runs from the earliest of those. A staff text that answers nothing
    (the clinic wrote first) has no wait."""
    by_patient: dict[int, list[datetime]] = {}
    for patient_id, at in texts_in:
        by_patient.setdefault(patient_id, []).append(at)
    waits: list[timedelta] = []
    previous: dict[int, datetime] = {}
    for patient_id, at in sorted(staff_texts, key=lambda text: text[1]):
        since = previous.get(patient_id)
        previous[patient_id] = at
        asked = [
            t for t in by_patient.get(patient_id, ()) if t <= at and (since is None or t > since)
        ]
        if asked:
            waits.append(at - min(asked))
    return waits
