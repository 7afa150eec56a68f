"""Observe, as a user would, what Gladier makes of some client scripts; print it as JSON.

Run by tests/parity.py with either this package or the reference Gladier 0.11 on the path:

    python observe.py DIR [DIR ...]
    python observe.py ROOT::package.module [...]

Every ``client_*.py`` module in each DIR is imported (DIR goes on ``sys.path``, so clients
can name each other's tools as ``"module.Tool:Alias"``); ``ROOT::package.module`` imports
one module of a project at ROOT (a real client kept outside the repository). For each client class and tool class
it defines, and each function listed in its ``OBSERVE`` dict, the output records what a user
sees: the flow definition, schema and input of a client, each of its tools' required and
default input and state names, a tool's own flow, or the error raised (type and message).

Nothing reaches the network (sockets to internet addresses fail) and registering a compute
function gives a fixed id derived from the function's name, the same in both packages, so
``get_input()`` can be compared.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import socket
import sys
import traceback
import uuid

_NAMESPACE = uuid.UUID("6f6a0c2e-52d5-4f6c-9a6e-2b9c1a1e0b11")


def _no_network(*args, **kwargs):
    raise OSError("parity observation: the network is off")


def _switch_network_off() -> None:
    original_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            _no_network()
        return original_connect(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.create_connection = _no_network  # type: ignore[assignment]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]


def fake_function_id(function) -> str:
    """The id 'registering' ``function`` gives in both packages."""
    return str(uuid.uuid5(_NAMESPACE, f"{function.__module__}.{function.__qualname__}"))


def _register_offline() -> None:
    # Both packages register through ComputeManager.register_function(tool, function).
    from gladier.managers.compute_manager import ComputeManager

    ComputeManager.register_function = lambda self, tool, function: fake_function_id(function)


def jsonable(value):
    """``value`` as JSON data; anything else as its type name in a marker."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [jsonable(v) for v in value]
        return {"<not JSON>": type(value).__name__}


def error_of(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "bases": [cls.__name__ for cls in type(exc).__mro__],
        "message": str(exc),
    }


def attempt(function, *args):
    try:
        return jsonable(function(*args))
    except Exception as exc:  # what the user would see, recorded
        result = error_of(exc)
        if os.environ.get("PARITY_TRACEBACKS"):
            result["traceback"] = traceback.format_exc()
        return result


def _unwrap(obj):
    """0.11's ``@generate_flow_definition`` replaces a class by a wrapper function."""
    return getattr(obj, "__wrapped__", obj)


def _is_subclass(obj, base) -> bool:
    return isinstance(obj, type) and issubclass(obj, base) and obj is not base


def _tool_facts(tool) -> dict:
    definition = attempt(tool.get_flow_definition)
    states = definition.get("States") if isinstance(definition, dict) else None
    return {
        "tool": type(tool).__name__,
        "alias": getattr(tool, "alias", None),
        "required_input": attempt(tool.get_required_input),
        "flow_input": attempt(tool.get_flow_input),
        "state_names": list(states) if isinstance(states, dict) else None,
    }


def observe_client(client_cls) -> dict:
    try:
        client = client_cls()
    except Exception as exc:
        return {"construct": error_of(exc)}
    facts = {
        "flow_definition": attempt(client.get_flow_definition),
        "flow_schema": attempt(client.get_flow_schema),
        "input": attempt(client.get_input),
    }
    try:
        facts["tools"] = [_tool_facts(tool) for tool in client.tools]
    except Exception as exc:
        facts["tools"] = error_of(exc)
    return facts


def observe_tool(tool_cls) -> dict:
    try:
        tool = tool_cls()
    except Exception as exc:
        return {"construct": error_of(exc)}
    facts = _tool_facts(tool)
    facts["flow_definition"] = attempt(tool.get_flow_definition)
    return facts


def observe_module(module) -> dict:
    from gladier import GladierBaseClient, GladierBaseTool

    found: dict = {}
    for name, obj in sorted(vars(module).items()):
        target = _unwrap(obj)
        if getattr(target, "__module__", None) != module.__name__ or name.startswith("_"):
            continue
        if _is_subclass(target, GladierBaseClient):
            found[f"client {name}"] = observe_client(obj)
        elif _is_subclass(target, GladierBaseTool) and name not in getattr(
            module, "NOT_OBSERVED", ()
        ):
            found[f"tool {name}"] = observe_tool(obj)
    for label, function in getattr(module, "OBSERVE", {}).items():
        found[f"observe {label}"] = attempt(function)
    return found


def main(directories: list[str]) -> dict:
    _switch_network_off()
    _register_offline()
    from importlib.metadata import version

    report = {"gladier_version": version("gladier"), "modules": {}}
    for directory in directories:
        root, _, dotted = directory.partition("::")
        sys.path.insert(0, root)
        targets = [(dotted, dotted)] if dotted else [
            (f"{pathlib.Path(root).name}/{path.stem}", path.stem)
            for path in sorted(pathlib.Path(root).glob("client_*.py"))
        ]
        for key, module_name in targets:
            try:
                module = importlib.import_module(module_name)
            except BaseException as exc:  # a script may sys.exit() or parse argv on import
                report["modules"][key] = {"import": error_of(exc)}
                continue
            report["modules"][key] = observe_module(module)
        if dotted:
            sys.path.remove(root)
    return report


if __name__ == "__main__":
    arguments, sys.argv = sys.argv[1:], sys.argv[:1]  # scripts may read argv on import
    json.dump(main(arguments), sys.stdout, indent=1, sort_keys=True)
