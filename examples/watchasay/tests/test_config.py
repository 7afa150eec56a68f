"""Settings come from app/config.py, overridden by WATCHASAY_* environment variables."""

import pytest

import config
from config import ConfigError, load_settings

CREDENTIALS = {
    "WATCHASAY_CLIENT_ID": "c11e0700-0000-4000-8000-0000000000cc",
    "WATCHASAY_CLIENT_SECRET": "made-up-secret",
    "WATCHASAY_SCOPE": "https://auth.globus.org/scopes/x/action_all",
}


def test_environment_provides_credentials_and_database():
    settings = load_settings({**CREDENTIALS, "WATCHASAY_DB": "/tmp/elsewhere.db"})
    assert settings.client_id == CREDENTIALS["WATCHASAY_CLIENT_ID"]
    assert settings.client_secret == "made-up-secret"
    assert settings.scope == CREDENTIALS["WATCHASAY_SCOPE"]
    assert settings.db_path == "/tmp/elsewhere.db"
    assert settings.dev_token is None


def test_config_module_values_are_used_when_environment_is_silent(monkeypatch):
    monkeypatch.setattr(config, "CLIENT_ID", "from-module")
    monkeypatch.setattr(config, "CLIENT_SECRET", "secret-from-module")
    monkeypatch.setattr(config, "SCOPE", "scope-from-module")
    settings = load_settings({})
    assert (settings.client_id, settings.client_secret, settings.scope) == (
        "from-module",
        "secret-from-module",
        "scope-from-module",
    )
    assert settings.db_path == config.DB_PATH


def test_db_argument_wins_over_environment():
    assert load_settings({**CREDENTIALS, "WATCHASAY_DB": "env.db"}, db_path="arg.db").db_path == "arg.db"


def test_missing_credentials_say_what_to_set():
    with pytest.raises(ConfigError, match="CLIENT_SECRET, SCOPE not set.*WATCHASAY_DEV_TOKEN"):
        load_settings({"WATCHASAY_CLIENT_ID": "only-the-id"})


def test_dev_token_needs_no_credentials_and_advertises_a_local_scope():
    settings = load_settings({"WATCHASAY_DEV_TOKEN": "a-long-enough-dev-token"})
    assert settings.dev_token == "a-long-enough-dev-token"
    assert settings.scope == config.DEV_SCOPE


def test_short_dev_token_is_refused():
    with pytest.raises(ConfigError, match="WATCHASAY_DEV_TOKEN must be at least 10"):
        load_settings({"WATCHASAY_DEV_TOKEN": "short"})
