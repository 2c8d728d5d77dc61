"""The words staff read for an escalation's reason: each code the conversation and the safety
screen (rules/replies/) raise, as staff would say it on the phone."""

from __future__ import annotations

import re

REASON_WORDS = {
    "foot_problem": "something new on a foot (details asked)",
    "foot_open_sore": "open sore, bleeding or pus",
    "foot_red_hot_swollen": "red, hot or swollen foot",
    "foot_blister": "blister, cut or callus",
    "foot_other": "something else on a foot",
    "pain": "pain",
    "reschedule": "wants to reschedule",
    "no_shows": "missed sessions in a row",
    "stop_request": "asked to stop texts",
    # The danger signs of templates/replies/*.rules, in the patient's own words.
    "chest_pain": "chest pain or tightness",
    "trouble_breathing": "trouble breathing",
    "head_strike": "hit their head",
    "cannot_get_up": "fell and could not get up",
    "fainted": "fainted or passed out",
    "spreading_redness": "redness spreading up the leg",
    "cold_pale_foot": "cold, pale foot",
    "fever_with_red_foot": "fever or unwell with a red or swollen foot",
    "fever_with_wound": "fever with a wound or pus",
    "open_wound": "open sore or wound",
    "bleeding": "bleeding",
    "burn": "a burn",
    "blister": "blister",
    "cut": "cut or scrape",
    "callus": "callus or corn",
    "fever": "fever or chills",
    "hurt": "hurt, no pain score",
    "pus_drainage": "pus or drainage",
    "red_hot_swollen": "red, hot or swollen foot",
    "discoloured_toe": "black, blue or purple toe",
    "bad_smell": "bad smell",
    "puncture": "stepped on something sharp",
    "severe_pain": "severe pain",
    "fall_with_injury": "fell and is hurt",
    "fall": "a fall",
    "near_fall": "nearly fell",
    "unwell": "feels unwell",
    "hospital": "at a hospital or urgent care",
    "symptom": "a symptom in their own words",
    "exercises_skipped": "skipped the exercises three times in a row",
}
_PAIN = re.compile(r"pain (\d{1,2})")


def reason_words(reason: str, detail: str = "") -> str:
    """'pain', 'pain 8/10 (baseline 2)' -> 'pain 8 of 10' (pain is read in any reply now,
    not only after exercises)."""
    if reason == "pain" and (found := _PAIN.match(detail or "")):
        return f"pain {found[1]} of 10"
    return REASON_WORDS.get(reason, reason.replace("_", " "))
