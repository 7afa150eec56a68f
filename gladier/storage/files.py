"""Private files: created owner-only (0600) from the start, never chmod-ed afterwards."""

from __future__ import annotations

import os
import pathlib
import tempfile

PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(path: pathlib.Path) -> None:
    """Create ``path`` (and parents) owner-only if it does not exist yet."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)


def write_private_text(path: pathlib.Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, the new file created 0600."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # os.open(..., 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

