"""globus-sdk idioms in FlowsManager, against globus_sdk.testing canned responses: one client
per manager, consent errors read with globus_sdk.gare, and the service's validate_flow."""

import copy

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set, load_response

from gladier.exc import AuthException, FlowValidationError
from gladier.managers import CallbackLoginManager, FlowsManager
from gladier.managers.flows_manager import FLOWS_SCOPES
from test_managers_flows import DEFINITION, FLOW_ID, FLOW_SCOPE, FLOWS_URL, RUN_ID, authorizers_for

#: The consent-required error the SDK's own canned Timer responses carry (a GARE): the
#: Flows service answers a run whose flow needs a new consent with such a document.
CONSENT_REQUIRED = get_response_set("timer.get_job").lookup(
    "inactive_gare").json["inactive_reason"]["detail"]
CONSENT_SCOPES = CONSENT_REQUIRED["authorization_parameters"]["required_scopes"]
#: The Flows service's error for a web input whose flow has an authentication policy.
POLICY_REQUIRED = get_response_set("flows.get_web_input").lookup(
    "auth_policy_required").json


def _manager(config_section, callback=None, **options):
    login = CallbackLoginManager(authorizers_for(FLOWS_SCOPES + [FLOW_SCOPE]),
                                 callback=callback)
    return FlowsManager(flow_definition=copy.deepcopy(DEFINITION), login_manager=login,
                        storage=config_section, **options)


def test_one_flows_client_serves_every_call_until_the_authorizer_changes(
        mocked_responses, config_section):
    manager = _manager(config_section)
    load_response(globus_sdk.FlowsClient.get_run)
    first = manager.flows_client
    for _ in range(3):  # progress polls
        manager.get_status(RUN_ID)
    assert manager.flows_client is first
    manager.login_manager.authorizers.update(authorizers_for(FLOWS_SCOPES))  # a new login
    assert manager.flows_client is not first


def test_a_consent_required_error_logs_in_for_exactly_its_scopes_then_retries_once(
        mocked_responses, config_section):
    asked = []

    def consent(scopes):
        asked.append(list(scopes))
        return authorizers_for(scopes)

    manager = _manager(config_section, callback=consent)
    load_response(globus_sdk.FlowsClient.create_flow)
    mocked_responses.add("POST", f"{FLOWS_URL}/flows/{FLOW_ID}/run", status=403,
                         json=CONSENT_REQUIRED)
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    run = manager.run_flow({"input": {}})

    assert run["run_id"]
    assert asked == [CONSENT_SCOPES]
    assert len([c for c in mocked_responses.calls if c.request.path_url.endswith("/run")]) == 2


def test_a_consent_error_after_the_new_login_is_an_auth_exception(
        mocked_responses, config_section):
    manager = _manager(config_section, callback=authorizers_for)
    load_response(globus_sdk.FlowsClient.create_flow)
    for _ in range(2):
        mocked_responses.add("POST", f"{FLOWS_URL}/flows/{FLOW_ID}/run", status=403,
                             json=CONSENT_REQUIRED)
    with pytest.raises(AuthException, match="still asks for authorization") as raised:
        manager.run_flow({"input": {}})
    assert raised.value.missing_scopes == CONSENT_SCOPES


def test_a_session_requirement_is_reported_not_met_by_a_scope_login(
        mocked_responses, config_section):
    manager = _manager(config_section, callback=authorizers_for)
    load_response(globus_sdk.FlowsClient.create_flow)
    mocked_responses.add("POST", f"{FLOWS_URL}/flows/{FLOW_ID}/run", status=403,
                         json=POLICY_REQUIRED)
    message = POLICY_REQUIRED["authorization_parameters"]["session_message"]
    with pytest.raises(AuthException, match="needs a new login session: " + message):
        manager.run_flow({"input": {}})


def test_validate_flow_asks_the_service(mocked_responses, config_section):
    cases = get_response_set(globus_sdk.FlowsClient.validate_flow)
    manager = _manager(config_section)
    manager.flow_definition = copy.deepcopy(cases.metadata["success"])
    load_response(globus_sdk.FlowsClient.validate_flow)
    assert manager.validate_flow() == cases.lookup("default").json


def test_validate_flow_turns_the_services_problems_into_a_flow_validation_error(
        mocked_responses, config_section):
    cases = get_response_set(globus_sdk.FlowsClient.validate_flow)
    manager = _manager(config_section)
    manager.flow_definition = copy.deepcopy(cases.metadata["invalid"])
    load_response(globus_sdk.FlowsClient.validate_flow, case="definition_error")
    with pytest.raises(FlowValidationError) as raised:
        manager.validate_flow()
    [problem] = raised.value.problems
    assert problem["path"] == "$.definition.States.Step1"
    assert "must be defined as either terminal" in problem["message"]


def test_validate_before_deploy_refuses_an_invalid_flow_before_creating_it(
        mocked_responses, config_section):
    cases = get_response_set(globus_sdk.FlowsClient.validate_flow)
    manager = _manager(config_section)
    manager.validate_before_deploy = True
    manager.flow_definition = copy.deepcopy(cases.metadata["invalid"])
    load_response(globus_sdk.FlowsClient.validate_flow, case="definition_error")
    load_response(globus_sdk.FlowsClient.create_flow)
    with pytest.raises(FlowValidationError):
        manager.sync_flow()
    assert [c.request.path_url for c in mocked_responses.calls] == ["/flows/validate"]


@pytest.mark.parametrize("environment, namespace", [
    (None, "gladier_storage"), ("production", "gladier_storage"),
    ("sandbox", "gladier_storage/sandbox"), ("preview", "gladier_storage/preview")])
def test_tokens_are_namespaced_per_globus_sdk_environment(tmp_path, monkeypatch,
                                                          environment, namespace):
    from gladier.managers.login_manager import UserAppLoginManager

    if environment is None:
        monkeypatch.delenv("GLOBUS_SDK_ENVIRONMENT", raising=False)
    else:
        monkeypatch.setenv("GLOBUS_SDK_ENVIRONMENT", environment)
    manager = UserAppLoginManager("abc", tokens_path=tmp_path / "abc.db")
    assert manager.token_namespace == namespace


def test_gladier_validate_remote_asks_the_flows_service(mocked_responses, tmp_path,
                                                       monkeypatch):
    import json

    from click.testing import CliRunner

    from gladier.cli import cli
    from gladier.client import GladierBaseClient

    monkeypatch.setattr(GladierBaseClient, "_default_login_manager",
                        lambda self: CallbackLoginManager(authorizers_for(FLOWS_SCOPES)))
    cases = get_response_set(globus_sdk.FlowsClient.validate_flow)
    load_response(globus_sdk.FlowsClient.validate_flow)
    good = CliRunner().invoke(cli, ["validate", "-", "--remote"],
                              input=json.dumps(cases.metadata["success"]))
    assert good.exit_code == 0, good.output
    assert "Globus Flows: valid" in good.stderr
    assert [c.request.path_url for c in mocked_responses.calls] == ["/flows/validate"]
