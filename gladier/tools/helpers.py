"""Gladier 0.11's pydantic validator helpers for state fields (its module path)."""

from __future__ import annotations

import typing as t


def exclusive_validator_generator(exclusive_property_names: t.List[str],
                                  require_one_set: bool = True) -> t.Callable:
    """A pydantic (v1) validator allowing one of ``exclusive_property_names`` (exactly one
    when ``require_one_set``, else at most one)."""

    def exclusive_validator(cls: type, v: t.Any, values: t.Dict[str, t.Any], field: t.Any,
                            **kwargs: t.Any) -> t.Any:
        found = [field.name] if v is not None else []
        found += [name for name in exclusive_property_names
                  if name != field.name and values.get(name) is not None]
        if len(found) == 1 or (not found and not require_one_set):
            return v
        which = "Exactly" if require_one_set else "At most"
        raise ValueError(f"{which} one of {exclusive_property_names} may be set for model "
                         f"class {cls.__name__}, found values for properties {found}")

    return exclusive_validator


def validate_path_property(cls: type, v: t.Any, values: t.Dict[str, t.Any], field: t.Any,
                           **kwargs: t.Any) -> t.Any:
    """A pydantic (v1) validator: a field named ``...path`` must hold a ``$.`` path."""
    if field.name.lower().endswith("path") and not str(v).startswith("$."):
        raise ValueError(f"Field named {field.name} must have a JSONPath value, got {v}")
    return v
