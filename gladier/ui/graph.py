"""Pictures of a flow: every state and every transition, optionally coloured by a run.

Pure functions from a flow definition (and, for colours, each state's outcome in a run, see
:func:`gladier.ui.steps.statuses_from_logs`) to Mermaid text, Graphviz dot text or SVG. SVG
needs Graphviz's ``dot`` program; the other formats need nothing. Definitions are drawn as
they are, even invalid ones (an undefined target still gets a node), because a picture is
often how people find what is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import typing as t

from gladier.exc import GladierException, GraphvizNotFound
from gladier.forksafe import PROCESS_START_LOCK
from gladier.ui.steps import FAILED, NOT_REACHED, RUNNING, SUCCEEDED

#: Fill and outline colour for each outcome.
STATUS_COLOURS = {
    SUCCEEDED: ("#c8e6c9", "#2e7d32"),
    FAILED: ("#ffcdd2", "#c62828"),
    RUNNING: ("#fff59d", "#f9a825"),
    NOT_REACHED: ("#eeeeee", "#9e9e9e"),
}

FORMATS = ("mermaid", "dot", "svg")

#: Pseudo nodes where a run begins and where ``"End": true`` leads.
START = "__start__"
END = "__end__"

#: Longest edge label; longer Choice rules are cut with an ellipsis.
MAX_LABEL = 48

_COMPARISONS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}
_COMPARED_TYPES = ("String", "Numeric", "Boolean", "Timestamp")
_TYPE_TESTS = {
    "IsNull": ("is null", "is not null"),
    "IsPresent": ("is present", "is absent"),
    "IsNumeric": ("is numeric", "is not numeric"),
    "IsString": ("is a string", "is not a string"),
    "IsBoolean": ("is a boolean", "is not a boolean"),
    "IsTimestamp": ("is a timestamp", "is not a timestamp"),
}


@dataclasses.dataclass(frozen=True)
class Transition:
    """One arrow of the picture. ``kind`` is start, next, end, choice, default or catch."""

    source: str
    target: str
    kind: str
    label: str = ""


def transitions(definition: dict) -> list[Transition]:
    """Every transition of ``definition``: StartAt, Next, End, each Choice, Default, each Catch."""
    found = []
    start_at = definition.get("StartAt")
    if isinstance(start_at, str):
        found.append(Transition(START, start_at, "start"))
    for name, state in _states(definition).items():
        if isinstance(state.get("Next"), str):
            found.append(Transition(name, state["Next"], "next"))
        if state.get("End") is True:
            found.append(Transition(name, END, "end"))
        for choice in _dicts(state.get("Choices")):
            if isinstance(choice.get("Next"), str):
                found.append(Transition(name, choice["Next"], "choice", summarize_rule(choice)))
        if isinstance(state.get("Default"), str):
            found.append(Transition(name, state["Default"], "default", "default"))
        for catch in _dicts(state.get("Catch")):
            if isinstance(catch.get("Next"), str):
                errors = catch.get("ErrorEquals")
                names = ", ".join(map(str, errors)) if isinstance(errors, list) else "?"
                found.append(Transition(name, catch["Next"], "catch", _cut(f"catch {names}")))
    return found


def summarize_rule(rule: dict) -> str:
    """A short readable form of a Choice rule, e.g. ``$.n > 3 and $.name is present``."""
    return _cut(_rule_text(rule))


def to_mermaid(definition: dict, *, statuses: t.Mapping[str, str] | None = None) -> str:
    """Mermaid flowchart text (paste into Markdown on GitHub, GitLab, Sphinx, ...)."""
    ids = _node_ids(definition)
    lines = ["flowchart TD", f'    {START}(("start"))']
    states = _states(definition)
    for name, node_id in ids.items():
        label = _mermaid_text(_node_label(name, states)).replace("\n", "<br/>")
        kind = str(states.get(name, {}).get("Type"))
        opening, closing = {"Choice": ("{", "}"), "Fail": ("([", "])")}.get(kind, ("[", "]"))
        lines.append(f'    {node_id}{opening}"{label}"{closing}')
    edges = transitions(definition)
    if any(edge.target == END for edge in edges):
        lines.append(f'    {END}(("end"))')
    for edge in edges:
        arrow = "-.->" if edge.kind == "catch" else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {_id(edge.source, ids)} {arrow}{label} {_id(edge.target, ids)}")
    if statuses is not None:
        for status, (fill, stroke) in STATUS_COLOURS.items():
            members = [ids[name] for name in states if _status_of(name, statuses) == status]
            if members:
                css = status.replace(" ", "_")
                lines.append(f"    classDef {css} fill:{fill},stroke:{stroke},color:#000")
                lines.append(f"    class {','.join(members)} {css}")
    return "\n".join(lines) + "\n"


def to_dot(definition: dict, *, statuses: t.Mapping[str, str] | None = None) -> str:
    """Graphviz dot text (``dot -Tpng flow.dot -o flow.png`` draws it)."""
    ids = _node_ids(definition)
    states = _states(definition)
    lines = [
        "digraph flow {",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        f'    {START} [label="start", shape=circle, fillcolor="#000000", fontcolor="#ffffff", '
        'fontsize=10];',
    ]
    for name, node_id in ids.items():
        attributes = {"label": _node_label(name, states), "tooltip": name}
        kind = states.get(name, {}).get("Type")
        if kind == "Choice":
            attributes["shape"] = "diamond"
        elif kind == "Fail":
            attributes["shape"] = "octagon"
        elif name not in states:
            attributes["style"] = "dashed"
        if statuses is not None and name in states:
            fill, stroke = STATUS_COLOURS[_status_of(name, statuses)]
            attributes.update(fillcolor=fill, color=stroke)
            attributes["tooltip"] = f"{name}: {_status_of(name, statuses)}"
        lines.append(f"    {node_id} [{_dot_attributes(attributes)}];")
    edges = transitions(definition)
    if any(edge.target == END for edge in edges):
        lines.append(f'    {END} [label="end", shape=doublecircle, fillcolor="#000000", '
                     'fontcolor="#ffffff", fontsize=10];')
    for edge in edges:
        attributes = {"label": edge.label} if edge.label else {}
        if edge.kind == "catch":
            attributes.update(style="dashed", color="#c62828", fontcolor="#c62828")
        elif edge.kind == "default":
            attributes["style"] = "bold"
        suffix = f" [{_dot_attributes(attributes)}]" if attributes else ""
        lines.append(f"    {_id(edge.source, ids)} -> {_id(edge.target, ids)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(definition: dict, *, statuses: t.Mapping[str, str] | None = None) -> str:
    """SVG drawn by Graphviz's ``dot`` (raises :class:`GraphvizNotFound` when it is absent)."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound(
            "SVG needs Graphviz's 'dot' program, which is not on PATH. Install Graphviz "
            "('apt-get install graphviz', 'conda install graphviz' or 'brew install graphviz'), "
            "or draw mermaid or dot text instead."
        )
    with PROCESS_START_LOCK:  # see gladier.forksafe
        finished = subprocess.run(
            [program, "-Tsvg"], input=to_dot(definition, statuses=statuses),
            capture_output=True, text=True, timeout=120, check=False,
        )
    if finished.returncode != 0:
        raise GladierException(f"Graphviz 'dot' failed (exit {finished.returncode}): "
                               f"{finished.stderr.strip()}")
    return finished.stdout


def render(definition: dict, fmt: str, *, statuses: t.Mapping[str, str] | None = None) -> str:
    """The picture in ``fmt`` (one of :data:`FORMATS`)."""
    renderers = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}
    if fmt not in renderers:
        raise GladierException(f"Unknown graph format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](definition, statuses=statuses)


def _states(definition: dict) -> dict[str, dict]:
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return {}
    return {str(name): state for name, state in states.items() if isinstance(state, dict)}


def _dicts(value: t.Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _node_ids(definition: dict) -> dict[str, str]:
    """Safe node ids (s0, s1, ...) for every state and every undefined target, in order."""
    names = list(_states(definition))
    for edge in transitions(definition):
        for name in (edge.source, edge.target):
            if name not in (START, END) and name not in names:
                names.append(name)
    return {name: f"s{index}" for index, name in enumerate(names)}


def _id(name: str, ids: dict[str, str]) -> str:
    return name if name in (START, END) else ids[name]


def _node_label(name: str, states: dict[str, dict]) -> str:
    if name not in states:
        return f"{name}\n(undefined)"
    return f"{name}\n{states[name].get('Type', '?')}"


def _status_of(name: str, statuses: t.Mapping[str, str]) -> str:
    status = statuses.get(name, NOT_REACHED)
    return status if status in STATUS_COLOURS else NOT_REACHED


def _rule_text(rule: t.Any) -> str:
    if not isinstance(rule, dict):
        return "?"
    for joiner in ("And", "Or"):
        if isinstance(rule.get(joiner), list):
            return f" {joiner.lower()} ".join(_grouped(part) for part in rule[joiner])
    if "Not" in rule:
        return f"not {_grouped(rule['Not'])}"
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in _TYPE_TESTS:
            positive, negative = _TYPE_TESTS[key]
            return f"{variable} {positive if value else negative}"
        compared = key[:-4] if key.endswith("Path") else key
        for type_name in _COMPARED_TYPES:
            if not compared.startswith(type_name):
                continue
            operator = _COMPARISONS.get(compared[len(type_name):])
            if operator:
                operand = value if key.endswith("Path") else json.dumps(value)
                return f"{variable} {operator} {operand}"
    return "?"


def _grouped(rule: t.Any) -> str:
    text = _rule_text(rule)
    return f"({text})" if " and " in text or " or " in text else text


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _mermaid_text(text: str) -> str:
    """Escape text for a quoted Mermaid label (entity codes, as Mermaid documents them)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def _dot_attributes(attributes: dict[str, str]) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return ", ".join(f"{key}={quoted(str(value))}" for key, value in attributes.items())
