"""Pictures of flows: every state, every transition, colours that follow a run."""

from __future__ import annotations

import re
import shutil

import pytest

from gladier.exc import GraphvizNotFound
from gladier.ui import graph, steps

DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"n": 3}, "ResultPath": "$.prep", "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.prep.n", "NumericGreaterThan": 2, "Next": "Work"},
                {"And": [{"Variable": "$.name", "IsPresent": True},
                         {"Variable": "$.name", "StringEquals": "stop"}], "Next": "Stop"},
                {"Not": {"Variable": "$.flag", "BooleanEqualsPath": "$.other"}, "Next": "Pause"},
            ],
            "Default": "Done",
        },
        "Work": {
            "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
            "Parameters": {"echo_string": "hi"}, "ResultPath": "$.work",
            "Catch": [{"ErrorEquals": ["ActionFailedException", "ActionTimeout"], "Next": "Stop"},
                      {"ErrorEquals": ["States.ALL"], "Next": "Done"}],
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Stop": {"Type": "Fail", "Error": "Stopped", "Cause": "asked to stop"},
        "Done": {"Type": "Pass", "End": True},
    },
}

EXPECTED_EDGES = {
    ("__start__", "Prepare", ""),
    ("Prepare", "Decide", ""),
    ("Decide", "Work", "$.prep.n > 2"),
    ("Decide", "Stop", '$.name is present and $.name == "stop"'),
    ("Decide", "Pause", "not $.flag == $.other"),
    ("Decide", "Done", "default"),
    ("Work", "Pause", ""),
    ("Work", "Stop", "catch ActionFailedException, ActionTimeout"),
    ("Work", "Done", "catch States.ALL"),
    ("Pause", "Done", ""),
    ("Done", "__end__", ""),
}


def _entry(code: str, state: str | None = None, kind: str = "Pass") -> dict:
    details = {"state_name": state, "state_type": kind} if state else {}
    return {"time": "2026-01-01T00:00:00+00:00", "code": code, "description": code,
            "details": details}


def _mermaid_unescape(text: str) -> str:
    for code, char in (("#quot;", '"'), ("#lt;", "<"), ("#gt;", ">"), ("#35;", "#")):
        text = text.replace(code, char)
    return text


def _parse_mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    names = {"__start__": "__start__", "__end__": "__end__"}
    for node_id, label in re.findall(r'^\s+(s\d+)[\[{(]+"(.*?)"[\]})]+$', text, re.M):
        names[node_id] = _mermaid_unescape(label.split("<br/>")[0])
    edges = set()
    for source, label, target in re.findall(r'^\s+(\w+) -\.?->(?:\|"(.*?)"\|)? (\w+)$', text, re.M):
        edges.add((names[source], names[target], _mermaid_unescape(label)))
    return names, edges


def _parse_dot(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]], dict[str, str]]:
    names = {"__start__": "__start__", "__end__": "__end__"}
    fills = {}
    for node_id, attributes in re.findall(r"^\s+(s\d+) \[(.*)\];$", text, re.M):
        names[node_id] = re.search(r'label="(.*?)\\n', attributes).group(1)
        fill = re.search(r'fillcolor="(#\w+)"', attributes)
        if fill:
            fills[names[node_id]] = fill.group(1)
    edges = set()
    for source, target, attributes in re.findall(r"^\s+(\w+) -> (\w+)(?: \[(.*)\])?;$", text, re.M):
        label = re.search(r'label="((?:[^"\\]|\\.)*)"', attributes or "")
        text = label.group(1).replace('\\"', '"') if label else ""
        edges.add((names[source], names[target], text))
    return names, edges, fills


def test_mermaid_draws_every_state_and_every_transition():
    names, edges = _parse_mermaid(graph.to_mermaid(DEFINITION))
    assert set(DEFINITION["States"]) <= set(names.values())
    assert edges == EXPECTED_EDGES


def test_dot_draws_every_state_and_every_transition():
    names, edges, _fills = _parse_dot(graph.to_dot(DEFINITION))
    assert set(DEFINITION["States"]) <= set(names.values())
    assert edges == EXPECTED_EDGES


def test_catch_transitions_are_dashed_and_choice_states_are_diamonds():
    dot = graph.to_dot(DEFINITION)
    catch_lines = [line for line in dot.splitlines() if "catch " in line]
    assert len(catch_lines) == 2 and all('style="dashed"' in line for line in catch_lines)
    assert re.search(r'label="Decide\\nChoice", tooltip="Decide", shape="diamond"', dot)
    mermaid = graph.to_mermaid(DEFINITION)
    assert len([line for line in mermaid.splitlines() if "-.->" in line]) == 2
    assert re.search(r'\{"Decide<br/>Choice"\}', mermaid)


def test_summarize_rule_covers_type_tests_and_negation():
    assert graph.summarize_rule({"Variable": "$.x", "IsNull": False}) == "$.x is not null"
    assert graph.summarize_rule({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.limit"}) \
        == "$.t <= $.limit"
    assert graph.summarize_rule({"Or": [{"Variable": "$.a", "StringMatches": "*.txt"},
                                        {"Not": {"Variable": "$.b", "IsNumeric": True}}]}) \
        == '$.a matches "*.txt" or not $.b is numeric'


def test_long_choice_rules_are_cut_to_a_short_label():
    rule = {"Variable": "$.a.very.long.path.into.the.run.state", "StringEquals": "x" * 80}
    label = graph.summarize_rule(rule)
    assert len(label) == graph.MAX_LABEL and label.endswith("…")


def test_statuses_from_logs_marks_caught_errors_failed_and_unreached_states_absent():
    entries = [
        _entry("FlowStarted"),
        _entry("PassStarted", "Prepare"), _entry("PassCompleted", "Prepare"),
        _entry("ChoiceStarted", "Decide", "Choice"), _entry("ChoiceCompleted", "Decide", "Choice"),
        _entry("ActionStarted", "Work", "Action"), _entry("ActionFailed", "Work", "Action"),
        _entry("FailStarted", "Stop", "Fail"),
        {"time": "2026-01-01T00:00:01+00:00", "code": "FlowFailed", "description": "",
         "details": {"state_name": "Stop", "exception": "Stopped", "cause": "asked to stop"}},
    ]
    assert steps.statuses_from_logs(entries) == {
        "Prepare": graph.SUCCEEDED, "Decide": graph.SUCCEEDED,
        "Work": graph.FAILED, "Stop": graph.FAILED,
    }


def test_statuses_from_logs_keeps_the_last_visit_and_the_running_state():
    entries = [
        _entry("ActionStarted", "Work", "Action"),
        _entry("PassStarted", "Done"),  # Work raised, its Catch led here
        _entry("PassCompleted", "Done"),
        _entry("ActionStarted", "Work", "Action"),
        _entry("ActionCompleted", "Work", "Action"),
        _entry("WaitStarted", "Pause", "Wait"),
    ]
    assert steps.statuses_from_logs(entries, run_status="ACTIVE") == {
        "Work": graph.SUCCEEDED, "Done": graph.SUCCEEDED, "Pause": graph.RUNNING,
    }


def test_colours_follow_the_run_in_mermaid_and_dot():
    statuses = {"Prepare": graph.SUCCEEDED, "Decide": graph.SUCCEEDED,
                "Work": graph.FAILED, "Pause": graph.RUNNING}
    mermaid = graph.to_mermaid(DEFINITION, statuses=statuses)
    names, _edges = _parse_mermaid(mermaid)
    ids = {name: node_id for node_id, name in names.items()}
    members = {css: set(group.split(",")) for group, css in
               re.findall(r"^\s+class (\S+) (\w+)$", mermaid, re.M)}
    assert members["succeeded"] == {ids["Prepare"], ids["Decide"]}
    assert members["failed"] == {ids["Work"]}
    assert members["running"] == {ids["Pause"]}
    assert members["not_reached"] == {ids["Stop"], ids["Done"]}

    _names, _edges, fills = _parse_dot(graph.to_dot(DEFINITION, statuses=statuses))
    colour = {status: fill for status, (fill, _stroke) in graph.STATUS_COLOURS.items()}
    assert fills == {"Prepare": colour[graph.SUCCEEDED], "Decide": colour[graph.SUCCEEDED],
                     "Work": colour[graph.FAILED], "Pause": colour[graph.RUNNING],
                     "Stop": colour[graph.NOT_REACHED], "Done": colour[graph.NOT_REACHED]}


def test_without_a_run_states_are_not_coloured():
    assert "classDef" not in graph.to_mermaid(DEFINITION)
    assert graph.STATUS_COLOURS[graph.NOT_REACHED][0] not in graph.to_dot(DEFINITION)


def test_undefined_targets_still_get_a_node():
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    names, edges = _parse_mermaid(graph.to_mermaid(broken))
    assert ("A", "Missing", "") in edges
    assert "(undefined)" in graph.to_dot(broken)


def test_names_with_quotes_and_angle_brackets_are_escaped():
    odd = {"StartAt": 'Say "hi" <now>',
           "States": {'Say "hi" <now>': {"Type": "Pass", "End": True}}}
    names, _edges = _parse_mermaid(graph.to_mermaid(odd))
    assert 'Say "hi" <now>' in names.values()
    dot_names, _edges, _fills = _parse_dot(graph.to_dot(odd))
    assert 'Say \\"hi\\" <now>' in dot_names.values()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_svg_shows_every_state_and_colour():
    statuses = {"Prepare": graph.SUCCEEDED, "Work": graph.FAILED}
    svg = graph.to_svg(DEFINITION, statuses=statuses)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for name in DEFINITION["States"]:
        assert f">{name}</text>" in svg
    assert graph.STATUS_COLOURS[graph.FAILED][0] in svg
    assert "catch States.ALL" in svg


def test_svg_without_graphviz_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz.*conda install graphviz"):
        graph.to_svg(DEFINITION)


def test_render_refuses_an_unknown_format():
    with pytest.raises(Exception, match="choose one of mermaid, dot, svg"):
        graph.render(DEFINITION, "png")
