"""Gladier 0.11's ``gladier.helpers``: JSON type names and the Parameters helpers state
objects use (its module path, kept so 0.11 imports work)."""

from __future__ import annotations

import typing as t

from gladier.flowgen.parameters import json_path
from gladier.tools.state_models import JSONList, JSONObject, JSONValue


def deep_update_dict(dest_dict: dict, from_dict: t.Mapping[str, t.Any]) -> dict:
    """Update ``dest_dict`` from ``from_dict``, merging nested dicts instead of replacing."""
    for key, value in from_dict.items():
        if isinstance(dest_dict.get(key), dict) and isinstance(value, dict):
            deep_update_dict(dest_dict[key], value)
        else:
            dest_dict[key] = value
    return dest_dict


def ensure_json_path(path: str | None) -> str | None:
    """``"input.x"`` -> ``"$.input.x"``; None and ``$.`` paths are returned as they are."""
    return None if path is None else json_path(path)


def eliminate_none_values(d: dict, deep: bool = False) -> None:
    """Remove, in place, every item of ``d`` whose value is None (in nested dicts and lists
    of dicts too when ``deep``)."""
    for key in [key for key, value in d.items() if value is None]:
        del d[key]
    if deep:
        for value in d.values():
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, dict):
                    eliminate_none_values(child, deep=True)


def ensure_parameter_values(params: dict, deep: bool = True,
                            eliminate_none_values: bool = False) -> dict:
    """Parameters with reference and expression keys marked, as state objects emit them:
    ``{"foo": "$.bar"}`` -> ``{"foo.$": "$.bar"}``, ``{"x": "=1+2"}`` -> ``{"x.=": "1+2"}``,
    ``{"foo.$": "bar"}`` -> ``{"foo.$": "$.bar"}``; nested dicts and lists too when ``deep``.
    None values are kept unless ``eliminate_none_values``."""
    marked: dict = {}
    for key, value in params.items():
        if value is None and eliminate_none_values:
            continue
        to_dict = getattr(value, "dict", None)
        if value is not None and callable(to_dict) and not isinstance(value, dict):
            value = to_dict()
        if isinstance(value, str):
            if key.endswith(".$") and not value.startswith("$."):
                value = "$." + value
            elif value.startswith("$.") and not key.endswith(".$"):
                key += ".$"
            elif value.startswith("=") and not key.endswith(".="):
                key, value = key + ".=", value[1:]
        elif deep and isinstance(value, dict):
            value = ensure_parameter_values(value, deep, eliminate_none_values)
        elif deep and isinstance(value, list):
            value = [ensure_parameter_values(item, deep, eliminate_none_values)
                     if isinstance(item, dict) else item for item in value]
        marked[key] = value
    return marked


__all__ = ["JSONList", "JSONObject", "JSONValue", "deep_update_dict", "ensure_json_path",
           "eliminate_none_values", "ensure_parameter_values"]
