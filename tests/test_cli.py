"""The ``gladier`` command, run through click's CliRunner on real flows and a temporary db."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from click.testing import CliRunner

from gladier.cli import cli, main
from gladier.engine import LocalEngine
from gladier.ui import graph
from sample_flows import CHOICE_FLOW, napping_for

SCHEMA = {"type": "object", "required": ["input"],
          "properties": {"input": {"type": "object", "required": ["n"],
                                   "properties": {"n": {"type": "integer"}}}}}


@pytest.fixture
def files(tmp_path, monkeypatch):
    """The flow, inputs and a database path in a temporary directory; Waits scaled down."""
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    monkeypatch.delenv("GLADIER_PROGRESS", raising=False)
    paths = {"db": str(tmp_path / "runs.db"), "flow": str(tmp_path / "flow.json"),
             "big": str(tmp_path / "big.json"), "small": str(tmp_path / "small.json"),
             "schema": str(tmp_path / "schema.json"), "dir": tmp_path}
    for key, value in (("flow", CHOICE_FLOW), ("big", {"input": {"n": 5}}),
                       ("small", {"input": {"n": 1}}), ("schema", SCHEMA)):
        with open(paths[key], "w") as handle:
            json.dump(value, handle)
    return paths


def gladier(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _run_ids(db: str) -> list[str]:
    listing = gladier("runs", "list", "--json", "--db", db).stdout
    return [run["run_id"] for run in json.loads(listing)]


# validate -----------------------------------------------------------------------------------

def test_validate_accepts_a_valid_definition(files):
    result = gladier("validate", files["flow"])
    assert result.exit_code == 0
    assert result.stdout == f"{files['flow']}: valid\n"


def test_validate_prints_one_problem_per_line_and_exits_2(files):
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                         "C": {"Type": "Pass"}}}
    path = files["dir"] / "broken.json"
    path.write_text(json.dumps(broken))
    result = gladier("validate", str(path))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == "$.States.A.Next (state A): Next 'B' is not a state of this flow"
    assert len(lines) == 3 and all(line.startswith("$.States.C (state C): ") for line in lines[1:])
    assert result.stderr.splitlines() == [
        f"{path}: invalid (3 problem(s))",
        "Hint: fix the places listed above (each line: JSON path, state, problem) and "
        "validate again",
    ]


def test_validate_prints_warnings_but_still_exits_0(files):
    flow = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Default": "B",
              "Choices": [{"Variable": "$.input.n", "NumericEquals": 1, "Next": "A"}]},
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.maybe", "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"x.$": "$.maybe"}, "ResultPath": "$.a", "End": True}}}
    path = files["dir"] / "warn.json"
    path.write_text(json.dumps(flow))
    closed_schema = files["dir"] / "closed.json"
    closed_schema.write_text(json.dumps({**SCHEMA, "additionalProperties": False}))
    result = gladier("validate", str(path), "--schema", str(closed_schema))
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "warning: $.States.B.Parameters['x.$'] (state B): '$.maybe' may not exist")
    assert result.stdout.splitlines()[-1].endswith("valid (1 warning(s))")


def test_unreadable_json_is_one_line_and_a_hint(files):
    path = files["dir"] / "bad.json"
    path.write_text("{\"StartAt\": ")
    result = gladier("validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: definition file {path} is not valid JSON: Expecting value (line 1, column 13)",
        "Hint: check the files and option values given on the command line",
    ]


def test_a_file_that_is_not_utf8_is_one_line_and_a_hint_to_convert_it(files):
    path = files["dir"] / "latin1.json"
    path.write_bytes('{"StartAt": "A", "Comment": "café"}'.encode("latin-1"))
    result = gladier("run", str(path), "--db", files["db"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: definition file {path} is not UTF-8 text (byte 0xe9 at offset 32)",
        f"Hint: JSON files must be UTF-8: convert it, e.g. 'iconv -f latin1 -t utf-8 {path}'",
    ]


# run ----------------------------------------------------------------------------------------

def test_run_prints_the_outcome_and_output_and_exits_0(files):
    result = gladier("run", files["flow"], "--input", files["big"], "--db", files["db"])
    assert result.exit_code == 0
    first, second, *output = result.stdout.splitlines()
    assert re.fullmatch(r"run [0-9a-f-]{36} SUCCEEDED", first) and second == "output:"
    assert json.loads("\n".join(output)) == {"input": {"n": 5}, "prep": {"n": 5}}


def test_run_that_fails_exits_1_and_says_why(files):
    result = gladier("run", files["flow"], "--input", files["small"], "--db", files["db"])
    assert result.exit_code == 1
    assert re.fullmatch(r"run [0-9a-f-]{36} FAILED: TooSmall: n must be over 2\n", result.stdout)
    assert "gladier runs logs" in result.stderr


def test_run_json_prints_only_the_final_run_document(files):
    result = gladier("run", files["flow"], "--input", '{"input": {"n": 7}}', "--json",
                     "--label", "cli test", "--tag", "a", "--db", files["db"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["status"] == "SUCCEEDED" and document["label"] == "cli test"
    assert document["tags"] == ["a"]
    assert document["details"]["output"]["prep"] == {"n": 7}


def test_run_watch_prints_timestamped_lines_when_not_a_terminal(files):
    result = gladier("run", files["flow"], "--input", files["big"], "--watch", "--db", files["db"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines)
    events = [line[21:] for line in lines]
    assert "state Nap (Wait) started" in events
    assert any(event.startswith("state Nap (Wait) succeeded after") for event in events)
    run_id = _run_ids(files["db"])[0]
    assert events[-1].startswith(f"run {run_id} SUCCEEDED in ")
    assert events[-1].endswith(f"(gladier runs show {run_id} --db {files['db']})")


def test_run_watch_json_keeps_stdout_pure_json(files):
    result = gladier("run", files["flow"], "--input", files["small"], "--watch", "--json",
                     "--db", files["db"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "FAILED"
    assert "state Stop (Fail) failed" in result.stderr


def test_run_input_failing_the_schema_exits_2_listing_each_location(files):
    result = gladier("run", files["flow"], "--schema", files["schema"], "--input",
                     '{"input": {"n": "five"}}', "--db", files["db"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    assert any("n" in line and "'five' is not of type 'integer'" in line for line in lines[1:-1])
    assert lines[-1].startswith("Hint: the run input must satisfy the flow's input schema")


def test_run_of_an_invalid_definition_exits_2_listing_each_problem(files):
    path = files["dir"] / "broken.json"
    path.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}))
    result = gladier("run", str(path), "--db", files["db"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: Flow definition is invalid (1 problem(s)):",
        "$.States.A.Next (state A): Next 'B' is not a state of this flow",
        "Hint: fix the places listed above; 'gladier validate DEF.json' checks a definition "
        "without running it",
    ]


def test_run_accepts_a_flow_document_with_its_input_schema(files):
    path = files["dir"] / "document.json"
    path.write_text(json.dumps({"definition": CHOICE_FLOW, "input_schema": SCHEMA}))
    result = gladier("run", str(path), "--input", '{"input": {}}', "--db", files["db"])
    assert result.exit_code == 2
    assert "'n' is a required property" in result.stderr


def test_inline_json_array_input_is_refused_as_not_an_object(files):
    result = gladier("run", files["flow"], "--input", " [1]", "--db", files["db"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "Error: run input must be a JSON object, got a list")


def test_a_label_over_64_characters_is_cut_as_on_globus(files):
    result = gladier("run", files["flow"], "--input", files["big"], "--json",
                     "--label", "x" * 100, "--db", files["db"])
    assert json.loads(result.stdout)["label"] == "x" * 62 + ".."


def test_collections_must_be_a_json_object(files):
    result = gladier("run", files["flow"], "--collections", "[1]", "--db", files["db"])
    assert result.exit_code == 2
    assert "must be a JSON object" in result.stderr


# runs ---------------------------------------------------------------------------------------

def test_runs_list_show_and_logs(files):
    gladier("run", files["flow"], "--input", files["big"], "--label", "first", "--db", files["db"])
    gladier("run", files["flow"], "--input", files["small"], "--db", files["db"])
    listing = gladier("runs", "list", "--db", files["db"]).stdout.splitlines()
    assert len(listing) == 2
    assert re.match(r"[0-9a-f-]{36}  FAILED ", listing[0])
    assert re.match(r"[0-9a-f-]{36}  SUCCEEDED .*\[first\]$", listing[1])
    failed = gladier("runs", "list", "--status", "failed", "--json", "--db", files["db"])
    assert [run["status"] for run in json.loads(failed.stdout)] == ["FAILED"]

    succeeded_id = _run_ids(files["db"])[1]
    show = gladier("runs", "show", succeeded_id, "--db", files["db"])
    assert show.exit_code == 0
    assert f"run:       {succeeded_id}" in show.stdout and "status:    SUCCEEDED" in show.stdout
    states = re.findall(r"^  (\w+) +(\w+) \((\w+)\)", show.stdout, re.M)
    assert states == [("succeeded", "Prepare", "Pass"), ("succeeded", "Decide", "Choice"),
                      ("succeeded", "Nap", "Wait"), ("succeeded", "Done", "Pass")]
    assert json.loads(gladier("runs", "show", succeeded_id, "--json", "--db", files["db"])
                      .stdout)["run_id"] == succeeded_id

    logs = gladier("runs", "logs", succeeded_id, "--db", files["db"]).stdout.splitlines()
    assert [line.split()[1] for line in logs] == [
        "FlowStarted", "PassStarted", "PassCompleted", "ChoiceStarted", "ChoiceCompleted",
        "WaitStarted", "WaitCompleted", "PassStarted", "PassCompleted", "FlowSucceeded"]
    entries = json.loads(
        gladier("runs", "logs", succeeded_id, "--json", "--db", files["db"]).stdout)
    assert isinstance(entries, list) and entries[-1]["code"] == "FlowSucceeded"
    assert len(json.loads(gladier("runs", "logs", succeeded_id, "--json", "--limit", "2",
                                  "--db", files["db"]).stdout)) == 2


def test_runs_show_of_a_failed_run_gives_the_reason(files):
    gladier("run", files["flow"], "--input", files["small"], "--db", files["db"])
    show = gladier("runs", "show", _run_ids(files["db"])[0], "--db", files["db"]).stdout
    assert "  failed     Stop (Fail)" in show
    assert "reason:    TooSmall: n must be over 2" in show


def test_runs_show_of_a_waiting_run_lists_its_states_in_order(files):
    from gladier.engine import LocalEngine

    with LocalEngine(files["db"]) as engine:
        flow = engine.create_flow(napping_for(100000))
        run_id = engine.run_flow(flow["id"], {"input": {"n": 5}})["run_id"]
        deadline = time.monotonic() + 30
        while engine.get_run(run_id)["details"].get("code") != "WaitStarted":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    show = gladier("runs", "show", run_id, "--db", files["db"]).stdout
    assert "status:    ACTIVE" in show
    assert re.findall(r"^  (\w+) +(\w+) \(", show, re.M) == [
        ("succeeded", "Prepare"), ("succeeded", "Decide"), ("running", "Nap")]


def test_unknown_run_is_one_line_and_a_hint(files):
    LocalEngine(files["db"]).close()
    result = gladier("runs", "show", "no-such-run", "--db", files["db"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: No run with id 'no-such-run' in the engine database '{files['db']}'",
        "Hint: each database holds its own runs: check --db PATH (or GLADIER_DB); "
        "'gladier runs list' shows the runs it holds",
    ]


def test_a_bad_time_scale_gets_a_hint_about_the_time_scale(files, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "abc")
    result = gladier("run", files["flow"], "--input", files["big"], "--db", files["db"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: GLADIER_TIME_SCALE must be a number, not 'abc'",
        "Hint: set GLADIER_TIME_SCALE to a finite number greater than 0 (0.01 makes Waits 100 "
        "times shorter), or unset it",
    ]


def test_an_unopenable_database_gets_a_hint_about_the_database_path(files):
    not_a_dir = files["flow"]
    result = gladier("run", files["flow"], "--input", files["big"], "--db",
                     f"{not_a_dir}/runs.db")
    assert result.exit_code == 1
    error, hint = result.stderr.splitlines()
    assert error.startswith(f"Error: Cannot open the engine database '{not_a_dir}/runs.db': ")
    assert hint == ("Hint: give a database file whose directory can be created and written: "
                    "--db PATH (or GLADIER_DB)")


def test_responding_to_a_finished_run_hints_at_where_the_run_is(files):
    gladier("run", files["flow"], "--input", files["big"], "--db", files["db"])
    [run_id] = _run_ids(files["db"])
    result = gladier("runs", "respond", run_id, "--input", "1", "--db", files["db"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: run {run_id} is not waiting for a web input (status SUCCEEDED, "
        "0 open web inputs)",
        "Hint: only a run INACTIVE at an AwaitWebInput state takes a response; "
        f"'gladier runs show {run_id} --db {files['db']}' shows where it is",
    ]


def test_debug_shows_the_traceback_instead_of_one_line(files):
    from gladier.exc import EngineError

    LocalEngine(files["db"]).close()
    with pytest.raises(EngineError, match="No run with id 'nope'"):
        gladier("--debug", "runs", "show", "nope", "--db", files["db"])


def test_a_missing_definition_file_is_a_usage_error(files):
    result = gladier("validate", str(files["dir"] / "absent.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: cannot read definition file {files['dir'] / 'absent.json'}: "
        "No such file or directory\nHint: ")


def test_runs_cancel_ends_a_waiting_run(files):
    from gladier.engine import LocalEngine

    with LocalEngine(files["db"]) as engine:
        flow = engine.create_flow({"StartAt": "Nap", "States": {
            "Nap": {"Type": "Wait", "Seconds": 100000, "End": True}}})
        run_id = engine.run_flow(flow["id"], {})["run_id"]
    result = gladier("runs", "cancel", run_id, "--db", files["db"])
    assert result.exit_code == 0 and result.stdout == f"run {run_id} FAILED\n"
    assert "FlowCanceled" in gladier("runs", "logs", run_id, "--db", files["db"]).stdout


# resume -------------------------------------------------------------------------------------

def test_resume_finishes_runs_left_unfinished_and_exits_0(files):
    from gladier.engine import LocalEngine

    engine = LocalEngine(files["db"])
    flow = engine.create_flow(napping_for(100))  # 1 s when scaled
    run_id = engine.run_flow(flow["id"], {"input": {"n": 9}})["run_id"]
    engine.close()  # the process "stops" while the run is unfinished
    assert json.loads(gladier("runs", "show", run_id, "--json", "--db", files["db"]).stdout
                      )["status"] == "ACTIVE"
    result = gladier("resume", "--db", files["db"])
    assert result.exit_code == 0
    assert result.stdout == f"run {run_id} SUCCEEDED\n"
    assert gladier("resume", "--db", files["db"]).stdout == "no unfinished runs\n"


# graph --------------------------------------------------------------------------------------

def test_graph_prints_mermaid_coloured_by_a_run(files):
    gladier("run", files["flow"], "--input", files["small"], "--db", files["db"])
    run_id = _run_ids(files["db"])[0]
    plain = gladier("graph", files["flow"]).stdout
    assert plain.startswith("flowchart TD") and "classDef" not in plain
    for name in CHOICE_FLOW["States"]:
        assert f'"{name}<br/>' in plain
    coloured = gladier("graph", files["flow"], "--run", run_id, "--db", files["db"]).stdout
    ids = dict(re.findall(r'^\s+(s\d+)\W+"(\w+)<br/>', coloured, re.M))
    classes = {css: {ids[node] for node in group.split(",")}
               for group, css in re.findall(r"^\s+class (\S+) (\w+)$", coloured, re.M)}
    assert classes == {"succeeded": {"Prepare", "Decide"}, "failed": {"Stop"},
                       "not_reached": {"Nap", "Done"}}


def test_graph_of_a_run_alone_draws_the_definition_it_ran(files):
    gladier("run", files["flow"], "--input", files["big"], "--db", files["db"])
    result = gladier("graph", "--run", _run_ids(files["db"])[0], "--db", files["db"])
    assert result.exit_code == 0
    assert result.stdout == gladier("graph", files["flow"], "--run", _run_ids(files["db"])[0],
                                    "--db", files["db"]).stdout


def test_graph_needs_a_definition_or_a_run(files):
    result = gladier("graph")
    assert result.exit_code == 2
    assert "give a definition file (DEF.json), --run RUN_ID, or both" in result.stderr


def test_graph_writes_dot_to_a_file_chosen_by_suffix(files):
    out = files["dir"] / "flow.dot"
    result = gladier("graph", files["flow"], "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text().startswith("digraph flow {")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_graph_svg_shows_every_state(files):
    result = gladier("graph", files["flow"], "--format", "svg")
    assert result.exit_code == 0 and "</svg>" in result.stdout
    assert all(f">{name}</text>" in result.stdout for name in CHOICE_FLOW["States"])


def test_graph_svg_without_graphviz_says_how_to_install_it(files, monkeypatch):
    monkeypatch.setenv("PATH", str(files["dir"]))
    result = gladier("graph", files["flow"], "--format", "svg")
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()
    assert "apt-get install graphviz" in error and "conda install graphviz" in error
    assert hint == "Hint: '--format mermaid' and '--format dot' need nothing installed"


def test_graph_colours_match_the_shared_palette(files):
    gladier("run", files["flow"], "--input", files["big"], "--db", files["db"])
    dot = gladier("graph", files["flow"], "--format", "dot", "--run", _run_ids(files["db"])[0],
                  "--db", files["db"]).stdout
    assert dot.count(graph.STATUS_COLOURS[graph.SUCCEEDED][0]) == 4
    assert dot.count(graph.STATUS_COLOURS[graph.NOT_REACHED][0]) == 1


# help ---------------------------------------------------------------------------------------

def _commands(group, path=()):
    """The path of every command and group under ``group``, itself included."""
    yield list(path)
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


@pytest.mark.parametrize("command", list(_commands(cli)),
                         ids=lambda path: " ".join(["gladier", *path]))
def test_every_command_documents_itself(command):
    result = gladier(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    body = result.stdout.split("Options:")[0]
    assert len(body.split("\n", 2)[-1].strip()) > 30  # a real description, not just usage


def test_top_level_help_lists_every_command():
    text = gladier("--help").stdout
    for command in ("validate", "run", "runs", "resume", "graph"):
        assert re.search(rf"^  {command} ", text, re.M)


def test_main_is_the_console_script_entry_point():
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
