"""The expression language of ``"key.=": "..."`` parameters: Python syntax, whitelisted.

The Flows service documents simpleeval for expressions. This module walks the parsed
syntax tree itself and allows only what is listed here, so what an expression can do is
readable in one place: the node types in ``_NODE_HANDLERS``, the functions in
``FUNCTIONS`` and the methods in ``STRING_METHODS`` / ``LIST_METHODS`` / ``DICT_METHODS``.
Nothing is ever passed to ``eval``.

Names resolve to top-level keys of the run state, ``_context`` always to the run context;
``obj.key`` reads a key of an object; `` `$.a.b` `` (backticks) reads a reference path.
Every limit is a module constant; every refusal is an :class:`~gladier.exc.ExpressionError`
whose message names what was refused.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import posixpath
import string
import time
import typing as t

from gladier.engine.paths import format_path, get_path, parse_path, parse_query
from gladier.exc import ExpressionError, PathError

MAX_EXPRESSION_LENGTH = 20_000
"""Longest expression source accepted, in characters."""
MAX_STRING_LENGTH = 100_000
"""Longest string an expression may build."""
MAX_COLLECTION_LENGTH = 100_000
"""Most items a list, dict or set built by an expression may hold (also bounds range())."""
MAX_POWER = 1_000
"""Largest exponent allowed in ``a ** b``."""
MAX_INTEGER_BITS = 10_000
"""Largest integer (in bits) an expression may build."""
MAX_NESTING_DEPTH = 60
"""Deepest syntax tree accepted (nested brackets, calls, operators)."""
MAX_EVALUATION_SECONDS = 0.5
"""Time budget of one evaluation (a refused expression is refused well within 1 s)."""
MAX_RESULT_SIZE = 5_000_000
"""Largest approximate size (characters of its text form) of a list built by repetition
or a comprehension, and of an expression's result. Repetition and comprehensions can
repeat one object many times; counting every copy keeps such aliasing from hiding a
structure too big to copy, compare or store."""

_BACKTICK_PREFIX = "_jsonpath_ref_"


# ---------------------------------------------------------------------------------------
# Functions and methods an expression may call


def _pathsplit(path: str) -> list[str]:
    """Split a Transfer path into [head, tail]; the home prefix ``/~/`` keeps its slash."""
    if not isinstance(path, str):
        raise ExpressionError(f"pathsplit() needs a string path, not {_type_name(path)}")
    head, tail = posixpath.split(path)
    if head in ("/~", "~"):
        head += "/"
    return [head, tail]


def _bounded_range(*args: t.Any) -> range:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise ExpressionError("range() needs integer arguments")
    result = range(*args)
    if len(result) > MAX_COLLECTION_LENGTH:
        raise ExpressionError(
            f"range() of {len(result)} items refused: more than MAX_COLLECTION_LENGTH "
            f"({MAX_COLLECTION_LENGTH})"
        )
    return result


def _sorted(iterable: t.Any, *, reverse: bool = False) -> list:
    return sorted(iterable, reverse=reverse)


def _min_or_max(func: t.Callable) -> t.Callable:
    def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
        unknown = set(kwargs) - {"default"}
        if unknown:
            raise ExpressionError(f"{func.__name__}() keyword {sorted(unknown)[0]!r} not allowed")
        return func(*args, **kwargs)

    call.__name__ = func.__name__
    return call


def _sum(iterable: t.Any, start: t.Any = 0) -> t.Any:
    items = list(iterable)
    if isinstance(start, (str, list)):
        _check_size(start, sum(_approximate_size(i) for i in items), "sum()")
    return functools.reduce(operator.add, items, start)


FUNCTIONS: dict[str, t.Callable[..., t.Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "round": round,
    "min": _min_or_max(min),
    "max": _min_or_max(max),
    "sum": _sum,
    "sorted": _sorted,
    "range": _bounded_range,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
    "any": any,
    "all": all,
    "enumerate": lambda iterable, start=0: list(enumerate(iterable, start)),
    "zip": lambda *iterables: list(zip(*iterables)),
    "reversed": lambda seq: list(reversed(seq)),
    "pathsplit": _pathsplit,
}
"""Plain functions callable by name. ``is_present`` and ``getattr`` are added per run."""

STRING_METHODS = frozenset(
    """capitalize casefold center count endswith find format index isalnum isalpha
    isdecimal isdigit islower isnumeric isspace istitle isupper join ljust lower lstrip
    partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip
    split splitlines startswith strip swapcase title upper zfill""".split()
)
LIST_METHODS = frozenset({"count", "index", "copy"})
"""Only methods that do not change the list: run state is never mutated in place."""
DICT_METHODS = frozenset({"get", "keys", "values", "items", "copy"})


# ---------------------------------------------------------------------------------------
# Compilation: backticks, parsing, static refusals


class CompiledExpression(t.NamedTuple):
    tree: ast.Expression
    paths: tuple[str, ...]
    """Reference paths written in backticks; ``_jsonpath_ref_<i>`` names the i-th."""


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


def _check_static(expression: str, tree: ast.AST) -> None:
    """Refuse what can be seen without evaluating: unknown syntax and dunder names."""
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.keyword):
            name = node.arg
        if name and name.startswith("__"):
            raise ExpressionError(
                f"Expression {expression!r} refused: the name '{name}' is not allowed "
                "(names starting with '__' are never accessible)"
            )
        if isinstance(node, ast.Lambda):
            raise ExpressionError(f"Expression {expression!r} refused: lambda is not allowed")
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            raise ExpressionError(
                f"Expression {expression!r} refused: {type(node).__name__} is not allowed"
            )


@functools.lru_cache(maxsize=2048)
def compile_expression(expression: str) -> CompiledExpression:
    """Parse and statically check an expression; raise ExpressionError if it is refused.

    The validator calls this to report bad expressions before a run starts.
    """
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
    _check_static(expression, tree)
    return CompiledExpression(tree, paths)


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


class _Produced:
    """The approximate size of what a comprehension has built so far: refused as soon as it
    passes MAX_RESULT_SIZE, while the items are made, not once the memory is spent."""

    def __init__(self) -> None:
        self.size = 2

    def add(self, *values: t.Any) -> None:
        for value in values:
            self.size += 2 + _approximate_size(value, limit=MAX_RESULT_SIZE - self.size + 1)
        if self.size > MAX_RESULT_SIZE:
            raise ExpressionError(
                f"the comprehension refused: about {self.size} characters is larger than "
                f"MAX_RESULT_SIZE ({MAX_RESULT_SIZE})"
            )


def _check_format_string(template: str) -> None:
    """Refuse ``str.format`` templates that read attributes or pad to huge widths."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ExpressionError(f"Bad format string {template!r}: {exc}") from None
    for _, field, spec, _ in fields:
        if field and "." in field:
            raise ExpressionError(
                f"format() field '{{{field}}}' refused: attribute access in format fields "
                "is not allowed"
            )
        if spec:
            if "{" in spec:
                raise ExpressionError(
                    f"format() spec {spec!r} refused: nested replacement fields are not allowed"
                )
            _check_format_spec(spec)


def _check_format_spec(spec: str) -> None:
    digits = "".join(c if c.isdigit() else " " for c in spec).split()
    if any(int(d) > MAX_STRING_LENGTH for d in digits):
        raise ExpressionError(
            f"format spec {spec!r} refused: a width beyond MAX_STRING_LENGTH "
            f"({MAX_STRING_LENGTH})"
        )


# ---------------------------------------------------------------------------------------
# Evaluation

_BINARY_OPERATORS: dict[type, t.Callable[[t.Any, t.Any], t.Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_UNARY_OPERATORS: dict[type, t.Callable[[t.Any], t.Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}
_COMPARISONS: dict[type, t.Callable[[t.Any, t.Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

class _Evaluator:
    """Evaluates one compiled expression against one run state."""

    def __init__(self, expression: str, compiled: CompiledExpression, state: t.Any,
                 context: dict | None):
        self.expression = expression
        self.state = state if isinstance(state, dict) else {}
        self.context = context or {}
        self.paths = compiled.paths
        self.scopes: list[dict[str, t.Any]] = []
        self.deadline = time.monotonic() + MAX_EVALUATION_SECONDS
        self.functions: dict[str, t.Callable[..., t.Any]] = {
            **FUNCTIONS,
            "is_present": self._is_present,
            "getattr": self._getattr,
        }

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(f"Expression {self.expression!r}: {message}")

    def eval(self, node: ast.AST) -> t.Any:
        if time.monotonic() > self.deadline:
            raise self.fail(
                f"refused: ran longer than MAX_EVALUATION_SECONDS ({MAX_EVALUATION_SECONDS})"
            )
        handler = _NODE_HANDLERS.get(type(node))
        if handler is None:
            raise self.fail(f"refused: {type(node).__name__} syntax is not allowed")
        return handler(self, node)

    # -- names, paths, attributes -------------------------------------------------------

    def _root(self) -> dict:
        return {**self.state, "_context": self.context}

    def read_path(self, path: str) -> t.Any:
        try:
            return get_path(self._root(), path)
        except PathError:
            raise self.fail(f"the path '{path}' could not be found in the run state") from None

    def _dotted(self, dotted: t.Any, function: str) -> str:
        if not isinstance(dotted, str):
            raise self.fail(f"{function}() needs a dotted path string, not {_type_name(dotted)}")
        path = dotted if dotted.startswith("$") else "$." + dotted.lstrip(".")
        try:
            parse_path(path)
        except PathError as exc:
            raise self.fail(f"{function}({dotted!r}): {exc}") from None
        return path

    def _is_present(self, dotted: str) -> bool:
        path = self._dotted(dotted, "is_present")
        try:
            get_path(self._root(), path)
        except PathError:
            return False
        return True

    def _getattr(self, dotted: str, default: t.Any = None) -> t.Any:
        path = self._dotted(dotted, "getattr")
        try:
            return get_path(self._root(), path)
        except PathError:
            return default

    def name(self, node: ast.Name) -> t.Any:
        if node.id == "_context":  # the real one, whatever the run state holds
            return self.context
        for scope in reversed(self.scopes):
            if node.id in scope:
                return scope[node.id]
        if node.id.startswith(_BACKTICK_PREFIX):
            index = node.id[len(_BACKTICK_PREFIX):]
            if index.isdigit() and int(index) < len(self.paths):
                return self.read_path(self.paths[int(index)])
        if node.id in self.state:
            return self.state[node.id]
        if node.id in self.functions:
            raise self.fail(f"the function '{node.id}' can only be called, not used as a value")
        raise self.fail(f"the name '{node.id}' is not defined in the run state")

    def attribute(self, node: ast.Attribute) -> t.Any:
        value = self.eval(node.value)
        if isinstance(value, dict):
            if node.attr in value:
                return value[node.attr]
            raise self.fail(f"the object has no key '{node.attr}' (in '{ast.unparse(node)}')")
        raise self.fail(
            f"cannot read attribute '{node.attr}' of {_type_name(value)} "
            f"(in '{ast.unparse(node)}')"
        )

    def subscript(self, node: ast.Subscript) -> t.Any:
        value = self.eval(node.value)
        key = self.eval(node.slice)
        if isinstance(value, dict):
            if isinstance(key, (dict, list, set)):
                raise self.fail(f"{_type_name(key)} cannot be an object key")
            if key not in value:
                raise self.fail(f"the object has no key {key!r} (in '{ast.unparse(node)}')")
            return value[key]
        if not isinstance(value, (list, tuple, str)):
            raise self.fail(f"{_type_name(value)} cannot be indexed (in '{ast.unparse(node)}')")
        try:
            return value[key]
        except IndexError:
            raise self.fail(
                f"index {key} is out of range for {_type_name(value)} of length {len(value)} "
                f"(in '{ast.unparse(node)}')"
            ) from None
        except (TypeError, ValueError) as exc:
            raise self.fail(f"bad index {key!r} (in '{ast.unparse(node)}'): {exc}") from None

    def slice(self, node: ast.Slice) -> slice:
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    # -- literals ----------------------------------------------------------------------

    def constant(self, node: ast.Constant) -> t.Any:
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            raise self.fail(f"refused: {type(node.value).__name__} literals are not allowed")
        return _check_size(node.value, what="the literal")

    def _items(self, elements: list[ast.expr]) -> list:
        items: list = []
        for element in elements:
            if isinstance(element, ast.Starred):
                items.extend(self._iterate(self.eval(element.value)))
            else:
                items.append(self.eval(element))
            _check_size(items, what="the list")
        return items

    def list_(self, node: ast.List) -> list:
        return self._items(node.elts)

    def tuple_(self, node: ast.Tuple) -> tuple:
        return tuple(self._items(node.elts))

    def set_(self, node: ast.Set) -> set:
        return self._hashable(set, self._items(node.elts))

    def dict_(self, node: ast.Dict) -> dict:
        result: dict = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                merged = self.eval(value)
                if not isinstance(merged, dict):
                    raise self.fail(f"'**' needs an object, not {_type_name(merged)}")
                result.update(merged)
            else:
                result[self._key(self.eval(key))] = self.eval(value)
            _check_size(result, what="the object")
        return result

    def _key(self, key: t.Any) -> t.Any:
        if key is not None and not isinstance(key, (str, int, float)):
            raise self.fail(f"{_type_name(key)} cannot be an object key")
        return key

    def _hashable(self, build: t.Callable, value: t.Any) -> t.Any:
        try:
            return build(value)
        except TypeError as exc:
            raise self.fail(f"{exc}") from None

    def joined_str(self, node: ast.JoinedStr) -> str:
        parts = []
        for value in node.values:
            parts.append(self.eval(value))
            _check_size("".join(parts), what="the f-string")
        return "".join(parts)

    def formatted_value(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion in (ord("s"), ord("a")):
            value = str(value)
        spec = self.eval(node.format_spec) if node.format_spec else ""
        _check_format_spec(spec)
        _check_size("", _approximate_size(value), "formatting a value")
        return self._apply(format, value, spec, node=node)

    # -- operators ---------------------------------------------------------------------

    def bool_op(self, node: ast.BoolOp) -> t.Any:
        value: t.Any = None
        for operand in node.values:
            value = self.eval(operand)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def unary_op(self, node: ast.UnaryOp) -> t.Any:
        operand = self.eval(node.operand)
        return self._apply(_UNARY_OPERATORS[type(node.op)], operand, node=node)

    def bin_op(self, node: ast.BinOp) -> t.Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        op = type(node.op)
        if op is ast.Pow and isinstance(right, (int, float)) and abs(right) > MAX_POWER:
            raise self.fail(f"refused: exponent {right} is larger than MAX_POWER ({MAX_POWER})")
        if op is ast.Pow and isinstance(left, int) and isinstance(right, int) and right > 0:
            if left.bit_length() * right > MAX_INTEGER_BITS:
                raise self.fail(
                    f"refused: {left} ** {right} would be larger than MAX_INTEGER_BITS "
                    f"({MAX_INTEGER_BITS}) bits"
                )
        if op is ast.LShift and isinstance(right, int) and right > MAX_INTEGER_BITS:
            raise self.fail(f"refused: shift by {right} bits is beyond MAX_INTEGER_BITS")
        if op is ast.Mod and isinstance(left, str):
            raise self.fail("refused: '%' string formatting is not allowed; use format()")
        if op is ast.Mult:
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    size = len(seq) * max(times, 0)
                    if isinstance(seq, str):
                        limit, limit_name = MAX_STRING_LENGTH, "MAX_STRING_LENGTH"
                    else:
                        limit, limit_name = MAX_COLLECTION_LENGTH, "MAX_COLLECTION_LENGTH"
                    if size > limit:
                        raise self.fail(
                            f"refused: repeating {_type_name(seq)} {times} times gives {size} "
                            f"items, beyond {limit_name} ({limit})"
                        )
                    if not isinstance(seq, str):
                        _check_deep_size(seq, max(times, 0), f"repeating {_type_name(seq)}")
        return _check_size(self._apply(_BINARY_OPERATORS[op], left, right, node=node))

    def compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator)
            if not self._apply(_COMPARISONS[type(op)], left, right, node=node):
                return False
            left = right
        return True

    def if_exp(self, node: ast.IfExp) -> t.Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _apply(self, func: t.Callable, *args: t.Any, node: ast.AST) -> t.Any:
        try:
            return func(*args)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, IndexError, KeyError) as exc:
            raise self.fail(f"{type(exc).__name__} in '{ast.unparse(node)}': {exc}") from None

    # -- comprehensions ----------------------------------------------------------------

    def _iterate(self, value: t.Any) -> t.Iterable:
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, (list, tuple, str, set, frozenset, range)):
            return value
        raise self.fail(f"cannot iterate over {_type_name(value)}")

    def _bind(self, target: ast.expr, value: t.Any, scope: dict) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(self._iterate(value))
            if len(items) != len(target.elts):
                raise self.fail(
                    f"cannot unpack {len(items)} values into {len(target.elts)} names"
                )
            for element, item in zip(target.elts, items):
                self._bind(element, item, scope)
        else:
            raise self.fail(f"refused: {type(target).__name__} as a loop target")

    def _comprehension(self, generators: list[ast.comprehension], emit: t.Callable) -> None:
        scope: dict[str, t.Any] = {}
        self.scopes.append(scope)
        try:
            self._loop(generators, 0, scope, emit)
        finally:
            self.scopes.pop()

    def _loop(self, generators: list, index: int, scope: dict, emit: t.Callable) -> None:
        if index == len(generators):
            emit()
            return
        generator = generators[index]
        if generator.is_async:
            raise self.fail("refused: async comprehensions are not allowed")
        for item in self._iterate(self.eval(generator.iter)):
            self._bind(generator.target, item, scope)
            if all(self.eval(condition) for condition in generator.ifs):
                self._loop(generators, index + 1, scope, emit)

    def list_comp(self, node: ast.ListComp | ast.GeneratorExp) -> list:
        result: list = []
        produced = _Produced()

        def emit() -> None:
            item = self.eval(node.elt)
            produced.add(item)
            result.append(item)
            _check_size(result, what="the comprehension")

        self._comprehension(node.generators, emit)
        return result

    def set_comp(self, node: ast.SetComp) -> set:
        return self._hashable(set, self.list_comp(node))  # type: ignore[arg-type]

    def dict_comp(self, node: ast.DictComp) -> dict:
        result: dict = {}
        produced = _Produced()

        def emit() -> None:
            key, value = self._key(self.eval(node.key)), self.eval(node.value)
            produced.add(key, value)
            result[key] = value
            _check_size(result, what="the comprehension")

        self._comprehension(node.generators, emit)
        return result

    # -- calls -------------------------------------------------------------------------

    def call(self, node: ast.Call) -> t.Any:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise self.fail("refused: '*' and '**' arguments are not allowed in calls")
        if isinstance(node.func, ast.Name) and not any(
            node.func.id in scope for scope in self.scopes
        ):
            func = self.functions.get(node.func.id)
            if func is None:
                raise self.fail(
                    f"refused: calling '{node.func.id}' is not allowed (allowed functions: "
                    f"{', '.join(sorted(self.functions))})"
                )
            label = node.func.id
        elif isinstance(node.func, ast.Attribute):
            func, label = self._method(node.func)
        else:
            raise self.fail(f"refused: calling '{ast.unparse(node.func)}' is not allowed")
        args = [self.eval(a) for a in node.args]
        if any(keyword.arg is None for keyword in node.keywords):
            raise self.fail("refused: '**' arguments are not allowed")
        kwargs = {str(k.arg): self.eval(k.value) for k in node.keywords}
        self._check_call(label, func, args, kwargs)
        result = self._apply(lambda: func(*args, **kwargs), node=node)
        if isinstance(result, (type({}.keys()), type({}.values()), type({}.items()))):
            result = list(result)
        return _check_size(result, what=f"the result of {label}()")

    def _method(self, node: ast.Attribute) -> tuple[t.Callable, str]:
        owner = self.eval(node.value)
        allowed: frozenset = frozenset()
        if isinstance(owner, str):
            allowed = STRING_METHODS
        elif isinstance(owner, (list, tuple)):
            allowed = LIST_METHODS
        elif isinstance(owner, dict):
            allowed = DICT_METHODS
        if node.attr not in allowed:
            raise self.fail(
                f"refused: calling method '{node.attr}' of {_type_name(owner)} is not allowed"
            )
        if isinstance(owner, tuple) and node.attr == "copy":
            return (lambda: list(owner)), "copy"
        return getattr(owner, node.attr), f"{type(owner).__name__}.{node.attr}"

    def _check_call(self, label: str, func: t.Callable, args: list, kwargs: dict) -> None:
        """Refuse calls whose result would outgrow the limits before making them."""
        owner = getattr(func, "__self__", None)
        text = owner if isinstance(owner, str) else ""  # the string of a str.* method
        if label == "str" and args:
            _check_size("", _approximate_size(args[0]), "str()")
        elif label == "str.join" and args:
            parts = list(args[0]) if isinstance(args[0], (list, tuple, set, dict, str)) else []
            extra = sum(_approximate_size(p) for p in parts[: MAX_COLLECTION_LENGTH + 1])
            _check_size(text, extra + len(text) * len(parts), "str.join()")
        elif label == "str.replace" and len(args) >= 2:
            old, new = args[0], args[1]
            if isinstance(old, str) and isinstance(new, str):
                hits = len(text) + 1 if not old else text.count(old)
                _check_size(text, hits * len(new), "str.replace()")
        elif label in ("str.ljust", "str.rjust", "str.center", "str.zfill") and args:
            if isinstance(args[0], int) and args[0] > MAX_STRING_LENGTH:
                raise self.fail(f"refused: {label}({args[0]}) is wider than MAX_STRING_LENGTH")
        elif label == "str.format":
            _check_format_string(text)
            extra = sum(_approximate_size(a) for a in [*args, *kwargs.values()])
            _check_size(text, extra, "str.format()")


_NODE_HANDLERS: dict[type, t.Callable[[_Evaluator, t.Any], t.Any]] = {
    ast.Expression: lambda ev, node: ev.eval(node.body),
    ast.Constant: _Evaluator.constant,
    ast.Name: _Evaluator.name,
    ast.Attribute: _Evaluator.attribute,
    ast.Subscript: _Evaluator.subscript,
    ast.Slice: _Evaluator.slice,
    ast.List: _Evaluator.list_,
    ast.Tuple: _Evaluator.tuple_,
    ast.Set: _Evaluator.set_,
    ast.Dict: _Evaluator.dict_,
    ast.JoinedStr: _Evaluator.joined_str,
    ast.FormattedValue: _Evaluator.formatted_value,
    ast.BoolOp: _Evaluator.bool_op,
    ast.UnaryOp: _Evaluator.unary_op,
    ast.BinOp: _Evaluator.bin_op,
    ast.Compare: _Evaluator.compare,
    ast.IfExp: _Evaluator.if_exp,
    ast.ListComp: _Evaluator.list_comp,
    ast.GeneratorExp: _Evaluator.list_comp,
    ast.SetComp: _Evaluator.set_comp,
    ast.DictComp: _Evaluator.dict_comp,
    ast.Call: _Evaluator.call,
}
"""Every syntax an expression may use; anything else is refused by name."""


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
    if isinstance(value, range):
        return list(value)
    return value


def evaluate(expression: str, state: dict, *, context: dict | None = None) -> t.Any:
    """Evaluate ``expression`` against the run ``state`` (``_context`` = ``context``).

    Returns JSON-shaped data (lists, dicts, str, numbers, bool, None), never a reference
    into ``state``. Raises :class:`~gladier.exc.ExpressionError` for syntax errors,
    refused constructs, missing names and failing operations.

    >>> evaluate("source.path.rstrip('/') + '/x'", {"source": {"path": "/data/"}})
    '/data/x'
    """
    compiled = compile_expression(expression)
    evaluator = _Evaluator(expression, compiled, state, context)
    try:
        result = evaluator.eval(compiled.tree)
        _check_deep_size(result, 1, "the result")
        return _to_json(result)
    except RecursionError:
        raise evaluator.fail("refused: nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise evaluator.fail(f"{type(exc).__name__}: {exc}") from None
    except ExpressionError as exc:
        if str(exc).startswith("Expression "):
            raise
        raise evaluator.fail(str(exc)) from None
