"""Finding the compute functions a tool or a state object needs registered."""

from __future__ import annotations

import typing as t


def get_compute_functions(tool: t.Any) -> list[t.Callable]:
    """The compute functions of ``tool``: ``compute_functions`` then legacy ``funcx_functions``.

    ``tool`` may be a tool class, a tool instance or a state object (whose graph is searched
    for ``Compute`` states calling Python functions). Each function appears once.
    """
    collect = getattr(tool, "get_compute_functions", None)
    if callable(collect) and not isinstance(tool, type):
        functions = list(collect())
    else:
        functions = list(getattr(tool, "compute_functions", None) or [])
        functions += list(getattr(tool, "funcx_functions", None) or [])
    unique: list[t.Callable] = []
    for function in functions:
        if function not in unique:
            unique.append(function)
    return unique
