"""Twilio's error codes: the ones the code acts on, and the words staff read for them."""

from __future__ import annotations

OPTED_OUT = "21610"  # the carrier or Twilio holds a STOP from this number

# Twilio's error codes that staff meet most, in words they can act on.
ERROR_MEANINGS = {
    "21211": "invalid phone number",
    OPTED_OUT: "opted out at the carrier (the patient texted STOP)",
    "21614": "not a mobile number",
    "30003": "phone unreachable (switched off or no signal)",
    "30005": "unknown number: it does not exist any more",
    "30006": "landline, or a carrier that cannot take texts",
    "30007": "filtered by the carrier as possible spam",
    "30008": "unknown error at the carrier",
    "network": "no answer from the provider; it will be checked and retried",
}


def error_meaning(code: str | None) -> str:
    if not code:
        return ""
    return ERROR_MEANINGS.get(code, f"provider error {code}")


# The number itself cannot take texts: staff are told so before they write to it again.
NUMBER_CANNOT_TAKE_TEXTS = frozenset({"21211", "21614", "30005", "30006"})
