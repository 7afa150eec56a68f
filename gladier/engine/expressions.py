"""The expression language of ``"key.=": "..."`` parameters, on simpleeval.

The Flows service documents that it evaluates expressions with simpleeval; this module runs
them on simpleeval's ``EvalWithCompoundTypes`` too, so an expression gives the same result
locally and on Globus. A thin layer on top keeps what this project adds:

- `` `$.a.b` `` (backticks) reads a JSONPath; ``_context`` is always the run context;
- the functions are the ones the Globus docs and examples use (:data:`FUNCTIONS`);
- results become JSON data (tuples and sets become lists, nothing aliases the run state);
- limits, each a module constant, enforced while the expression runs: a time budget checked
  at every node, sizes checked before a string, list or number is built (simpleeval's own
  limits let a short ``f'{1:>999999999}'`` allocate a gigabyte);
- refusals name what was refused; :func:`refusals` lists, for ``gladier validate``, what an
  expression uses that simpleeval (or this layer) will refuse when it runs.

simpleeval is imported on first use: ``import gladier`` stays fast.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import posixpath
import time
import types
import typing as t

from gladier.engine.paths import format_path, get_path, parse_query
from gladier.exc import ExpressionError, PathError

MAX_EXPRESSION_LENGTH = 20_000
"""Longest expression source accepted, in characters."""
MAX_STRING_LENGTH = 100_000
"""Longest string an expression may build (simpleeval's own MAX_STRING_LENGTH)."""
MAX_COLLECTION_LENGTH = 100_000
"""Most items a list, dict or set built by an expression may hold."""
MAX_INTEGER_BITS = 100_000
"""Largest integer (in bits) an expression may build: ``2 ** 5000`` is fine (simpleeval
allows it), ``9 ** 9 ** 9`` is refused before it is computed."""
MAX_NESTING_DEPTH = 60
"""Deepest syntax tree accepted (nested brackets, calls, operators)."""
MAX_EVALUATION_SECONDS = 0.5
"""Time budget of one evaluation (CPU time of the thread evaluating it), checked at every
node it evaluates."""
MAX_RESULT_SIZE = 5_000_000
"""Largest approximate size (characters of its text form) of what one evaluation builds in
all (strings and lists made by operators, calls and comprehensions, each repeated object
counted again) and of its result."""

_BACKTICK_PREFIX = "_jsonpath_ref_"
_REFUSED_METHODS = frozenset({
    # they change the run state in place (simpleeval would allow them)
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "sort", "reverse",
    "update", "setdefault", "add", "discard", "intersection_update", "difference_update",
    "symmetric_difference_update",
    # they build unbounded output from a short call
    "to_bytes", "expandtabs", "translate", "maketrans", "encode",
})
_UNSUPPORTED_SYNTAX = {
    ast.Lambda: "lambda", ast.SetComp: "set comprehensions", ast.NamedExpr: "':='",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
}


# ---------------------------------------------------------------------------------------
# Functions an expression may call


def _pathsplit(path: str) -> list[str]:
    """Split a Transfer path into [head, tail]; the home prefix ``/~/`` keeps its slash."""
    if not isinstance(path, str):
        raise ExpressionError(f"pathsplit() needs a string path, not {_type_name(path)}")
    head, tail = posixpath.split(path)
    if head in ("/~", "~"):
        head += "/"
    return [head, tail]


def _len(value: t.Any) -> int:
    return len(value)


FUNCTIONS: dict[str, t.Callable[..., t.Any]] = {
    "len": _len, "str": str, "int": int, "float": float,
    "list": list, "dict": dict, "tuple": tuple, "set": set,
    "pathsplit": _pathsplit,
}
"""Functions callable by name: ``pathsplit``, ``is_present`` and ``getattr`` (added per run,
they read the run state) as the Globus docs list them, the builtins Globus's examples use
(``len``, ``str``) and simpleeval's defaults (``int``, ``float``, ``str``; ``list``,
``dict``, ``tuple``, ``set`` from EvalWithCompoundTypes) but its random numbers."""
RUN_STATE_FUNCTIONS = frozenset({"is_present", "getattr"})


# ---------------------------------------------------------------------------------------
# Compilation: backticks, parsing, static refusals


class CompiledExpression(t.NamedTuple):
    tree: ast.Expression
    paths: tuple[str, ...]
    """Reference paths written in backticks; ``_jsonpath_ref_<i>`` names the i-th."""
    refused: tuple[str, ...] = ()
    """What evaluation will refuse, seen without evaluating."""


def _extract_backticks(expression: str) -> tuple[str, tuple[str, ...]]:
    """Replace each `` `$.path` `` outside string literals by a placeholder name."""
    out: list[str] = []
    paths: list[str] = []
    i, n = 0, len(expression)
    while i < n:
        char = expression[i]
        if char in "'\"":
            quote = expression[i : i + 3] if expression[i : i + 3] in ("'''", '"""') else char
            end = i + len(quote)
            while end < n and not expression.startswith(quote, end):
                end += 2 if expression[end] == "\\" else 1
            end = min(end + len(quote), n)
            out.append(expression[i:end])
            i = end
        elif char == "`":
            close = expression.find("`", i + 1)
            if close < 0:
                raise ExpressionError(
                    f"Expression {expression!r} has an unclosed backtick at character {i}"
                )
            path = expression[i + 1 : close].strip()
            try:
                parse_query(path)
            except PathError as exc:
                raise ExpressionError(f"Bad path in backticks in {expression!r}: {exc}") from None
            out.append(f" {_BACKTICK_PREFIX}{len(paths)} ")
            paths.append(path)
            i = close + 1
        else:
            out.append(char)
            i += 1
    return "".join(out), tuple(paths)


def _syntax_error(expression: str, exc: SyntaxError) -> ExpressionError:
    try:
        statements = ast.parse(expression, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        statements = None
    if statements is not None:
        for node in ast.walk(statements):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                return ExpressionError(f"Expression {expression!r} refused: imports are not allowed")
        return ExpressionError(
            f"Expression {expression!r} refused: statements (assignments, imports, ...) are "
            "not allowed, only a single expression"
        )
    return ExpressionError(f"Expression {expression!r} is not valid syntax: {exc.msg}")


def _tree_depth(tree: ast.AST) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _static_refusals(tree: ast.AST) -> list[str]:
    """What simpleeval (or this layer) refuses, seen without evaluating."""
    found: list[str] = []
    callable_names = set(FUNCTIONS) | RUN_STATE_FUNCTIONS
    for node in ast.walk(tree):
        if type(node) in _UNSUPPORTED_SYNTAX:
            found.append(f"{_UNSUPPORTED_SYNTAX[type(node)]} is not available")
        elif isinstance(node, ast.Attribute) and node.attr.startswith(("_", "func_")):
            found.append(f"the attribute '{node.attr}' (names starting with '_' are never "
                         "accessible)")
        elif isinstance(node, ast.Attribute) and node.attr in ("format", "format_map", "mro"):
            found.append(f"the method '{node.attr}' is not available (use + or an f-string)")
        elif isinstance(node, ast.Attribute) and node.attr in _REFUSED_METHODS:
            found.append(f"the method '{node.attr}' is not allowed")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            found.append(f"the name '{node.id}' (names starting with '__' are never "
                         "accessible)")
        elif isinstance(node, ast.Call):
            if any(isinstance(a, ast.Starred) for a in node.args):
                found.append("'*' arguments are not available in calls")
            if any(keyword.arg is None for keyword in node.keywords):
                found.append("'**' arguments are not available in calls")
            if isinstance(node.func, ast.Name) and node.func.id not in callable_names:
                found.append(f"the function '{node.func.id}' is not available (functions: "
                             f"{', '.join(sorted(callable_names))})")
            elif not isinstance(node.func, (ast.Name, ast.Attribute)):
                found.append(f"calling '{ast.unparse(node.func)}' is not available")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(
                node.left, (ast.Constant, ast.JoinedStr)) and isinstance(
                getattr(node.left, "value", ""), str):
            found.append("'%' string formatting is not allowed (use + or an f-string)")
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=2048)
def compile_expression(expression: str) -> CompiledExpression:
    """Parse an expression; raise ExpressionError if it is not one (syntax, a statement,
    past MAX_EXPRESSION_LENGTH or MAX_NESTING_DEPTH). The validator calls this to report
    bad expressions before a run starts; :func:`refusals` says what will be refused."""
    if not isinstance(expression, str):
        raise ExpressionError(f"An expression must be a string, not {_type_name(expression)}")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"Expression of {len(expression)} characters refused: longer than "
            f"MAX_EXPRESSION_LENGTH ({MAX_EXPRESSION_LENGTH})"
        )
    source, paths = _extract_backticks(expression)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(expression, exc) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"Expression {expression!r} could not be parsed: {exc}") from None
    if _tree_depth(tree) > MAX_NESTING_DEPTH:
        raise ExpressionError(
            f"Expression {expression[:80]!r} refused: nested deeper than MAX_NESTING_DEPTH "
            f"({MAX_NESTING_DEPTH})"
        )
    return CompiledExpression(tree, paths, tuple(_static_refusals(tree)))


def refusals(expression: str) -> list[str]:
    """What an expression uses that will be refused when it runs (for warnings)."""
    return list(compile_expression(expression).refused)


def referenced_paths(expression: str) -> list[str]:
    """Reference paths an expression reads: its backtick paths and ``$.<name>`` per free name.

    Used by the validator to warn about data no earlier state produces. Raises
    ExpressionError when the expression is refused.
    """
    compiled = compile_expression(expression)
    bound = {
        node.id
        for generator in ast.walk(compiled.tree) if isinstance(generator, ast.comprehension)
        for node in ast.walk(generator.target) if isinstance(node, ast.Name)
    }
    called = {
        id(node.func) for node in ast.walk(compiled.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    paths = list(compiled.paths)
    for node in ast.walk(compiled.tree):
        if (isinstance(node, ast.Name) and id(node) not in called and node.id not in bound
                and node.id != "_context" and not node.id.startswith(_BACKTICK_PREFIX)):
            paths.append(format_path([node.id]))
    return list(dict.fromkeys(paths))


# ---------------------------------------------------------------------------------------
# Size checks


def _type_name(value: t.Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null", tuple: "a list"}
    return names.get(type(value), f"a {type(value).__name__}")


def _approximate_size(value: t.Any, limit: int = MAX_STRING_LENGTH + 1) -> int:
    """Characters ``str(value)`` would need, counted only up to ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        else:
            total += 24
    return total


def _check_size(value: t.Any, extra: int = 0, what: str = "the result") -> t.Any:
    if isinstance(value, str):
        if len(value) + extra > MAX_STRING_LENGTH:
            raise ExpressionError(
                f"{what} refused: a string of {len(value) + extra} characters is longer than "
                f"MAX_STRING_LENGTH ({MAX_STRING_LENGTH})"
            )
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        if len(value) + extra > MAX_COLLECTION_LENGTH:
            raise ExpressionError(
                f"{what} refused: {len(value) + extra} items is more than "
                f"MAX_COLLECTION_LENGTH ({MAX_COLLECTION_LENGTH})"
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INTEGER_BITS:
            raise ExpressionError(
                f"{what} refused: an integer of {value.bit_length()} bits is larger than "
                f"MAX_INTEGER_BITS ({MAX_INTEGER_BITS})"
            )
    return value


def _check_deep_size(value: t.Any, times: int, what: str) -> None:
    """Refuse ``times`` copies of ``value`` when they pass MAX_RESULT_SIZE (counted with
    every repeated object counted again, stopping as soon as the limit is passed)."""
    if times <= 0:
        return
    size = _approximate_size(value, limit=MAX_RESULT_SIZE // times + 1)
    if size * times > MAX_RESULT_SIZE:
        raise ExpressionError(
            f"{what} refused: about {size * times} characters is larger than "
            f"MAX_RESULT_SIZE ({MAX_RESULT_SIZE})"
        )


def _check_format_spec(spec: str) -> None:
    digits = "".join(c if c.isdigit() else " " for c in spec).split()
    if any(int(d) > MAX_STRING_LENGTH for d in digits):
        raise ExpressionError(
            f"format spec {spec!r} refused: a width beyond MAX_STRING_LENGTH "
            f"({MAX_STRING_LENGTH})"
        )


# ---------------------------------------------------------------------------------------
# Evaluation: simpleeval's EvalWithCompoundTypes with this project's limits


class _Budget:
    """What one evaluation may still spend: CPU time, and characters it builds.

    The time is the evaluating thread's CPU time, so an expression is not refused because
    the machine is busy or another thread holds the GIL (wall time made the same flow fail
    under load only). Reading it is a system call, so each node reads the cheap wall clock
    and the CPU time is read only once the wall clock reaches the point where the budget
    could be spent (CPU time never runs ahead of it).
    """

    def __init__(self) -> None:
        self.cpu_started = time.thread_time()
        self.check_at = time.monotonic() + MAX_EVALUATION_SECONDS
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() < self.check_at:
            return
        spent = time.thread_time() - self.cpu_started
        if spent > MAX_EVALUATION_SECONDS:
            raise ExpressionError(
                f"refused: ran longer than MAX_EVALUATION_SECONDS ({MAX_EVALUATION_SECONDS} s "
                "of CPU time)")
        self.check_at = time.monotonic() + MAX_EVALUATION_SECONDS - spent

    def spend(self, value: t.Any, times: int = 1) -> t.Any:
        """Count ``times`` copies of ``value`` as built; refuse past MAX_RESULT_SIZE."""
        _check_size(value)
        if isinstance(value, (str, list, tuple, dict, set, frozenset)):
            left = MAX_RESULT_SIZE - self.built
            size = _approximate_size(value, limit=left // max(times, 1) + 1) * max(times, 1)
            self.built += size
            if self.built > MAX_RESULT_SIZE:
                raise ExpressionError(
                    f"refused: about {self.built} characters built, more than "
                    f"MAX_RESULT_SIZE ({MAX_RESULT_SIZE})")
        return value


def _guarded_operators(budget: _Budget, defaults: dict) -> dict:
    """simpleeval's operators, each refusing a result past the limits before building it."""

    def add(left: t.Any, right: t.Any) -> t.Any:
        if isinstance(left, (str, list, tuple)) and isinstance(right, type(left)):
            _check_size(left, len(right), "'+'")
        return budget.spend(operator.add(left, right))

    def mult(left: t.Any, right: t.Any) -> t.Any:
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                _check_size(seq, len(seq) * max(times, 0) - len(seq), "repetition")
                budget.spend(seq, max(times, 0))
        return operator.mul(left, right)

    def power(left: t.Any, right: t.Any) -> t.Any:
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if (abs(left).bit_length() - 1) * right > MAX_INTEGER_BITS:
                raise ExpressionError(f"refused: {left} ** {right} would be larger than "
                                      f"MAX_INTEGER_BITS ({MAX_INTEGER_BITS}) bits")
        if isinstance(right, (int, float)) and abs(right) > MAX_INTEGER_BITS:
            if isinstance(left, (int, float)) and abs(left) not in (0, 1):
                raise ExpressionError(f"refused: exponent {right} is larger than "
                                      f"MAX_INTEGER_BITS ({MAX_INTEGER_BITS})")
        return _check_size(operator.pow(left, right))

    def lshift(left: t.Any, right: t.Any) -> t.Any:
        if isinstance(left, int) and isinstance(right, int) and \
                left.bit_length() + right > MAX_INTEGER_BITS:
            raise ExpressionError(f"refused: {left} << {right} would be larger than "
                                  f"MAX_INTEGER_BITS ({MAX_INTEGER_BITS}) bits")
        return operator.lshift(left, right)

    def mod(left: t.Any, right: t.Any) -> t.Any:
        if isinstance(left, str):
            raise ExpressionError("refused: '%' string formatting is not allowed (a short "
                                  "'%0999999999d' builds a gigabyte); use + or an f-string")
        return operator.mod(left, right)

    return {**defaults, ast.Add: add, ast.Mult: mult, ast.Pow: power, ast.LShift: lshift,
            ast.Mod: mod}


def _check_call(func: t.Callable, args: list) -> None:
    """Refuse a method call whose result would outgrow the limits, before making it."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if not isinstance(owner, str):
        return
    if name == "join" and args and isinstance(args[0], (list, tuple)):
        parts = args[0][: MAX_COLLECTION_LENGTH + 1]
        extra = sum(_approximate_size(p) for p in parts)
        _check_size(owner, extra + len(owner) * len(parts), "str.join()")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and \
            isinstance(args[1], str):
        hits = len(owner) + 1 if not args[0] else owner.count(args[0])
        _check_size(owner, hits * len(args[1]), "str.replace()")
    elif name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        if args[0] > MAX_STRING_LENGTH:
            raise ExpressionError(f"refused: str.{name}({args[0]}) is wider than "
                                  f"MAX_STRING_LENGTH ({MAX_STRING_LENGTH})")


@functools.lru_cache(maxsize=1)
def _evaluator_class() -> type:
    """simpleeval's EvalWithCompoundTypes with the budget checked at every node (built on
    first use: importing simpleeval is left until an expression runs)."""
    import simpleeval  # type: ignore[import-untyped]

    class Evaluator(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]
        def __init__(self, budget: _Budget, names: dict, functions: dict):
            super().__init__(functions=dict(functions), names=names,
                             operators=_guarded_operators(budget, simpleeval.DEFAULT_OPERATORS))
            self.budget = budget

        def _eval(self, node: ast.AST) -> t.Any:
            self.budget.tick()
            return super()._eval(node)

        def _eval_name(self, node: ast.Name) -> t.Any:
            if node.id not in self.names and node.id in self.functions:
                raise ExpressionError(
                    f"the function '{node.id}' can only be called, not used as a value")
            return super()._eval_name(node)

        def _eval_attribute(self, node: ast.Attribute) -> t.Any:
            if node.attr in _REFUSED_METHODS:
                raise ExpressionError(f"refused: the method '{node.attr}' is not allowed")
            return super()._eval_attribute(node)

        def _eval_call(self, node: ast.Call) -> t.Any:
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                    keyword.arg is None for keyword in node.keywords):
                raise ExpressionError("refused: '*' and '**' arguments are not available in "
                                      "calls")
            if isinstance(node.func, ast.Attribute):
                func = self._eval(node.func)
                args = [self._eval(a) for a in node.args]
                kwargs = dict(self._eval(k) for k in node.keywords)
                if isinstance(func, (types.BuiltinMethodType, types.MethodWrapperType)):
                    _check_call(func, args)
                result = func(*args, **kwargs)
            else:
                result = super()._eval_call(node)
            if isinstance(result, (type({}.keys()), type({}.values()), type({}.items()))):
                result = list(result)
            return self.budget.spend(result)

        def _eval_formattedvalue(self, node: ast.FormattedValue) -> t.Any:
            if node.format_spec:
                _check_format_spec(str(self._eval(node.format_spec)))
            value = super()._eval_formattedvalue(node)
            return self.budget.spend(value if isinstance(value, str) else str(value))

        def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
            return self.budget.spend(super()._eval_joinedstr(node))

        def _eval_comprehension(self, node: ast.AST) -> t.Any:
            return self.budget.spend(super()._eval_comprehension(node))

        def _eval_list(self, node: ast.List) -> list:
            return self.budget.spend(super()._eval_list(node))

        def _eval_dict(self, node: ast.Dict) -> dict:
            return self.budget.spend(super()._eval_dict(node))

    return Evaluator


class _RunState:
    """The names an expression sees and the functions that read the run state."""

    def __init__(self, state: t.Any, context: dict | None, paths: tuple[str, ...]):
        self.state = state if isinstance(state, dict) else {}
        self.context = context or {}
        self.paths = paths

    def root(self) -> dict:
        return {**self.state, "_context": self.context}

    def names(self) -> dict:
        names = {**self.state, "_context": self.context}
        for index, path in enumerate(self.paths):
            try:
                names[f"{_BACKTICK_PREFIX}{index}"] = get_path(self.root(), path)
            except PathError:
                raise ExpressionError(
                    f"the path '{path}' could not be found in the run state") from None
        return names

    def _dotted(self, dotted: t.Any, function: str) -> str:
        if not isinstance(dotted, str):
            raise ExpressionError(
                f"{function}() needs a dotted path string, not {_type_name(dotted)}")
        path = dotted if dotted.startswith("$") else "$." + dotted.lstrip(".")
        try:
            parse_query(path)
        except PathError as exc:
            raise ExpressionError(f"{function}({dotted!r}): {exc}") from None
        return path

    def is_present(self, dotted: str) -> bool:
        """Globus docs: true when the run state has a value at the dotted path."""
        path = self._dotted(dotted, "is_present")
        try:
            get_path(self.root(), path)
        except PathError:
            return False
        return True

    def getattr(self, dotted: str, default: t.Any = None) -> t.Any:
        """Globus docs: the value at the dotted path, or ``default`` when there is none."""
        path = self._dotted(dotted, "getattr")
        try:
            return get_path(self.root(), path)
        except PathError:
            return default


def _describe(exc: Exception) -> str:
    """A simpleeval or Python error as one line naming what was refused."""
    import simpleeval  # type: ignore[import-untyped]

    if isinstance(exc, simpleeval.NameNotDefined):
        return f"the name '{exc.name}' is not defined in the run state"
    if isinstance(exc, simpleeval.FunctionNotDefined):
        return (f"the function '{exc.func_name}' is not available (functions: "
                f"{', '.join(sorted(set(FUNCTIONS) | RUN_STATE_FUNCTIONS))})")
    if isinstance(exc, simpleeval.AttributeDoesNotExist):
        return f"no attribute or key '{exc.attr}'"
    if isinstance(exc, simpleeval.IterableTooLong) and "omprehension" in str(exc):
        return (f"refused: {exc} (simpleeval's MAX_COMPREHENSION_LENGTH, "
                f"{simpleeval.MAX_COMPREHENSION_LENGTH} iterations)")
    if isinstance(exc, simpleeval.InvalidExpression):
        return f"refused: {exc}"
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return f"{type(exc).__name__}: {exc}"


def _to_json(value: t.Any) -> t.Any:
    """A fresh JSON-shaped copy: tuples and sets become lists, nothing aliases run state.
    Numbers JSON cannot hold are refused here, where the expression can still be named."""
    if isinstance(value, complex):
        raise ExpressionError(
            f"the result holds the complex number {value!r}, which JSON cannot hold "
            "(a negative number to a fractional power?)"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(
            f"the result holds {value!r}, which JSON cannot hold (no NaN or Infinity)"
        )
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_to_json(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise ExpressionError(
        f"the result holds {_type_name(value)} ({value!r:.60}), which JSON cannot hold")


def evaluate(expression: str, state: dict, *, context: dict | None = None) -> t.Any:
    """Evaluate ``expression`` against the run ``state`` (``_context`` = ``context``).

    Returns JSON-shaped data (lists, dicts, str, numbers, bool, None), never a reference
    into ``state``. Raises :class:`~gladier.exc.ExpressionError` for syntax errors,
    refused constructs, missing names and failing operations.

    >>> evaluate("source.path.rstrip('/') + '/x'", {"source": {"path": "/data/"}})
    '/data/x'
    """
    compiled = compile_expression(expression)
    run_state = _RunState(state, context, compiled.paths)
    evaluator_class = _evaluator_class()  # imports simpleeval once, outside the budget
    budget = _Budget()
    try:
        if compiled.refused:
            raise ExpressionError(f"refused: {compiled.refused[0]}")
        functions = {**FUNCTIONS, "is_present": run_state.is_present,
                     "getattr": run_state.getattr}
        evaluator = evaluator_class(budget, run_state.names(), functions)
        result = evaluator.eval(expression, previously_parsed=compiled.tree.body)
        _check_deep_size(result, 1, "the result")
        return _to_json(result)
    except ExpressionError as exc:
        if str(exc).startswith("Expression "):
            raise
        raise ExpressionError(f"Expression {expression!r}: {exc}") from None
    except RecursionError:
        raise ExpressionError(f"Expression {expression!r}: refused: nested too deeply") from None
    except Exception as exc:  # simpleeval's and Python's own errors, one message
        raise ExpressionError(f"Expression {expression!r}: {_describe(exc)}") from None
