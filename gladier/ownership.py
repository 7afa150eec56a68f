"""Files gladier trusts (engine databases and keys, token storage, config files) must be
the user's own: another user who owns one, or anyone who may write one, could read the
private values it guards or change what runs."""

from __future__ import annotations

import os

from gladier.exc import UntrustedFile


def check_trusted(path: str | os.PathLike, what: str, *, fd: int | None = None) -> None:
    """UntrustedFile unless the file at ``path`` (or open as ``fd``, to look at exactly what
    was opened) belongs to the user running gladier and neither its group nor others may
    write it. Systems without user ids (Windows) are not checked."""
    if not hasattr(os, "getuid"):
        return
    info = os.fstat(fd) if fd is not None else os.stat(path)
    if info.st_uid != os.getuid():
        try:
            import pwd

            owner = pwd.getpwuid(info.st_uid).pw_name
        except (ImportError, KeyError):
            owner = f"uid {info.st_uid}"
        raise UntrustedFile(
            f"{what} '{os.fspath(path)}' belongs to another user ({owner}): whoever owns it "
            "could read the private values it guards or change what runs",
            hint="use a file of your own: move this one away, or give another path")
    if info.st_mode & 0o022:
        raise UntrustedFile(
            f"{what} '{os.fspath(path)}' may be written by its group or by others (mode "
            f"{info.st_mode & 0o777:03o}): they could read the private values it guards or "
            "change what runs",
            hint=f"if it is yours to keep: chmod go-w '{os.fspath(path)}' (gladier creates its "
                 "files 0600)")
