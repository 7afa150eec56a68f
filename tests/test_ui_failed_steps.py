"""A step whose action FAILED is shown as failed everywhere, even when the flow went on.

With ``ExceptionOnActionFailure: false`` (what Gladier generates for compute states) the
service stores the FAILED status at the ResultPath and moves on: the run SUCCEEDS, as the
service would say, but the live views, ``runs show``, the graph and the summary line say the
step failed. The failing steps here are real: a compute function that raises, in the local
process pool, and an action the loopback Action Provider ends FAILED.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from ap_server import ActionProviderServer
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from gladier.ui import graph
from gladier.ui.progress import JupyterRenderer, LineRenderer, TerminalRenderer, follow
from gladier.ui.steps import CONTINUED_NOTE, RunProgress, statuses_from_logs

FUNCTION_ID = "9d1e4a8c-3f7b-4c2a-8e6d-5b0a1c2d3e4f"
NOTE = f"1 step failed; {CONTINUED_NOTE}"


def invert(n: int) -> float:
    return 1 / n


def compute_flow() -> dict:
    return {"StartAt": "Invert", "States": {
        "Invert": {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                   "ExceptionOnActionFailure": False, "ResultPath": "$.Invert",
                   "WaitTime": 300,
                   "Parameters": {"tasks": [{"endpoint": LOCAL_ENDPOINT_ID,
                                             "function": FUNCTION_ID,
                                             "payload": {"n.$": "$.input.n"}}]},
                   "Next": "Publish"},
        "Publish": {"Type": "Pass", "End": True}}}


@pytest.fixture
def failed_compute_run(engine):
    engine.register_function(invert, function_id=FUNCTION_ID)
    flow_id = engine.create_flow(compute_flow())["id"]
    run = engine.run_flow(flow_id, {"input": {"n": 0}})
    final = engine.wait(run["run_id"], timeout=120)
    return engine, final


def test_the_run_status_stays_what_the_service_says(failed_compute_run):
    engine, final = failed_compute_run
    assert final["status"] == "SUCCEEDED"
    assert final["details"]["output"]["Invert"]["status"] == "FAILED"


def test_plain_lines_show_the_step_failed_and_the_summary_says_the_flow_continued(
        failed_compute_run):
    engine, final = failed_compute_run
    out = io.StringIO()
    follow(engine, final["run_id"], renderer=LineRenderer(file=out))
    lines = out.getvalue().splitlines()
    assert any(re.search(r"state Invert \(Action\) failed after", line) for line in lines)
    assert any("state Publish (Pass) succeeded" in line for line in lines)
    assert f"SUCCEEDED in" in lines[-1] and NOTE in lines[-1]
    assert "(failed: Invert)" in lines[-1]


def test_the_terminal_view_marks_the_step_failed_in_red(failed_compute_run):
    engine, final = failed_compute_run
    console = Console(file=io.StringIO(), force_terminal=True, width=200, color_system="standard")
    follow(engine, final["run_id"], renderer=TerminalRenderer(console=console))
    text = console.file.getvalue()
    assert re.search(r"\x1b\[31m✗\x1b\[0m Invert .*failed in", text)
    assert "✓ Invert" not in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert NOTE in re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_the_jupyter_cell_and_its_graph_show_the_step_failed(failed_compute_run):
    engine, final = failed_compute_run
    shown = []

    class Handle:
        def update(self, snapshot):
            shown.append(snapshot._repr_html_())

    def display(snapshot, display_id):
        shown.append(snapshot._repr_html_())
        return Handle()

    renderer = JupyterRenderer(display=display, definition=compute_flow())
    follow(engine, final["run_id"], renderer=renderer)
    assert "<td>✗</td><td>Invert</td><td>Action</td><td>failed</td>" in shown[-1]
    assert NOTE in shown[-1]


def test_graph_and_run_summary_colour_the_step_failed(failed_compute_run):
    engine, final = failed_compute_run
    entries = engine.get_run_logs(final["run_id"])["entries"]
    statuses = statuses_from_logs(entries, run_status=final["status"])
    assert statuses == {"Invert": "failed", "Publish": "succeeded"}
    mermaid = graph.to_mermaid(compute_flow(), statuses=statuses)
    assert "class s0 failed" in mermaid and "s0[\"Invert<br/>Action\"]" in mermaid
    progress = RunProgress.of_run(final, entries)
    assert [(s.name, s.outcome, s.continued) for s in progress.steps] == [
        ("Invert", "failed", True), ("Publish", "succeeded", False)]


def test_a_failed_http_action_with_exception_on_failure_true_still_fails_the_run(engine):
    server = ActionProviderServer().start()
    try:
        flow_id = engine.create_flow({"StartAt": "Ask", "States": {"Ask": {
            "Type": "Action", "ActionUrl": server.url, "Parameters": {"fail": True},
            "End": True}}})["id"]
        final = engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=60)
        entries = engine.get_run_logs(final["run_id"])["entries"]
    finally:
        server.stop()
    assert final["status"] == "FAILED"
    progress = RunProgress.of_run(final, entries)
    assert [(s.name, s.outcome, s.continued) for s in progress.steps] == [
        ("Ask", "failed", False)]
    assert progress.failures_note() == ""


def test_gladier_run_watch_and_runs_show_say_the_step_failed(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from gladier.cli import cli

    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    server = ActionProviderServer().start()
    try:
        definition = {"StartAt": "Ask", "States": {
            "Ask": {"Type": "Action", "ActionUrl": server.url, "Parameters": {"fail": True},
                    "ExceptionOnActionFailure": False, "ResultPath": "$.Ask", "Next": "Done"},
            "Done": {"Type": "Pass", "End": True}}}
        flow_file = tmp_path / "flow.json"
        flow_file.write_text(json.dumps(definition))
        db = str(tmp_path / "runs.db")
        watched = CliRunner().invoke(cli, ["run", str(flow_file), "--watch", "--db", db],
                                     catch_exceptions=False)
    finally:
        server.stop()
    assert watched.exit_code == 0  # the run SUCCEEDED, as the service would say
    lines = watched.stdout.splitlines()
    assert any("state Ask (Action) failed" in line for line in lines), watched.stdout
    assert any("SUCCEEDED" in line and NOTE in line for line in lines), watched.stdout
    (run_id,) = {word for line in lines for word in line.split()
                 if len(word) == 36 and word.count("-") == 4}
    shown = CliRunner().invoke(cli, ["runs", "show", run_id, "--db", db],
                               catch_exceptions=False).stdout
    assert re.search(r"^  failed\s+Ask \(Action\)", shown, re.M), shown
    assert re.search(r"^  succeeded\s+Done \(Pass\)", shown, re.M), shown
    assert f"note:      {NOTE} (failed: Ask)" in shown
    graphed = CliRunner().invoke(cli, ["graph", "--run", run_id, "--db", db],
                                 catch_exceptions=False).stdout
    assert re.search(r"class s0 failed", graphed), graphed
