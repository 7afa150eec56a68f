"""Compute action requests: the tasks of a v2, v3 or fxap body, checked before anything runs."""

from __future__ import annotations

import json
import typing as t

from gladier.engine.providers.actions import bad_request


class ComputeTask(t.NamedTuple):
    endpoint: str
    function_id: str
    args: tuple
    kwargs: dict


def _decode(value: t.Any, where: str, key: str) -> t.Any:
    """v2 bodies may carry ``args``/``kwargs`` as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(
                f"{where}.{key} is a string but not valid JSON: {value[:80]!r}"
            ) from None
    return value


def _parse_task(task: dict, where: str, default_endpoint: t.Any) -> ComputeTask:
    endpoint = task.get("endpoint_id", task.get("endpoint", default_endpoint))
    if not isinstance(endpoint, str) or not endpoint:
        raise bad_request(f"{where} names no compute endpoint ('endpoint_id' or 'endpoint')")
    function_id = task.get("function_id", task.get("function", task.get("func")))
    if not isinstance(function_id, str) or not function_id:
        raise bad_request(f"{where} names no function ('function_id' or 'function')")
    args = _decode(task.get("args", []), where, "args")
    if args is None:
        args = []
    if not isinstance(args, list):
        raise bad_request(f"{where}.args must be a list, not {type(args).__name__}")
    kwargs = _decode(task.get("kwargs"), where, "kwargs")
    payload = _decode(task.get("payload"), where, "payload")
    if kwargs is None and isinstance(payload, dict):
        kwargs = payload
    elif payload is not None:
        args = args + [payload]  # a non-object payload is the function's one argument
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise bad_request(f"{where}.kwargs must be an object, not {type(kwargs).__name__}")
    return ComputeTask(endpoint, function_id, tuple(args), kwargs)


def parse_tasks(body: dict) -> list[ComputeTask]:
    """The tasks of a v2 or v3 Compute action body, in order (400 on a malformed body)."""
    default_endpoint = body.get("endpoint_id", body.get("endpoint"))
    entries: list[tuple[str, t.Any]] = []
    if any(key in body for key in ("function", "function_id", "func")):
        entries.append(("body", body))
    if "tasks" in body:
        tasks = body["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise bad_request("'tasks' must be a non-empty list of task objects")
        entries.extend((f"tasks[{i}]", task) for i, task in enumerate(tasks))
    if not entries:
        raise bad_request("A Compute action needs 'tasks' (a list) or a top-level 'function'")
    for where, task in entries:
        if not isinstance(task, dict):
            raise bad_request(f"{where} must be an object, not {type(task).__name__}")
    return [_parse_task(task, where, default_endpoint) for where, task in entries]


def task_ids(action_id: str, count: int) -> list[str]:
    """Ids for the tasks of an action: stable across restarts (the ledger finds a task by
    its id) and distinct within the action. The action id with its last 48 bits (the
    UUID's node field) advanced by the task's position plus one."""
    prefix, node = action_id[:24], int(action_id[24:], 16)
    return [f"{prefix}{(node + i) & 0xFFFFFFFFFFFF:012x}" for i in range(1, count + 1)]
