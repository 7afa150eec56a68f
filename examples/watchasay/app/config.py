"""watchasay's settings: edit the values below, or set the matching environment variables.

CLIENT_ID, CLIENT_SECRET and SCOPE belong to the Globus Auth client registered for this
Action Provider (README.rst says how to get them). The environment wins over this file:
WATCHASAY_CLIENT_ID, WATCHASAY_CLIENT_SECRET, WATCHASAY_SCOPE, WATCHASAY_DB.
WATCHASAY_DEV_TOKEN switches to offline development mode instead (no Globus Auth at all).
"""

from __future__ import annotations

import dataclasses
import os
import typing as t

CLIENT_ID = ""
CLIENT_SECRET = ""
SCOPE = ""
DB_PATH = "watchasay.db"

#: Scope advertised in development mode when SCOPE is not set; no Globus service issues it.
DEV_SCOPE = "urn:globus:auth:scope:watchasay.localhost:dev"

#: Shorter development tokens are refused: easy to guess, even from this machine.
MIN_DEV_TOKEN_LENGTH = 10


class ConfigError(ValueError):
    """The settings cannot start the provider; the message says which to set."""


@dataclasses.dataclass(frozen=True)
class Settings:
    client_id: str
    client_secret: str
    scope: str
    db_path: str
    dev_token: t.Optional[str] = None


def load_settings(
    environ: t.Mapping[str, str] = os.environ, *, db_path: t.Optional[str] = None
) -> Settings:
    """Read the settings, the environment first; raise ConfigError when incomplete."""
    dev_token = environ.get("WATCHASAY_DEV_TOKEN") or None
    settings = Settings(
        client_id=environ.get("WATCHASAY_CLIENT_ID") or CLIENT_ID,
        client_secret=environ.get("WATCHASAY_CLIENT_SECRET") or CLIENT_SECRET,
        scope=environ.get("WATCHASAY_SCOPE") or SCOPE or (DEV_SCOPE if dev_token else ""),
        db_path=db_path or environ.get("WATCHASAY_DB") or DB_PATH,
        dev_token=dev_token,
    )
    if dev_token is not None:
        if len(dev_token) < MIN_DEV_TOKEN_LENGTH:
            raise ConfigError(
                f"WATCHASAY_DEV_TOKEN must be at least {MIN_DEV_TOKEN_LENGTH} characters "
                f"long (it has {len(dev_token)})"
            )
        return settings
    missing = [
        name
        for name, value in (
            ("CLIENT_ID", settings.client_id),
            ("CLIENT_SECRET", settings.client_secret),
            ("SCOPE", settings.scope),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set: set WATCHASAY_{missing[0]} (and the others) "
            "or edit app/config.py; for offline development set WATCHASAY_DEV_TOKEN instead"
        )
    return settings
