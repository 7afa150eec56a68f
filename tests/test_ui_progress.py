"""Progress displays: terminal live view, plain lines for batch jobs, Jupyter cell updates."""

from __future__ import annotations

import io
import re
import shutil
import sys
import time
import types

import pytest
from rich.console import Console

from gladier.exc import EngineError
from gladier.ui import progress
from gladier.ui.progress import JupyterRenderer, LineRenderer, TerminalRenderer
from sample_flows import CHOICE_FLOW, napping_for


#: The same flow, waiting 1 s at Nap at the tests' time scale (0.01).
SLOW_FLOW = napping_for(100)

RUN_ID = "0d9a3d34-4a0b-4f1f-9b44-1b6a2c3d4e5f"


def _entry(second: int, code: str, state: str | None = None, kind: str | None = None,
           **details) -> dict:
    if state:
        details.update(state_name=state, state_type=kind)
    return {"time": f"2026-03-01T10:00:{second:02d}+00:00", "code": code,
            "description": code, "details": details}


ENTRIES = [
    _entry(0, "FlowStarted", input={"input": {"n": 1}}),
    _entry(1, "PassStarted", "Prepare", "Pass"),
    _entry(2, "PassCompleted", "Prepare", "Pass"),
    _entry(2, "ChoiceStarted", "Decide", "Choice"),
    _entry(2, "ChoiceCompleted", "Decide", "Choice"),
    _entry(3, "FailStarted", "Stop", "Fail"),
    _entry(3, "FlowFailed", state_name="Stop", exception="TooSmall", cause="n must be over 2"),
]
FAILED_RUN = {
    "run_id": RUN_ID, "status": "FAILED", "start_time": "2026-03-01T10:00:00+00:00",
    "completion_time": "2026-03-01T10:00:03+00:00",
    "details": {"code": "FlowFailed", "description": "The Flow Instance failed",
                "details": {"state_name": "Stop", "exception": "TooSmall",
                            "cause": "n must be over 2"}},
}


def test_line_renderer_prints_one_timestamped_line_per_event():
    out = io.StringIO()
    renderer = LineRenderer(file=out)
    for entry in ENTRIES:
        renderer.entry(entry)
    renderer.finish(FAILED_RUN)
    assert out.getvalue().splitlines() == [
        "2026-03-01T10:00:00Z run started",
        "2026-03-01T10:00:01Z state Prepare (Pass) started",
        "2026-03-01T10:00:02Z state Prepare (Pass) succeeded after 1.00 s",
        "2026-03-01T10:00:02Z state Decide (Choice) started",
        "2026-03-01T10:00:02Z state Decide (Choice) succeeded after 0.00 s",
        "2026-03-01T10:00:03Z state Stop (Fail) started",
        "2026-03-01T10:00:03Z state Stop (Fail) failed after 0.00 s",
        f"2026-03-01T10:00:03Z run {RUN_ID} FAILED in 3.00 s: TooSmall: n must be over 2",
    ]


def test_a_state_left_by_a_caught_error_is_shown_failed():
    out = io.StringIO()
    renderer = LineRenderer(file=out)
    renderer.entry(_entry(1, "ActionStarted", "Work", "Action"))
    renderer.entry(_entry(4, "ActionFailed", "Work", "Action"))
    renderer.entry(_entry(4, "PassStarted", "Recover", "Pass"))
    assert "state Work (Action) failed after 3.00 s" in out.getvalue()


def test_line_renderer_follows_polled_run_documents_without_log_entries():
    """Against Globus, progress() only has run documents: their details name the state."""
    out = io.StringIO()
    renderer = LineRenderer(file=out, output_hint="see the run in the web app")
    active = {"run_id": RUN_ID, "status": "ACTIVE", "start_time": "2026-03-01T10:00:00+00:00",
              "details": {"code": "ActionStarted", "description": "State Transfer started",
                          "time": "2026-03-01T10:00:05+00:00",
                          "details": {"state_name": "Transfer", "state_type": "Action"}}}
    renderer(active)
    renderer(active)  # the same poll again prints nothing new
    renderer({**active, "status": "SUCCEEDED", "completion_time": "2026-03-01T10:00:09+00:00",
              "details": {"code": "FlowSucceeded", "output": {"Transfer": {}, "input": {}}}})
    lines = out.getvalue().splitlines()
    assert [line[21:] for line in lines] == [
        "state Transfer (Action) started",
        "state Transfer (Action) succeeded after 4.00 s",
        f"run {RUN_ID} SUCCEEDED in 9.00 s; output (keys: Transfer, input) is the run "
        "document's details.output (see the run in the web app)",
    ]
    assert renderer.finished


def test_a_renderer_fed_log_entries_never_shows_a_state_from_run_document_details():
    """Once the log is the source, a polled document naming a state adds no second step."""
    out = io.StringIO()
    renderer = LineRenderer(file=out)
    active = {"run_id": RUN_ID, "status": "ACTIVE", "start_time": "2026-03-01T10:00:00+00:00",
              "details": {"code": "ActionStarted", "time": "2026-03-01T10:00:05+00:00",
                          "details": {"state_name": "Transfer", "state_type": "Action"}}}
    renderer.start(active)
    renderer(active)  # polled before the log shows the state
    renderer.entry(_entry(5, "ActionStarted", "Transfer", "Action"))
    renderer(active)
    assert [line[21:] for line in out.getvalue().splitlines()] == [
        "state Transfer (Action) started"]


def test_renderer_stops_at_inactive_runs_that_need_a_person():
    out = io.StringIO()
    renderer = LineRenderer(file=out)
    renderer({"run_id": RUN_ID, "status": "INACTIVE",
              "details": {"code": "ConsentRequired", "description": "Consent is required"}})
    assert renderer.finished
    assert out.getvalue().rstrip().endswith(
        f"run {RUN_ID} INACTIVE: ConsentRequired: Consent is required")


def test_terminal_renderer_prints_each_outcome_and_the_final_status():
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=120)
    renderer = TerminalRenderer(console=console)
    for entry in ENTRIES:
        renderer.entry(entry)
    renderer.finish(FAILED_RUN)
    text = console.export_text()
    assert re.search(r"✓ Prepare \(Pass\) succeeded in 1\.00 s", text)
    assert re.search(r"✓ Decide \(Choice\) succeeded in 0\.00 s", text)
    assert re.search(r"✗ Stop \(Fail\) failed in 0\.00 s", text)
    assert text.rstrip().endswith(f"run {RUN_ID} FAILED in 3.00 s: TooSmall: n must be over 2")
    assert renderer._live is None  # the live display was stopped


def test_terminal_live_view_names_the_running_state_and_its_elapsed_time():
    renderer = TerminalRenderer(console=Console(file=io.StringIO(), force_terminal=True))
    renderer.entry(_entry(0, "FlowStarted"))
    renderer.entry(_entry(1, "WaitStarted", "Nap", "Wait"))
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=120)
    console.print(renderer)
    renderer.finish({**FAILED_RUN, "status": "SUCCEEDED"})
    assert re.search(r"Nap \(Wait\) running \S+.* · run \S+", console.export_text())


def test_jupyter_renderer_updates_one_display_in_place():
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj._repr_html_()))

    def display(obj, *, display_id):
        assert display_id is True
        shown.append(("display", obj._repr_html_()))
        return Handle()

    renderer = JupyterRenderer(display=display)
    for entry in ENTRIES:
        renderer.entry(entry)
    renderer.finish(FAILED_RUN)
    assert [kind for kind, _html in shown].count("display") == 1
    assert len(shown) > 3
    final = shown[-1][1]
    assert f"run {RUN_ID} FAILED" in final and "TooSmall" in final
    assert re.search(r"<td>Prepare</td><td>Pass</td><td>succeeded</td>", final)
    assert re.search(r"<td>Stop</td><td>Fail</td><td>failed</td>", final)
    early = shown[1][1]
    assert "Stop" not in early  # each update is a snapshot, not a live reference


def test_choose_renderer_uses_plain_lines_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv(progress.RENDERER_ENV, raising=False)
    assert isinstance(progress.choose_renderer(file=io.StringIO()), LineRenderer)


def test_choose_renderer_can_be_forced_by_environment(monkeypatch):
    monkeypatch.setenv(progress.RENDERER_ENV, "terminal")
    assert isinstance(progress.choose_renderer(file=io.StringIO()), TerminalRenderer)
    monkeypatch.setenv(progress.RENDERER_ENV, "plain")
    assert isinstance(progress.default_callback(), LineRenderer)


def test_follow_shows_a_real_run_event_by_event(engine):
    flow = engine.create_flow(CHOICE_FLOW, title="progress test")
    run = engine.run_flow(flow["id"], {"input": {"n": 5}})
    out = io.StringIO()
    final = progress.follow(engine, run["run_id"], renderer=LineRenderer(file=out), timeout=30)
    assert final["status"] == "SUCCEEDED"
    events = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    states = [re.sub(r" after .*", "", event) for event in events if event.startswith("state ")]
    assert states == [
        "state Prepare (Pass) started", "state Prepare (Pass) succeeded",
        "state Decide (Choice) started", "state Decide (Choice) succeeded",
        "state Nap (Wait) started", "state Nap (Wait) succeeded",
        "state Done (Pass) started", "state Done (Pass) succeeded",
    ]
    assert events[-1].startswith(f"run {run['run_id']} SUCCEEDED in ")
    assert "(keys: input, prep)" in events[-1]


def test_follow_of_a_finished_run_replays_its_log(engine):
    flow = engine.create_flow(CHOICE_FLOW)
    run = engine.run_flow(flow["id"], {"input": {"n": 1}})
    engine.wait(run["run_id"], timeout=30)
    out = io.StringIO()
    final = progress.follow(engine, run["run_id"], renderer=LineRenderer(file=out), timeout=30)
    assert final["status"] == "FAILED"
    text = out.getvalue()
    assert "state Stop (Fail) failed" in text
    assert text.count("state Prepare (Pass) started") == 1
    last = text.splitlines()[-1]
    assert f"run {run['run_id']} FAILED in " in last and last.endswith("TooSmall: n must be over 2")


def test_follow_joining_a_run_mid_way_shows_its_states_in_order(engine):
    flow = engine.create_flow(SLOW_FLOW)
    run_id = engine.run_flow(flow["id"], {"input": {"n": 5}})["run_id"]
    deadline = time.monotonic() + 30
    while engine.get_run(run_id)["details"].get("code") != "WaitStarted":  # the run is at Nap
        assert time.monotonic() < deadline
        time.sleep(0.01)
    out = io.StringIO()
    progress.follow(engine, run_id, renderer=LineRenderer(file=out), timeout=30)
    states = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()
              if " state " in line and " started" in line]
    assert states == ["state Prepare (Pass) started", "state Decide (Choice) started",
                      "state Nap (Wait) started", "state Done (Pass) started"]
    assert " failed " not in out.getvalue()


def test_follow_gives_a_plain_callback_the_run_document_after_each_event(engine):
    flow = engine.create_flow(SLOW_FLOW)
    run_id = engine.run_flow(flow["id"], {"input": {"n": 5}})["run_id"]
    documents = []
    final = progress.follow(engine, run_id, renderer=documents.append, timeout=30)
    assert all(document["run_id"] == run_id for document in documents)
    statuses = [document["status"] for document in documents]
    assert "ACTIVE" in statuses  # it was called while the run waited at Nap
    assert documents[-1] == final and statuses.count("SUCCEEDED") == 1


def test_follow_releases_the_live_terminal_view_when_waiting_fails(engine):
    flow = engine.create_flow({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 100000, "End": True}}})
    run_id = engine.run_flow(flow["id"], {})["run_id"]
    renderer = TerminalRenderer(console=Console(file=io.StringIO(), force_terminal=True))
    with pytest.raises(EngineError, match="did not end within"):
        progress.follow(engine, run_id, renderer=renderer, timeout=0.2)
    assert renderer._live is None


def test_terminal_renderer_shows_names_and_causes_with_brackets_literally():
    console = Console(file=io.StringIO(), force_terminal=True, record=True, width=200)
    renderer = TerminalRenderer(console=console)
    renderer.entry(_entry(1, "ActionStarted", "Copy [raw]", "Action"))
    renderer.entry(_entry(2, "ActionCompleted", "Copy [raw]", "Action"))
    renderer.finish({**FAILED_RUN, "details": {"details": {"cause": "[Errno 2] missing"}}})
    text = console.export_text()
    assert "✓ Copy [raw] (Action) succeeded in 1.00 s" in text
    assert text.rstrip().endswith("FAILED in 3.00 s: [Errno 2] missing")


class ConsentProvider:
    """An action provider whose actions wait for a person's consent (INACTIVE)."""

    def run(self, request: dict) -> dict:
        return self.status(request["request_id"])

    def status(self, action_id: str) -> dict:
        return {"action_id": action_id, "status": "INACTIVE", "display_status": "INACTIVE",
                "creator_id": "urn:globus:auth:identity:0", "start_time": "2026-03-01T10:00:00Z",
                "completion_time": None, "release_after": None,
                "details": {"code": "ConsentRequired", "description": "Consent is required",
                            "required_scope": "urn:globus:auth:scope:example:all"}}

    def cancel(self, action_id: str) -> dict:
        return {**self.status(action_id), "status": "FAILED"}

    def release(self, action_id: str) -> dict:
        return self.cancel(action_id)


def test_follow_returns_when_the_run_needs_a_person(engine):
    url = "https://consent.example.org/actions"
    engine.register_action_provider(url, ConsentProvider())
    flow = engine.create_flow({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Action", "ActionUrl": url, "Parameters": {}, "ResultPath": "$.ask",
                "End": True}}})
    run_id = engine.run_flow(flow["id"], {})["run_id"]
    out = io.StringIO()
    final = progress.follow(engine, run_id, renderer=LineRenderer(file=out), timeout=30,
                            recheck=0.05)
    assert final["status"] == "INACTIVE"
    lines = out.getvalue().splitlines()
    assert lines[-2].endswith("state Ask (Action) started")
    assert re.search(rf"run {run_id} INACTIVE after \S+ s: ConsentRequired: Consent is required$",
                     lines[-1])


def test_in_jupyter_only_inside_an_ipython_kernel(monkeypatch):
    kernel_shell = types.SimpleNamespace(kernel=object())
    terminal_shell = types.SimpleNamespace()
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: kernel_shell))
    assert progress.in_jupyter()
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: terminal_shell))
    assert not progress.in_jupyter()
    monkeypatch.delitem(sys.modules, "IPython")
    assert not progress.in_jupyter()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_jupyter_renderer_redraws_the_flow_coloured_as_the_run_moves():
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj._repr_html_())

    def display(obj, *, display_id):
        shown.append(obj._repr_html_())
        return Handle()

    renderer = JupyterRenderer(display=display, definition=CHOICE_FLOW)
    for entry in ENTRIES[:2]:
        renderer.entry(entry)
    assert 'xlink:title="Prepare: running"' in shown[-1]
    assert 'xlink:title="Stop: not reached"' in shown[-1]
    for entry in ENTRIES[2:]:
        renderer.entry(entry)
    renderer.finish(FAILED_RUN)
    assert 'xlink:title="Prepare: succeeded"' in shown[-1]
    assert 'xlink:title="Stop: failed"' in shown[-1]
    assert 'xlink:title="Nap: not reached"' in shown[-1]


def test_jupyter_renderer_leaves_out_the_graph_of_very_large_flows():
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"}
              for i in range(progress.MAX_LIVE_GRAPH_STATES + 1)}
    big = {"StartAt": "S0", "States": states}
    assert JupyterRenderer(display=lambda obj, display_id: None, definition=big).definition is None
    renderer = JupyterRenderer(display=lambda obj, display_id: None, definition=CHOICE_FLOW)
    assert renderer.definition is CHOICE_FLOW


def test_follow_without_a_renderer_picks_one_for_where_it_runs(engine, monkeypatch, capsys):
    monkeypatch.setenv(progress.RENDERER_ENV, "plain")
    flow = engine.create_flow(CHOICE_FLOW)
    run_id = engine.run_flow(flow["id"], {"input": {"n": 5}})["run_id"]
    assert progress.follow(engine, run_id, timeout=30)["status"] == "SUCCEEDED"
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(rf"\S+Z run {run_id} SUCCEEDED in .*details\.output", last)
