"""Phone numbers as staff read and dial them. Patients' numbers are stored in E.164."""

from __future__ import annotations

import phonenumbers

# What a tel: link may carry; anything else in a stored number is left out of the link.
_DIALABLE = frozenset("+0123456789")


def readable_phone(e164: str, home_region: str | None = None) -> str:
    """How a person at the clinic reads it aloud: national format for a number of the
    clinic's own country ('(617) 555-0142' in the US), international for any other
    ('+44 7911 123456'). Without `home_region`, national: how patients write the clinic's
    own number in a text. A number phonenumbers cannot read is shown as stored."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    # Country codes, not regions: +1 555 numbers belong to no region, and a Canadian
    # number dials the same way from a US clinic.
    home = (
        number.country_code
        if home_region is None
        else phonenumbers.country_code_for_region(home_region)
    )
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, style))


def tel_href(e164: str) -> str:
    """'+16175550142' -> 'tel:+16175550142', for a link a phone or softphone dials."""
    return "tel:" + "".join(ch for ch in e164 if ch in _DIALABLE)


def as_e164(text: str, home_region: str) -> str | None:
    """A number typed as staff write it ('(617) 555-0142', '617.555.0142', '+1 617 555 0142')
    in E.164, the form it is stored in; one written without '+' is read in `home_region`.
    None when it cannot be a phone number: the text is then likely a patient id."""
    try:
        number = phonenumbers.parse(text, home_region)
    except phonenumbers.NumberParseException:
        return None
    # Possible, not valid: finding a stored number needs only its digits in order, and the
    # fictional 555 numbers of tests and demos are not valid.
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
