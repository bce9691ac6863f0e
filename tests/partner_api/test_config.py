"""ApiConfig.from_env: defaults, and one clear line naming the variable for every bad setting."""

from __future__ import annotations

import pytest

from pipeline.partner_api import ApiConfig, ConfigError, RetryPolicy

GOOD = {"D360_PARTNER_ID": "examplePA", "D360_API_KEY": "key-123456"}


def test_defaults_follow_the_design_table():
    cfg = ApiConfig.from_env(GOOD)
    assert cfg.base_url == "https://hub.360dialog.io/api/v2"
    assert cfg.balance_rate == (5, 30.0)
    assert cfg.window_days == 31
    assert cfg.concurrency == 8
    assert cfg.retry == RetryPolicy()
    assert cfg.retry_seconds == 120.0


def test_values_are_read_and_the_api_key_wins_over_a_login():
    cfg = ApiConfig.from_env(
        {
            **GOOD,
            "D360_BASE_URL": "http://127.0.0.1:8123/api/v2/",
            "D360_USERNAME": "me@example.com",
            "D360_PASSWORD": "pw",
            "D360_BALANCE_RATE": " 10 / 60.5 ",
            "D360_CONCURRENCY": "3",
            "PIPELINE_WINDOW_DAYS": "366",
            "D360_RETRY_SECONDS": "45.5",
        }
    )
    assert cfg.base_url == "http://127.0.0.1:8123/api/v2"
    assert cfg.balance_rate == (10, 60.5)
    assert (cfg.concurrency, cfg.window_days) == (3, 366)
    assert cfg.retry_seconds == cfg.retry.failing_give_up_after == 45.5
    assert cfg.uses_api_key
    assert "D360_API_KEY" in cfg.credentials_hint


def test_login_alone_is_enough():
    cfg = ApiConfig.from_env(
        {"D360_PARTNER_ID": "examplePA", "D360_USERNAME": "me@example.com", "D360_PASSWORD": "pw"}
    )
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
    assert ApiConfig.from_env({**GOOD, "D360_BASE_URL": url}).base_url == url


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"D360_API_KEY": "key-123456"}, "D360_PARTNER_ID"),
        ({**GOOD, "D360_PARTNER_ID": "a/b"}, "D360_PARTNER_ID"),
        ({"D360_PARTNER_ID": "examplePA"}, "D360_API_KEY"),
        ({"D360_PARTNER_ID": "examplePA", "D360_API_KEY": "  "}, "D360_API_KEY"),
        ({**GOOD, "D360_USERNAME": "me@example.com"}, "D360_PASSWORD"),
        ({"D360_PARTNER_ID": "examplePA", "D360_PASSWORD": "pw"}, "D360_USERNAME"),
        ({**GOOD, "D360_BASE_URL": "http://hub.360dialog.io/api/v2"}, "D360_BASE_URL"),
        ({**GOOD, "D360_BASE_URL": "ftp://127.0.0.1/api"}, "D360_BASE_URL"),
        ({**GOOD, "D360_BASE_URL": "hub.360dialog.io"}, "D360_BASE_URL"),
        ({**GOOD, "D360_BASE_URL": "https://u:p@hub.360dialog.io/api/v2"}, "D360_BASE_URL"),
        ({**GOOD, "D360_BALANCE_RATE": "5 per 30"}, "D360_BALANCE_RATE"),
        ({**GOOD, "D360_BALANCE_RATE": "0/30"}, "D360_BALANCE_RATE"),
        ({**GOOD, "D360_BALANCE_RATE": "5/0"}, "D360_BALANCE_RATE"),
        ({**GOOD, "D360_CONCURRENCY": "0"}, "D360_CONCURRENCY"),
        ({**GOOD, "D360_CONCURRENCY": "eight"}, "D360_CONCURRENCY"),
        ({**GOOD, "PIPELINE_WINDOW_DAYS": "0"}, "PIPELINE_WINDOW_DAYS"),
        ({**GOOD, "PIPELINE_WINDOW_DAYS": "367"}, "PIPELINE_WINDOW_DAYS"),
        ({**GOOD, "PIPELINE_WINDOW_DAYS": "31.5"}, "PIPELINE_WINDOW_DAYS"),
        ({**GOOD, "D360_RETRY_SECONDS": "0.5"}, "D360_RETRY_SECONDS"),
        ({**GOOD, "D360_RETRY_SECONDS": "3601"}, "D360_RETRY_SECONDS"),
        ({**GOOD, "D360_RETRY_SECONDS": "two minutes"}, "D360_RETRY_SECONDS"),
        ({**GOOD, "D360_RETRY_SECONDS": "nan"}, "D360_RETRY_SECONDS"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(env, variable):
    with pytest.raises(ConfigError) as caught:
        ApiConfig.from_env(env)
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_secrets_never_show_in_repr_or_str():
    login = {"D360_USERNAME": "me@example.com", "D360_PASSWORD": "hunter2"}
    cfg = ApiConfig.from_env({**GOOD, **login})
    for text in (repr(cfg), str(cfg), repr(cfg.api_key), f"{cfg.password}"):
        assert "key-123456" not in text
        assert "hunter2" not in text
    assert cfg.api_key is not None and cfg.api_key.reveal() == "key-123456"


def test_a_bad_url_message_does_not_echo_a_password_in_it():
    with pytest.raises(ConfigError) as caught:
        ApiConfig.from_env({**GOOD, "D360_BASE_URL": "https://me:s3cret@hub.360dialog.io/api/v2"})
    assert "s3cret" not in str(caught.value)
