"""Where gladier keeps its files: ``$GLADIER_HOME``, else ``~/.gladier``.

The embedded engine's default database (``local.db``) and each client's config and token
files (``<client_id>.cfg``, ``<client_id>.db``) live there.
"""

from __future__ import annotations

import os
import pathlib

HOME_ENV = "GLADIER_HOME"


def gladier_home() -> pathlib.Path:
    """``$GLADIER_HOME`` (``~`` expanded), else ``~/.gladier``; read at call time."""
    return pathlib.Path(os.path.expanduser(os.environ.get(HOME_ENV) or "~/.gladier"))
