"""Structural checks every generated definition must pass before it leaves flow generation.

These are the facts of the Flows schema that generation can get wrong: ``StartAt`` and every
``Next``/``Default`` naming a defined state, and each state that continues having exactly
one of ``Next`` or ``End``. Fields set to ``null`` are kept, as Gladier 0.11 emits them
(``"Comment": null`` for a function without a docstring). The engine's validator checks far more;
this module only guards the generator.
"""

from __future__ import annotations

import typing as t

# States that neither continue nor end with Next/End.
_NO_TRANSITION_TYPES = frozenset({"Choice", "Fail"})


def _targets(state: dict) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [catch.get("Next") for catch in state.get("Catch") or [] if isinstance(catch, dict)]
    targets += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
    return [target for target in targets if target is not None]


def structural_problems(flow_definition: dict) -> list[str]:
    """Every structural problem in ``flow_definition``, as readable sentences (empty if none)."""
    problems: list[str] = []
    states = flow_definition.get("States")
    if not isinstance(states, dict) or not states:
        return problems + ["the definition has no States"]
    if flow_definition.get("StartAt") not in states:
        problems.append(f"StartAt {flow_definition.get('StartAt')!r} is not a defined state")
    for name, state in states.items():
        if not isinstance(state, dict):
            problems.append(f"state {name!r} is not an object")
            continue
        if state.get("Type") not in _NO_TRANSITION_TYPES:
            has_next, has_end = "Next" in state, state.get("End") is True
            if has_next == has_end:
                problems.append(f"state {name!r} must have exactly one of Next or End: true")
        for target in _targets(state):
            if target not in states:
                problems.append(f"state {name!r} goes to {target!r}, which is not defined")
    return problems
