"""Gladier 0.11's ``GladierSecretsConfig``: the config file as a ``ConfigParser`` with one
client section and a tokens section, for 0.11 code that opens the file itself.

Clients use :class:`gladier.storage.config.GladierConfig`; this class reads and writes the
same file, with the same key rules (case kept, written owner-only).
"""

from __future__ import annotations

import configparser
import io
import os
import pathlib
import typing as t

from gladier.storage.files import write_private_text


class GladierSecretsConfig(configparser.ConfigParser):
    """``GladierSecretsConfig(filename, section="default", tokens_section="tokens")``."""

    def __init__(self, filename: str | os.PathLike, section: str = "default", *,
                 tokens_section: str = "tokens") -> None:
        super().__init__(interpolation=None)
        self.optionxform = str  # type: ignore[assignment,method-assign]
        self.filename = pathlib.Path(os.path.expanduser(os.fspath(filename)))
        self.section = section
        self.tokens_section = tokens_section
        self.load()

    def load(self) -> None:
        """Read the file (if it exists); the two sections exist afterwards."""
        self.read(self.filename)
        for name in (self.section, self.tokens_section):
            if not self.has_section(name):
                self.add_section(name)

    def save(self) -> None:
        """Write the file (created owner-only)."""
        buf = io.StringIO()
        self.write(buf)
        write_private_text(self.filename, buf.getvalue())

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Without arguments, 0.11's config upgrade (:mod:`gladier.storage.migrations`),
        saved if it changed anything; with arguments, ``ConfigParser.update``."""
        if args or kwargs:
            super().update(*args, **kwargs)
            return
        from gladier.storage.migrations import migrate_gladier, needs_migration

        if needs_migration(self):
            migrate_gladier(self)
            self.save()

    def get_value(self, name: str) -> str | None:
        self.load()
        return self.get(self.section, name, fallback=None)

    def set_value(self, name: str, value: str) -> None:
        self.load()
        self.set(self.section, name, value)
        self.save()

    def del_value(self, name: str) -> None:
        self.load()
        self.remove_option(self.section, name)
        self.save()
