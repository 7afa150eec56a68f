"""Token storage: a globus_sdk SQLite token storage beside the config file, created 0600.

``SQLiteTokenStorage`` creates a new database under an owner-only umask, so the file is
0600 from its first byte; its directory is created owner-only here.
"""

from __future__ import annotations

import pathlib

from globus_sdk.token_storage import SQLiteTokenStorage

from gladier.storage.files import ensure_private_dir
from gladier.storage.secrets_config import GladierSecretsConfig  # noqa: F401 (0.11's path)


def tokens_path_for(config_path: pathlib.Path) -> pathlib.Path:
    """``~/.gladier/<client_id>.cfg`` keeps its tokens in ``~/.gladier/<client_id>.tokens.db``."""
    return config_path.with_name(config_path.stem + ".tokens.db")


def open_token_storage(path: pathlib.Path, *, namespace: str) -> SQLiteTokenStorage:
    """Open (creating owner-only if needed) the SQLite token storage at ``path``."""
    ensure_private_dir(path.parent)
    return SQLiteTokenStorage(path, namespace=namespace)
