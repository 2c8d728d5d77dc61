"""Settings are loaded once and loud when wrong: every error names the key and the value."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from outreach.config import REPO_ROOT, ConfigError, Settings, load_settings, settings_from_dict
from outreach.rules.localtime import QuietHours


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTREACH_CONFIG", raising=False)
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)


def one(key: str, value: object) -> dict[str, Any]:
    section, name = key.split(".")
    return {section: {name: value}}


BAD_VALUES = [
    ("sending.quiet_hours", "9pm"),
    ("sending.quiet_hours", "21:00"),
    ("sending.quiet_hours", "21:00-08:00-09:00"),
    ("sending.quiet_hours", "25:00-08:00"),
    ("sending.quiet_hours", "21:00-08:60"),
    ("sending.quiet_hours", "21:00-21:00"),
    ("sending.quiet_hours", 21),
    ("sending.daily_cap", "3"),
    ("sending.daily_cap", True),
    ("sending.daily_cap", 0),
    ("sending.daily_cap", 11),
    ("sending.daily_cap", 3.0),
    ("sending.session_reminder_hours", [0]),
    ("sending.session_reminder_hours", []),
    ("sending.session_reminder_hours", ["24"]),
    ("sending.session_reminder_hours", [73]),
    ("sending.session_reminder_hours", [True]),
    ("sending.session_reminder_hours", 24),
    ("sending.session_reminder_hours", "24"),
    ("clinic.phone", "6175550100"),
    ("clinic.phone", "+1555"),
    ("clinic.phone", "+15555550100"),
    ("clinic.phone", "call us"),
    ("clinic.phone", 16175550100),
    ("clinic.phone", ""),
    ("clinic.on_call_phone", "555-0100"),
    ("clinic.timezone", "Mars/Olympus"),
    ("clinic.timezone", ""),
    ("clinic.timezone", "../../etc/passwd"),
    ("clinic.timezone", 5),
    ("clinic.name", ""),
    ("clinic.name", "   "),
    ("clinic.name", 7),
    ("clinic.short_name", "Riverside Physical Therapy Clinic"),
    ("sms.provider", "carrier-pigeon"),
    ("sms.provider", "Twilio"),
    ("sms.provider", ["console"]),
    ("scheduler.horizon_days", 0),
    ("scheduler.horizon_days", 61),
    ("scheduler.tick_seconds", "30s"),
    ("scheduler.lease_seconds", 5),
    ("scheduler.batch_size", 0),
    ("database.url", ""),
    ("paths.templates", ""),
    ("hl7.port", 0),
    ("hl7.port", "2575"),
    ("hl7.identifier_type", "MR^PI"),
    ("hl7.allowed_facilities", "MAIN_PMS"),
    ("hl7.allowed_facilities", ["MAIN_PMS", ""]),
    ("hl7.in_worker", "yes"),
    ("fhir.base_url", "ehr.example.org/fhir"),
    ("fhir.auth", "basic"),
    ("fhir.interval_minutes", 0),
    ("fhir.page_size", 5000),
]


@pytest.mark.parametrize(
    ("key", "value"), [pytest.param(k, v, id=f"{k}={v!r}") for k, v in BAD_VALUES]
)
def test_a_bad_value_is_refused_naming_the_key_and_quoting_the_value(
    key: str, value: object
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(one(key, value))
    assert key in str(caught.value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("22:00-07:00", id="starts-late-and-ends-early"),
        pytest.param("22:00-08:00", id="starts-after-21:00"),
        pytest.param("21:00-07:30", id="ends-before-08:00"),
        pytest.param("08:00-21:00", id="the-sending-window-written-as-quiet-hours"),
        pytest.param("00:00-08:00", id="starts-at-midnight"),
        pytest.param("21:00-23:59", id="same-evening-only"),
    ],
)
def test_quiet_hours_narrower_than_21_00_to_08_00_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"sending\.quiet_hours") as caught:
        settings_from_dict(one("sending.quiet_hours", value))
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        pytest.param("21:00-08:00", time(21), time(8), id="the-default"),
        pytest.param("20:00-09:00", time(20), time(9), id="wider-both-ends"),
        pytest.param("19:30-08:00", time(19, 30), time(8), id="earlier-evening"),
        pytest.param(" 21:00 - 8:30 ", time(21), time(8, 30), id="spaces-and-one-digit-hour"),
    ],
)
def test_quiet_hours_as_wide_or_wider_are_accepted(value: str, start: time, end: time) -> None:
    settings = settings_from_dict(one("sending.quiet_hours", value))
    assert settings.quiet_hours == QuietHours(start, end)


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("clinic.name", "  Lakeside PT  ", "clinic_name", "Lakeside PT"),
        ("clinic.phone", "+1 (617) 555-0100", "clinic_phone", "+16175550100"),
        ("clinic.on_call_phone", "+16175550199", "on_call_phone", "+16175550199"),
        ("clinic.timezone", "America/Chicago", "clinic_timezone", "America/Chicago"),
        ("sending.daily_cap", 5, "daily_cap", 5),
        ("sending.session_reminder_hours", [2, 24, 24], "session_reminder_hours", (24, 2)),
        ("sms.provider", "twilio", "sms_provider", "twilio"),
        ("database.url", "postgresql://db/outreach", "database_url", "postgresql://db/outreach"),
        ("paths.templates", "/srv/templates", "templates_dir", Path("/srv/templates")),
        ("hl7.allowed_facilities", [" MAIN_PMS "], "hl7_allowed_facilities", ("MAIN_PMS",)),
        ("hl7.identifier_type", "", "hl7_identifier_type", ""),
        ("fhir.auth", "bearer", "fhir_auth", "bearer"),
    ],
)
def test_a_good_value_lands_in_its_setting(
    key: str, value: object, field: str, expected: object
) -> None:
    assert getattr(settings_from_dict(one(key, value)), field) == expected


@pytest.mark.parametrize(
    ("data", "named"),
    [
        pytest.param({"sending": {"quite_hours": "21:00-08:00"}}, "sending.quite_hours", id="typo"),
        pytest.param({"clinic": {"daily_cap": 3}}, "clinic.daily_cap", id="wrong-section"),
        pytest.param({"smtp": {"host": "mail"}}, "smtp", id="unknown-section"),
        pytest.param({"smtp": {}}, "smtp", id="empty-unknown-section"),
        pytest.param({"daily_cap": 3}, "daily_cap", id="key-above-every-section"),
    ],
)
def test_unknown_keys_and_sections_are_refused_by_name(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from_dict(data)


def test_a_section_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"sending must be a \[sending\] table, got 3"):
        settings_from_dict({"sending": 3})


def test_an_unknown_section_does_not_echo_what_might_be_a_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"twilio": {"auth_token": "s3cret"}})
    assert "s3cret" not in str(caught.value)


def test_relative_template_paths_resolve_from_the_config_file_or_the_repo(tmp_path: Path) -> None:
    assert settings_from_dict(one("paths.templates", "tpl")).templates_dir == REPO_ROOT / "tpl"
    from_file = settings_from_dict(
        one("paths.templates", "tpl"), source=str(tmp_path / "config.toml")
    )
    assert from_file.templates_dir == tmp_path / "tpl"


def test_an_empty_config_is_the_defaults() -> None:
    assert settings_from_dict({}, source="defaults") == Settings()


# --- load_settings ----------------------------------------------------------------------


def test_no_config_file_at_all_means_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings() == Settings()


def test_it_loads_config_toml_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text("[sending]\ndaily_cap = 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.daily_cap == 2
    assert settings.source == "config.toml"


def test_an_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(missing)
    assert str(missing) in str(caught.value)


def test_outreach_config_naming_a_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()


def test_outreach_config_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text('[sms]\nprovider = "twilio"\n', encoding="utf-8")
    monkeypatch.setenv("OUTREACH_CONFIG", str(path))
    settings = load_settings()
    assert settings.sms_provider == "twilio"
    assert settings.source == str(path)


def test_invalid_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[sending\ndaily_cap = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_settings(path)
    assert str(path) in str(caught.value)


def test_a_bad_value_in_a_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[sending]\nquiet_hours = "9pm"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sending\.quiet_hours.*'9pm'"):
        load_settings(path)


def test_outreach_database_url_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///from-file.db"\n', encoding="utf-8")
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql://db/from-env")
    assert load_settings(path).database_url == "postgresql://db/from-env"


def test_outreach_database_url_overrides_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql://db/from-env")
    assert load_settings().database_url == "postgresql://db/from-env"


def test_an_empty_outreach_database_url_leaves_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///from-file.db"\n', encoding="utf-8")
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "")
    assert load_settings(path).database_url == "sqlite:///from-file.db"


@pytest.mark.skipif(
    not (REPO_ROOT / "config.toml").exists(), reason="the repository has no config.toml yet"
)
def test_the_repositorys_own_config_toml_loads() -> None:
    settings = load_settings(REPO_ROOT / "config.toml")
    assert settings.source == str(REPO_ROOT / "config.toml")
    assert settings.templates_dir.is_dir()


def test_a_tls_certificate_needs_its_key_and_both_resolve_from_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hl7\.tls_cert and hl7\.tls_key go together"):
        settings_from_dict({"hl7": {"tls_cert": "hl7.crt"}})
    path = tmp_path / "config.toml"
    path.write_text('[hl7]\ntls_cert = "hl7.crt"\ntls_key = "hl7.key"\n')
    settings = load_settings(path)
    assert (settings.hl7_tls_cert, settings.hl7_tls_key) == (
        tmp_path / "hl7.crt",
        tmp_path / "hl7.key",
    )


def test_smart_backend_services_names_every_setting_it_lacks() -> None:
    data = {"fhir": {"auth": "smart", "base_url": "https://ehr.example.org/fhir"}}
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(data)
    assert str(caught.value) == (
        "fhir.auth = 'smart' needs fhir.token_url, fhir.client_id, fhir.private_key"
    )
