"""Fuzzing: definitions, run inputs and expressions no one meant to write.

Fixed budgets (``max_examples``, ``derandomize=True``) keep the whole file well under two
minutes. Each refused expression is timed with ``time.thread_time()``, the CPU time of the
thread that evaluates it (the measure of MAX_EVALUATION_SECONDS too), so a busy machine does
not fail the test: the contract is a refusal in under a second of it, so the bound is
generous on purpose.
"""

from __future__ import annotations

import copy
import json
import time

import pytest
from corpus import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gladier.engine import LocalEngine
from gladier.engine.expressions import evaluate
from gladier.engine.validate import validate_flow
from gladier.exc import ExpressionError, FlowInputError, FlowValidationError

REFUSAL_SECONDS = 1.0
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STATE = {"s": "text", "n": 3, "m": -4, "l": [1, 2, 3], "d": {"k": "v"}}
COUNTS: dict[str, int] = {}


def _count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def print_fuzz_counts():
    """How many fuzz cases ran, printed after the file's last test, whichever tests were
    selected (for the closing note; run with -s)."""
    yield
    print("\nfuzz cases:", json.dumps(COUNTS, sort_keys=True))


def _refused_quickly(expression: str) -> ExpressionError:
    start = time.thread_time()
    with pytest.raises(ExpressionError) as refused:
        evaluate(expression, STATE, context={"run_id": "r"})
    elapsed = time.thread_time() - start
    assert elapsed < REFUSAL_SECONDS, f"{expression!r} took {elapsed:.2f} s of CPU time to refuse"
    return refused.value


# -- expression sandbox --------------------------------------------------------------------

ESCAPES = [
    "__import__('os').system('true')", "import os", "from os import system",
    "s.__class__", "s.__class__.__mro__[1].__subclasses__()",
    "().__class__.__base__.__subclasses__()", "int.__subclasses__()",
    "getattr(d, '__class__')", "getattr(l, '__len__')", "getattr(_context, '__class__')",
    "getattr(getattr, '__call__')", "getattr(s, 'upper')()",
    "'{0.__class__}'.format(s)", "'{0.__class__.__mro__}'.format(1)",
    "'{.__globals__}'.format(len)", "'{0[__builtins__]}'.format(d)",
    "'{a.__class__}'.format(a=s)", "'{0.__class__}'.format_map(d)",
    "'{k.__class__}'.format_map(d)", "s.format_map({'a': 1})",
    "(x for x in l).gi_frame", "(x for x in l).gi_frame.f_back.f_globals",
    "[x for x in l].__class__", "(lambda: 1)()", "type(s)", "vars()", "globals()", "locals()",
    "dir()", "eval('1')", "exec('1')", "compile('1', '', 'eval')", "open('/etc/passwd')",
    "breakpoint()", "help()", "input()", "s.__len__()", "d.__getitem__('k')", "len.__self__",
    "str.__dict__", "[].append.__self__", "{}.get.__globals__", "l.__iter__().__reduce__()",
    "f'{s.__class__}'", "f'{(lambda: 1)()}'", "'%(k)s' % d", "'%s' % s", "__builtins__",
    "_context.__dict__", "d.__class__", "s.mro", "sorted(l, key=print)",
    "max(l, key=getattr)", "[c for c in ().__class__.__base__.__subclasses__()]",
    "str(getattr)", "repr(len)", "x := 1", "del d", "await x", "yield 1",
    "[*().__class__.__bases__]", "{**d.__dict__}", "l.pop()", "d.clear()", "d.setdefault('x', 1)",
]

BOMBS = [
    "2 ** 10000000", "10 ** 10 ** 10", "9 ** 9 ** 9", "(2 ** 999) ** 999", "1 << 10 ** 9",
    "'a' * 10 ** 9", "['a'] * 10 ** 9", "[l] * 10 ** 8", "'ab' * 99999 * 99999",
    "list(range(10 ** 10))", "sum(range(10 ** 12))", "'x'.join(['a' * 50000] * 100)",
    "('a' * 90000) + ('b' * 90000)", "'a'.center(10 ** 9)", "'a'.zfill(10 ** 9)",
    "'{:0>1000000000}'.format(1)", "'{:,}'.format(10 ** 4000)", "'[' * 10 ** 6",
    "[" * 500 + "]" * 500, "-" * 5000 + "1", "not " * 3000 + "1",
    "[x for x in range(100000) for y in range(100000)]",
    "[1 for x in range(100000) for y in range(100000) if False]",
    "sum(1 for x in range(100000) for y in range(100000))",
    "any(False for x in range(100000) for y in range(100000))",
    "len([[y for y in range(100000)] for x in range(100000)])",
    "{x: x for x in range(10 ** 7)}", "{x for x in range(10 ** 7)}", "sorted(range(10 ** 9))",
    "str(10 ** 5000)", "int('9' * 100000)", "s.split() * 10 ** 9",
    "('a' * 99999).replace('', 'bb')", "[[l] * 10000] * 10000", "str([[l] * 1000] * 1000)",
    "str(d) * 10 ** 6", "[a for a in [[l] * 10000] for b in range(10000)]",
    "sorted([a for a in [[l] * 10000] for b in range(10000)])",
    "['a' * 99999] * 100000",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_sandbox_escape_is_refused_within_a_second(expression):
    _refused_quickly(expression)
    _count("sandbox escapes")


@pytest.mark.parametrize("expression", BOMBS, ids=[b[:40] for b in BOMBS])
def test_resource_bomb_is_refused_within_a_second(expression):
    _refused_quickly(expression)
    _count("resource bombs")


EVIL_TOKENS = st.sampled_from([
    "s", "l", "d", "n", "_context", "__class__", "__dict__", "__globals__", "__subclasses__",
    "__import__", "__builtins__", "getattr", "format", "format_map", "'{0.__class__}'",
    "'{0[k]}'", "'{:>99999999}'", "gi_frame", "f_globals", "mro", "type", "eval", ".", ",",
    "(", ")", "[", "]", "{", "}", "**", "*", "<<", "10", "99", "9999", "range", "for", "x",
    "in", "if", "lambda", ":", "'a'", "str", "sorted", "len", "sum", "join", "+", "1",
    "-", "m", "0.5", "1e308", "float", "'nan'",
])


def _assert_plain_json(result) -> None:
    """Standard JSON data: no NaN or Infinity, no complex number, no interpreter object."""
    json.dumps(result, allow_nan=False)


@settings(FUZZ, max_examples=2000)
@given(st.lists(EVIL_TOKENS, max_size=14).map(" ".join))
def test_random_hostile_expressions_give_data_or_expression_error_quickly(text):
    start = time.thread_time()
    try:
        result = evaluate(text, STATE, context={"run_id": "r"})
    except ExpressionError:
        pass
    else:
        _assert_plain_json(result)
    assert time.thread_time() - start < REFUSAL_SECONDS
    _count("random expressions")


NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "2.5", "1e308", "n", "m", "l[0]", "True"])
ARITHMETIC = st.recursive(
    NUMBERS,
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), inner)
    .map(lambda parts: "({} {} {})".format(*parts))
    | inner.map(lambda operand: f"-{operand}")
    | inner.map(lambda operand: f"float({operand})"),
    max_leaves=6,
)


@settings(FUZZ, max_examples=1000)
@given(ARITHMETIC)
def test_random_arithmetic_gives_json_numbers_or_expression_error(text):
    """Powers of negative numbers (complex), overflows (inf) and inf - inf (NaN) are refused:
    a result is always a number JSON can hold."""
    try:
        result = evaluate(text, STATE, context={"run_id": "r"})
    except ExpressionError:
        _count("random arithmetic refused")
    else:
        _assert_plain_json(result)
        _count("random arithmetic")


# -- definitions ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)
STATE_KEYS = ["Type", "Next", "End", "Parameters", "ResultPath", "InputPath", "Result",
              "Choices", "Default", "Catch", "Retry", "ActionUrl", "Seconds", "Timestamp",
              "SecondsPath", "WaitTime", "Error", "Cause", "Variable", "StringEquals",
              "And", "Or", "Not", "ErrorEquals", "Handler", "RunAs", "Comment"]
TYPES = ["Pass", "Choice", "Wait", "Action", "Fail", "ExpressionEval", "Succeed", "Map",
         "Parallel", "Task", "", None, 1]


def _corpus_definitions() -> list[dict]:
    found = sorted(CORPUS.glob("*/definition.json"))
    definitions = [json.loads(path.read_text()) for path in found]
    definitions.append({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.=": "input.n * 2", "p.$": "$.input"},
              "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.a.x", "NumericGreaterThan": 3,
                                             "Next": "C"}], "Default": "D"},
        "C": {"Type": "Wait", "Seconds": 1, "Next": "D"},
        "D": {"Type": "Fail", "Error": "E", "Cause": "c"}}})
    return definitions


DEFINITIONS = _corpus_definitions()


@st.composite
def mutated_definitions(draw) -> dict:
    """A real definition with a few random edits: keys dropped, values replaced by random
    JSON or by a value from elsewhere, state types swapped, transitions broken."""
    definition = copy.deepcopy(draw(st.sampled_from(DEFINITIONS)))
    for _ in range(draw(st.integers(1, 4))):
        states = definition.get("States")
        if not isinstance(states, dict) or not states:
            definition[draw(st.sampled_from(["StartAt", "States", "Comment"]))] = draw(JSON)
            continue
        name = draw(st.sampled_from(sorted(states, key=str)))
        state = states[name]
        edit = draw(st.sampled_from(["drop", "set", "type", "next", "rename", "top", "nest"]))
        if not isinstance(state, dict) or edit == "top":
            definition[draw(st.sampled_from(["StartAt", "States", "Comment", "X"]))] = \
                draw(JSON)
        elif edit == "drop" and state:
            state.pop(draw(st.sampled_from(sorted(state))))
        elif edit == "set":
            state[draw(st.sampled_from(STATE_KEYS))] = draw(JSON)
        elif edit == "type":
            state["Type"] = draw(st.sampled_from(TYPES))
        elif edit == "next":
            state["Next"] = draw(st.sampled_from(sorted(states) + ["Nowhere", "", None]))
        elif edit == "rename":
            states[draw(st.text(max_size=6))] = states.pop(name)
        else:
            state[draw(st.sampled_from(STATE_KEYS))] = copy.deepcopy(
                draw(st.sampled_from(DEFINITIONS)))
    return definition


def _validate_only_raises_validation_error(definition, schema=None) -> None:
    try:
        validate_flow(definition, schema)
    except FlowValidationError as err:
        assert err.problems, "a refusal lists its problems"
        for problem in err.problems:
            assert set(problem) >= {"state", "path", "message"}


@settings(FUZZ, max_examples=500)
@given(JSON, st.one_of(st.none(), JSON))
def test_random_json_as_a_definition_is_refused_only_with_flow_validation_error(
        definition, schema):
    _validate_only_raises_validation_error(definition, schema)
    _count("random definitions")


def test_mutated_corpus_definitions_are_refused_only_with_flow_validation_error():
    checked = []

    @settings(FUZZ, max_examples=2000)
    @given(mutated_definitions())
    def check(definition):
        _validate_only_raises_validation_error(definition)
        checked.append(definition)
        _count("mutated definitions")

    check()
    assert len(checked) >= 100, "hypothesis gave up on the mutated definitions"


# -- random run inputs -----------------------------------------------------------------------

INPUT_FLOWS = {
    "choose_and_compute": {"StartAt": "Look", "States": {
        "Look": {"Type": "Choice", "Default": "Compute", "Choices": [
            {"Variable": "$.input.n", "IsPresent": False, "Next": "NoNumber"},
            {"Variable": "$.input.n", "NumericGreaterThan": 100, "Next": "Big"}]},
        "Big": {"Type": "Fail", "Error": "TooBig", "Cause": "n is over 100"},
        "NoNumber": {"Type": "Pass", "Result": "none", "ResultPath": "$.kind", "End": True},
        "Compute": {"Type": "Pass", "ResultPath": "$.out", "Next": "Eval",
                    "Parameters": {"double.=": "input.n * 2", "name.$": "$.input.name",
                                   "parts.=": "pathsplit(input.path)"}},
        "Eval": {"Type": "ExpressionEval", "ResultPath": "$.eval", "End": True,
                 "Parameters": {"joined.=": "'/'.join(input.items)",
                                "first.=": "input.items[0]"}}}},
    "actions_with_catch": {"StartAt": "Hello", "States": {
        "Hello": {"Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
                  "Parameters": {"echo_string.$": "$.input.name"}, "ResultPath": "$.hello",
                  "Next": "Eval",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught",
                             "ResultPath": "$.error"}]},
        "Eval": {"Type": "Action", "ActionUrl": "https://actions.globus.org/expression_eval",
                 "Parameters": {"expression.$": "$.input.expression",
                                "arguments.$": "$.input"}, "ResultPath": "$.eval",
                 "End": True},
        "Caught": {"Type": "Pass", "End": True}}},
    "powers": {"StartAt": "Root", "States": {
        "Root": {"Type": "ExpressionEval", "ResultPath": "$.powers", "End": True,
                 "Parameters": {"root.=": "input.n ** 0.5", "huge.=": "input.n * 1e307"}}}},
    "wait_and_paths": {"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "SecondsPath": "$.input.seconds", "Next": "Pick"},
        "Pick": {"Type": "Pass", "InputPath": "$.input.d", "ResultPath": "$.picked",
                 "End": True}}},
}
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=False)
    | st.text(max_size=10) | st.sampled_from(["1 + 1", "x.y", "__import__('os')", "/a/b/c",
                                              "'a' * 10 ** 9", "n * 2"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)
#: Numbers for ``n``, which the flows compute with: negative ones, fractions, huge ones,
#: and NaN and Infinity (which run input may not hold).
NUMBERS_IN = (st.integers(-1000, 1000) | st.floats(-1e308, 1e308)
              | st.sampled_from([-4, -0.5, 0.5, 1e308, float("nan"), float("-inf")]))
INPUTS = st.fixed_dictionaries({}, optional={
    "n": st.one_of(NUMBERS_IN, VALUES), "name": VALUES, "path": VALUES, "items": VALUES,
    "expression": VALUES,
    "seconds": st.one_of(st.integers(-5, 3), VALUES), "d": VALUES})


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory):
    engine = LocalEngine(str(tmp_path_factory.mktemp("fuzz") / "engine.db"), time_scale=0.01)
    flows = {name: engine.create_flow(definition)["id"]
             for name, definition in INPUT_FLOWS.items()}
    yield engine, flows
    engine.close()


@pytest.mark.parametrize("flow", sorted(INPUT_FLOWS))
def test_random_inputs_end_succeeded_or_failed_with_a_reason(fuzz_engine, flow):
    engine, flows = fuzz_engine

    @settings(FUZZ, max_examples=80)
    @given(INPUTS)
    def run_one(data):
        try:
            run = engine.run_flow(flows[flow], {"input": data})
        except FlowInputError:
            _count("random inputs refused up front")
            return
        final = engine.wait(run["run_id"], timeout=30)
        assert final["status"] in ("SUCCEEDED", "FAILED")
        _assert_plain_json(final)
        if final["status"] == "FAILED":
            error = final["details"]["details"]
            assert error["cause"] and error["exception"] and error["state_name"]
            _count("random inputs ending FAILED with a reason")
        _count("random inputs run")

    run_one()
    sane = engine.run_flow(flows["wait_and_paths"], {"input": {"seconds": 0, "d": {}}})
    still = engine.wait(sane["run_id"], timeout=30)
    assert still["status"] == "SUCCEEDED", "the engine stopped working after the fuzzing"
