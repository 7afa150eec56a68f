"""Differential tests: expressions run through the engine give what simpleeval itself gives.

The Globus Flows docs (Authoring Flows > Expressions) say expressions are evaluated with
simpleeval; the engine runs them on simpleeval's EvalWithCompoundTypes with a thin layer
(backtick paths, ``_context``, JSON results, limits). Each row here is evaluated by plain
simpleeval (the reference, as the service would) and by :func:`evaluate`; the results must
be equal once simpleeval's is written as JSON (tuples become lists). Rows come from the
Globus docs, from the expressions of Globus's example flows (shared/flows-corpus), and edge
cases. The last table lists where the engine deliberately refuses what simpleeval allows,
each with the reason.
"""

import json
import posixpath
import tracemalloc

import pytest
import simpleeval

from gladier.engine.expressions import FUNCTIONS, evaluate, refusals
from gladier.engine.validate import check_flow
from gladier.exc import ExpressionError

CONTEXT = {"run_id": "run-1", "username": "u@example.org", "email": None}
# "For the following description, assume that the input to (or current state of) a flow
# run is as follows: {"foo": "bar", "object_val": {"sub_val1": "embedded", "sub_val2":
# "also_embedded"}}" (Globus docs, Expressions)
DOCS_STATE = {"foo": "bar", "object_val": {"sub_val1": "embedded", "sub_val2": "also_embedded"}}
CORPUS_STATE = {
    "source": {"path": "/data/run1/", "id": "src"},
    "destination": {"path": "/~/out/"},
    "intermediate": {"path": "/scratch/"},
    "ls_results": {"details": {"DATA": [{"name": "a.txt"}, {"name": "b.txt"}]}},
    "SourceStat": {"details": {"type": "dir"}},
    "DestinationStat": {"details": {"code": "NotFound"}},
    "IntermediateStat": {"details": {"type": "file"}},
    "PathTypes": {"source_is_dir": True, "source_is_default_dir": False,
                  "source_is_root": False},
    "ComputedIntermediatePath": {"basename": "run1"},
    "ComputedTaskData": {"intermediate_path": "/scratch/run-1/run1"},
    "source_paths": ["/a/file.h5", "/b/dir/"],
    "run_vars": {"compute_output_directory": "/out/"},
    "compute_func_result": {"details": {"result": ["/tmp/job/archive.tar.gz"]}},
}
EDGE_STATE = {"n": 7, "l": [3, 1, 2], "d": {"k": "v", "items": [1]}, "s": " a,b ",
              "t": True, "z": None}


def _pathsplit(path):
    head, tail = posixpath.split(path)
    return [head + "/" if head in ("/~", "~") else head, tail]


def reference(expression, state):
    """What plain simpleeval (EvalWithCompoundTypes) gives, written as JSON."""
    functions = {name: FUNCTIONS[name] for name in ("len", "str", "int", "float")}
    functions["pathsplit"] = _pathsplit
    functions["getattr"] = lambda key, default=None: state.get(key, default)
    evaluator = simpleeval.EvalWithCompoundTypes(
        functions=functions, names={**state, "_context": CONTEXT})
    return json.loads(json.dumps(evaluator.eval(expression)))


TABLE = [
    # Globus docs, Expressions: "the following would be a valid expression: foo + ' ' +
    # object_val.sub_val1 which would yield the string bar embedded"
    ("foo + ' ' + object_val.sub_val1", DOCS_STATE, "bar embedded"),
    ("object_val.sub_val2.upper()", DOCS_STATE, "ALSO_EMBEDDED"),
    ("[foo] + [object_val.sub_val1]", DOCS_STATE, ["bar", "embedded"]),
    # Globus's example flows (shared/flows-corpus), each expression as written there
    ("[{'source_path': source.path.rstrip('/') + '/' + item.name, 'destination_path': "
     "destination.path.rstrip('/') + '/' + item.name} for item in ls_results.details.DATA]",
     CORPUS_STATE, None),
    ("[{'path': source.path.rstrip('/') + '/' + item.name} for item in ls_results.details.DATA]",
     CORPUS_STATE, None),
    ("SourceStat.details.type == 'dir'", CORPUS_STATE, True),
    ("'type' in DestinationStat.details and DestinationStat.details.type == 'dir'",
     CORPUS_STATE, False),
    ("'code' not in DestinationStat.details or DestinationStat.details.code != 'NotFound'",
     CORPUS_STATE, False),
    ("destination.path + source.path.rpartition('/')[2]", CORPUS_STATE, "/~/out/"),
    ("'/' + _context.run_id + '/'", CORPUS_STATE, "/run-1/"),
    ("['~' in source_path or source_path == '/' for source_path in source_paths] == "
     "[False] * len(source_paths)", CORPUS_STATE, True),
    ("getattr('destination_path', '/~/' + pathsplit(compute_func_result.details.result[0])[1])",
     CORPUS_STATE, "/~/archive.tar.gz"),
    ("compute_func_result.details.result[0]", CORPUS_STATE, "/tmp/job/archive.tar.gz"),
    ("[run_vars.compute_output_directory + pathsplit(source_path.rstrip('/'))[1] + '/' if "
     "source_path.endswith('/') else run_vars.compute_output_directory + "
     "pathsplit(source_path)[1] for source_path in source_paths]", CORPUS_STATE,
     ["/out/file.h5", "/out/dir/"]),
    ("[{'source_path': source_path, 'destination_path': run_vars.compute_output_directory + "
     "pathsplit(source_path.rstrip('/'))[1] + '/' if source_path.endswith('/') else "
     "run_vars.compute_output_directory + pathsplit(source_path)[1], 'recursive': True if "
     "source_path.endswith('/') else False} for source_path in source_paths]", CORPUS_STATE,
     None),
    ("source.path == '/~/'", CORPUS_STATE, False),
    ("source.path.rpartition('/')[2] if not PathTypes.source_is_dir else 'DEFAULT' if "
     "PathTypes.source_is_default_dir else 'ROOT' if PathTypes.source_is_root else "
     "source.path.split('/')[-2]", CORPUS_STATE, "run1"),
    ("intermediate.path.rstrip('/') + '/' + _context.run_id + '/' + "
     "ComputedIntermediatePath.basename", CORPUS_STATE, "/scratch/run-1/run1"),
    ("ComputedTaskData.intermediate_path", CORPUS_STATE, "/scratch/run-1/run1"),
    # edge cases
    ("2 ** 5000 > 2 ** 4999", EDGE_STATE, True),
    ("7 / 2", EDGE_STATE, 3.5), ("n // 2", EDGE_STATE, 3), ("n % 3", EDGE_STATE, 1),
    ("-n", EDGE_STATE, -7), ("1 < n < 10", EDGE_STATE, True),
    ("t and 0", EDGE_STATE, 0), ("z or 'x'", EDGE_STATE, "x"), ("not l", EDGE_STATE, False),
    ("'a' in s", EDGE_STATE, True), ("s.strip().split(',')", EDGE_STATE, ["a", "b"]),
    ("'abc'[::-1]", EDGE_STATE, "cba"), ("l[1:]", EDGE_STATE, [1, 2]),
    ("(1, 2)", EDGE_STATE, [1, 2]), ("{'a': n}['a']", EDGE_STATE, 7),
    ("d.get('nope', 0)", EDGE_STATE, 0), ("list(d.keys())", EDGE_STATE, ["k", "items"]),
    ("d['items']", EDGE_STATE, [1]), ("[x for x in l if x % 2]", EDGE_STATE, [3, 1]),
    ("{k: v for k, v in [('a', 1), ('b', 2)]}", EDGE_STATE, {"a": 1, "b": 2}),
    ("[[x, y] for x in l[:2] for y in 'ab']", EDGE_STATE,
     [[3, "a"], [3, "b"], [1, "a"], [1, "b"]]),
    ("f'{n:03d}-{s.strip()}'", EDGE_STATE, "007-a,b"), ("str(1.5) + str(z)", EDGE_STATE, "1.5None"),
    ("int('7') + float('0.5')", EDGE_STATE, 7.5), ("len(d) + len('abc')", EDGE_STATE, 5),
    ("(1).real", EDGE_STATE, 1), ("[*l, 4]", EDGE_STATE, [3, 1, 2, 4]),
    ("{**d, 'k': 1}['k']", EDGE_STATE, 1), ("'x' * 3 + 'y'", EDGE_STATE, "xxxy"),
]


@pytest.mark.parametrize("expression, state, expected", TABLE, ids=[r[0][:50] for r in TABLE])
def test_engine_gives_what_simpleeval_gives(expression, state, expected):
    wanted = reference(expression, state)
    if expected is not None:
        assert wanted == expected  # what simpleeval itself gives, written down
    assert evaluate(expression, state, context=CONTEXT) == wanted


@pytest.mark.parametrize("expression, state", [
    ("sorted(l)", EDGE_STATE), ("max(l)", EDGE_STATE), ("range(3)", EDGE_STATE),
    ("d._private", EDGE_STATE), ("'{}'.format(n)", EDGE_STATE), ("s.format_map(d)", EDGE_STATE),
    ("{x for x in l}", EDGE_STATE), ("lambda: 1", EDGE_STATE), ("nope + 1", EDGE_STATE),
])
def test_what_simpleeval_refuses_the_engine_refuses(expression, state):
    with pytest.raises(Exception):
        reference(expression, state)
    with pytest.raises(ExpressionError):
        evaluate(expression, state, context=CONTEXT)


@pytest.mark.parametrize("expression, why", [
    ("'%s' % n", "'%' string formatting"),  # '%0999999999d' % 1 would build a gigabyte
    ("l.append(4)", "method 'append'"),  # would change the run state in place
    ("d.update({})", "method 'update'"),
    ("(1).to_bytes(3, 'big')", "method 'to_bytes'"),  # to_bytes(10**9) is a gigabyte
    ("len", "can only be called"),  # simpleeval gives the function object
    ("d.items", "JSON cannot hold"),  # simpleeval gives the bound method
    ("f'{n:>999999999}'", "MAX_STRING_LENGTH"),  # simpleeval builds the gigabyte
    ("9 ** 99999", "MAX_INTEGER_BITS"),  # simpleeval's MAX_POWER is 4000000
])
def test_where_the_engine_refuses_what_simpleeval_allows(expression, why):
    if expression != "f'{n:>999999999}'":  # too big to build here, even for the reference
        # simpleeval evaluates it (raising nothing)
        simpleeval.EvalWithCompoundTypes(names=EDGE_STATE, functions={"len": len}).eval(expression)
    with pytest.raises(ExpressionError, match=why):
        evaluate(expression, EDGE_STATE, context=CONTEXT)


@pytest.mark.parametrize("expression", [
    "'{:>999999999}'.format(1)",          # 25 characters: simpleeval refuses format
    "'{:>99999999999999999999}'.format(1)",
    "f'{1:>99999999999999999999}'",
    "'%099999999999999999999d' % 1",
    "'x'.center(99999999999999999999)",
    "(1).to_bytes(999999999999, 'big')",
])
def test_short_amplification_expressions_allocate_no_more_than_a_few_mb(expression):
    """A 35-character str.format expression allocated over 1 GB before it was refused."""
    assert len(expression) <= 40
    tracemalloc.start()
    try:
        with pytest.raises(ExpressionError):
            evaluate(expression, {}, context=CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"{expression!r} allocated {peak} bytes"


def test_validate_warns_when_an_expression_uses_what_the_evaluator_refuses():
    definition = {"StartAt": "E", "States": {"E": {
        "Type": "ExpressionEval", "ResultPath": "$.out", "End": True,
        "Parameters": {"a.=": "sorted(input.l)", "b.=": "'{}'.format(1)",
                       "c.=": "input._secret", "ok.=": "len(input.l)"}}}}
    problems, warnings = check_flow(definition)
    assert problems == []
    by_key = {w["path"]: w["message"] for w in warnings}
    assert "the function 'sorted' is not available" in by_key["$.States.E.Parameters['a.=']"]
    assert "the method 'format' is not available" in by_key["$.States.E.Parameters['b.=']"]
    assert "'_secret'" in by_key["$.States.E.Parameters['c.=']"]
    assert "$.States.E.Parameters['ok.=']" not in by_key
    assert refusals("len(input.l)") == []


def test_every_resource_bomb_is_refused_under_100_mb():
    from test_reliability_fuzz import BOMBS, STATE

    heaviest = (0, "")
    for bomb in BOMBS:
        tracemalloc.start()
        try:
            with pytest.raises(ExpressionError):
                evaluate(bomb, STATE, context=CONTEXT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        heaviest = max(heaviest, (peak, bomb))
    assert heaviest[0] < 100 * 1024 * 1024, f"{heaviest[1]!r} allocated {heaviest[0]} bytes"
