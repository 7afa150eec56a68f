"""Globus's web-input example flows on the embedded engine, on approve and reject paths.

A run that reaches AwaitWebInput goes INACTIVE with ``blocking_web_input_id`` set; the
tests answer it with ``LocalEngine.respond_to_web_input`` (as ``globus_sdk.FlowsClient``
does, by option id, or locally by the option's Value), or expire it with
``LocalEngine.expire_web_input`` to take the flows' ``Flows.WebInputExpired`` Catch, and
check the outcome: the files transferred, the Search index entries written, the run's final
status.
"""

import concurrent.futures
import json
import threading

import pytest

from corpus import CORPUS
from gladier.engine import LocalEngine
from gladier.engine.providers.search import LocalSearchIndex
from gladier.exc import WebInputError

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")

#: The compute endpoint, function and Search index ids the examples hard-code.
EXAMPLE_ID = "11111111-2222-3333-4444-555555555555"


def load_example(name: str) -> tuple[dict, dict, dict]:
    folder = CORPUS / name
    return tuple(json.loads((folder / f"{part}.json").read_text())
                 for part in ("definition", "input_schema", "sample_input"))


def analyze_data(id, path):
    """approved_publishing's report function (the example's own returns these keys)."""
    return {"title": f"Report on {path}", "date": "2026-01-02", "low": 2, "high": 7,
            "std_dev": 1, "confidence": 97, "report_path": path.rstrip("/") + "/report.pdf"}


def evaluate_experiment(experiment_id):
    """evaluate_preliminary_results' function (the example's returns these keys)."""
    return {"experiment_id": experiment_id, "experiment_runtime": 120, "measured_db": 10,
            "histogram_skew": 42, "confidence_pct": 90}


def start(engine: LocalEngine, name: str, body: dict | None = None) -> str:
    definition, schema, sample = load_example(name)
    flow = engine.create_flow(definition, title=name, input_schema=schema)
    return engine.run_flow(flow["id"], sample if body is None else body)["run_id"]


def wait_for_web_input(engine: LocalEngine, run_id: str, *, after: str | None = None,
                       timeout: float = 60) -> dict:
    """The run document once the run waits (INACTIVE) for a web input other than ``after``."""
    changed = threading.Event()
    unsubscribe = engine.subscribe(run_id, lambda entry: changed.set())
    try:
        for _ in range(1000):
            run = engine.get_run(run_id)
            if run["status"] == "INACTIVE" and run["blocking_web_input_id"] not in (None, after):
                return run
            assert run["status"] in ("ACTIVE", "INACTIVE"), run["details"]
            assert changed.wait(timeout), f"run {run_id} never waited for a web input"
            changed.clear()
        raise AssertionError("too many log entries while waiting for a web input")
    finally:
        unsubscribe()


def option_id(web_input: dict, label_start: str) -> str:
    return next(o["option_id"] for o in web_input["options"] if o["label"].startswith(label_start))


# --- admin_signoff --------------------------------------------------------------------------

@pytest.fixture
def enclave(tmp_path):
    """admin_signoff's source and destination collections, with the sample's file."""
    settings = load_example("admin_signoff")[2]["file_manager_settings"]
    source, destination = tmp_path / "source", tmp_path / "enclave"
    (source / "path" / "to").mkdir(parents=True)
    (source / "path" / "to" / "file.txt").write_text("secret data")
    destination.mkdir()
    collections = {settings["source_endpoint"]: {"root": str(source),
                                                 "display_name": "Lab workstation"},
                   settings["destination_endpoint"]: str(destination)}
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0,
                     collections=collections) as engine:
        yield engine, destination


def test_admin_signoff_waits_inactive_for_the_admin(enclave):
    engine, destination = enclave
    run_id = start(engine, "admin_signoff")
    run = wait_for_web_input(engine, run_id)
    assert run["details"]["code"] == "AwaitingWebInput"
    assert run["details"]["state_name"] == "AwaitResponse"
    assert run["blocking_web_input_id"] in run["details"]["description"]
    web_input = engine.get_web_input(run["blocking_web_input_id"])
    assert web_input["status"] == "open" and web_input["input_type"] == "selection"
    assert web_input["run"]["id"] == run_id and web_input["flow"]["title"] == "admin_signoff"
    assert web_input["roles"]["respondent_urns"] == [
        "urn:globus:group:id:11111111-2222-3333-4444-555555555555"]
    rows = {row["field"]: row["value"] for row in web_input["context"]["rows"]}
    assert web_input["context"]["presentation_style"] == "table"
    assert rows["Source collection"] == "Lab workstation (11111111-4aa5-44f5-871d-f37ee5afe1c7)"
    assert rows["Total data item count"] == "1"
    assert rows["First data item"] == "/path/to/file.txt -> /file.txt"
    assert [o["label"] for o in web_input["options"]] == ["✅ Approve", "❌ Deny"]
    assert [s["const"] for s in web_input["input_schema"]["oneOf"]] == \
        [o["option_id"] for o in web_input["options"]]
    assert list(destination.iterdir()) == []  # nothing moves before approval
    assert engine.list_web_inputs(filter_states="open", filter_run_ids=run_id)[0]["id"] == \
        web_input["id"]
    engine.cancel_run(run_id)


def test_admin_signoff_approved_transfers_the_file(enclave):
    engine, destination = enclave
    run_id = start(engine, "admin_signoff")
    web_input = engine.get_web_input(wait_for_web_input(engine, run_id)["blocking_web_input_id"])
    assert engine.respond_to_web_input(web_input["id"], option_id(web_input, "✅")) == \
        {"status": "ok"}
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["blocking_web_input_id"] is None
    assert (destination / "file.txt").read_text() == "secret data"
    answered = engine.get_web_input(web_input["id"])
    assert answered["status"] == "closed" and answered["closed_timestamp"]
    codes = [e["code"] for e in engine.get_run_logs(run_id)["entries"]]
    assert codes.index("AwaitWebInputStarted") < codes.index("AwaitWebInputCompleted") < \
        codes.index("ActionStarted", codes.index("AwaitWebInputCompleted"))


def test_admin_signoff_denied_fails_without_transferring(enclave):
    engine, destination = enclave
    run_id = start(engine, "admin_signoff")
    web_input_id = wait_for_web_input(engine, run_id)["blocking_web_input_id"]
    engine.respond_to_web_input(web_input_id, "deny")  # locally an option's Value works too
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["cause"] == "The transfer request was not approved."
    assert final["details"]["details"]["state_name"] == "TransferRequestNotApproved"
    assert list(destination.iterdir()) == []


def test_a_web_input_takes_one_response_and_only_its_options(enclave):
    engine, _ = enclave
    run_id = start(engine, "admin_signoff")
    web_input_id = wait_for_web_input(engine, run_id)["blocking_web_input_id"]
    with pytest.raises(WebInputError) as refused:
        engine.respond_to_web_input(web_input_id, "maybe")
    assert refused.value.code == "UNPROCESSABLE_ENTITY" and "approve" in str(refused.value)
    with pytest.raises(WebInputError) as unknown:
        engine.respond_to_web_input("00000000-0000-0000-0000-000000000000", "approve")
    assert unknown.value.code == "NOT_FOUND"
    engine.respond_to_web_input(web_input_id, "deny")
    with pytest.raises(WebInputError) as closed:
        engine.respond_to_web_input(web_input_id, "approve")
    assert closed.value.code == "STATE_CONFLICT"
    assert engine.wait(run_id, timeout=60)["status"] == "FAILED"


def test_a_waiting_run_continues_after_its_engine_is_gone(tmp_path):
    """The web input is journaled: a new engine on the same database takes the response
    and drives the run on (the engine that started it was closed meanwhile)."""
    settings = load_example("admin_signoff")[2]["file_manager_settings"]
    source, destination = tmp_path / "source", tmp_path / "enclave"
    (source / "path" / "to").mkdir(parents=True)
    (source / "path" / "to" / "file.txt").write_text("later")
    destination.mkdir()
    collections = {settings["source_endpoint"]: str(source),
                   settings["destination_endpoint"]: str(destination)}
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=1.0, collections=collections) as first:
        run_id = start(first, "admin_signoff")
        web_input_id = wait_for_web_input(first, run_id)["blocking_web_input_id"]
    with LocalEngine(db, time_scale=1.0, collections=collections) as second:
        assert second.get_run(run_id)["blocking_web_input_id"] == web_input_id
        second.respond_to_web_input(web_input_id, "approve")
        assert second.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert (destination / "file.txt").read_text() == "later"


def test_a_response_from_an_engine_with_other_collections_transfers_to_the_runs(tmp_path):
    """The run keeps the collections it started with: answered from an engine that maps
    the same ids elsewhere, it transfers between its own directories, not the engine's."""
    first_mapping, destination = signoff_collections(tmp_path / "run")
    other_mapping, elsewhere = signoff_collections(tmp_path / "other")
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=1.0, collections=json.loads(first_mapping)) as first:
        run_id = start(first, "admin_signoff")
        web_input_id = wait_for_web_input(first, run_id)["blocking_web_input_id"]
    with LocalEngine(db, time_scale=1.0, collections=json.loads(other_mapping)) as second:
        second.respond_to_web_input(web_input_id, "approve")
        assert second.wait(run_id, timeout=60)["status"] == "SUCCEEDED"
    assert (destination / "file.txt").read_text() == "via the CLI"
    assert list(elsewhere.iterdir()) == []


# --- approved_publishing --------------------------------------------------------------------

@pytest.fixture
def publishing(tmp_path):
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0) as engine:
        engine.register_function(analyze_data, function_id=EXAMPLE_ID)
        yield engine


def publish(engine: LocalEngine, answer: str) -> dict:
    run_id = start(engine, "approved_publishing")
    web_input = engine.get_web_input(wait_for_web_input(engine, run_id)["blocking_web_input_id"])
    assert web_input["context"]["title"] == \
        'Approve publication of report "Report on /~/instrument-run-2026-01-01"'
    rows = {row["field"]: row["value"] for row in web_input["context"]["rows"]}
    assert rows["Result range and std dev"] == "[2, 7], 1" and rows["Result confidence"] == 97
    engine.respond_to_web_input(web_input["id"], option_id(web_input, answer))
    return engine.wait(run_id, timeout=60)


def test_approved_publishing_makes_the_report_public(publishing, tmp_path):
    final = publish(publishing, "✅")
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["details"]["num_documents_ingested"] == 1
    expected = [{"subject": "Report on /~/instrument-run-2026-01-01", "id": None,
                 "visible_to": ["public"],
                 "content": {"date": "2026-01-02", "collection_id": EXAMPLE_ID,
                             "report_path": "/~/instrument-run-2026-01-01/report.pdf"}}]
    assert publishing.providers.search.entries(EXAMPLE_ID) == expected
    publishing.close()
    stored = LocalSearchIndex(str(tmp_path / "engine.db"))  # kept in the engine's database
    try:
        assert stored.entries(EXAMPLE_ID) == expected
        assert stored.get_subject(EXAMPLE_ID, expected[0]["subject"])["entries"][0][
            "content"] == expected[0]["content"]
    finally:
        stored.close()


def test_approved_publishing_declined_stores_the_report_privately(publishing):
    final = publish(publishing, "❌")
    assert final["status"] == "SUCCEEDED", final["details"]
    [entry] = publishing.providers.search.entries(EXAMPLE_ID)
    assert entry["visible_to"] == ["urn:globus:group:id:11111111-2222-3333-4444-555555555555"]
    assert entry["content"]["report_path"] == "/~/instrument-run-2026-01-01/report.pdf"


def test_approved_publishing_expired_reaches_its_choice_without_a_response(publishing):
    """The Catch stores the error at ``$.response_info`` and goes to EvaluateResponse,
    whose Choice reads ``$.response_info.response``: missing, which is a States.Runtime
    error locally (as in ASL), so nothing is ingested. (The "(default)" label of the
    private option suggests the example expects a missing response to take the Default.)"""
    run_id = start(publishing, "approved_publishing")
    web_input_id = wait_for_web_input(publishing, run_id)["blocking_web_input_id"]
    publishing.expire_web_input(web_input_id)
    final = publishing.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["state_name"] == "EvaluateResponse"
    assert "'$.response_info.response'" in final["details"]["details"]["cause"]
    [choice] = [e for e in publishing.get_run_logs(run_id)["entries"]
                if e["code"] == "ChoiceStarted"]
    assert choice["details"]["input"]["response_info"] == {
        "state_name": "AwaitResponse", "exception": "Flows.WebInputExpired",
        "cause": f"Web input {web_input_id} awaited by state 'AwaitResponse' expired without "
                 "a response"}
    assert publishing.providers.search.entries(EXAMPLE_ID) == []


# --- evaluate_preliminary_results -----------------------------------------------------------

@pytest.fixture
def experiment(tmp_path):
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0) as engine:
        engine.register_function(evaluate_experiment, function_id=EXAMPLE_ID)
        yield engine


@pytest.fixture
def quick_experiment(tmp_path):
    """The retry path waits 1800 s: at this time scale 3.6 s. The compute action's
    WaitTime shrinks too (to 0.6 s), so the function runs in a thread, not a new process."""
    with concurrent.futures.ThreadPoolExecutor(2) as threads, \
            LocalEngine(str(tmp_path / "engine.db"), time_scale=0.002,
                        executors={EXAMPLE_ID: threads}) as engine:
        engine.register_function(evaluate_experiment, function_id=EXAMPLE_ID)
        yield engine


def test_evaluate_preliminary_results_continue_succeeds(experiment):
    run_id = start(experiment, "evaluate_preliminary_results")
    web_input = experiment.get_web_input(
        wait_for_web_input(experiment, run_id)["blocking_web_input_id"])
    assert web_input["context"]["title"] == 'Experiment "k3_19e78t": continue or halt?'
    assert [o["label"][0] for o in web_input["options"]] == ["✅", "⏳", "❌"]
    experiment.respond_to_web_input(web_input["id"], option_id(web_input, "✅"))
    final = experiment.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["response_info"]["response"] == "continue"


def test_evaluate_preliminary_results_halt_fails_the_run(experiment):
    run_id = start(experiment, "evaluate_preliminary_results")
    web_input_id = wait_for_web_input(experiment, run_id)["blocking_web_input_id"]
    experiment.respond_to_web_input(web_input_id, "halt")
    final = experiment.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["cause"] == "The user halted the experiment."


def test_evaluate_preliminary_results_expired_halts_the_experiment(experiment):
    """The example's documented default: an expired question halts (its Catch goes to
    HaltExperiment, with the error at ``$.response_info``)."""
    run_id = start(experiment, "evaluate_preliminary_results")
    web_input_id = wait_for_web_input(experiment, run_id)["blocking_web_input_id"]
    experiment.expire_web_input(web_input_id)
    final = experiment.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["state_name"] == "HaltExperiment"
    assert final["details"]["details"]["cause"] == "The user halted the experiment."
    entries = experiment.get_run_logs(run_id)["entries"]
    failed = next(e for e in entries if e["code"] == "AwaitWebInputFailed")
    assert failed["details"]["error"]["exception"] == "Flows.WebInputExpired"
    [halt] = [e for e in entries if e["code"] == "FailStarted"]
    assert halt["details"]["input"]["response_info"]["exception"] == "Flows.WebInputExpired"
    assert experiment.get_web_input(web_input_id)["status"] == "closed"


def test_evaluate_preliminary_results_allows_one_retry(quick_experiment):
    experiment = quick_experiment
    run_id = start(experiment, "evaluate_preliminary_results")
    first = wait_for_web_input(experiment, run_id)["blocking_web_input_id"]
    experiment.respond_to_web_input(first, "retry")
    second = wait_for_web_input(experiment, run_id, after=first)["blocking_web_input_id"]
    offered = experiment.get_web_input(second)
    assert [o["label"][0] for o in offered["options"]] == ["✅", "❌"]  # no second retry
    with pytest.raises(WebInputError) as refused:
        experiment.respond_to_web_input(second, "retry")
    assert refused.value.code == "UNPROCESSABLE_ENTITY"
    experiment.respond_to_web_input(second, option_id(offered, "✅"))
    final = experiment.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED", final["details"]
    entries = experiment.get_run_logs(run_id)["entries"]
    assert [e["details"]["state_name"] for e in entries if e["code"] == "WaitCompleted"] == ["Wait"]
    assert len([e for e in entries if e["code"] == "CreateWebInputCompleted"]) == 2


# --- the command line -----------------------------------------------------------------------

def write_example(tmp_path, name: str) -> tuple[str, str, str]:
    paths = []
    for part, value in zip(("definition", "input_schema", "sample_input"), load_example(name)):
        path = tmp_path / f"{name}-{part}.json"
        path.write_text(json.dumps(value))
        paths.append(str(path))
    return tuple(paths)


def signoff_collections(tmp_path) -> tuple[str, object]:
    settings = load_example("admin_signoff")[2]["file_manager_settings"]
    source, destination = tmp_path / "source", tmp_path / "enclave"
    (source / "path" / "to").mkdir(parents=True)
    (source / "path" / "to" / "file.txt").write_text("via the CLI")
    destination.mkdir()
    return json.dumps({settings["source_endpoint"]: str(source),
                       settings["destination_endpoint"]: str(destination)}), destination


def signoff_started_by_the_cli(tmp_path):
    """(runner, exit code, run document, collections, destination, db) of admin_signoff
    started with ``gladier run``, waiting for its web input, its engine gone."""
    from click.testing import CliRunner

    from gladier.cli import cli

    definition, schema, sample = write_example(tmp_path, "admin_signoff")
    collections, destination = signoff_collections(tmp_path)
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    started = runner.invoke(cli, ["run", definition, "--schema", schema, "--input", sample,
                                  "--collections", collections, "--db", db, "--json"])
    return runner, started.exit_code, json.loads(started.stdout), collections, destination, db


def test_cli_respond_continues_a_run_whose_engine_has_exited(tmp_path):
    from gladier.cli import cli

    runner, exit_code, run, collections, destination, db = signoff_started_by_the_cli(tmp_path)
    assert exit_code == 1 and run["status"] == "INACTIVE"  # needs a person
    assert run["blocking_web_input_id"]
    answered = runner.invoke(cli, ["runs", "respond", run["run_id"], "--input", '"approve"',
                                   "--collections", collections, "--db", db, "--json"])
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["status"] == "SUCCEEDED"
    assert (destination / "file.txt").read_text() == "via the CLI"


def test_cli_respond_without_collections_transfers_with_the_runs_collections(tmp_path):
    """'runs respond' continues the run on the mapping it started with: without
    --collections, its Transfer still lands in the mapped destination, not at /file.txt."""
    from gladier.cli import cli

    runner, _, run, _, destination, db = signoff_started_by_the_cli(tmp_path)
    answered = runner.invoke(cli, ["runs", "respond", run["run_id"], "--input", '"approve"',
                                   "--db", db, "--json"], env={"GLADIER_LOCAL_COLLECTIONS": ""})
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["status"] == "SUCCEEDED"
    assert (destination / "file.txt").read_text() == "via the CLI"


def test_cli_respond_answers_a_run_driven_by_a_live_engine(tmp_path):
    from click.testing import CliRunner

    from gladier.cli import cli

    collections, destination = signoff_collections(tmp_path)
    db = str(tmp_path / "live.db")
    with LocalEngine(db, time_scale=1.0, collections=json.loads(collections)) as engine:
        run_id = start(engine, "admin_signoff")
        wait_for_web_input(engine, run_id)
        refused = CliRunner().invoke(cli, ["runs", "respond", run_id, "--input", "perhaps",
                                           "--db", db])
        assert refused.exit_code == 2 and "not a registered option id" in refused.output
        answered = CliRunner().invoke(cli, ["runs", "respond", run_id, "--input", "deny",
                                            "--db", db])
        assert answered.exit_code == 1  # the documented outcome of a denial: FAILED
        assert "FAILED" in answered.stdout
        assert engine.wait(run_id, timeout=60)["status"] == "FAILED"
    assert list(destination.iterdir()) == []


def test_cli_respond_refuses_a_run_that_waits_for_nothing(tmp_path):
    from click.testing import CliRunner

    from gladier.cli import cli

    db = str(tmp_path / "none.db")
    with LocalEngine(db, time_scale=1.0) as engine:
        flow = engine.create_flow({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        run_id = engine.run_flow(flow["id"], {})["run_id"]
        engine.wait(run_id, timeout=60)
    result = CliRunner().invoke(cli, ["runs", "respond", run_id, "--input", '"x"', "--db", db])
    assert result.exit_code == 1
    assert "is not waiting for a web input (status SUCCEEDED" in result.output


def test_cli_respond_expire_fails_a_run_without_a_catch(tmp_path):
    """admin_signoff has no Catch on its AwaitWebInput: expired, the run FAILS with the
    service's error, in this command (the engine that started the run has exited)."""
    from gladier.cli import cli

    runner, _, run, collections, destination, db = signoff_started_by_the_cli(tmp_path)
    expired = runner.invoke(cli, ["runs", "respond", run["run_id"], "--expire",
                                  "--collections", collections, "--db", db])
    assert expired.exit_code == 1, expired.output
    assert expired.stdout.startswith(f"run {run['run_id']} FAILED: Flows.WebInputExpired: "
                                     f"Web input {run['blocking_web_input_id']} awaited by "
                                     "state 'AwaitResponse' expired")
    assert list(destination.iterdir()) == []
    again = runner.invoke(cli, ["runs", "respond", run["run_id"], "--expire", "--db", db])
    assert again.exit_code == 1 and "is not waiting for a web input" in again.output


@pytest.mark.parametrize("options", [[], ["--input", '"approve"', "--expire"]])
def test_cli_respond_takes_either_input_or_expire(tmp_path, options):
    from click.testing import CliRunner

    from gladier.cli import cli

    result = CliRunner().invoke(cli, ["runs", "respond", "some-run", *options,
                                      "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "Error: give exactly one of --input VALUE or --expire" in result.output
