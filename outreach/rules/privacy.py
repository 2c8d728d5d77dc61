"""Texts are not a private channel: no diagnosis words, and no full phone numbers in logs."""

from __future__ import annotations

import re
import unicodedata

# Words that would disclose a diagnosis to whoever sees the lock screen. Matched on
# accent-folded lowercase words, so "Neuropatía" and "DIABETIC" are caught too.
DIAGNOSIS_WORDS = frozenset(
    {
        "diabetes",
        "diabetic",
        "diabetico",
        "diabetica",
        "neuropathy",
        "neuropathic",
        "neuropatia",
        "chemo",
        "chemotherapy",
        "quimio",
        "quimioterapia",
        "cancer",
        "oncology",
        "oncologia",
        "ulcer",
        "ulcers",
        "ulcera",
        "ulceras",
        "amputation",
        "amputacion",
        "charcot",
    }
)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def diagnosis_words(text: str) -> list[str]:
    """The diagnosis words found in `text`, in order, as written."""
    return [
        match.group(0)
        for match in re.finditer(r"\w+", text)
        if fold(match.group(0)) in DIAGNOSIS_WORDS
    ]


def mask_phone(phone: str | None) -> str:
    """'+15555550142' -> '+1******0142': enough to tell numbers apart in a log, no more."""
    if not phone:
        return "-"
    digits = phone.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    country = digits[:1] if phone.startswith("+") else ""
    hidden = len(digits) - len(country) - 4
    return f"{'+' if phone.startswith('+') else ''}{country}{'*' * hidden}{digits[-4:]}"
