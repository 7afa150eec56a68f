"""GladierBaseClient: engine choice, login rules, input checks, and the Globus call path."""

import io
import json
import sys
import time
import urllib.parse

import globus_sdk
import pytest
from globus_sdk.scopes import ComputeScopes, SpecificFlowScopes
from globus_sdk.testing import get_last_request, get_response_set, load_response
from globus_sdk.token_storage import TokenStorageData

import gladier
from gladier import GladierBaseClient, GladierBaseTool, GladierClient, generate_flow_definition
from gladier.client import DEFAULT_CLIENT_ID
from gladier.exc import (
    AuthException,
    ConfigException,
    FlowInputError,
    NoFlowRegistered,
)
from gladier.managers import (
    CallbackLoginManager,
    ConfidentialClientLoginManager,
    FlowsManager,
    UserAppLoginManager,
)
from gladier.managers.flows_manager import FLOWS_SCOPES
from gladier.storage import open_token_storage
from gladier.tools import PassState

FLOW_ID = get_response_set(globus_sdk.FlowsClient.create_flow).lookup("default").json["id"]
FLOW_SCOPE = str(SpecificFlowScopes(FLOW_ID).user)
COMPUTE_SCOPE = str(ComputeScopes.all)
FUNCTION_ID = get_response_set(globus_sdk.ComputeClientV3.register_function).lookup(
    "default").json["function_uuid"]


def reconstruct(**data):
    """Reconstruct one scan."""
    return data["scan_path"]


@generate_flow_definition
class ReconstructTool(GladierBaseTool):
    compute_functions = [reconstruct]
    required_input = ["scan_path"]
    flow_input = {"threshold": 3}


@generate_flow_definition
class ReconstructionClient(GladierBaseClient):
    """Reconstructs scans."""

    gladier_tools = [ReconstructTool]


def all_authorizers(*extra):
    scopes = FLOWS_SCOPES + [COMPUTE_SCOPE, *extra]
    return {scope: globus_sdk.AccessTokenAuthorizer(f"token-{i}") for i, scope in enumerate(scopes)}


@pytest.fixture
def globus_client():
    return ReconstructionClient(authorizers=all_authorizers(FLOW_SCOPE), engine="globus")


HELLO = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}


def store_flows_tokens(client):
    """Tokens for every Flows scope, as an earlier login of this client stored them."""
    manager = client.login_manager
    storage = open_token_storage(manager.tokens_path, namespace=manager.token_namespace)
    storage.store_token_data_by_resource_server({
        "flows.globus.org": TokenStorageData(
            resource_server="flows.globus.org", identity_id=None,
            scope=" ".join(FLOWS_SCOPES), access_token="flows-access",
            refresh_token="flows-refresh", expires_at_seconds=int(time.time()) + 3600,
            token_type="Bearer",
        )
    })


# -- engine choice and construction ---------------------------------------------------


def test_engine_defaults_to_local():
    from gladier.engine.manager import LocalFlowsManager

    client = ReconstructionClient()
    assert client.engine == "local"
    assert isinstance(client.flows_manager, LocalFlowsManager)
    assert client.scopes == [] and client.is_logged_in()


def test_engine_from_environment_selects_globus_managers(monkeypatch):
    monkeypatch.setenv("GLADIER_ENGINE", "globus")

    client = ReconstructionClient()

    assert isinstance(client.flows_manager, FlowsManager)
    assert isinstance(client.login_manager, UserAppLoginManager)


def test_engine_class_attribute_is_used():
    class GlobusClient(ReconstructionClient):
        engine = "globus"

    assert GlobusClient().engine == "globus"


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_unknown_engine_is_a_config_exception(monkeypatch, where):
    if where == "environment":
        monkeypatch.setenv("GLADIER_ENGINE", "lambda")
        kwargs = {}
    else:
        kwargs = {"engine": "lambda"}

    with pytest.raises(ConfigException, match="'lambda'"):
        ReconstructionClient(**kwargs)


def test_constructing_clients_writes_no_files_and_needs_no_network(isolated_home):
    ReconstructionClient()
    ReconstructionClient(engine="globus")

    assert list(isolated_home.iterdir()) == []


def test_client_secret_in_environment_selects_confidential_login(monkeypatch):
    monkeypatch.setenv("GLADIER_CLIENT_ID", "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5")
    monkeypatch.setenv("GLADIER_CLIENT_SECRET", "s3cret")

    client = ReconstructionClient(engine="globus")

    assert isinstance(client.login_manager, ConfidentialClientLoginManager)


def test_insufficient_authorizers_raise_naming_missing_scopes():
    flows_only = {scope: globus_sdk.AccessTokenAuthorizer("t") for scope in FLOWS_SCOPES}

    with pytest.raises(AuthException, match="do not cover") as raised:
        ReconstructionClient(authorizers=flows_only, engine="globus")
    assert raised.value.missing_scopes == [COMPUTE_SCOPE]


def test_sufficient_authorizers_use_a_callback_login_manager(globus_client):
    assert isinstance(globus_client.login_manager, CallbackLoginManager)
    assert globus_client.is_logged_in()
    assert COMPUTE_SCOPE in globus_client.scopes


# -- login and logout ---------------------------------------------------------------


def test_login_on_the_local_engine_makes_no_request_and_writes_no_file(
        mocked_responses, isolated_home):
    client = ReconstructionClient()

    client.login()
    client.logout()

    assert not mocked_responses.calls
    assert list(isolated_home.iterdir()) == []


def test_login_asks_auth_for_every_scope_the_client_needs(monkeypatch, mocked_responses):
    monkeypatch.setenv("GLADIER_CLIENT_ID", "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5")
    monkeypatch.setenv("GLADIER_CLIENT_SECRET", "s3cret")
    load_response(globus_sdk.ConfidentialAppAuthClient.oauth2_client_credentials_tokens)
    client = ReconstructionClient(engine="globus")

    client.login()

    asked = [urllib.parse.parse_qs(c.request.body) for c in mocked_responses.calls]
    assert all(form["grant_type"] == ["client_credentials"] for form in asked)
    scopes = {scope for form in asked for scope in form["scope"][0].split()}
    assert COMPUTE_SCOPE in client.scopes and set(client.scopes) <= scopes


def test_login_with_every_token_stored_makes_no_request(mocked_responses):
    client = GladierClient(HELLO, engine="globus")
    store_flows_tokens(client)

    client.login()

    assert client.is_logged_in()
    assert not mocked_responses.calls


def test_logout_revokes_the_stored_tokens_and_keeps_the_flow_id(mocked_responses):
    load_response(globus_sdk.NativeAppAuthClient.oauth2_revoke_token)
    client = GladierClient(HELLO, engine="globus")
    store_flows_tokens(client)
    client.storage.set_value("flow_id", FLOW_ID)

    client.logout()

    revoked = [urllib.parse.parse_qs(c.request.body)["token"] for c in mocked_responses.calls]
    assert sorted(token for tokens in revoked for token in tokens) == \
        ["flows-access", "flows-refresh"]
    assert all(c.request.url.endswith("/v2/oauth2/token/revoke") for c in mocked_responses.calls)
    assert not GladierClient(HELLO, engine="globus").is_logged_in()
    assert client.get_flow_id() == FLOW_ID


# -- tools, definitions and schema ---------------------------------------------------


def test_version_is_the_package_version():
    assert ReconstructionClient().version == gladier.__version__


@pytest.mark.parametrize("reference", [ReconstructTool, ReconstructTool(),
                                       "test_client.ReconstructTool"])
def test_get_gladier_defaults_cls_loads_a_tool_from_each_kind_of_reference(reference):
    tool = GladierBaseClient.get_gladier_defaults_cls(reference)

    assert isinstance(tool, ReconstructTool)
    assert tool.get_required_input() == ["scan_path"]


def test_get_gladier_defaults_cls_applies_an_alias_from_the_reference():
    tool = GladierBaseClient.get_gladier_defaults_cls("test_client.ReconstructTool:Nightly")

    assert tool.alias == "Nightly"
    assert tool.get_required_input() == ["nightly_scan_path"]


def test_get_gladier_defaults_cls_names_a_reference_that_does_not_import():
    with pytest.raises(ConfigException, match="no_such_module"):
        GladierBaseClient.get_gladier_defaults_cls("no_such_module.Tool")


def test_get_flow_schema_is_the_class_schema_and_none_by_default_as_in_gladier_0_11():
    class SchemaClient(GladierClient):
        flow_schema = {"type": "object", "required": ["input"]}

    assert SchemaClient(HELLO).get_flow_schema() == {"type": "object", "required": ["input"]}
    assert GladierClient(HELLO).get_flow_schema() is None


def test_flow_schema_is_deployed_as_the_input_schema(mocked_responses):
    class SchemaClient(GladierClient):
        flow_schema = {"type": "object", "required": ["input"]}

    load_response(globus_sdk.FlowsClient.create_flow)
    client = SchemaClient(HELLO, engine="globus",
                          authorizers=all_authorizers(FLOW_SCOPE))

    client.sync_flow()

    assert json.loads(get_last_request().body)["input_schema"] == SchemaClient.flow_schema


def test_a_state_object_as_flow_definition_runs_on_the_local_engine():
    class Greeter(GladierBaseClient):
        flow_definition = PassState(state_name="Greet", parameters={"who.$": "$.input.who"},
                                    result_path="$.Greet")

    client = Greeter()
    run = client.run_flow({"input": {"who": "world"}})
    last = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert client.get_flow_definition()["StartAt"] == "Greet"
    assert last["status"] == "SUCCEEDED"
    assert client.get_details(run["run_id"], "Greet") == {"who": "world"}


# -- input --------------------------------------------------------------------------


def test_run_flow_input_must_be_nested_under_input(globus_client):
    with pytest.raises(ConfigException, match="nested under one key 'input'"):
        globus_client.run_flow({"scan_path": "/data/scan_001.h5"})


def test_run_flow_names_tool_and_missing_key(mocked_responses, globus_client):
    load_response(globus_sdk.ComputeClientV3.register_function)

    with pytest.raises(FlowInputError, match="ReconstructTool requires flow input 'scan_path'") \
            as raised:
        globus_client.run_flow({"input": {}})

    assert isinstance(raised.value, ConfigException)
    assert raised.value.errors[0]["tool"] == "ReconstructTool"
    assert raised.value.errors[0]["key"] == "scan_path"


def test_authorizers_that_are_not_a_dict_are_a_config_exception():
    with pytest.raises(ConfigException, match="authorizers .* must be a dict"):
        ReconstructionClient(authorizers=list(all_authorizers().values()), engine="globus")


def test_check_input_of_something_that_is_not_a_tool_names_the_client():
    with pytest.raises(ConfigException, match=r"ReconstructionClient.check_input\(\) takes a tool"):
        ReconstructionClient().check_input(object(), {"input": {}})


def test_run_label_that_is_not_a_string_is_refused_on_the_local_engine():
    with pytest.raises(ConfigException, match="run label must be a string"):
        ReconstructionClient().run_flow({"input": {"scan_path": "/data/scan.h5"}}, label=123)


def test_get_input_has_function_ids_tool_defaults_and_config_overrides(
        mocked_responses, globus_client):
    load_response(globus_sdk.ComputeClientV3.register_function)
    globus_client.storage.set_value("threshold", "7")

    assert globus_client.get_input() == {
        "input": {"reconstruct_function_id": FUNCTION_ID, "threshold": "7"},
    }


def test_config_override_with_an_uppercase_key_replaces_the_tool_default():
    class ScanTool(GladierBaseTool):
        flow_definition = {"StartAt": "Scan", "States": {"Scan": {"Type": "Pass", "End": True}}}
        flow_input = {"scanPath": "/default"}

    class ScanClient(GladierClient):
        gladier_tools = [ScanTool]

    client = ScanClient(ScanTool.flow_definition)
    client.storage.config.path.parent.mkdir()
    client.storage.config.path.write_text("[scan_client]\nscanPath = /override\n")

    assert client.get_input()["input"]["scanPath"] == "/override"
    assert "scanpath" not in client.get_input()["input"]


def test_local_get_input_includes_function_ids_and_compute_endpoint():
    flow_input = ReconstructionClient().get_input()["input"]

    assert flow_input["reconstruct_function_id"]
    assert flow_input["compute_endpoint"]
    assert flow_input["threshold"] == 3


# -- the Globus path ----------------------------------------------------------------


def test_run_flow_on_globus_registers_deploys_and_runs(mocked_responses, globus_client):
    load_response(globus_sdk.ComputeClientV3.register_function)
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    run = globus_client.run_flow({"input": {"scan_path": "/data/scan_001.h5"}},
                                 label="nightly reconstruction", tags=["nightly"])

    assert run["run_id"]
    paths = [c.request.path_url for c in mocked_responses.calls]
    assert paths == ["/v3/functions", "/flows", f"/flows/{FLOW_ID}/run"]
    create_body = json.loads(mocked_responses.calls[1].request.body)
    assert create_body["definition"] == globus_client.get_flow_definition()
    assert create_body["title"] == "ReconstructionClient flow"
    run_body = json.loads(get_last_request().body)
    assert run_body["body"]["input"] == {"scan_path": "/data/scan_001.h5", "threshold": 3,
                                         "reconstruct_function_id": FUNCTION_ID}
    assert run_body["label"] == "nightly reconstruction"
    assert run_body["tags"] == ["nightly"]
    assert globus_client.get_flow_id() == FLOW_ID


def test_sync_after_an_update_makes_no_call(mocked_responses):
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.FlowsClient.update_flow)
    client = GladierClient(HELLO, engine="globus", authorizers=all_authorizers(FLOW_SCOPE))
    client.sync_flow()
    client.flow_definition = {"StartAt": "Hello", "States": {
        "Hello": {"Type": "Pass", "Result": "again", "End": True}}}
    client.sync_flow()
    assert [c.request.method for c in mocked_responses.calls] == ["POST", "PUT"]

    assert client.sync_flow() == FLOW_ID
    assert GladierClient(client.flow_definition, engine="globus",
                         authorizers=all_authorizers(FLOW_SCOPE)).sync_flow() == FLOW_ID
    assert len(mocked_responses.calls) == 2


def test_auto_registration_off_without_deployed_flow_raises(mocked_responses):
    client = ReconstructionClient(authorizers=all_authorizers(), engine="globus",
                                  auto_registration=False)

    with pytest.raises(NoFlowRegistered, match="auto_registration is off"):
        client.sync_flow()
    assert not mocked_responses.calls


def test_first_run_without_terminal_raises_auth_exception(monkeypatch, mocked_responses):
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    client = ReconstructionClient(engine="globus")

    with pytest.raises(AuthException, match="no terminal") as raised:
        client.run_flow({"input": {"scan_path": "/data/scan_001.h5"}})
    assert COMPUTE_SCOPE in raised.value.missing_scopes
    assert not mocked_responses.calls


def test_auto_login_off_raises_auth_exception_before_any_request(mocked_responses):
    client = ReconstructionClient(engine="globus", auto_login=False)

    with pytest.raises(AuthException, match="auto_login=False"):
        client.run_flow({"input": {"scan_path": "/data/scan_001.h5"}})
    assert not client.is_logged_in()


def test_supplied_login_manager_keeps_its_own_auto_login_setting(mocked_responses, tmp_path):
    quiet = UserAppLoginManager(client_id=DEFAULT_CLIENT_ID, tokens_path=tmp_path / "q.db",
                                auto_login=False)
    prompting = UserAppLoginManager(client_id=DEFAULT_CLIENT_ID, tokens_path=tmp_path / "p.db")

    client = ReconstructionClient(engine="globus", login_manager=quiet)  # auto_login=True
    with pytest.raises(AuthException, match="auto_login=False"):
        client.run_flow({"input": {"scan_path": "/data/scan_001.h5"}})
    assert not mocked_responses.calls
    ReconstructionClient(engine="globus", auto_login=False, login_manager=prompting)
    assert prompting.auto_login is True


def test_gladier_client_runs_a_given_definition_on_the_local_engine():
    definition = {"StartAt": "Greet", "States": {
        "Greet": {"Type": "Pass", "Parameters": {"who.$": "$.input.who"},
                  "ResultPath": "$.Greet", "End": True}}}
    client = GladierClient(definition)

    run = client.run_flow({"input": {"who": "world"}})
    last = client.progress(run["run_id"], callback=lambda run: None, delay=0.05)

    assert last["status"] == "SUCCEEDED"
    assert client.get_details(run["run_id"], "Greet") == {"who": "world"}


def test_auto_registration_off_with_changed_flow_raises_flow_obsolete(mocked_responses):
    from gladier.exc import FlowObsolete

    client = ReconstructionClient(authorizers=all_authorizers(FLOW_SCOPE), engine="globus",
                                  auto_registration=False)
    client.storage.set_value("flow_id", FLOW_ID)
    client.storage.set_value("flow_checksum", "checksum-of-an-older-definition")

    with pytest.raises(FlowObsolete, match="auto_registration=True"):
        client.sync_flow()
    assert not mocked_responses.calls
