"""Globus Flows faults: HTTP 429/500/502/503 and network errors on every FlowsManager call.

The service is answered by ``responses`` (failures first, then the ``globus_sdk.testing``
canned success); the retry sleeps of globus_sdk's transport are recorded, never slept.
A run start or a flow creation is retried only when the service cannot have done it.
"""

from __future__ import annotations

import copy

import globus_sdk
import pytest
import requests
import urllib3
from globus_sdk.config import get_service_url
from globus_sdk.scopes import SpecificFlowScopes
from globus_sdk.testing import get_response_set, load_response

from gladier.exc import FlowsServiceError
from gladier.managers import CallbackLoginManager, FlowsManager
from gladier.managers.flows_manager import FLOWS_SCOPES, MAX_RETRIES, MAX_RETRY_SLEEP

FLOW_ID = get_response_set(globus_sdk.FlowsClient.create_flow).lookup("default").json["id"]
FLOW_SCOPE = str(SpecificFlowScopes(FLOW_ID).user)
RUN_ID = get_response_set(globus_sdk.FlowsClient.get_run).lookup(
    "default").responses[0].json["run_id"]
LOGS_RUN_ID = get_response_set(globus_sdk.FlowsClient.get_run_logs).lookup(
    "default").metadata["run_id"]
FLOWS_URL = get_service_url("flows").rstrip("/")
DEFINITION = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}
INJECTED: dict[str, int] = {}


def refused_connection() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request was never sent."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def dropped_connection() -> requests.ConnectionError:
    """What requests raises when the service hangs up after the request was sent."""
    return requests.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))


def error_body(status: int) -> dict:
    return {"error": {"code": {429: "TOO_MANY_REQUESTS"}.get(status, "SERVICE_ERROR"),
                      "detail": f"injected HTTP {status}"},
            "debug_id": "0b7a6f10-8c5e-4a8e-9d0e-5e6f2d7c1a11"}


@pytest.fixture
def sleeps(monkeypatch):
    """Every retry sleep of globus_sdk's transport, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("globus_sdk.transport.requests.time.sleep", recorded.append)
    return recorded


@pytest.fixture
def manager(config_section):
    login = CallbackLoginManager({scope: globus_sdk.AccessTokenAuthorizer("tok")
                                  for scope in FLOWS_SCOPES + [FLOW_SCOPE]})
    return FlowsManager(flow_definition=copy.deepcopy(DEFINITION), flow_schema={},
                        flow_title="Faulty", login_manager=login, storage=config_section)


def deployed(manager, config_section, *, current: bool = True):
    config_section.set_value("flow_id", FLOW_ID)
    config_section.set_value("flow_scope", FLOW_SCOPE)
    config_section.set_value("flow_checksum",
                             manager.get_flow_checksum() if current else "stale")


# Each operation: (HTTP method, URL, canned success, how to call it).
OPERATIONS = {
    "create": ("POST", f"{FLOWS_URL}/flows", globus_sdk.FlowsClient.create_flow,
               lambda m, cfg: m.sync_flow()),
    "update": ("PUT", f"{FLOWS_URL}/flows/{FLOW_ID}", globus_sdk.FlowsClient.update_flow,
               lambda m, cfg: (deployed(m, cfg, current=False), m.sync_flow())),
    "get_run": ("GET", f"{FLOWS_URL}/runs/{RUN_ID}", globus_sdk.FlowsClient.get_run,
                lambda m, cfg: m.get_status(RUN_ID)),
    "logs": ("GET", f"{FLOWS_URL}/runs/{LOGS_RUN_ID}/log",
             globus_sdk.FlowsClient.get_run_logs, lambda m, cfg: m.get_run_logs(LOGS_RUN_ID)),
}
RUN_URL = f"{FLOWS_URL}/flows/{FLOW_ID}/run"


def inject(mocked, method, url, fault, times):
    for _ in range(times):
        if isinstance(fault, int):
            mocked.add(method, url, status=fault, json=error_body(fault))
        else:
            mocked.add(method, url, body=fault())
        INJECTED[str(fault if isinstance(fault, int) else fault.__name__)] = \
            INJECTED.get(str(fault if isinstance(fault, int) else fault.__name__), 0) + 1


def calls_to(mocked, method, url):
    return [c for c in mocked.calls if c.request.method == method
            and c.request.url.split("?")[0] == url]


def assert_backoff(sleeps):
    """globus_sdk's exponential back-off with jitter: (0.25..0.75) * 2**attempt, capped."""
    for attempt, slept in enumerate(sleeps):
        assert min(0.25 * 2 ** attempt, MAX_RETRY_SLEEP) <= slept <= \
            min(0.75 * 2 ** attempt, MAX_RETRY_SLEEP), sleeps


#: Faults after which a POST that creates something (a flow, a run) may have done it.
AMBIGUOUS = (500, 502, 503, dropped_connection)


def cases(faults):
    """(operation, fault) pairs, without the ambiguous creates (never retried)."""
    return [(operation, fault) for operation in sorted(OPERATIONS) for fault in faults
            if not (operation == "create" and fault in AMBIGUOUS)]


@pytest.mark.parametrize("operation, fault", cases([429, 500, 502, 503, refused_connection,
                                                    dropped_connection]))
def test_transient_faults_are_retried_with_backoff_then_succeed(
        mocked_responses, manager, config_section, sleeps, operation, fault):
    method, url, canned, call = OPERATIONS[operation]
    inject(mocked_responses, method, url, fault, 2)
    load_response(canned)

    call(manager, config_section)

    assert len(calls_to(mocked_responses, method, url)) == 3
    assert len(sleeps) == 2
    assert_backoff(sleeps)


@pytest.mark.parametrize("fault", AMBIGUOUS)
def test_ambiguous_flow_creation_failure_is_not_repeated(
        mocked_responses, manager, config_section, sleeps, fault):
    inject(mocked_responses, "POST", f"{FLOWS_URL}/flows", fault, 1)
    load_response(globus_sdk.FlowsClient.create_flow)  # would succeed if asked again

    with pytest.raises(FlowsServiceError, match="flow may exist already") as raised:
        manager.sync_flow()
    assert len(calls_to(mocked_responses, "POST", f"{FLOWS_URL}/flows")) == 1
    assert raised.value.may_exist and sleeps == []
    assert config_section.get_value("flow_id") is None


@pytest.mark.parametrize("operation, fault", cases([429, 500, 502, 503,
                                                    refused_connection]))
def test_persistent_faults_end_in_a_flows_service_error_after_the_retries(
        mocked_responses, manager, config_section, sleeps, operation, fault):
    method, url, _, call = OPERATIONS[operation]
    inject(mocked_responses, method, url, fault, MAX_RETRIES + 1)

    with pytest.raises(FlowsServiceError) as raised:
        call(manager, config_section)

    assert len(calls_to(mocked_responses, method, url)) == MAX_RETRIES + 1
    assert len(sleeps) == MAX_RETRIES
    assert_backoff(sleeps)
    message = str(raised.value)
    assert "Globus Flows" in message and "gave up after retrying" in message
    if isinstance(fault, int):
        assert raised.value.http_status == fault and f"HTTP {fault}" in message
    assert not raised.value.may_exist


def test_retry_after_header_sets_the_sleep(mocked_responses, manager, config_section, sleeps):
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{RUN_ID}", status=429,
                         json=error_body(429), headers={"Retry-After": "3"})
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{RUN_ID}", status=503,
                         json=error_body(503), headers={"Retry-After": "60"})
    load_response(globus_sdk.FlowsClient.get_run)
    INJECTED["429 Retry-After"] = INJECTED.get("429 Retry-After", 0) + 1
    INJECTED["503 Retry-After"] = INJECTED.get("503 Retry-After", 0) + 1

    assert manager.get_status(RUN_ID)["run_id"] == RUN_ID
    assert sleeps == [3.0, MAX_RETRY_SLEEP]  # a long Retry-After is capped


# -- starting runs --------------------------------------------------------------------------


@pytest.mark.parametrize("fault, headers", [
    (429, {}), (429, {"Retry-After": "2"}), (503, {"Retry-After": "1"}),
    (refused_connection, {}),
])
def test_run_start_is_retried_when_the_service_cannot_have_started_it(
        mocked_responses, manager, config_section, sleeps, fault, headers):
    deployed(manager, config_section)
    for _ in range(2):
        if isinstance(fault, int):
            mocked_responses.add("POST", RUN_URL, status=fault, json=error_body(fault),
                                 headers=headers)
        else:
            mocked_responses.add("POST", RUN_URL, body=fault())
    name = f"run {fault if isinstance(fault, int) else fault.__name__}"
    INJECTED[name] = INJECTED.get(name, 0) + 2
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    run = manager.run_flow({"input": {}})

    assert run["run_id"]
    assert len(calls_to(mocked_responses, "POST", RUN_URL)) == 3
    if headers:
        assert sleeps == [float(headers["Retry-After"])] * 2
    else:
        assert_backoff(sleeps)


@pytest.mark.parametrize("fault", [500, 502, 503, 504, dropped_connection,
                                   requests.ReadTimeout])
def test_ambiguous_run_start_failure_is_not_repeated_and_says_the_run_may_exist(
        mocked_responses, manager, config_section, sleeps, fault):
    deployed(manager, config_section)
    if isinstance(fault, int):
        mocked_responses.add("POST", RUN_URL, status=fault, json=error_body(fault))
    else:
        mocked_responses.add("POST", RUN_URL, body=fault())
    load_response(globus_sdk.SpecificFlowClient.run_flow)  # would succeed if asked again
    name = f"run {fault if isinstance(fault, int) else fault.__name__}"
    INJECTED[name] = INJECTED.get(name, 0) + 1

    with pytest.raises(FlowsServiceError) as raised:
        manager.run_flow({"input": {}})

    assert len(calls_to(mocked_responses, "POST", RUN_URL)) == 1, "a run started twice"
    assert sleeps == []
    assert raised.value.may_exist
    assert "run may exist already" in str(raised.value)


def test_persistent_rate_limit_on_run_start_gives_up_saying_no_run_started(
        mocked_responses, manager, config_section, sleeps):
    deployed(manager, config_section)
    inject(mocked_responses, "POST", RUN_URL, 429, MAX_RETRIES + 1)

    with pytest.raises(FlowsServiceError, match="no run was made") as raised:
        manager.run_flow({"input": {}})
    assert not raised.value.may_exist
    assert len(calls_to(mocked_responses, "POST", RUN_URL)) == MAX_RETRIES + 1


# -- HTTP Action Provider faults ---------------------------------------------------------------
#
# A real Action Provider on 127.0.0.1 (tests/ap_server.py) misbehaves on purpose; the flow
# catches every error, so each run must end SUCCEEDED, through "Done" when the fault was
# ridden out or through "Caught" with the error name and the reason.

from ap_server import ActionProviderServer

from gladier.engine import LocalEngine
from gladier.engine.providers.http import HttpActionProvider

HTML = (200, "text/html", "<html>gateway says hi</html>")
CLIENT_TIMEOUT = 0.3


def ap_flow(url: str, wait_time: float = 3000) -> dict:
    return {"StartAt": "Act", "States": {
        "Act": {"Type": "Action", "ActionUrl": url, "Parameters": {"polls": 1},
                "ResultPath": "$.act", "WaitTime": wait_time, "Next": "Done",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                           "Next": "Caught"}]},
        "Done": {"Type": "Pass", "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


@pytest.fixture
def broken_ap(tmp_path):
    server = ActionProviderServer().start()
    engine = LocalEngine(str(tmp_path / "engine.db"), time_scale=0.01)
    engine.register_action_provider(server.url, HttpActionProvider(
        server.url, timeout=CLIENT_TIMEOUT))
    def run(wait_time: float = 3000) -> dict:
        """Run the flow (WaitTime 3000 s lasts 30 s at this time scale) to its end."""
        flow_id = engine.create_flow(ap_flow(server.url, wait_time))["id"]
        final = engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=60)
        assert final["status"] == "SUCCEEDED", final["details"]
        return final["details"]["output"]

    yield server, run
    engine.close()
    server.stop()


def json_answer(document) -> tuple[int, str, str]:
    import json

    return 200, "application/json", json.dumps(document)


RUN_REFUSALS = {
    "non-JSON body": ([HTML], "not JSON"),
    "missing action_id": ([json_answer({"status": "ACTIVE", "details": {}})],
                          "without 'action_id'"),
    "unknown status": ([json_answer({"action_id": "a1", "status": "RUNNING"})],
                       "unknown status 'RUNNING'"),
    "JSON list": ([json_answer([1, 2])], "not an object"),
    "HTTP 500 every time": ([(500, "text/plain", "boom")] * 4, "HTTP 500"),
    "HTTP 400": ([(400, "application/json", '{"description": "bad field x"}')], "bad field x"),
}


@pytest.mark.parametrize("fault", sorted(RUN_REFUSALS))
def test_broken_run_answers_become_action_unable_to_run_and_reach_the_catch(broken_ap, fault):
    server, run = broken_ap
    answers, reason = RUN_REFUSALS[fault]
    server.faults[("POST", "/run")] = list(answers)
    INJECTED[f"AP run {fault}"] = len(answers)

    output = run()

    assert output["error"]["exception"] == "ActionUnableToRun"
    assert reason in output["error"]["cause"]
    assert "act" not in output


@pytest.mark.parametrize("fault", ["HTTP 503 twice", "HTTP 502 then timeout", "timeout"])
def test_unavailable_provider_is_asked_again_with_the_same_request_id(broken_ap, fault):
    server, run = broken_ap
    server.faults[("POST", "/run")] = {
        "HTTP 503 twice": [(503, "text/plain", "busy")] * 2,
        "HTTP 502 then timeout": [(502, "text/plain", "bad gateway"), CLIENT_TIMEOUT * 3],
        "timeout": [CLIENT_TIMEOUT * 3],
    }[fault]
    INJECTED[f"AP run {fault}"] = 2 if "twice" in fault or "then" in fault else 1

    output = run()

    assert "error" not in output and output["act"]["status"] == "SUCCEEDED"
    assert server.runs_started == 1, "the retried request started a second action"


POLL_FAILURES = {
    "non-JSON body": (HTML, "not JSON"),
    "missing action_id": (json_answer({"status": "SUCCEEDED"}), "without 'action_id'"),
    "unknown status": (json_answer({"action_id": "x", "status": "DONE-ISH"}),
                       "unknown status 'DONE-ISH'"),
    "HTTP 401": ((401, "application/json", '{"description": "token expired"}'),
                 "token expired"),
}


@pytest.mark.parametrize("fault", sorted(POLL_FAILURES))
def test_broken_status_answers_become_action_failed_and_reach_the_catch(broken_ap, fault):
    server, run = broken_ap
    answer, reason = POLL_FAILURES[fault]
    server.faults[("GET", "/status")] = [answer] * 10
    INJECTED[f"AP status {fault}"] = 3

    output = run()

    assert output["error"]["exception"] == "ActionFailedException"
    assert reason in output["error"]["cause"] and "3 status requests" in output["error"]["cause"]


@pytest.mark.parametrize("fault", ["HTTP 500", "HTTP 502", "HTTP 503", "timeout",
                                   "one bad answer"])
def test_transient_status_failures_are_polled_again_until_the_action_ends(broken_ap, fault):
    server, run = broken_ap
    answer = {"HTTP 500": (500, "text/plain", "oops"), "HTTP 502": (502, "text/html", "<p>"),
              "HTTP 503": (503, "text/plain", "later"), "timeout": CLIENT_TIMEOUT * 3,
              "one bad answer": HTML}[fault]
    server.faults[("GET", "/status")] = [answer] * (1 if fault == "one bad answer" else 3)
    INJECTED[f"AP status {fault}"] = 1 if fault == "one bad answer" else 3

    output = run()

    assert "error" not in output, output.get("error")
    assert output["act"]["status"] == "SUCCEEDED"
    polls = [entry for entry in server.log if entry[1].endswith("/status")]
    assert len(polls) >= 2


def test_run_requests_that_time_out_say_the_action_may_have_started(broken_ap):
    server, run = broken_ap
    server.faults[("POST", "/run")] = [CLIENT_TIMEOUT * 3] * 4
    INJECTED["AP run timeout every time"] = 4

    output = run()

    cause = output["error"]["cause"]
    assert output["error"]["exception"] == "ActionUnableToRun"
    assert "did not take the request in 4 attempts with request_id" in cause
    assert f"did not answer run within {CLIENT_TIMEOUT:g} s; the action may have started" \
        in cause
    assert "refused" not in cause
    assert server.runs_started == 1, "each attempt carried the same request_id"


@pytest.mark.parametrize("fault, reason, label", [
    ((503, "text/plain", "down for maintenance"), "HTTP 503: down for maintenance", "HTTP 503"),
    (CLIENT_TIMEOUT * 3, f"did not answer status within {CLIENT_TIMEOUT:g} s", "timeout"),
])
def test_wait_time_reached_while_polls_fail_names_the_last_poll_error(broken_ap, fault,
                                                                     reason, label):
    server, run = broken_ap
    server.faults[("GET", "/status")] = [fault] * 1000

    output = run(wait_time=150)  # 1.5 s

    polls = sum(1 for _, path, _ in server.log if path.endswith("/status"))
    INJECTED[f"AP status {label} until WaitTime"] = polls
    cause = output["error"]["cause"]
    assert output["error"]["exception"] == "ActionTimeout"
    assert "did not finish within its WaitTime of 150 s" in cause
    assert "status request(s) got no answer, the latest: " in cause and reason in cause
    assert server.wait_for("POST", "/cancel"), "the timed-out action was not canceled"


def test_zz_faults_injected():
    """How many Globus and Action Provider faults were injected (for the closing note;
    printed with -s)."""
    if not INJECTED:
        pytest.skip("run with the rest of the file")
    print("\nfaults injected:", sum(INJECTED.values()), INJECTED)
    assert sum(INJECTED.values()) > 100
