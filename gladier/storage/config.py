"""The config file: one section per client class, holding flow and function ids.

``<client_id>.cfg`` in ``$GLADIER_HOME`` (default ``~/.gladier``), the file Gladier 0.11
keeps (``client_id`` is ``GLADIER_CLIENT_ID`` when set, else the client's). A section holds
``flow_id``, ``flow_checksum``, ``<fn>_function_id``, ``<fn>_function_id_checksum`` and any
flow input key the user wants to override; 0.11 also keeps ``[general]`` (its version) and
``[tokens_<client_id>]`` (a confidential client's tokens) there. Nothing is written until
a value is stored.

Keys keep their case (``scanPath`` overrides the input key ``scanPath``). Versions before
0.12 lowercased every key they wrote, so a key not found as given is looked up lowercased.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import typing as t

from gladier.exc import ConfigException
from gladier.flowgen.naming import snake_case
from gladier.home import gladier_home
from gladier.ownership import check_trusted
from gladier.storage.files import write_private_text

#: The public native-app client id Gladier 0.11 logs in with and names its files after.
DEFAULT_CLIENT_ID = "f1631610-d9e4-4db2-81ba-7f93ad4414e3"


def config_client_id(client_id: str) -> str:
    """The id a client's files are named after: ``GLADIER_CLIENT_ID`` when set (a
    confidential client's own files, even before its secret is set), else ``client_id``,
    as in Gladier 0.11."""
    return os.environ.get("GLADIER_CLIENT_ID") or client_id


def default_config_path(client_id: str) -> pathlib.Path:
    """``<client_id>.cfg`` in :func:`~gladier.home.gladier_home`, resolved at call time."""
    return gladier_home() / f"{client_id}.cfg"


def tokens_section_name(client_id: str) -> str:
    """The config section where a confidential client's tokens are kept (0.11's name)."""
    return f"tokens_{client_id}"


class _CaseKeepingParser(configparser.ConfigParser):
    """Keeps the case of keys (ConfigParser lowercases them)."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def section_name(class_name: str) -> str:
    """The config section of a client class: its name in snake_case."""
    return snake_case(class_name)


class GladierConfig:
    """One config file. Every read sees the file as it is now, every write saves it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = pathlib.Path(os.path.expanduser(os.fspath(path)))

    def _read(self) -> configparser.ConfigParser:
        parser = _CaseKeepingParser(interpolation=None)
        if not self.path.exists():
            return parser
        try:  # read_file, not read: read() skips a file it cannot open
            with open(self.path, encoding="utf-8") as fh:
                check_trusted(self.path, "The gladier config file", fd=fh.fileno())
                parser.read_file(fh)
        except (configparser.Error, OSError, UnicodeError) as error:
            raise ConfigException(
                f"Cannot read the gladier config file {self.path}: {error}. Fix the file "
                "(sections like [my_client], one 'key = value' per line) or delete it to "
                "start afresh (flows and functions are then registered again)"
            ) from error
        return parser

    def _write(self, parser: configparser.ConfigParser) -> None:
        try:
            write_private_text(self.path, _ini_text(parser))
        except OSError as error:
            raise ConfigException(
                f"Cannot write the gladier config file {self.path}: {error}. Make its "
                "directory writable, or set the client's secret_config_filename to a "
                "writable path"
            ) from error

    def save(self) -> None:
        """Kept for Gladier 0.11 code: every change is already saved when it is made."""

    def section(self, name: str) -> ConfigSection:
        return ConfigSection(self, name)

    def get(self, section: str, key: str) -> str | None:
        parser = self._read()
        if not parser.has_section(section):
            return None
        return parser.get(section, _stored_key(parser, section, key), fallback=None)

    def items(self, section: str) -> dict[str, str]:
        parser = self._read()
        return dict(parser.items(section)) if parser.has_section(section) else {}

    def set(self, section: str, key: str, value: str) -> None:
        parser = self._read()
        if not parser.has_section(section):
            parser.add_section(section)
        parser.remove_option(section, _stored_key(parser, section, key))
        parser.set(section, key, str(value))
        self._write(parser)

    def delete(self, section: str, key: str) -> None:
        self.remove(section, [key])

    def update(self, section: str, values: t.Mapping[str, str]) -> None:
        """Store several keys of ``section`` with one write."""
        parser = self._read()
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser.remove_option(section, _stored_key(parser, section, key))
            parser.set(section, key, str(value))
        self._write(parser)

    def remove(self, section: str, keys: t.Iterable[str]) -> None:
        """Delete ``keys`` of ``section`` (those present) with one write."""
        parser = self._read()
        if not parser.has_section(section):
            return
        removed = [parser.remove_option(section, _stored_key(parser, section, key))
                   for key in keys]
        if any(removed):
            self._write(parser)


def _ini_text(parser: configparser.ConfigParser) -> str:
    """The file's text, in ConfigParser's format. Written here rather than by
    ``ConfigParser.write``, which Gladier 0.11 users' tests replace to keep 0.11's storage in
    memory: with it replaced, a config saved through it would silently be lost."""
    lines = []
    for section in parser.sections():
        lines.append(f"[{section}]")
        for key, value in parser.items(section, raw=True):
            lines.append(f"{key} = " + str(value).replace("\n", "\n\t"))
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def _stored_key(parser: configparser.ConfigParser, section: str, key: str) -> str:
    """``key`` as the file holds it: as given, else lowercased as older versions wrote it."""
    if parser.has_option(section, key) or not parser.has_option(section, key.lower()):
        return key
    return key.lower()


class ConfigSection:
    """The storage a manager sees: one client's section of the config file."""

    def __init__(self, config: GladierConfig, name: str) -> None:
        self.config = config
        self.name = name

    def get_value(self, key: str) -> str | None:
        return self.config.get(self.name, key)

    def set_value(self, key: str, value: str) -> None:
        self.config.set(self.name, key, value)

    def del_value(self, key: str) -> None:
        self.config.delete(self.name, key)

    def items(self) -> dict[str, str]:
        return self.config.items(self.name)

    def __repr__(self) -> str:
        return f"ConfigSection({str(self.config.path)!r}, {self.name!r})"
