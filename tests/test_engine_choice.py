import pytest

from gladier.engine.choice import COMPARATORS, choose, string_matches
from gladier.exc import FlowRuntimeError

STATE = {
    "s": "beta", "n": 5, "f": 2.5, "b": True, "none": None,
    "ts": "2026-01-02T03:04:05Z", "ts_later": "2026-01-02T04:04:05+01:00",
    "other": {"s": "beta", "n": 7, "b": True, "ts": "2025-12-31T00:00:00Z"},
    "details": {"entity_type": "GCSv5_guest_collection"},
}


def pick(rule, state=STATE, default="Default"):
    choice_state = {"Type": "Choice", "Choices": [{**rule, "Next": "Matched"}]}
    if default:
        choice_state["Default"] = default
    return choose(choice_state, state, context={"run_id": "r1"}, state_name="Decide")


@pytest.mark.parametrize("comparator, value, matched", [
    ("StringEquals", "beta", True), ("StringEquals", "alpha", False),
    ("StringLessThan", "gamma", True), ("StringGreaterThan", "alpha", True),
    ("StringLessThanEquals", "beta", True), ("StringGreaterThanEquals", "gamma", False),
    ("NumericEquals", 5, True), ("NumericEquals", 5.0, True), ("NumericLessThan", 6, True),
    ("NumericGreaterThan", 5, False), ("NumericLessThanEquals", 5, True),
    ("NumericGreaterThanEquals", 6, False),
])
def test_string_and_numeric_comparators(comparator, value, matched):
    variable = "$.s" if comparator.startswith("String") else "$.n"
    assert pick({"Variable": variable, comparator: value}) == ("Matched" if matched else "Default")


@pytest.mark.parametrize("comparator, value, matched", [
    ("TimestampEquals", "2026-01-02T03:04:05+00:00", True),
    ("TimestampLessThan", "2026-01-02T03:04:06Z", True),
    ("TimestampGreaterThan", "2026-01-01T00:00:00Z", True),
    ("TimestampLessThanEquals", "2026-01-02T03:04:05.000Z", True),
    ("TimestampGreaterThanEquals", "2027-01-01T00:00:00Z", False),
    ("TimestampEquals", "not a time", False),
])
def test_timestamp_comparators_compare_instants_across_offsets(comparator, value, matched):
    assert pick({"Variable": "$.ts", comparator: value}) == ("Matched" if matched else "Default")
    assert pick({"Variable": "$.ts_later", "TimestampEquals": "2026-01-02T03:04:05Z"}) == "Matched"


def test_boolean_equals_does_not_match_truthy_non_booleans():
    assert pick({"Variable": "$.b", "BooleanEquals": True}) == "Matched"
    assert pick({"Variable": "$.n", "BooleanEquals": True}) == "Default"


def test_type_mismatch_does_not_match():
    assert pick({"Variable": "$.s", "NumericEquals": 5}) == "Default"
    assert pick({"Variable": "$.b", "NumericEquals": 1}) == "Default"
    assert pick({"Variable": "$.n", "StringEquals": "5"}) == "Default"


@pytest.mark.parametrize("comparator, variable, path, matched", [
    ("StringEqualsPath", "$.s", "$.other.s", True),
    ("StringLessThanPath", "$.s", "$.other.s", False),
    ("NumericLessThanPath", "$.n", "$.other.n", True),
    ("NumericGreaterThanEqualsPath", "$.n", "$.other.n", False),
    ("BooleanEqualsPath", "$.b", "$.other.b", True),
    ("TimestampGreaterThanPath", "$.ts", "$.other.ts", True),
    ("StringEqualsPath", "$._context.run_id", "$.other.s", False),
])
def test_path_variants_compare_with_another_value_of_the_state(comparator, variable, path, matched):
    assert pick({"Variable": variable, comparator: path}) == ("Matched" if matched else "Default")


def test_every_comparator_has_a_path_variant_except_string_matches():
    names = set(COMPARATORS)
    assert "StringMatchesPath" not in names
    for name in names - {"StringMatches"}:
        assert (name[:-4] if name.endswith("Path") else name + "Path") in names


@pytest.mark.parametrize("pattern, value, matched", [
    ("log-*.txt", "log-2026.txt", True), ("log-*.txt", "log-2026.csv", False),
    ("*", "", True), ("a\\*b", "a*b", True), ("a\\*b", "axb", False),
    ("a\\\\*", "a\\anything", True), ("*.*", "noext", False), ("a.c", "abc", False),
])
def test_string_matches_wildcards_and_escapes(pattern, value, matched):
    assert string_matches(value, pattern) is matched
    assert pick({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) == (
        "Matched" if matched else "Default")


@pytest.mark.parametrize("test, variable, expected", [
    ("IsNull", "$.none", True), ("IsNull", "$.s", False),
    ("IsNumeric", "$.f", True), ("IsNumeric", "$.b", False),
    ("IsString", "$.s", True), ("IsBoolean", "$.b", True), ("IsBoolean", "$.n", False),
    ("IsTimestamp", "$.ts", True), ("IsTimestamp", "$.s", False),
    ("IsPresent", "$.other.n", True), ("IsPresent", "$.missing.deep", False),
])
def test_type_tests(test, variable, expected):
    assert pick({"Variable": variable, test: True}) == ("Matched" if expected else "Default")
    assert pick({"Variable": variable, test: False}) == ("Default" if expected else "Matched")


def test_and_or_not_combine_rules_and_short_circuit_guards():
    rule = {"Or": [
        {"Variable": "$.details.entity_type", "StringEquals": "GCP_guest_collection"},
        {"Variable": "$.details.entity_type", "StringEquals": "GCSv5_guest_collection"}]}
    assert pick(rule) == "Matched"
    guarded = {"And": [{"Variable": "$.flag", "IsPresent": True},
                       {"Variable": "$.flag", "BooleanEquals": True}]}
    assert pick(guarded) == "Default"
    assert pick(guarded, {"flag": True}) == "Matched"
    assert pick({"Not": {"Variable": "$.n", "NumericEquals": 5}}) == "Default"
    assert pick({"Not": {"Variable": "$.n", "NumericEquals": 4}}) == "Matched"


def test_first_matching_rule_wins():
    state = {"Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "First"},
                         {"Variable": "$.n", "NumericGreaterThan": 2, "Next": "Second"}]}
    assert choose(state, STATE, context={}, state_name="C") == "First"


def test_missing_variable_is_states_runtime_naming_path_and_state():
    with pytest.raises(FlowRuntimeError) as info:
        pick({"Variable": "$.response_info.response", "StringEquals": "approve"})
    assert info.value.error == "States.Runtime"
    assert info.value.state_name == "Decide"
    assert "$.response_info.response" in info.value.cause


def test_missing_comparison_path_is_states_runtime():
    with pytest.raises(FlowRuntimeError, match=r"\$\.nope"):
        pick({"Variable": "$.n", "NumericEqualsPath": "$.nope"})


def test_no_match_and_no_default_raises_no_choice_matched():
    with pytest.raises(FlowRuntimeError) as info:
        pick({"Variable": "$.n", "NumericEquals": 0}, default=None)
    assert info.value.error == "States.NoChoiceMatched"


@pytest.mark.parametrize("rule", [
    {"Variable": "$.n"},
    {"Variable": "$.n", "NumericEquals": 1, "StringEquals": "x"},
    {"NumericEquals": 1},
    {"And": "not a list"},
])
def test_malformed_rules_raise_states_runtime(rule):
    with pytest.raises(FlowRuntimeError) as info:
        pick(rule)
    assert info.value.error == "States.Runtime"


def test_is_present_with_a_malformed_path_is_an_error_not_false():
    with pytest.raises(FlowRuntimeError, match="not a valid path"):
        pick({"Variable": "$.x[?(@.y)]", "IsPresent": True})


def _matches_by_regex(value: str, pattern: str) -> bool:
    """The backtracking reading of the AWS rule (``*`` any run, ``\\`` escapes)."""
    import re

    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def test_string_matches_agrees_with_the_backtracking_reading_on_every_small_case():
    """Per the Amazon States Language: "the wildcard character (*) ... can be escaped
    using \\\\*"; every pattern and value of up to 5 characters over a small alphabet."""
    import itertools

    values = ["".join(p) for n in range(5) for p in itertools.product("ab_*", repeat=n)]
    patterns = ["".join(p) for n in range(5) for p in itertools.product("a_*\\", repeat=n)]
    for pattern in patterns:
        for value in values:
            assert string_matches(value, pattern) is _matches_by_regex(value, pattern), (
                pattern, value)


def test_a_hostile_string_matches_pattern_does_not_stall_the_scheduler(tmp_path):
    """``*_*_*_*.h5`` against an 800-character name took 15 s with a regular expression;
    a run with a 100,000-character name and a 30-star pattern ends at once (all its work is
    on the scheduler thread, which every run of the engine shares)."""
    import time

    from gladier.engine import LocalEngine

    name = "_" * 100_000
    definition = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Default": "No", "Choices": [
            {"Variable": "$.name", "StringMatches": "*_" * 30 + ".h5", "Next": "Yes"}]},
        "Yes": {"Type": "Pass", "End": True}, "No": {"Type": "Pass", "End": True}}}
    with LocalEngine(str(tmp_path / "engine.db"), max_state_size=1 << 20) as engine:
        began = time.monotonic()
        run = engine.run_flow(engine.create_flow(definition)["id"], {"name": name})
        final = engine.wait(run["run_id"], timeout=30)
        took = time.monotonic() - began
        states = [entry["details"].get("state_name")
                  for entry in engine.get_run_logs(run["run_id"])["entries"]]
    assert final["status"] == "SUCCEEDED" and "No" in states  # no ".h5" at the end
    assert took < 3, took
