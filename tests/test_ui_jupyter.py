"""Notebook display objects: self-contained HTML for flows and runs, with and without Graphviz."""

from __future__ import annotations

import re
import shutil

import pytest

from gladier.ui import FlowView, RunView, graph

FLOW = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.input.n"}, "ResultPath": "$.prep",
                    "Next": "Decide"},
        "Decide": {"Type": "Choice",
                   "Choices": [{"Variable": "$.prep.n", "NumericGreaterThan": 2, "Next": "Done"}],
                   "Default": "Stop"},
        "Stop": {"Type": "Fail", "Error": "TooSmall", "Cause": "n must be over 2"},
        "Done": {"Type": "Pass", "End": True},
    },
}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' is not installed")


@pytest.fixture
def no_graphviz(monkeypatch, tmp_path):
    """A PATH on which Graphviz's dot cannot be found."""
    monkeypatch.setenv("PATH", str(tmp_path))


def _finished_run(engine, n: int) -> str:
    flow = engine.create_flow(FLOW, title="jupyter test")
    run = engine.run_flow(flow["id"], {"input": {"n": n}}, label="notebook run")
    engine.wait(run["run_id"], timeout=30)
    return run["run_id"]


def _offline(markup: str) -> None:
    """Nothing in the markup loads from the network."""
    assert not re.search(r"""(src|href)=["']?https?:""", markup)
    assert "<script" not in markup


@needs_dot
def test_flow_view_is_inline_svg_with_every_state():
    bundle = FlowView(FLOW, title="My flow")._repr_mimebundle_()
    markup = bundle["text/html"]
    assert markup.count("<svg") == 1 and "<?xml" not in markup and "<!DOCTYPE" not in markup
    for name in FLOW["States"]:
        assert f">{name}</text>" in markup
    assert "My flow" in markup and "$.prep.n &gt; 2" in markup
    _offline(markup)
    assert bundle["text/plain"].splitlines()[:2] == ["My flow", "start → Prepare"]


def test_flow_view_without_graphviz_is_a_table_of_states_and_transitions(no_graphviz):
    markup = FlowView(FLOW)._repr_html_()
    assert "<svg" not in markup
    rows = re.findall(r"<tr[^>]*><td>(\w+)</td><td>(\w+)</td><td>[^<]*</td><td>(.*?)</td></tr>",
                      markup)
    assert rows == [
        ("Prepare", "Pass", "→ Decide"),
        ("Decide", "Choice", "$.prep.n &gt; 2 → Done<br/>default → Stop"),
        ("Stop", "Fail", ""),
        ("Done", "Pass", "→ end"),
    ]
    _offline(markup)


def test_flow_view_plain_text_lists_each_state_with_its_transitions():
    text = repr(FlowView(FLOW))
    assert "Decide (Choice): $.prep.n > 2 → Done; default → Stop" in text
    assert "Stop (Fail): no transitions" in text


@needs_dot
def test_run_view_colours_the_graph_by_what_the_run_did(engine):
    run_id = _finished_run(engine, n=1)
    bundle = RunView(engine, run_id)._repr_mimebundle_()
    markup = bundle["text/html"]
    assert f"run {run_id}" in markup and "notebook run" in markup and "FAILED" in markup
    assert "TooSmall: n must be over 2" in markup
    fills = {name: fill for name, fill in
             re.findall(r"xlink:title=\"(\w+): ([a-z ]+)\"", markup)}
    assert fills == {"Prepare": "succeeded", "Decide": "succeeded", "Stop": "failed",
                     "Done": "not reached"}
    assert graph.STATUS_COLOURS[graph.FAILED][0] in markup
    _offline(markup)
    assert bundle["text/plain"].splitlines() == [
        f"run {run_id} FAILED",
        "  Prepare (Pass): succeeded", "  Decide (Choice): succeeded", "  Stop (Fail): failed",
    ]


def test_run_view_without_graphviz_colours_the_state_table(engine, no_graphviz):
    run_id = _finished_run(engine, n=5)
    markup = RunView(engine, run_id)._repr_html_()
    assert "<svg" not in markup and "SUCCEEDED" in markup
    succeeded = graph.STATUS_COLOURS[graph.SUCCEEDED][0]
    not_reached = graph.STATUS_COLOURS[graph.NOT_REACHED][0]
    assert f"<tr style='background:{succeeded}'><td>Done</td>" in markup
    assert f"<tr style='background:{not_reached}'><td>Stop</td>" in markup
    _offline(markup)


def test_run_view_reads_the_run_afresh_on_each_display(engine):
    flow = engine.create_flow({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True}}})
    run = engine.run_flow(flow["id"], {})
    view = RunView(engine, run["run_id"], definition=flow["definition"])
    engine.cancel_run(run["run_id"])
    assert repr(view).splitlines()[0] == f"run {run['run_id']} FAILED"


def test_client_displays_its_flow_graph_in_jupyter():
    from gladier import GladierBaseClient, generate_flow_definition
    from gladier.tools import PassState

    @generate_flow_definition
    class ShownClient(GladierBaseClient):
        gladier_tools = [PassState(state_name="OnlyStep")]

    bundle = ShownClient()._repr_mimebundle_()
    assert "ShownClient" in bundle["text/html"]
    assert "OnlyStep" in bundle["text/html"]
    assert "OnlyStep" in bundle["text/plain"]
