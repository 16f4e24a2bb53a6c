"""Configuration: validated once, one error naming every missing or malformed setting."""

import base64

import pytest
from lederappen.core import config

KEY = base64.b64encode(b"k" * 32).decode()
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "PSEUDONYM_KEY": KEY}


def test_common_section_loads_with_defaults():
    s = config.load((), BASE)
    assert s.google_cloud_project == "p"
    assert s.pseudonym_key == b"k" * 32
    assert s.log_level == "INFO"
    assert s.max_request_bytes == 65536


def test_error_names_every_missing_setting_at_once():
    with pytest.raises(config.ConfigError) as err:
        config.load(("db", "oidc"), {})
    text = str(err.value)
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "PSEUDONYM_KEY",
        "DB_NAME",
        "DB_USER",
        "OIDC_ISSUER",
        "OIDC_AUDIENCE",
    ):
        assert name in text


def test_malformed_values_are_named_with_the_reason():
    env = {
        **BASE,
        "DB_NAME": "x",
        "DB_USER": "u",
        "DB_PASSWORD": "pw",
        "DB_PORT": "eighty",
        "DB_POOL_SIZE": "99",
        "PSEUDONYM_KEY": base64.b64encode(b"short").decode(),
    }
    with pytest.raises(config.ConfigError) as err:
        config.load(("db",), env)
    text = str(err.value)
    assert "DB_PORT must be a whole number" in text
    assert "DB_POOL_SIZE must be between 1 and 20" in text
    assert "PSEUDONYM_KEY must decode to at least 32 bytes" in text


def test_direct_connection_needs_a_password_but_cloud_sql_iam_does_not():
    env = {**BASE, "DB_NAME": "x", "DB_USER": "u"}
    with pytest.raises(config.ConfigError, match="DB_PASSWORD"):
        config.load(("db",), env)
    s = config.load(("db",), {**env, "CLOUD_SQL_INSTANCE": "proj:europe-north1:main"})
    assert s.cloud_sql_instance == "proj:europe-north1:main"
    assert s.db_password is None


def test_cloud_sql_instance_must_be_a_connection_name():
    env = {**BASE, "DB_NAME": "x", "DB_USER": "u", "CLOUD_SQL_INSTANCE": "main"}
    with pytest.raises(config.ConfigError, match="PROJECT:REGION:INSTANCE"):
        config.load(("db",), env)


def test_settings_outside_validated_sections_are_not_readable():
    s = config.load((), BASE)
    with pytest.raises(AttributeError, match="DB_NAME"):
        _ = s.db_name


def test_repr_never_shows_secrets():
    s = config.load(
        ("register",), {**BASE, "LEDERNE_API_URL": "http://x", "LEDERNE_API_KEY": "sekret"}
    )
    assert "sekret" not in repr(s)
    assert KEY not in repr(s)


def test_unknown_section_is_a_config_error():
    with pytest.raises(config.ConfigError):
        config.load(("nope",), BASE)


@pytest.mark.parametrize(
    "section, name, given, attribute, expected",
    [
        ((), "LOG_LEVEL", "warning", "log_level", "WARNING"),
        (("fcm",), "FCM_TRANSPORT", "aiohttp", "fcm_transport", "aiohttp"),
        (("fcm",), "FCM_TRANSPORT", " SDK ", "fcm_transport", "sdk"),
    ],
)
def test_a_choice_is_taken_in_any_case_and_given_back_as_spelled(
    section, name, given, attribute, expected
):
    # FCM_TRANSPORT's options are lower case: every value set was refused until this held.
    env = {**BASE, name: given}
    assert getattr(config.load(section, env), attribute) == expected


def test_a_choice_not_among_the_options_is_named():
    with pytest.raises(config.ConfigError, match="FCM_TRANSPORT must be one of streams"):
        config.load(("fcm",), {**BASE, "FCM_TRANSPORT": "http2"})
