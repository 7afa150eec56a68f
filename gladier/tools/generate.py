"""``@generate_flow_definition``: build a flow for a tool class or a client class.

On a tool, the flow is generated once, when the class is decorated, from its
``compute_functions`` (one compute state each, in order) and ``modifiers``; an error doing so
is raised when the tool is created (as a client loads its tools) or its flow is read, as
Gladier 0.11 raises it when the tool is used, not when its module is imported. On a client
(any class with ``gladier_tools``), ``flow_definition`` becomes the chain of its tools,
generated when it is read, with the client docstring as the flow Comment and the client's
``modifiers`` applied to matching states.
"""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.client_flow import GeneratedClientFlow
from gladier.flowgen.compute_flow import generate_tool_flow
from gladier.tools.base import GladierBaseTool

_C = t.TypeVar("_C", bound=type)


class _FlowThatFailed:
    """The ``flow_definition`` of a tool whose flow could not be generated: reading it
    raises the error generation raised."""

    def __init__(self, error: FlowGenException):
        self.error = error

    def __get__(self, instance: t.Any, owner: type) -> t.NoReturn:
        raise self.error


def _raising(error: FlowGenException) -> t.Callable[..., t.NoReturn]:
    def __init__(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise error

    return __init__


def _decorate(cls: _C, modifiers: dict | None) -> _C:
    if not isinstance(cls, type):
        raise FlowGenException(
            f"@generate_flow_definition decorates classes, not {type(cls).__name__} objects"
        )
    if issubclass(cls, GladierBaseTool):
        if not cls.compute_functions and cls.funcx_functions:
            cls.compute_functions = list(cls.funcx_functions)  # as Gladier 0.11 does
        try:
            cls.flow_definition = generate_tool_flow(cls, modifiers or {})
        except FlowGenException as error:
            cls.flow_definition = _FlowThatFailed(error)  # type: ignore[assignment]
            cls.__init__ = _raising(error)  # type: ignore[method-assign]
    elif hasattr(cls, "gladier_tools"):
        cls.flow_definition = GeneratedClientFlow(modifiers)  # type: ignore[attr-defined]
    else:
        raise FlowGenException(
            f"@generate_flow_definition: {cls.__qualname__} is neither a GladierBaseTool nor "
            "a client with gladier_tools"
        )
    return cls


@t.overload
def generate_flow_definition(_cls: _C) -> _C: ...


@t.overload
def generate_flow_definition(
    _cls: None = None, *, modifiers: dict | None = None
) -> t.Callable[[_C], _C]: ...


def generate_flow_definition(
    _cls: t.Any = None, *, modifiers: dict | None = None
) -> t.Any:
    """Class decorator, bare (``@generate_flow_definition``) or with ``modifiers=``.

    Example::

        @generate_flow_definition(modifiers={
            make_dirs: {"endpoint": "non_compute_endpoint", "WaitTime": 60},
            process: {"payload": make_dirs},   # -> "$.MakeDirs.details.results"
        })
        class Pipeline(GladierBaseTool):
            compute_functions = [make_dirs, process]

    :raises FlowGenException: the class cannot have a generated flow.
    :raises FlowModifierException: a modifier names an unknown function or modifier.
    """
    if _cls is None:
        return lambda cls: _decorate(cls, modifiers)
    return _decorate(_cls, modifiers)
