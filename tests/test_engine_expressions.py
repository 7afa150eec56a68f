import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from gladier.engine import expressions
from gladier.engine.expressions import compile_expression, evaluate, referenced_paths
from gladier.exc import ExpressionError

STATE = {
    "source": {"path": "/data/run1/", "id": "src"},
    "destination": {"path": "/~/out"},
    "ls_results": {"details": {"DATA": [{"name": "a.txt"}, {"name": "b.txt"}], "total": 2}},
    "source_paths": ["/a/file", "/b/dir/", "/~/x"],
    "compute_func_result": {"details": {"result": ["/tmp/job/archive.tar.gz"]}},
    "DestinationStat": {"details": {"code": "NotFound"}},
    "numbers": [3, 1, 2],
    "flag": False,
}
CONTEXT = {"run_id": "run-1", "username": "alice@example.org", "email": None,
           "user_id": "urn:globus:auth:identity:1"}


def ev(expression, state=STATE):
    return evaluate(expression, state, context=CONTEXT)


def test_list_comprehension_from_looping_batched_move_corpus_flow():
    expr = ("[{'source_path': source.path.rstrip('/') + '/' + item.name, "
            "'destination_path': destination.path.rstrip('/') + '/' + item.name} "
            "for item in ls_results.details.DATA]")
    assert ev(expr) == [
        {"source_path": "/data/run1/a.txt", "destination_path": "/~/out/a.txt"},
        {"source_path": "/data/run1/b.txt", "destination_path": "/~/out/b.txt"},
    ]


def test_repeated_list_comparison_from_tar_and_transfer_corpus_flow():
    expr = ("['~' in source_path or source_path == '/' for source_path in source_paths]"
            " == [False] * len(source_paths)")
    assert ev(expr) is False
    assert ev(expr, {"source_paths": ["/a", "/b"]}) is True


def test_getattr_default_and_pathsplit_from_tar_and_transfer_corpus_flow():
    expr = "getattr('destination_path', '/~/' + pathsplit(compute_func_result.details.result[0])[1])"
    assert ev(expr) == "/~/archive.tar.gz"
    assert ev(expr, {**STATE, "destination_path": "/given"}) == "/given"
    assert ev("getattr('nope.deeper[3]')") is None


@pytest.mark.parametrize("path, expected", [
    ("/~/path", ["/~/", "path"]),
    ("/foo/bar/blech", ["/foo/bar", "blech"]),
    ("/file", ["/", "file"]),
    ("/dir/", ["/dir", ""]),
])
def test_pathsplit_is_transfer_aware(path, expected):
    assert evaluate("pathsplit(p)", {"p": path}) == expected


def test_backtick_paths_and_context_from_admin_signoff_corpus_flow():
    expr = "(`$._context.email` or `$._context.username`) + ' (' + `$._context.user_id` + ')'"
    assert ev(expr) == "alice@example.org (urn:globus:auth:identity:1)"
    assert ev("str(len(`$.ls_results.details.DATA`))") == "2"
    assert ev("'a`b' + `$.source.id`") == "a`bsrc"


def test_conditional_chain_and_membership_from_two_hop_corpus_flow():
    state = {"source": {"path": "/x/dir/"}, "PathTypes": {"source_is_dir": True,
             "source_is_default_dir": False, "source_is_root": False}}
    expr = ("source.path.rpartition('/')[2] if not PathTypes.source_is_dir else 'DEFAULT' "
            "if PathTypes.source_is_default_dir else 'ROOT' if PathTypes.source_is_root "
            "else source.path.split('/')[-2]")
    assert evaluate(expr, state) == "dir"
    assert ev("'code' not in DestinationStat.details or DestinationStat.details.code != 'NotFound'") is False
    assert ev("'type' in DestinationStat.details and DestinationStat.details.type == 'dir'") is False


def test_context_name_and_is_present():
    assert ev("_context.run_id + '/'") == "run-1/"
    assert ev("is_present('ls_results.details.DATA[1].name')") is True
    assert ev("is_present('ls_results.details.DATA[5]')") is False
    assert ev("is_present('_context.run_id')") is True


def test_builtins_comprehensions_and_methods():
    assert ev("[len(numbers), int('4'), float('1.5'), str(7), list('ab'), tuple(numbers)]") == [
        3, 4, 1.5, "7", ["a", "b"], [3, 1, 2]]
    assert ev("{k: len(v) for k, v in source.items()}") == {"path": 11, "id": 3}
    assert ev("'-'.join(['a', 'b']).upper().replace('-', '+')") == "A+B"
    assert ev("source.get('missing', 'dflt')") == "dflt"
    assert ev("numbers.index(2)") == 2
    assert ev("source_paths[-1].startswith('/~')") is True
    assert ev("[n for n in numbers if n > 1]") == [3, 2]
    assert ev("numbers[1:]") == [1, 2]
    assert ev("rpart[0]", {"rpart": ["x"]}) == "x"
    assert ev("f'{len(numbers)} items'") == "3 items"
    assert ev("2 ** 5000 > 2 ** 4999") is True  # simpleeval allows it; so does the engine


def test_result_is_a_copy_never_aliasing_run_state():
    state = {"obj": {"inner": [1]}}
    result = evaluate("obj", state)
    result["inner"].append(2)
    assert state == {"obj": {"inner": [1]}}
    assert evaluate("'a/b'.rpartition('/')", {}) == ["a", "/", "b"]


def test_undefined_name_is_named_in_error():
    with pytest.raises(ExpressionError, match="'missing_key' is not defined"):
        ev("missing_key + 1")
    with pytest.raises(ExpressionError, match="no attribute or key 'nope'"):
        ev("source.nope")
    with pytest.raises(ExpressionError, match=r"\$\.source\.nope"):
        ev("`$.source.nope`")


@pytest.mark.parametrize("expression, refused", [
    ("__import__('os')", "__import__"),
    ("source.__class__", "__class__"),
    ("().__class__.__bases__", "__class__"),
    ("input._private_pw", "'_private_pw'"),
    ("import os", "imports are not allowed"),
    ("lambda: 1", "lambda"),
    ("open('/etc/passwd')", "the function 'open' is not available"),
    ("eval('1')", "the function 'eval' is not available"),
    ("sorted(numbers)", "the function 'sorted' is not available"),
    ("source_paths.append('x')", "method 'append'"),
    ("source.update({})", "method 'update'"),
    ("'{0.__class__}'.format(1)", "__class__|method 'format'"),
    ("'{}'.format(1)", "method 'format'"),
    ("'{x}'.format_map(source)", "method 'format_map'"),
    ("'%s' % 1", "'%' string formatting"),
    ("{n for n in numbers}", "set comprehensions"),
    ("x := 1", "not valid syntax|NamedExpr"),
    ("a = 1", "statements"),
    ("len", "can only be called"),
    ("len(*numbers)", r"'\*'"),
])
def test_sandbox_refusals_name_what_was_refused(expression, refused):
    with pytest.raises(ExpressionError, match=refused):
        ev(expression)


@pytest.mark.parametrize("expression, limit", [
    ("2 ** 100001", "MAX_INTEGER_BITS"),
    ("9 ** 9 ** 9", "MAX_INTEGER_BITS"),
    ("(10 ** 900) ** 900", "MAX_INTEGER_BITS"),
    ("1 << 100000", "MAX_INTEGER_BITS"),
    ("'a' * 10 ** 6", "MAX_STRING_LENGTH"),
    ("[0] * 10 ** 6", "MAX_COLLECTION_LENGTH"),
    ("[x for x in thousand for y in thousand]", "MAX_COMPREHENSION_LENGTH"),
    ("'x'.join(['a' * 50000] * 3)", "MAX_STRING_LENGTH"),
    ("('a' * 50000).replace('a', 'bbb')", "MAX_STRING_LENGTH"),
    ("'x'.ljust(10 ** 9)", "MAX_STRING_LENGTH"),
    ("f'{1:>999999999}'", "MAX_STRING_LENGTH"),
    ("str([('a' * 90000)] * 2)", "MAX_STRING_LENGTH"),
    ("[" * 100 + "]" * 100, "MAX_NESTING_DEPTH"),
    ("'" + "a" * (expressions.MAX_EXPRESSION_LENGTH + 1) + "'", "MAX_EXPRESSION_LENGTH"),
])
def test_size_limits_refuse_with_the_limit_named(expression, limit):
    with pytest.raises(ExpressionError, match=limit):
        ev(expression, {**STATE, "thousand": list(range(1000))})


@pytest.mark.parametrize("expression", [
    "{i: 'x' * 99999 for i in many}",
    "['x' * 99999 for i in many]",
    "[['x' * 99999] * 40 for i in many]",
])
def test_comprehensions_are_refused_as_soon_as_what_they_built_passes_the_size_limit(
        expression):
    with pytest.raises(ExpressionError, match="MAX_RESULT_SIZE") as refused:
        ev(expression, {**STATE, "many": list(range(9000))})
    size = int(re.search(r"about (\d+) characters", str(refused.value)).group(1))
    assert expressions.MAX_RESULT_SIZE < size <= expressions.MAX_RESULT_SIZE + 4_000_100, \
        "refused only after building more than one item past the limit"


def test_time_budget_stops_long_running_expressions_while_they_run(monkeypatch):
    monkeypatch.setattr(expressions, "MAX_EVALUATION_SECONDS", 0.001)
    thousand = list(range(1000))
    with pytest.raises(ExpressionError, match="MAX_EVALUATION_SECONDS"):
        ev("[1 for x in thousand for y in thousand[:9] if False]", {"thousand": thousand})


def test_time_the_evaluating_thread_does_not_run_is_not_spent_from_the_budget(monkeypatch):
    """A busy machine, or another thread holding the GIL, keeps the evaluating thread off the
    CPU: here a function that sleeps past the whole budget, so the next node comes after
    the wall-clock deadline. Only CPU time counts: the expression is not refused."""
    monkeypatch.setattr(expressions, "MAX_EVALUATION_SECONDS", 0.05)
    monkeypatch.setitem(expressions.FUNCTIONS, "off_cpu", lambda: time.sleep(0.2) or 1)
    assert ev("[off_cpu() + n for n in numbers]") == [4, 2, 3]


@pytest.mark.parametrize("expression", ["1/0", "'a' + 1", "int('x')", "numbers[10]", "min([])", "`broken"])
def test_runtime_failures_become_expression_errors(expression):
    with pytest.raises(ExpressionError):
        ev(expression)


@pytest.mark.parametrize("expression, held", [
    ("(-numbers[0]) ** 0.5", "complex number"),
    ("[1, (-2) ** 0.5]", "complex number"),
    ("{'x': float('nan')}", "nan"),
    ("float('inf')", "inf"),
    ("-(numbers[0] * 1e308 * 10)", "-inf"),
])
def test_results_json_cannot_hold_are_refused_naming_the_expression(expression, held):
    with pytest.raises(ExpressionError) as refused:
        ev(expression)
    assert str(refused.value).startswith(f"Expression {expression!r}: the result holds")
    assert held in str(refused.value)


def test_numbers_json_cannot_hold_may_be_used_on_the_way_to_a_result():
    assert ev("[n for n in numbers + [float('inf')] if n < 10]") == [3, 1, 2]
    assert ev("(-4) ** 0.5 != 0") is True


def test_compile_expression_reports_syntax_errors_without_evaluating():
    with pytest.raises(ExpressionError, match="not valid syntax"):
        compile_expression("1 +")
    assert compile_expression("undefined_is_fine_statically + 1").paths == ()
    assert compile_expression("`$.a.b` + `$.c`").paths == ("$.a.b", "$.c")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_only_ever_raises_expression_error(text):
    try:
        evaluate(text, {"a": {"b": [1, "x"]}, "s": "str"}, context={"run_id": "r"})
    except ExpressionError:
        pass


TOKENS = st.sampled_from([
    "a", "a.b", "s", "n", "_context", "`$.a.b`", "`$.n`", "1", "0", "-1", "2.5", "'x'", "''", "None",
    "True", "[", "]", "(", ")", "{", "}", ",", ":", "+", "-", "*", "/", "//", "%", "**", "==", "<",
    "in", "not", "and", "or", "if", "else", "for", "x", "len", "str", "int", "sorted", "range",
    "pathsplit", "getattr", "is_present", ".", "split", "join", "format", "[0]", "[-1]", "[1:]",
    "'{}'", "keys", "items", "get",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=12).map(" ".join))
def test_token_soup_only_ever_raises_expression_error(text):
    state = {"a": {"b": [1, "x", {"c": None}]}, "s": "a/b/c", "n": 3}
    try:
        evaluate(text, state, context={"run_id": "r"})
    except ExpressionError:
        pass


def test_referenced_paths_lists_backticks_and_free_names_but_not_loop_variables_or_functions():
    expr = ("[{'p': source.path + '/' + item.name} for item in ls.DATA] + "
            "[len(`$.extra.list`), _context.run_id]")
    assert sorted(referenced_paths(expr)) == ["$.extra.list", "$.ls", "$.source"]
