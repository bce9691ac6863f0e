"""ApiConfig: defaults, and one clear line naming the variable for every inconsistent value.

Reading the D360_* variables is the settings model's job (tests/test_settings.py); the client's
own config only checks what it is given, whoever builds it.
"""

from __future__ import annotations

import pytest

from pipeline.partner_api import ApiConfig, ConfigError, RetryPolicy, Secret
from pipeline.partner_api.config import parse_rate

KEY = {"partner_id": "examplePA", "api_key": Secret("key-123456")}
LOGIN = {"username": "me@example.com", "password": Secret("hunter2")}


def test_defaults_follow_the_design_table():
    cfg = ApiConfig(**KEY)
    assert cfg.base_url == "https://hub.360dialog.io/api/v2"
    assert cfg.balance_rate == (5, 30.0)
    assert cfg.window_days == 31
    assert cfg.concurrency == 8
    assert cfg.retry == RetryPolicy()
    assert cfg.retry_seconds == 120.0


def test_the_api_key_wins_over_a_login():
    cfg = ApiConfig(**KEY, **LOGIN)
    assert cfg.uses_api_key
    assert "D360_API_KEY" in cfg.credentials_hint


def test_login_alone_is_enough():
    cfg = ApiConfig(partner_id="examplePA", **LOGIN)
    assert not cfg.uses_api_key
    assert "D360_PASSWORD" in cfg.credentials_hint


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9000/api/v2",
        "http://[::1]:9000/api/v2",
        "http://127.0.0.2/api/v2",
        "https://hub.example.com/api/v2",
    ],
)
def test_https_or_loopback_base_urls_are_accepted(url):
    assert ApiConfig(**KEY, base_url=url).base_url == url


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({**KEY, "partner_id": ""}, "D360_PARTNER_ID"),
        ({**KEY, "partner_id": "a/b"}, "D360_PARTNER_ID"),
        ({"partner_id": "examplePA"}, "D360_API_KEY"),
        ({**KEY, "username": "me@example.com"}, "D360_PASSWORD"),
        ({"partner_id": "examplePA", "password": Secret("pw")}, "D360_USERNAME"),
        ({**KEY, "base_url": "http://hub.360dialog.io/api/v2"}, "D360_BASE_URL"),
        ({**KEY, "base_url": "ftp://127.0.0.1/api"}, "D360_BASE_URL"),
        ({**KEY, "base_url": "hub.360dialog.io"}, "D360_BASE_URL"),
        ({**KEY, "base_url": "https://u:p@hub.360dialog.io/api/v2"}, "D360_BASE_URL"),
        ({**KEY, "balance_rate": (0, 30.0)}, "D360_BALANCE_RATE"),
        ({**KEY, "balance_rate": (5, 0.0)}, "D360_BALANCE_RATE"),
        ({**KEY, "concurrency": 0}, "D360_CONCURRENCY"),
        ({**KEY, "window_days": 0}, "PIPELINE_WINDOW_DAYS"),
        ({**KEY, "window_days": 367}, "PIPELINE_WINDOW_DAYS"),
    ],
)
def test_an_inconsistent_value_is_one_line_naming_the_variable(values, variable):
    with pytest.raises(ConfigError) as caught:
        ApiConfig(**values)
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_secrets_never_show_in_repr_or_str():
    cfg = ApiConfig(**KEY, **LOGIN)
    for text in (repr(cfg), str(cfg), repr(cfg.api_key), f"{cfg.password}"):
        assert "key-123456" not in text
        assert "hunter2" not in text
    assert cfg.api_key is not None and cfg.api_key.reveal() == "key-123456"


def test_a_bad_url_message_does_not_echo_a_password_in_it():
    with pytest.raises(ConfigError) as caught:
        ApiConfig(**KEY, base_url="https://me:s3cret@hub.360dialog.io/api/v2")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "rate"), [("5/30", (5, 30.0)), (" 10 / 60.5 ", (10, 60.5)), ("1/0.5", (1, 0.5))]
)
def test_a_rate_is_n_per_seconds(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["5 per 30", "5/", "/30", "0/30", "5/0", "-1/30", "5/30/2"])
def test_a_malformed_rate_says_how_to_write_it(text):
    with pytest.raises(ValueError, match="5/30"):
        parse_rate(text)
