"""An independent check of flow definitions against the Flows schema facts
(flows-spec.md sections 1.1-1.3), used by every flow generation test.

It is written separately from gladier.flowgen.structure on purpose: generation is checked
against the published rules, not against its own idea of them.
"""

import re

import pytest

JSON_PATH = re.compile(r"^\$\..*")
STATE_KEYS = {
    "Action": {"Type", "Comment", "ActionUrl", "ActionScope", "RunAs", "ExceptionOnActionFailure",
               "WaitTime", "InputPath", "Parameters", "ResultPath", "Catch", "Next", "End"},
    "Pass": {"Type", "Comment", "Result", "InputPath", "Parameters", "ResultPath", "Next", "End"},
    "ExpressionEval": {"Type", "Comment", "Parameters", "ResultPath", "Next", "End"},
    "Choice": {"Type", "Comment", "Choices", "Default"},
    "Wait": {"Type", "Comment", "Seconds", "SecondsPath", "Timestamp", "TimestampPath",
             "Next", "End"},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}
WITH_NEXT_OR_END = {"Action", "Pass", "ExpressionEval", "Wait"}


def _nulls(value, where):
    if value is None:
        return [where]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{where}[{i}]")]
    return []


def _reference_problems(parameters, where):
    problems = []
    for key, value in parameters.items():
        if key.endswith(".$") and not (isinstance(value, str) and JSON_PATH.match(value)):
            problems.append(f"{where}.{key} must be a '$.' path")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                problems += _reference_problems(item, f"{where}.{key}")
    return problems


# A state's Comment may be null: Gladier 0.11 writes "Comment": null for every compute
# function without a docstring, and its users deploy those flows.
_NULL_STATE_COMMENT = re.compile(r"^\$\.States\.[^.]+\.Comment$")


def schema_problems(definition):
    problems = [f"{p} is null" for p in _nulls(definition, "$")
                if not _NULL_STATE_COMMENT.match(p)]
    if set(definition) - {"Comment", "StartAt", "States"}:
        problems.append(f"unexpected top-level keys {set(definition)}")
    states = definition.get("States") or {}
    if definition.get("StartAt") not in states:
        problems.append("StartAt does not name a state")
    referenced = {definition.get("StartAt")}
    for name, state in states.items():
        kind = state.get("Type")
        if kind not in STATE_KEYS:
            problems.append(f"{name}: unknown Type {kind!r}")
            continue
        if set(state) - STATE_KEYS[kind]:
            problems.append(f"{name}: keys not allowed on {kind}: {set(state) - STATE_KEYS[kind]}")
        if kind in WITH_NEXT_OR_END and ("Next" in state) == (state.get("End") is True):
            problems.append(f"{name}: needs exactly one of Next or End")
        if kind == "Action" and ("Parameters" in state) == ("InputPath" in state):
            problems.append(f"{name}: Action needs exactly one of Parameters or InputPath")
        for key in ("InputPath", "ResultPath", "SecondsPath", "TimestampPath"):
            if key in state and not JSON_PATH.match(state[key]):
                problems.append(f"{name}.{key} is not a '$.' path")
        if isinstance(state.get("Parameters"), dict):
            problems += _reference_problems(state["Parameters"], f"{name}.Parameters")
        for catch in state.get("Catch", []):
            if set(catch) - {"ErrorEquals", "Next", "ResultPath"} or not catch.get("ErrorEquals"):
                problems.append(f"{name}: malformed Catch {catch}")
            referenced.add(catch.get("Next"))
        if kind == "Choice" and not state.get("Choices"):
            problems.append(f"{name}: Choice needs Choices")
        referenced.update(c.get("Next") for c in state.get("Choices", []))
        referenced.update([state.get("Next"), state.get("Default")])
    referenced.discard(None)
    for target in referenced - set(states):
        problems.append(f"{target!r} is referenced but not defined")
    for unused in set(states) - referenced:
        problems.append(f"{unused!r} is defined but never referenced")
    return problems


def assert_flows_schema_valid(definition):
    problems = schema_problems(definition)
    assert not problems, problems


def test_schema_facts_reject_null_flow_comment_but_take_null_state_comment():
    definition = {"Comment": None, "StartAt": "A",
                  "States": {"A": {"Type": "Pass", "Comment": None, "End": True}}}
    assert schema_problems(definition) == ["$.Comment is null"]


@pytest.mark.parametrize(
    "state",
    [{"Type": "Pass"}, {"Type": "Pass", "End": True, "Next": "A"}],
    ids=["neither", "both"],
)
def test_schema_facts_require_next_xor_end(state):
    assert schema_problems({"StartAt": "A", "States": {"A": state}}) == [
        "A: needs exactly one of Next or End"
    ]


def test_schema_facts_reject_unreferenced_state():
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": True}, "B": {"Type": "Pass", "End": True}},
    }
    assert schema_problems(definition) == ["'B' is defined but never referenced"]
