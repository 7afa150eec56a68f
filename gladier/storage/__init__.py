"""Where gladier keeps flow ids, function ids and tokens between runs."""

from gladier.storage.config import ConfigSection, GladierConfig, default_config_path, section_name
from gladier.storage.tokens import open_token_storage, tokens_path_for

__all__ = [
    "ConfigSection",
    "GladierConfig",
    "default_config_path",
    "section_name",
    "open_token_storage",
    "tokens_path_for",
]
