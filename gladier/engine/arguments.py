"""Checks of the arguments given to the engine's public methods.

A wrong argument is a programming error: it raises :class:`~gladier.exc.DeveloperException`
naming the argument and what it must be, at the call, instead of a ``TypeError`` from deep
inside (or a wrong value quietly stored, such as the tags ``['a', 'b', 'c']`` from ``"abc"``).
"""

from __future__ import annotations

import typing as t

from gladier.exc import DeveloperException


def misuse(name: str, wanted: str, value: t.Any) -> DeveloperException:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return DeveloperException(f"{name} must be {wanted}, not {shown}")


def is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def optional_string(value: t.Any, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise misuse(name, "a string", value)


def optional_number(value: t.Any, name: str, *, minimum: float = 0) -> None:
    if value is not None and not (is_number(value) and value >= minimum):
        raise misuse(name, f"a number >= {minimum:g}", value)


def optional_count(value: t.Any, name: str) -> None:
    """None, or an integer of at least 1 (a page size, say)."""
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool)
                                  and value >= 1):
        raise misuse(name, "an integer >= 1", value)


def optional_strings(value: t.Any, name: str, *, single: bool = False) -> None:
    """None, a list or tuple of strings, or (``single``) one string."""
    if value is None or (single and isinstance(value, str)):
        return
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise misuse(name, "a list of strings" + (" or one string" if single else ""), value)


def optional_mapping(value: t.Any, name: str, *, key: str, values: t.Callable[[t.Any], bool],
                     wanted: str) -> None:
    """None, or a mapping of strings (each a ``key``) to values for which ``values(v)`` is
    true (each ``wanted``)."""
    if value is None:
        return
    if not isinstance(value, t.Mapping):
        raise misuse(name, f"a mapping of {key} -> {wanted}", value)
    for item_key, item in value.items():
        if not isinstance(item_key, str):
            raise misuse(f"each key of {name}", f"a string ({key})", item_key)
        if not values(item):
            raise misuse(f"{name}[{item_key!r}]", wanted, item)
