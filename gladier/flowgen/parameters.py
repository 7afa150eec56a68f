"""Turning Python values into the Parameters of a flow state.

State objects accept plain values: ``"$.input.path"`` becomes a reference
(``"path.$": "$.input.path"``), ``"=expr"`` becomes an expression (``"key.=": "expr"``), and
``None`` is left out, because the Flows service rejects ``null`` where it expects a value.
"""

from __future__ import annotations

import typing as t


def json_path(path: str) -> str:
    """``"input.x"`` -> ``"$.input.x"``; a path that already starts with ``$`` is kept."""
    if path == "$" or path.startswith("$."):
        return path
    return f"$.{path}"


def _parameter_value(value: t.Any) -> t.Any:
    to_parameters = getattr(value, "to_parameters", None)
    if callable(to_parameters):
        value = to_parameters()
    if isinstance(value, dict):
        return normalize_parameters(value)
    if isinstance(value, (list, tuple)):
        return [_parameter_value(item) for item in value if item is not None]
    return value


def normalize_parameters(parameters: t.Mapping[str, t.Any]) -> dict:
    """Parameters with reference and expression keys suffixed and ``None`` values removed."""
    normalized: dict = {}
    for key, value in parameters.items():
        if value is None:
            continue
        value = _parameter_value(value)
        if isinstance(value, str):
            if key.endswith(".$"):
                value = json_path(value)
            elif key.endswith(".="):
                pass
            elif value.startswith("$."):
                key = f"{key}.$"
            elif value.startswith("=") and len(value) > 1:
                key, value = f"{key}.=", value[1:]
        normalized[key] = value
    return normalized
