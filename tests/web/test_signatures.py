"""Only Twilio's signature over the public URL opens the webhooks."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from outreach.web.signatures import is_valid, public_url

# The worked example on Twilio's webhook security page
# (https://www.twilio.com/docs/usage/security#validating-requests, auth token "12345").
DOCS_TOKEN = "12345"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

# twilio-python's own vectors, tests/unit/test_request_validator.py: the same URL and
# token with another caller, the port variants, repeated names, and the body hash.
LIBRARY_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]


def test_twilios_documented_example_validates() -> None:
    assert RequestValidator(DOCS_TOKEN).compute_signature(DOCS_URL, dict(DOCS_PARAMS)) == (
        DOCS_SIGNATURE
    )
    assert is_valid(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        (DOCS_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (DOCS_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # :80
    ],
)
def test_the_librarys_own_vectors_validate_with_and_without_a_port(
    url: str, signature: str
) -> None:
    assert is_valid(DOCS_TOKEN, url, LIBRARY_PARAMS, signature)


def test_a_repeated_name_is_signed_with_every_value() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]

    assert is_valid(DOCS_TOKEN, DOCS_URL, params, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    assert not is_valid(DOCS_TOKEN, DOCS_URL, params[:-1], "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_the_body_hash_variant_validates_a_json_body() -> None:
    body = '{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"{DOCS_URL}&bodySHA256={body_hash}"

    assert RequestValidator(DOCS_TOKEN).validate(url, body, "a9nBmqA0ju/hNViExpshrM61xv4=")


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("12346", DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE),
        (DOCS_TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=3", DOCS_PARAMS, DOCS_SIGNATURE),
        (DOCS_TOKEN, DOCS_URL, [*DOCS_PARAMS[:2], ("Digits", "9999"), *DOCS_PARAMS[3:]], None),
        (DOCS_TOKEN, DOCS_URL, [*DOCS_PARAMS, ("Body", "STOP")], None),
        (DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, ""),
        (DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE[:-1]),
    ],
    ids=["other token", "other url", "tampered", "added param", "empty", "truncated"],
)
def test_anything_else_is_refused(
    token: str, url: str, params: list[tuple[str, str]], signature: str | None
) -> None:
    assert not is_valid(token, url, params, DOCS_SIGNATURE if signature is None else signature)


SEEN = "http://10.0.0.5:8000/twilio/status?mid=7&x=a%20b"
FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-host": "sms.clinic.example"}


@pytest.mark.parametrize(
    ("seen", "headers", "base_url", "trust", "expected"),
    [
        (SEEN, {}, "https://sms.clinic.example", False,
         "https://sms.clinic.example/twilio/status?mid=7&x=a%20b"),
        (SEEN, FORWARDED, "https://sms.clinic.example/outreach", True,
         "https://sms.clinic.example/outreach/twilio/status?mid=7&x=a%20b"),
        (SEEN, FORWARDED, None, True, "https://sms.clinic.example/twilio/status?mid=7&x=a%20b"),
        (SEEN, {"x-forwarded-proto": "https, http", "x-forwarded-host": "a.example, b:8000"},
         None, True, "https://a.example/twilio/status?mid=7&x=a%20b"),
        (SEEN, {}, None, True, SEEN),
        (SEEN, FORWARDED, None, False, SEEN),
        ("http://testserver/twilio/sms", {}, None, False, "http://testserver/twilio/sms"),
        ("http://10.0.0.5:8000/twilio/sms", {}, "https://sms.clinic.example", False,
         "https://sms.clinic.example/twilio/sms"),
    ],
    ids=[
        "base url",
        "base url with a path wins over forwarded headers",
        "forwarded headers trusted",
        "first of each forwarded value",
        "trusted but absent",
        "forwarded headers not trusted",
        "no query string",
        "base url without a query",
    ],
)  # fmt: skip
def test_the_public_url_is_the_one_twilio_called(
    seen: str, headers: dict[str, str], base_url: str | None, trust: bool, expected: str
) -> None:
    assert public_url(seen, headers, base_url=base_url, trust_forwarded=trust) == expected
