"""Naming rules shared by flow generation, the client and the config file.

Flow state names are UpperCamelCase (``make_dirs`` -> ``MakeDirs``); flow input keys and
config keys are snake_case.
"""

from __future__ import annotations

import re
import typing as t

_WORD_START = re.compile(r"(.)([A-Z][a-z]+)")
_LOWER_TO_UPPER = re.compile(r"([a-z0-9])([A-Z])")


def upper_camel_case(name: str) -> str:
    """``make_dirs`` -> ``MakeDirs`` (the style of flow state names), as Gladier 0.11 names
    them: a name without ``_`` keeps its letters and only gains a capital first letter
    (``getSystemInfo`` -> ``GetSystemInfo``); each ``_``-separated part is capitalized."""
    if "_" in name:
        name = "".join(part.capitalize() for part in name.split("_"))
    return name[:1].upper() + name[1:]


def snake_case(upper_camel_case_name: str) -> str:
    """``MakeDirs`` -> ``make_dirs``; ``HTTPGet`` -> ``http_get``."""
    name = _WORD_START.sub(r"\1_\2", upper_camel_case_name)
    return _LOWER_TO_UPPER.sub(r"\1_\2", name).lower()


def compute_state_name(function: t.Callable) -> str:
    """The flow state name generated for a compute function."""
    return upper_camel_case(function.__name__)


def function_id_key(function: t.Callable) -> str:
    """The flow input key (and config key) that holds a function's registered id."""
    return f"{function.__name__}_function_id"


def function_checksum_key(function: t.Callable) -> str:
    """The config key that holds the checksum of a function's registered source (Gladier
    0.11's name, so an upgrade finds the functions it registered unchanged)."""
    return f"{function.__name__}_function_id_checksum"
