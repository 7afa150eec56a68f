"""LocalFlowsManager: the client's manager verbs on a real LocalEngine."""

import time

import pytest

from gladier.engine.manager import LocalFlowsManager
from gladier.exc import StateOutputNotFound

DEFINITION = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Parameters": {"doubled.=": "input.n * 2"},
                  "ResultPath": "$.First", "Next": "Nap"},
        "Nap": {"Type": "Wait", "SecondsPath": "$.input.nap", "Next": "Last"},
        "Last": {"Type": "Pass", "Result": {"done": True}, "ResultPath": "$.Last",
                 "End": True},
    },
}


@pytest.fixture
def manager(engine):
    return LocalFlowsManager(flow_definition=DEFINITION, flow_title="Doubler", engine=engine)


def test_needs_no_login(manager):
    assert manager.get_scopes() == []


def test_flow_id_is_stable_for_the_same_definition(manager, engine):
    flow_id = manager.get_flow_id()
    assert manager.sync_flow() == flow_id == manager.register_flow()
    other = LocalFlowsManager(flow_definition=DEFINITION, engine=engine)
    assert other.get_flow_id() == flow_id
    assert engine.get_flow(flow_id)["title"] == "Doubler"


def test_run_flow_returns_a_run_document_with_a_short_label(manager):
    run = manager.run_flow({"input": {"n": 2, "nap": 1}}, label="l" * 100, tags=["t"])
    assert run["status"] in ("ACTIVE", "SUCCEEDED") and len(run["label"]) == 64
    assert run["tags"] == ["t"]


def test_progress_reports_run_documents_until_the_run_ends(manager):
    run = manager.run_flow({"input": {"n": 2, "nap": 50}})
    seen = []
    final = manager.progress(run["run_id"], callback=seen.append, delay=0.1)
    assert final["status"] == "SUCCEEDED"
    assert seen[-1]["status"] == "SUCCEEDED"
    assert all("run_id" in doc for doc in seen)
    assert manager.get_details(run["run_id"], "First") == {"doubled": 4}
    assert manager.get_details(run["run_id"], "Last") == {"done": True}


def test_progress_returns_on_an_inactive_run(manager, engine):
    class NeedsConsent:
        def run(self, request):
            return self.status("a1")

        def status(self, action_id):
            return {"action_id": action_id, "status": "INACTIVE",
                    "details": {"code": "ConsentRequired", "description": "log in again"}}

        def cancel(self, action_id):
            return self.status(action_id)

        def release(self, action_id):
            return self.status(action_id)

    engine.register_action_provider("https://consent.example.org", NeedsConsent())
    consent = LocalFlowsManager(engine=engine, flow_definition={
        "StartAt": "A", "States": {"A": {"Type": "Action", "ActionUrl":
                                         "https://consent.example.org",
                                         "Parameters": {}, "End": True}}})
    run = consent.run_flow({})
    final = consent.progress(run["run_id"], callback=lambda doc: None, delay=0.1)
    assert final["status"] == "INACTIVE"
    assert final["details"]["code"] == "ConsentRequired"
    consent.cancel_run(run["run_id"])


def test_get_details_of_a_running_flow_uses_the_states_completion(manager):
    run = manager.run_flow({"input": {"n": 5, "nap": 100000}})
    deadline = time.time() + 60
    while "WaitStarted" not in [e["code"] for e in manager.get_run_logs(run["run_id"])]:
        assert time.time() < deadline, "the run never reached its Wait"
        time.sleep(0.01)
    assert manager.get_details(run["run_id"], "First") == {"doubled": 10}
    with pytest.raises(StateOutputNotFound):
        manager.get_details(run["run_id"], "Last")
    canceled = manager.cancel_run(run["run_id"])
    assert canceled["details"]["code"] == "FlowCanceled"


def test_logs_are_a_list_of_entries_oldest_first(manager):
    run = manager.run_flow({"input": {"n": 1, "nap": 1}})
    manager.engine.wait(run["run_id"], timeout=30)
    logs = manager.get_run_logs(run["run_id"])
    assert logs[0]["code"] == "FlowStarted" and logs[-1]["code"] == "FlowSucceeded"


def double(x):
    return x * 2


def triple(x):
    return x * 3


class Tool:
    compute_functions = [double]
    funcx_functions = [triple]


def test_register_functions_maps_input_keys_to_local_function_ids(manager):
    ids = manager.register_functions([Tool, Tool()])
    assert set(ids) == {"double_function_id", "triple_function_id"}
    assert manager.engine.providers.functions.get(ids["double_function_id"])(4) == 8


COMPUTE_FLOW = {"StartAt": "Run", "States": {"Run": {
    "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
    "Parameters": {"tasks": [{"endpoint.$": "$.input.compute_endpoint",
                              "function.$": "$.input.f_function_id"}]}, "End": True}}}


def test_default_input_names_the_local_compute_endpoint_where_the_flow_reads_it(manager):
    from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

    assert manager.default_input(COMPUTE_FLOW, None) == {"compute_endpoint": LOCAL_ENDPOINT_ID}
    assert manager.default_input(DEFINITION, None) == {}


@pytest.mark.parametrize("schema, added", [
    ({}, True),
    ({"type": "object", "properties": {"input": {"type": "object"}}}, True),
    ({"type": "object", "properties": {"input": {
        "type": "object", "properties": {"compute_endpoint": {"type": "string"}},
        "additionalProperties": False}}}, True),
    ({"type": "object", "properties": {"input": {
        "type": "object", "properties": {"f_function_id": {"type": "string"}},
        "additionalProperties": False}}}, False),
], ids=["no_schema", "open_input", "lists_the_key", "forbids_the_key"])
def test_default_compute_endpoint_only_where_the_input_schema_allows_it(manager, schema,
                                                                        added):
    assert ("compute_endpoint" in manager.default_input(COMPUTE_FLOW, schema)) is added


def test_manager_opens_the_default_database_when_given_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_DB", str(tmp_path / "env.db"))
    mgr = LocalFlowsManager(flow_definition=DEFINITION)
    try:
        assert mgr.engine.db_path == str(tmp_path / "env.db")
    finally:
        mgr.engine.close()


def test_run_kwargs_label_and_tags_are_defaults_for_each_run(engine):
    mgr = LocalFlowsManager(flow_definition=DEFINITION, engine=engine,
                            run_kwargs={"label": "default label", "tags": ["nightly"]})
    first = mgr.run_flow({"input": {"n": 1, "nap": 1}})
    assert first["label"] == "default label" and first["tags"] == ["nightly"]
    second = mgr.run_flow({"input": {"n": 1, "nap": 1}}, label="mine")
    assert second["label"] == "mine" and second["tags"] == ["nightly"]


def test_a_changed_definition_gets_a_new_flow(manager):
    first = manager.sync_flow()
    manager.flow_definition = dict(DEFINITION, Comment="changed")
    assert manager.sync_flow() != first
    assert manager.engine.get_flow(manager.flow_id)["definition"]["Comment"] == "changed"
