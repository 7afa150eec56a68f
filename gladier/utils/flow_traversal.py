"""Walking a flow definition's states from ``StartAt`` (Gladier 0.11's module path).

Each reachable state is visited once, depth first: a state, then where it goes next
(``Next``, or a Choice's ``Default``), then each Choice option's ``Next``.
"""

from __future__ import annotations

import typing as t

from gladier.exc import FlowGenException

STATE_TRANSITION_KEYS = ("Next", "Default", "StartAt")


def get_transition(state: t.Mapping[str, t.Any]) -> tuple[str, str] | None:
    """``(key, target)`` for the state's own transition, or None if it has none."""
    for key in STATE_TRANSITION_KEYS:
        if key in state:
            return key, state[key]
    return None


def _targets(state: t.Mapping[str, t.Any]) -> list[str]:
    transition = get_transition(state)
    targets = [transition[1]] if transition else []
    if state.get("Type") == "Choice":
        targets += [choice["Next"] for choice in state.get("Choices", []) if choice.get("Next")]
    return targets


def iter_flow_states(
    flow_states: t.Mapping[str, t.Any], state: str | None,
    previously_visited: t.Iterable[str] | None = None,
) -> t.Iterator[tuple[str, t.Mapping[str, t.Any]]]:
    """``(name, state)`` for every state reachable from ``state``, each once.

    :raises FlowGenException: a reachable state is not defined in ``flow_states``.
    """
    visited = set(previously_visited or ())
    pending = [state]
    while pending:
        name = pending.pop()
        if name is None or name in visited:
            continue
        visited.add(name)
        if name not in flow_states:
            raise FlowGenException(f"State {name!r} is not defined in the flow's States")
        yield name, flow_states[name]
        pending.extend(reversed(_targets(flow_states[name])))


def iter_flow(flow_definition: t.Mapping[str, t.Any]) -> t.Iterator[tuple[str, t.Any]]:
    """``(name, state)`` for every state reachable from the flow's ``StartAt``."""
    yield from iter_flow_states(flow_definition["States"], flow_definition["StartAt"])


def get_end_states(flow_definition: t.Mapping[str, t.Any]) -> t.Iterator[str]:
    """The reachable states that end the flow: those with no transition of their own."""
    yield from [name for name, state in iter_flow(flow_definition) if not get_transition(state)]
