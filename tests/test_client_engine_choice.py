"""Which engine a client runs on: named engines win, Globus clients stay on Globus, and the
embedded engine never acts for a Globus resource the user did not configure locally."""

import logging
import time

import globus_sdk
import pytest
from globus_sdk.scopes import ComputeScopes, SpecificFlowScopes
from globus_sdk.testing import get_response_set, load_response
from globus_sdk.token_storage import TokenStorageData

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition
from gladier.engine.manager import LocalFlowsManager
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID
from gladier.exc import ConfigException, UnconfiguredResource
from gladier.managers import (CallbackLoginManager, ComputeManager, FlowsManager,
                              LocalLoginManager, UserAppLoginManager)
from gladier.managers.flows_manager import FLOWS_SCOPES
from gladier.storage import open_token_storage
from gladier.tools import Transfer, TransferItem

FLOW_ID = get_response_set(globus_sdk.FlowsClient.create_flow).lookup("default").json["id"]
FLOW_SCOPE = str(SpecificFlowScopes(FLOW_ID).user)
COMPUTE_SCOPE = str(ComputeScopes.all)
REAL_ENDPOINT = "0d0e5e1a-4f8a-4cde-9f76-2b0f4c2e7a11"  # a Globus Compute endpoint id
COLLECTION = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc"  # a Globus collection id


def summarize(path, **data):
    """Count the lines of a file."""
    with open(path) as fh:
        return sum(1 for _ in fh)


@generate_flow_definition
class SummarizeTool(GladierBaseTool):
    compute_functions = [summarize]
    required_input = ["path"]


@generate_flow_definition
class SummaryClient(GladierBaseClient):
    """Summarize a file."""

    gladier_tools = [SummarizeTool]


@generate_flow_definition
class PublishClient(GladierBaseClient):
    """Copy results to a collection."""

    gladier_tools = [Transfer(state_name="Publish", transfer_items=[TransferItem(
        source_path="/results", destination_path="/published", recursive=True)])]


@pytest.fixture(autouse=True)
def close_engines(monkeypatch):
    """Close every engine the clients of a test opened (and their process pools)."""
    from gladier.engine import LocalEngine

    opened = []
    original = LocalEngine.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(LocalEngine, "__init__", recording_init)
    yield
    for engine in opened:
        engine.close()


def engine_lines(caplog, client_name):
    return [r.getMessage() for r in caplog.records
            if r.name == "gladier.client" and r.getMessage().startswith(f"{client_name} runs on")]


# -- a new client stays on the embedded engine ------------------------------------------


def test_new_client_with_only_local_resources_runs_on_the_embedded_engine(caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="gladier.client")
    data = tmp_path / "data.txt"
    data.write_text("a\nb\nc\n")

    client = SummaryClient()
    run = client.run_flow({"input": {"path": str(data)}})
    final = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert client.engine == "local" and isinstance(client.flows_manager, LocalFlowsManager)
    assert "no sign of a Globus client" in client.engine_reason
    assert final["status"] == "SUCCEEDED"
    assert client.get_details(run["run_id"], "Summarize")["details"]["result"] == [3]
    (line,) = engine_lines(caplog, "SummaryClient")  # logged once, at construction
    assert line.startswith("SummaryClient runs on the embedded engine: no sign")


def test_login_manager_exists_on_the_embedded_engine_and_accepts_requirements():
    client = SummaryClient()

    client.login_manager.add_requirements([COMPUTE_SCOPE])

    assert isinstance(client.login_manager, LocalLoginManager)
    assert client.is_logged_in() and client.login_manager.is_logged_in()
    assert client.login_manager.get_manager_authorizers() == {}
    client.login()
    client.logout()


def test_mapped_collection_keeps_a_client_on_the_embedded_engine(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.json").write_text("{}")
    client = PublishClient(flows_manager=LocalFlowsManager(collections={COLLECTION: tmp_path}))

    run = client.run_flow({"input": {"transfer_source_endpoint_id": COLLECTION,
                                     "transfer_destination_endpoint_id": COLLECTION}})
    final = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert client.engine == "local" and final["status"] == "SUCCEEDED"
    assert (tmp_path / "published" / "summary.json").read_text() == "{}"


def test_compute_endpoint_given_an_executor_runs_on_the_embedded_engine(tmp_path):
    import concurrent.futures

    data = tmp_path / "data.txt"
    data.write_text("one line\n")
    with concurrent.futures.ThreadPoolExecutor() as threads:
        client = SummaryClient(flows_manager=LocalFlowsManager(executors={REAL_ENDPOINT: threads}))
        run = client.run_flow({"input": {"path": str(data), "compute_endpoint": REAL_ENDPOINT}})
        final = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert client.engine == "local" and final["status"] == "SUCCEEDED"


def test_compute_endpoint_listed_in_the_environment_runs_in_the_local_pool(
        tmp_path, monkeypatch):
    """An unchanged script whose input names a real endpoint: GLADIER_LOCAL_ENDPOINTS lets
    the local process pool serve it, as GLADIER_LOCAL_COLLECTIONS maps collections."""
    data = tmp_path / "data.txt"
    data.write_text("one line\n")
    run_input = {"input": {"path": str(data), "compute_endpoint": REAL_ENDPOINT}}
    with pytest.raises(UnconfiguredResource, match="GLADIER_LOCAL_ENDPOINTS"):
        SummaryClient(engine="local").run_flow(run_input)

    monkeypatch.setenv("GLADIER_LOCAL_ENDPOINTS", f"{LOCAL_ENDPOINT_ID}, {REAL_ENDPOINT}")
    client = SummaryClient()
    run = client.run_flow(run_input)
    final = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert client.engine == "local" and final["status"] == "SUCCEEDED"
    client.flows_manager.engine.close()


# -- a Globus client stays on Globus -----------------------------------------------------


def flows_authorizers():
    scopes = FLOWS_SCOPES + [COMPUTE_SCOPE, FLOW_SCOPE]
    return {scope: globus_sdk.AccessTokenAuthorizer(f"t{i}") for i, scope in enumerate(scopes)}


@pytest.mark.parametrize("given, reason", [
    (lambda: {"flows_manager": FlowsManager()}, "a FlowsManager was given"),
    (lambda: {"login_manager": CallbackLoginManager({})}, "a CallbackLoginManager was given"),
    (lambda: {"authorizers": flows_authorizers()}, "authorizers were given"),
    (lambda: {"compute_manager": ComputeManager()}, "a ComputeManager was given"),
], ids=["flows_manager", "login_manager", "authorizers", "compute_manager"])
def test_a_client_given_globus_managers_or_authorizers_runs_on_globus(given, reason, caplog):
    caplog.set_level(logging.INFO, logger="gladier.client")

    client = SummaryClient(**given())

    assert client.engine == "globus" and client.engine_reason == reason
    assert isinstance(client.flows_manager, FlowsManager)
    assert engine_lines(caplog, "SummaryClient") == [
        f"SummaryClient runs on the Globus Flows engine: {reason}"]


def test_a_flow_id_in_the_config_file_means_globus(isolated_home):
    SummaryClient(engine="globus").storage.set_value("flow_id", FLOW_ID)

    client = SummaryClient()

    assert client.engine == "globus"
    assert FLOW_ID in client.engine_reason and "summary_client" in client.engine_reason
    assert isinstance(client.login_manager, UserAppLoginManager)


def test_a_config_override_naming_a_compute_endpoint_means_globus():
    SummaryClient(engine="globus").storage.set_value("compute_endpoint", REAL_ENDPOINT)

    client = SummaryClient()

    assert client.engine == "globus"
    assert f"compute endpoint {REAL_ENDPOINT}" in client.engine_reason


def store_tokens(client, scopes_by_server):
    manager = client.login_manager
    storage = open_token_storage(manager.tokens_path, namespace=manager.token_namespace)
    storage.store_token_data_by_resource_server({
        server: TokenStorageData(resource_server=server, identity_id=None,
                                 scope=" ".join(scopes), access_token=f"{server}-access",
                                 refresh_token=f"{server}-refresh", token_type="Bearer",
                                 expires_at_seconds=int(time.time()) + 3600)
        for server, scopes in scopes_by_server.items()})


def test_run_input_naming_a_globus_endpoint_moves_a_default_client_to_globus(
        mocked_responses, caplog):
    """A 0.11 script: no engine named, compute_endpoint given at run time, tokens from an
    earlier login. It runs on Globus as it did, not in a local process pool."""
    caplog.set_level(logging.INFO, logger="gladier.client")
    store_tokens(SummaryClient(engine="globus"), {
        "flows.globus.org": FLOWS_SCOPES, "funcx_service": [COMPUTE_SCOPE],
        FLOW_ID: [FLOW_SCOPE]})
    load_response(globus_sdk.ComputeClientV3.register_function)
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow)
    client = SummaryClient()
    assert client.engine == "local"

    run = client.run_flow({"input": {"path": "/data/scan.h5", "compute_endpoint": REAL_ENDPOINT}})

    assert run["run_id"]
    assert client.engine == "globus" and isinstance(client.flows_manager, FlowsManager)
    assert [c.request.path_url for c in mocked_responses.calls] == [
        "/v3/functions", "/flows", f"/flows/{FLOW_ID}/run"]
    assert engine_lines(caplog, "SummaryClient")[-1] == (
        "SummaryClient runs on the Globus Flows engine: the run's input names Globus resources "
        f"the embedded engine was not given: compute endpoint {REAL_ENDPOINT} "
        "(state 'Summarize', tasks[0].endpoint)")


# -- named engines win, and the embedded engine refuses what it was not given ------------


def test_named_engine_wins_over_a_stored_flow_id(monkeypatch):
    SummaryClient(engine="globus").storage.set_value("flow_id", FLOW_ID)

    assert SummaryClient(engine="local").engine == "local"
    monkeypatch.setenv("GLADIER_ENGINE", "local")
    assert SummaryClient().engine_reason == "GLADIER_ENGINE is 'local'"

    class LocalSummary(SummaryClient):
        engine = "local"

    monkeypatch.delenv("GLADIER_ENGINE")
    assert LocalSummary().engine_reason == "LocalSummary.engine is 'local'"


def test_named_engine_that_contradicts_the_flows_manager_is_refused():
    with pytest.raises(ConfigException, match="FlowsManager.*the engine= argument is 'local'"):
        SummaryClient(engine="local", flows_manager=FlowsManager())
    with pytest.raises(ConfigException, match="LocalFlowsManager"):
        SummaryClient(engine="globus", flows_manager=LocalFlowsManager())


def test_embedded_engine_refuses_unconfigured_globus_resources_before_the_run(tmp_path):
    manager = LocalFlowsManager(db=str(tmp_path / "runs.db"))
    client = SummaryClient(engine="local", flows_manager=manager)

    with pytest.raises(UnconfiguredResource) as raised:
        client.run_flow({"input": {"path": "/data/scan.h5", "compute_endpoint": REAL_ENDPOINT}})

    message = str(raised.value)
    assert f"compute endpoint {REAL_ENDPOINT} (state 'Summarize', tasks[0].endpoint)" in message
    assert "executors=" in message and 'engine="globus"' in message
    assert raised.value.resources == [{"kind": "compute endpoint", "id": REAL_ENDPOINT,
                                       "state": "Summarize", "parameter": "tasks[0].endpoint"}]
    assert manager.engine.list_runs() == []  # nothing started


def test_embedded_engine_refuses_each_unmapped_collection_naming_both_ways_out(tmp_path):
    other = "31ce9ba0-176d-45a5-add3-f37d233ba47d"
    manager = LocalFlowsManager(db=str(tmp_path / "runs.db"), collections={COLLECTION: tmp_path})
    client = PublishClient(engine="local", flows_manager=manager)

    with pytest.raises(UnconfiguredResource) as raised:
        client.run_flow({"input": {"transfer_source_endpoint_id": COLLECTION,
                                   "transfer_destination_endpoint_id": other}})

    message = str(raised.value)
    assert f"collection {other} (state 'Publish', destination_endpoint" in message
    assert f"collection {COLLECTION}" not in message
    assert "GLADIER_LOCAL_COLLECTIONS" in message and 'engine="globus"' in message
    assert manager.engine.list_runs() == []


def test_local_compute_endpoint_is_added_only_where_the_flow_reads_it():
    class PassClient(GladierBaseClient):
        flow_definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        flow_schema = {"type": "object", "properties": {"input": {
            "type": "object", "additionalProperties": False}}}

    assert "compute_endpoint" not in PassClient().get_input()["input"]
    assert SummaryClient().get_input()["input"]["compute_endpoint"] == LOCAL_ENDPOINT_ID
    run = PassClient().run_flow({"input": {}})
    assert run["status"] in ("ACTIVE", "SUCCEEDED")  # the schema accepted the input
