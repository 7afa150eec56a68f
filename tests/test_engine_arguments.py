"""Wrong arguments to LocalEngine's public methods raise DeveloperException naming the
argument, never a bare TypeError (and never a wrong value quietly stored)."""

import pytest

from gladier.engine import LocalEngine
from gladier.exc import DeveloperException

PASS_FLOW = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def finished_run(engine):
    flow_id = engine.create_flow(PASS_FLOW)["id"]
    run_id = engine.run_flow(flow_id, {})["run_id"]
    engine.wait(run_id, timeout=30)
    return flow_id, run_id


@pytest.mark.parametrize("call, argument", [
    (lambda e, flow_id, run_id: e.register_function(5), "func must be a callable"),
    (lambda e, flow_id, run_id: e.get_run_logs(run_id, limit="x"), "limit must be"),
    (lambda e, flow_id, run_id: e.get_run_logs(run_id, limit=-1), "limit must be"),
    (lambda e, flow_id, run_id: e.get_run_logs(run_id, limit=0), "limit must be"),
    (lambda e, flow_id, run_id: e.list_runs(5), "status must be"),
    (lambda e, flow_id, run_id: e.list_runs([5]), "status must be"),
    (lambda e, flow_id, run_id: e.run_flow(flow_id, {}, tags=5), "tags must be"),
    (lambda e, flow_id, run_id: e.run_flow(flow_id, {}, tags="abc"), "tags must be"),
    (lambda e, flow_id, run_id: e.run_flow(flow_id, {}, tags=["ok", 1]), "tags must be"),
    (lambda e, flow_id, run_id: e.run_flow(flow_id, {}, label=5), "label must be"),
    (lambda e, flow_id, run_id: e.wait(run_id, timeout="x"), "timeout must be"),
], ids=["register_function", "limit-text", "limit-negative", "limit-zero", "list_runs-int",
        "list_runs-list-of-int", "tags-int", "tags-string", "tags-int-item", "label-int",
        "wait-timeout"])
def test_wrong_arguments_to_engine_methods_name_the_argument(engine, finished_run, call,
                                                             argument):
    flow_id, run_id = finished_run
    with pytest.raises(DeveloperException, match=argument):
        call(engine, flow_id, run_id)
    assert [run["run_id"] for run in engine.list_runs()] == [run_id], "no run was started"


@pytest.mark.parametrize("options, argument", [
    ({"time_scale": "x"}, "time_scale must be a number"),
    ({"collections": [1]}, "collections must be a mapping of collection id"),
    ({"collections": {"c": 1}}, r"collections\['c'\] must be a directory path"),
    ({"executors": [1]}, "executors must be a mapping of compute endpoint id"),
    ({"executors": {"ep": 1}}, r"executors\['ep'\] must be a concurrent.futures.Executor"),
    ({"tokens": {"https://ap.example.org": 5}}, r"tokens\['https://ap.example.org'\] must be"),
    ({"tokens": {5: "token"}}, r"each key of tokens must be a string"),
])
def test_wrong_engine_options_are_refused_when_the_engine_is_made(tmp_path, options,
                                                                  argument):
    with pytest.raises(DeveloperException, match=argument):
        LocalEngine(str(tmp_path / "engine.db"), **options)


def test_valid_arguments_still_work(engine, finished_run):
    flow_id, run_id = finished_run
    run = engine.wait(engine.run_flow(flow_id, {}, label="a label", tags=("a", "b"))["run_id"],
                      timeout=30)
    assert run["tags"] == ["a", "b"] and run["label"] == "a label"
    assert engine.get_run_logs(run_id, limit=1)["has_next_page"] is True
    assert len(engine.list_runs("SUCCEEDED")) == len(engine.list_runs(["SUCCEEDED"])) == 2
