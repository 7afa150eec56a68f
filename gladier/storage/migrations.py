"""Gladier 0.11's config upgrade steps (its module path), for the ``ConfigParser`` view of
the config file (:class:`~gladier.storage.secrets_config.GladierSecretsConfig`).

Two steps, as in 0.11: ``[general] version`` records the version that last wrote the file,
and function ids stored under their pre-0.9 names (``<fn>_funcx_id``, with
``<fn>_funcx_id_checksum``) move to ``<fn>_function_id`` (and ``..._checksum``).
"""

from __future__ import annotations

import configparser
import logging

from gladier.version import __version__

log = logging.getLogger(__name__)

_OLD_ID_SUFFIX = "_funcx_id"


def _old_function_keys(config: configparser.ConfigParser) -> list[tuple[str, str]]:
    return [(section, key) for section in config.sections() for key in config[section]
            if key.endswith(_OLD_ID_SUFFIX) and key.count(_OLD_ID_SUFFIX) == 1]


def needs_migration(config: configparser.ConfigParser) -> bool:
    """Whether :func:`migrate_gladier` would change ``config``."""
    version = config.get("general", "version", fallback=None)
    return version != __version__ or bool(_old_function_keys(config))


def migrate_gladier(config: configparser.ConfigParser) -> configparser.ConfigParser:
    """Apply the upgrade steps to ``config`` in place (the caller saves it); return it."""
    for section, key in _old_function_keys(config):
        new_key = key[: -len(_OLD_ID_SUFFIX)] + "_function_id"
        values = config[section]
        if not values.get(new_key):
            log.info("Config: %s.%s becomes %s", section, key, new_key)
            values[new_key] = values[key]
            if f"{key}_checksum" in values:
                values[f"{new_key}_checksum"] = values[f"{key}_checksum"]
        config.remove_option(section, key)
        config.remove_option(section, f"{key}_checksum")
    if not config.has_section("general"):
        config.add_section("general")
    config.set("general", "version", __version__)
    return config
