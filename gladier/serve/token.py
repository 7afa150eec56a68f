"""The bearer token every route but the health check needs.

``GLADIER_SERVE_TOKEN`` sets it; otherwise it is generated on first start and kept in a
file beside the database (``<db>-serve-token``), readable by its owner only, so a restart
keeps the dashboard URL people bookmarked. A token file others can read is refused.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat

from gladier.exc import ConfigException

#: The environment variable that sets the token.
TOKEN_ENV = "GLADIER_SERVE_TOKEN"
#: Shortest token accepted from the environment (a generated one is 43 characters).
MIN_TOKEN_LENGTH = 16


def token_path(db_path: str) -> str:
    """Where the token of the database ``db_path`` is kept."""
    return f"{db_path}-serve-token"


def load_token(db_path: str) -> str:
    """The token: ``GLADIER_SERVE_TOKEN``, else the stored one, else a new stored one."""
    given = os.environ.get(TOKEN_ENV)
    if given is not None:
        if len(given.strip()) < MIN_TOKEN_LENGTH:
            raise ConfigException(f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} "
                                  "characters long")
        return given.strip()
    path = token_path(db_path)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return _read_private(path)
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as stream:
        stream.write(token + "\n")
    return token


def _read_private(path: str) -> str:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise ConfigException(
            f"The serve token file '{path}' can be read by others (mode {mode:o}); "
            f"run 'chmod 600 {path}' or delete it to get a new token")
    with open(path) as stream:
        token = stream.read().strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigException(f"The serve token file '{path}' holds no token; delete it "
                              "to get a new one")
    return token


def matches(presented: str | None, token: str) -> bool:
    """Whether ``presented`` is the token (compared in constant time)."""
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())
