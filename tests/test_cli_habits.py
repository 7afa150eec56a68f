"""The command-line habits of globus-cli and click that the ``gladier`` command keeps: ``-``
for standard input, ``--json``, environment variables shown in help, quiet closed pipes,
paged ``runs list``, ``runs prune``, the documented exit statuses, no database created by
a command that only reads, and ``GLADIER_HOME``."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gladier.cli import cli
from gladier.engine import LocalEngine
from sample_flows import CHOICE_FLOW

PASS_FLOW = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
BROKEN_FLOW = {"StartAt": "Nowhere", "States": {"P": {"Type": "Pass", "End": True}}}
CLI = [sys.executable, "-c", "from gladier.cli import main; main()"]


def gladier(*args: str, stdin: str | None = None, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, env=env, catch_exceptions=False)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """GLADIER_HOME in a temporary directory, no GLADIER_DB: the default database is there."""
    monkeypatch.setenv("GLADIER_HOME", str(tmp_path / "gladier-home"))
    monkeypatch.delenv("GLADIER_DB", raising=False)
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    return tmp_path / "gladier-home"


def _runs(db: str, count: int, *, title: str = "pass", definition: dict = PASS_FLOW) -> list:
    engine = LocalEngine(db)
    try:
        flow = engine.create_flow(definition, title=title)
        ids = []
        for number in range(count):
            run_id = engine.run_flow(flow["id"], {"n": number}, label=f"run {number}")["run_id"]
            engine.wait(run_id, timeout=60)
            ids.append(run_id)
        return ids
    finally:
        engine.close()


# '-' is standard input ----------------------------------------------------------------------

def test_validate_reads_the_definition_from_standard_input():
    result = gladier("validate", "-", stdin=json.dumps(CHOICE_FLOW))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("-: valid")


def test_validate_json_prints_one_json_document_for_valid_and_invalid_definitions():
    valid = gladier("validate", "-", "--json", stdin=json.dumps(CHOICE_FLOW))
    assert valid.exit_code == 0
    assert json.loads(valid.stdout) == {"file": "-", "valid": True, "problems": [],
                                        "warnings": []}
    invalid = gladier("validate", "-", "--json", stdin=json.dumps(BROKEN_FLOW))
    assert invalid.exit_code == 2
    document = json.loads(invalid.stdout)
    assert document["valid"] is False and document["problems"]
    assert any("Nowhere" in json.dumps(problem) for problem in document["problems"])


def test_only_one_file_can_come_from_standard_input():
    result = gladier("validate", "-", "--schema", "-", stdin=json.dumps(CHOICE_FLOW))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: input schema cannot also come from standard "
                                    "input ('-'): definition was read from it")


def test_standard_input_that_is_not_json_says_so():
    result = gladier("validate", "-", stdin="{nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: definition standard input is not valid JSON")


def test_run_takes_its_input_from_standard_input(home, tmp_path):
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(PASS_FLOW))
    result = gladier("run", str(flow), "--input", "-", "--json", stdin='{"x": 41}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["details"]["output"] == {"x": 41}


def test_graph_reads_standard_input_and_writes_standard_output_with_dash():
    result = gladier("graph", "-", "-o", "-", stdin=json.dumps(PASS_FLOW))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart")


# help shows environment variables ------------------------------------------------------------

@pytest.mark.parametrize("command, variables", [
    (["runs", "list"], ["GLADIER_DB"]),
    (["run"], ["GLADIER_DB", "GLADIER_LOCAL_COLLECTIONS", "GLADIER_LOCAL_TOKENS"]),
    (["runs", "prune"], ["GLADIER_RUN_RETENTION", "GLADIER_DB"]),
    ([], ["GLADIER_DEBUG"]),
])
def test_options_show_their_environment_variables(command, variables):
    text = " ".join(gladier(*command, "--help").stdout.split())
    for variable in variables:
        assert f"env var: {variable}" in text


def test_an_environment_variable_sets_its_option(tmp_path, monkeypatch):
    db = str(tmp_path / "env.db")
    _runs(db, 1)
    monkeypatch.setenv("GLADIER_DB", db)
    assert len(json.loads(gladier("runs", "list", "--json").stdout)) == 1


# a closed pipe ends quietly -------------------------------------------------------------------

def test_a_closed_pipe_ends_quietly(tmp_path):
    db = str(tmp_path / "runs.db")
    _runs(db, 3)
    with subprocess.Popen([*CLI, "runs", "list", "--db", db], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        child.stdout.close()  # the reader is gone before the first line is written
        stderr = child.stderr.read().decode()
        assert child.wait(timeout=60) == 1
    assert stderr == ""


def test_runs_list_piped_into_head_prints_no_error(tmp_path):
    db = str(tmp_path / "runs.db")
    _runs(db, 30)
    command = " ".join([sys.executable, "-c", "'from gladier.cli import main; main()'",
                        "runs", "list", "--db", db, "| head -1"])
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1


# runs list: the newest page ---------------------------------------------------------------------

def test_runs_list_on_150_runs_prints_one_page_newest_first_and_says_how_many_more(tmp_path):
    db = str(tmp_path / "runs.db")
    ids = _runs(db, 150)
    result = gladier("runs", "list", "--db", db)
    assert result.exit_code == 0
    *lines, more = result.stdout.splitlines()
    assert len(lines) == 25
    assert [line.split()[0] for line in lines] == ids[::-1][:25]
    assert more.startswith("125 more run(s) match: --limit 150 shows them all")
    assert result.stderr == ""
    page = gladier("runs", "list", "--json", "--db", db)
    assert len(json.loads(page.stdout)) == 25 and page.stderr.startswith("125 more run(s)")
    everything = gladier("runs", "list", "--limit", "150", "--json", "--db", db)
    assert [run["run_id"] for run in json.loads(everything.stdout)] == ids[::-1]
    assert everything.stderr == ""


def test_runs_list_filters_by_flow_status_and_start_time(tmp_path):
    db = str(tmp_path / "runs.db")
    passed = _runs(db, 2, title="passing")
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope"}}}
    failed = _runs(db, 1, title="failing", definition=failing)

    def listed(*options: str) -> list[str]:
        result = gladier("runs", "list", "--json", "--db", db, *options)
        assert result.exit_code == 0, result.output
        return [run["run_id"] for run in json.loads(result.stdout)]

    assert listed("--flow", "passing") == passed[::-1]
    flow_id = json.loads(gladier("runs", "show", failed[0], "--json", "--db", db).stdout)[
        "flow_id"]
    assert listed("--flow", flow_id) == failed
    assert listed("--status", "failed") == failed
    assert listed("--since", "1h") == (passed + failed)[::-1]
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    assert listed("--since", tomorrow) == []
    assert listed("--since", "2000-01-01T00:00:00Z") == (passed + failed)[::-1]
    bad = gladier("runs", "list", "--since", "last week", "--db", db)
    assert bad.exit_code == 2 and "is not a duration" in bad.stderr


# runs prune -----------------------------------------------------------------------------------

def test_runs_prune_deletes_only_runs_that_ended_longer_ago_than_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    db = str(tmp_path / "runs.db")
    ended = _runs(db, 3)
    engine = LocalEngine(db)
    waiting_flow = engine.create_flow({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    waiting = engine.run_flow(waiting_flow["id"], {})["run_id"]
    try:
        kept = gladier("runs", "prune", "--older-than", "1d", "--db", db)
        assert kept.exit_code == 0 and kept.stdout == ""
        assert kept.stderr.startswith("deleted 0 run(s) that ended before ")
        dry = gladier("runs", "prune", "--older-than", "0s", "--dry-run", "--json", "--db", db)
        assert sorted(json.loads(dry.stdout)["deleted"]) == sorted(ended)
        assert len(engine.list_runs()) == 4
        monkeypatch.setenv("GLADIER_RUN_RETENTION", "0s")  # the retention setting
        pruned = gladier("runs", "prune", "--db", db)
        assert pruned.exit_code == 0, pruned.output
        assert sorted(pruned.stdout.split()) == sorted(ended)
        assert [run["run_id"] for run in engine.list_runs()] == [waiting]
        gone = gladier("runs", "logs", ended[0], "--db", db)
        assert gone.exit_code == 1 and f"No run with id '{ended[0]}'" in gone.stderr
    finally:
        engine.cancel_run(waiting)
        engine.close()


def test_runs_prune_needs_a_duration():
    result = gladier("runs", "prune", env={"GLADIER_RUN_RETENTION": ""})
    assert result.exit_code == 2
    assert "--older-than" in result.stderr


# exit statuses ----------------------------------------------------------------------------------

def test_cancelling_a_run_that_ended_exits_1_and_says_so(tmp_path):
    db = str(tmp_path / "runs.db")
    [run_id] = _runs(db, 1)
    result = gladier("runs", "cancel", run_id, "--db", db)
    assert result.exit_code == 1
    assert result.stdout == f"run {run_id} SUCCEEDED\n"
    assert result.stderr == (f"Error: run {run_id} had already ended (SUCCEEDED); nothing "
                             "was cancelled\n")


def test_exit_statuses_are_the_documented_ones(tmp_path):
    db = str(tmp_path / "runs.db")
    _runs(db, 1)
    assert gladier("runs", "show", "nope", "--db", db).exit_code == 1  # not found
    assert gladier("runs", "list", "--no-such-option").exit_code == 2  # usage
    assert gladier("runs", "list", "--limit", "0", "--db", db).exit_code == 2
    assert gladier("runs", "list", "--db", db).exit_code == 0
    assert "1  a run did not succeed, or a run or database was not found" in gladier(
        "--help").stdout


# no database is created by a command that only reads -----------------------------------------

@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "show", "x"],
                                     ["runs", "logs", "x"], ["runs", "cancel", "x"],
                                     ["runs", "prune", "--older-than", "1d"], ["resume"],
                                     ["graph", "--run", "x"]])
def test_a_missing_database_named_with_gladier_db_is_an_error_and_is_not_created(
        tmp_path, command):
    missing = tmp_path / "typo" / "runs.db"
    result = gladier(*command, env={"GLADIER_DB": str(missing)})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: No engine database at '{missing}'")
    assert not missing.exists() and not missing.parent.exists()


def test_the_default_database_missing_means_no_runs_and_stays_missing(home):
    listing = gladier("runs", "list")
    assert (listing.exit_code, listing.stdout, listing.stderr) == (0, "no runs\n", "")
    assert gladier("runs", "list", "--json").stdout == "[]\n"
    assert gladier("resume").stdout == "no unfinished runs\n"
    show = gladier("runs", "show", "x")
    assert show.exit_code == 1 and "there is no engine database at" in show.stderr
    assert not home.exists()


# GLADIER_HOME --------------------------------------------------------------------------------

def test_gladier_home_holds_the_default_database_and_client_configs(home, tmp_path):
    from gladier.storage.config import default_config_path

    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(PASS_FLOW))
    assert gladier("run", str(flow)).exit_code == 0
    assert (home / "local.db").is_file()
    assert default_config_path("abc") == home / "abc.cfg"
    assert len(json.loads(gladier("runs", "list", "--json").stdout)) == 1
