"""``gladier serve``'s Flows API, driven by the real globus-sdk clients over loopback.

The reference shapes are the service's own, as ``globus_sdk.testing`` ships them (its
canned flows responses): each test compares the keys of what the server returns with the
keys of the canned response for the same call.
"""

import json
import urllib.error
import urllib.request

import globus_sdk
import pytest

from served import flows_client, wait_for_status

pytest.importorskip("starlette")

HELLO = {"StartAt": "Hi", "States": {"Hi": {
    "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
    "Parameters": {"echo_string.$": "$.msg"}, "ResultPath": "$.hi", "End": True}}}
HELLO_SCHEMA = {"type": "object", "properties": {"msg": {"type": "string"}},
                "required": ["msg"]}
#: Waits 40 s (2 s at the served fixture's time scale of 0.05).
WAITING = {"StartAt": "Nap", "States": {
    "Nap": {"Type": "Wait", "Seconds": 40, "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}
APPROVAL = {"StartAt": "Ask", "States": {
    "Ask": {"Type": "CreateWebInput", "Parameters": {
        "InputType": "Selection",
        "Context": {"Title": "Ship it?", "PresentationStyle": "Text", "Text": "Build 7"},
        "Options": [{"Value": "approve", "Label": "Approve", "Description": "Ship."},
                    {"Value": "reject", "Label": "Reject", "Description": "Stop."}]},
        "ResultPath": "$.asked", "Next": "Wait"},
    "Wait": {"Type": "AwaitWebInput", "Parameters": {"web_input_id.$": "$.asked.web_input_id"},
             "ResultPath": "$.answer", "Next": "Decide"},
    "Decide": {"Type": "Choice", "Choices": [
        {"Variable": "$.answer.response", "StringEquals": "approve", "Next": "Shipped"}],
        "Default": "Stopped"},
    "Shipped": {"Type": "Pass", "End": True},
    "Stopped": {"Type": "Fail", "Error": "Rejected", "Cause": "Someone said no"}}}


def canned(module: str, case: str = "default") -> dict:
    """The service's response for a call, as globus_sdk.testing ships it."""
    import importlib

    responses = importlib.import_module(f"globus_sdk.testing.data.flows.{module}").RESPONSES
    found = responses.lookup(case)
    return getattr(found, "responses", [found])[0].json


def raw(served, method: str, path: str, *, token: str | None = None, body=None):
    """(status, JSON) of a plain HTTP request."""
    request = urllib.request.Request(served.url + path.lstrip("/"), method=method,
                                     data=None if body is None else json.dumps(body).encode())
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture
def clients(served, monkeypatch):
    return flows_client(served, monkeypatch)


def test_health_is_open_and_every_other_route_needs_the_token(served):
    assert raw(served, "GET", "/health") == (200, {"status": "ok"})
    refused_shape = canned("validate_run", "invalid_token")
    for method, path in [("GET", "/flows"), ("POST", "/flows"), ("GET", "/runs"),
                         ("GET", "/runs/x/log"), ("POST", "/runs/x/cancel"),
                         ("GET", "/web_inputs"), ("GET", "/dashboard/api/runs/x"),
                         ("GET", "/static/dashboard.js")]:
        for token in (None, "not-the-token"):
            status, body = raw(served, method, path, token=token)
            assert status == 401, (method, path, token)
            assert body["error"]["code"] == "AUTHENTICATION_ERROR"
            assert body.keys() == refused_shape.keys()
            assert body["error"].keys() == refused_shape["error"].keys()


def test_globus_sdk_creates_a_flow_runs_it_to_succeeded_and_reads_its_log(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    assert flow.http_status == 201
    run = specific(flow["id"]).run_flow({"msg": "hi there"}, label="first", tags=["a b"])
    assert run.http_status == 201 and run["status"] == "ACTIVE" and run["label"] == "first"
    done = wait_for_status(flows, run["run_id"], {"SUCCEEDED", "FAILED"})
    assert done["status"] == "SUCCEEDED", done["details"]
    assert done["details"]["output"]["hi"]["details"]["hello"] == "hi there"
    log = flows.get_run_logs(run["run_id"])
    assert [e["code"] for e in log["entries"]] == [
        "FlowStarted", "ActionStarted", "ActionCompleted", "FlowSucceeded"]
    assert log.data.keys() >= {"entries", "limit", "has_next_page"}
    assert log["entries"][0].keys() == canned("get_run_logs")["entries"][0].keys()


def test_flow_and_run_documents_have_the_services_keys(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA,
                             subtitle="sub", keywords=["k"])
    assert flow.data.keys() >= canned("create_flow").keys()
    assert flows.get_flow(flow["id"]).data.keys() >= canned("get_flow").keys()
    assert flow["subtitle"] == "sub" and flow["keywords"] == ["k"]
    assert flow["globus_auth_scope"] == str(specific(flow["id"]).scopes.user)
    run = specific(flow["id"]).run_flow({"msg": "x"})
    wait_for_status(flows, run["run_id"], {"SUCCEEDED"})
    # "search" is the service's Globus Search indexing task for the run: none here
    assert run.data.keys() >= canned("run_flow").keys() - {"search"}
    assert flows.get_run(run["run_id"]).data.keys() >= canned("get_run").keys()
    listed = flows.list_runs()
    assert listed.data.keys() >= canned("list_runs").keys() - {"marker"}
    assert listed["runs"][0].keys() >= canned("list_runs")["runs"][0].keys()
    definition = flows.get_run_definition(run["run_id"])
    assert definition.data.keys() == canned("get_run_definition").keys()
    assert definition["definition"] == HELLO
    described = flows.get_run(run["run_id"], include_flow_description=True)
    assert "flow_description" in described.data


def test_list_runs_pages_newest_first_with_the_services_filters(clients):
    flows, specific = clients
    hello = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    other = flows.create_flow(title="Other", definition=HELLO, input_schema={})
    ids = [specific(hello["id"]).run_flow({"msg": str(i)}, label=f"batch {i}")["run_id"]
           for i in range(23)]
    odd = specific(other["id"]).run_flow({"msg": 5}, label="odd one")["run_id"]
    for run_id in ids + [odd]:
        wait_for_status(flows, run_id, {"SUCCEEDED", "FAILED"})
    pages = list(flows.paginated.list_runs())
    assert [len(page["runs"]) for page in pages] == [20, 4]
    seen = [run["run_id"] for page in pages for run in page["runs"]]
    assert seen == [odd] + ids[::-1]  # newest first, each run once
    by_flow = [run["run_id"] for run in flows.paginated.list_runs(
        filter_flow_id=other["id"]).items()]
    assert by_flow == [odd]
    labelled = flows.list_runs(query_params={"filter_label": "BATCH 1"})["runs"]
    assert sorted(run["label"] for run in labelled) == sorted(
        f"batch {i}" for i in range(23) if str(i).startswith("1"))
    failed = flows.list_runs(query_params={"filter_status": "FAILED"})["runs"]
    assert failed == [] or all(run["status"] == "FAILED" for run in failed)
    oldest = flows.list_runs(query_params={"orderby": "start_time ASC", "per_page": 2})
    assert [run["run_id"] for run in oldest["runs"]] == ids[:2] and oldest["has_next_page"]
    by_title = flows.list_runs(query_params={"filter_flow_title": "othe"})["runs"]
    assert [run["run_id"] for run in by_title] == [odd]


def test_the_next_page_of_runs_follows_the_last_run_shown_not_a_count(clients):
    """A marker holds the query and where the page after it starts: a run started between
    two pages does not push a run of the first page onto the second (as a count of runs to
    skip would), and any order pages through every run once."""
    flows, specific = clients
    hello = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    ids = [specific(hello["id"]).run_flow({"msg": str(i)}, label=f"batch {i % 4}")["run_id"]
           for i in range(11)]
    for run_id in ids:
        wait_for_status(flows, run_id, {"SUCCEEDED", "FAILED"})
    first = flows.list_runs(query_params={"per_page": 5})
    assert [run["run_id"] for run in first["runs"]] == ids[::-1][:5]
    late = specific(hello["id"]).run_flow({"msg": "late"})["run_id"]
    second = flows.list_runs(marker=first["marker"])
    assert [run["run_id"] for run in second["runs"]] == ids[::-1][5:10] and late not in [
        run["run_id"] for run in second["runs"]]
    for order in ("label DESC", "completion_time ASC", "status ASC,start_time DESC"):
        whole = [run["run_id"] for run in flows.list_runs(
            query_params={"orderby": order, "per_page": 50})["runs"]]
        paged = [run["run_id"] for run in flows.paginated.list_runs(
            query_params={"orderby": order, "per_page": 3}).items()]
        assert paged == whole and len(whole) == 12, order


def test_run_log_pages_follow_the_marker(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    run_id = specific(flow["id"]).run_flow({"msg": "x"})["run_id"]
    wait_for_status(flows, run_id, {"SUCCEEDED"})
    pages = list(flows.paginated.get_run_logs(run_id, limit=3))
    assert [len(page["entries"]) for page in pages] == [3, 1]
    assert pages[0]["has_next_page"] and pages[0]["marker"]
    newest = flows.get_run_logs(run_id, limit=1, reverse_order=True)
    assert newest["entries"][0]["code"] == "FlowSucceeded"
    with pytest.raises(globus_sdk.GlobusAPIError) as refused:
        flows.get_run_logs(run_id, limit=1000)
    assert refused.value.http_status == 400


def test_errors_have_the_services_status_codes_and_documents(clients):
    flows, specific = clients
    with pytest.raises(globus_sdk.GlobusAPIError) as missing:
        flows.get_run("no-such-run")
    assert missing.value.http_status == 404 and missing.value.code == "NOT_FOUND"
    bad = {"StartAt": "Step1", "States": {"Step1": {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world"}}}
    with pytest.raises(globus_sdk.GlobusAPIError) as invalid:
        flows.validate_flow(bad)
    reference = canned("validate_flow", "definition_error")
    assert invalid.value.http_status == 422 and invalid.value.code == "UNPROCESSABLE_ENTITY"
    assert invalid.value.raw_json["error"].keys() == reference["error"].keys()
    assert invalid.value.raw_json["error"]["detail"][0] == reference["error"]["detail"][0]
    assert flows.validate_flow(HELLO).http_status == 200
    flow = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    with pytest.raises(globus_sdk.GlobusAPIError) as wrong_input:
        specific(flow["id"]).run_flow({"msg": 5})
    reference = canned("validate_run", "invalid_input_payload")
    assert wrong_input.value.http_status == 400
    assert wrong_input.value.raw_json["error"].keys() == reference["error"].keys()
    assert wrong_input.value.raw_json["error"]["detail"][0].keys() == \
        reference["error"]["detail"][0].keys()
    assert specific(flow["id"]).validate_run({"msg": "fine"})["message"] == \
        canned("validate_run")["message"]


def test_update_and_delete_a_flow(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Hello", definition=HELLO, input_schema=HELLO_SCHEMA)
    run_id = specific(flow["id"]).run_flow({"msg": "before"})["run_id"]
    wait_for_status(flows, run_id, {"SUCCEEDED"})
    changed = dict(HELLO, Comment="changed")
    updated = flows.update_flow(flow["id"], title="Renamed", definition=changed,
                                description="new words")
    assert updated["title"] == "Renamed" and updated["definition"] == changed
    assert flows.get_flow(flow["id"])["description"] == "new words"
    assert [f["title"] for f in flows.list_flows()["flows"]] == ["Renamed"]
    deleted = flows.delete_flow(flow["id"])
    assert deleted.data.keys() >= canned("delete_flow").keys()
    with pytest.raises(globus_sdk.GlobusAPIError) as gone:
        flows.get_flow(flow["id"])
    assert gone.value.http_status == 404
    assert flows.list_flows()["flows"] == []
    assert flows.get_run(run_id)["status"] == "SUCCEEDED"  # its runs stay


def test_cancel_update_release_and_resume_a_run(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Nap", definition=WAITING, input_schema={})
    run_id = specific(flow["id"]).run_flow({})["run_id"]
    with pytest.raises(globus_sdk.GlobusAPIError) as active:
        flows.delete_run(run_id)
    assert active.value.http_status == 409 and active.value.code == "STATE_CONFLICT"
    resumed = specific(flow["id"]).resume_run(run_id)  # driven here already: left alone
    assert resumed["status"] == "ACTIVE"
    assert resumed.data.keys() >= canned("resume_run").keys() - {"search"}
    canceled = flows.cancel_run(run_id)
    assert canceled.http_status == 202
    assert canceled["status"] == "FAILED" and canceled["details"]["code"] == "FlowCanceled"
    relabelled = flows.update_run(run_id, label="napped", tags=["x", "y"])
    assert relabelled["label"] == "napped" and relabelled["tags"] == ["x", "y"]
    assert relabelled.data.keys() >= canned("update_run").keys() - {"search"}
    released = flows.delete_run(run_id)
    assert released["run_id"] == run_id
    with pytest.raises(globus_sdk.GlobusAPIError) as gone:
        flows.get_run(run_id)
    assert gone.value.http_status == 404


def test_web_input_routes_answer_an_approval(clients):
    flows, specific = clients
    flow = flows.create_flow(title="Approval", definition=APPROVAL, input_schema={})
    run_id = specific(flow["id"]).run_flow({})["run_id"]
    run = wait_for_status(flows, run_id, {"INACTIVE"})
    web_input_id = run["blocking_web_input_id"]
    summaries = flows.list_web_inputs(filter_states="open")
    assert [item["id"] for item in summaries["web_input_summaries"]] == [web_input_id]
    assert summaries.data.keys() == canned("list_web_inputs").keys()
    assert summaries["web_input_summaries"][0].keys() == \
        canned("list_web_inputs")["web_input_summaries"][0].keys()
    document = flows.get_web_input(web_input_id)
    assert document.data.keys() == canned("get_web_input").keys()
    with pytest.raises(globus_sdk.GlobusAPIError) as invalid:
        flows.respond_to_web_input(web_input_id, "not-a-real-option")
    assert invalid.value.http_status == 422 and invalid.value.code == "UNPROCESSABLE_ENTITY"
    approve = next(o["option_id"] for o in document["options"] if o["label"] == "Approve")
    assert flows.respond_to_web_input(web_input_id, approve).data == \
        canned("respond_to_web_input")
    with pytest.raises(globus_sdk.GlobusAPIError) as again:
        flows.respond_to_web_input(web_input_id, approve)
    assert again.value.http_status == 409 and again.value.code == "STATE_CONFLICT"
    assert wait_for_status(flows, run_id, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    with pytest.raises(globus_sdk.GlobusAPIError) as missing:
        flows.get_web_input("00000000-0000-0000-0000-000000000000")
    assert missing.value.http_status == 404 and missing.value.code == "NOT_FOUND"


def test_gladiers_flows_manager_deploys_runs_follows_and_updates_on_the_server(
        served, monkeypatch, config_section):
    from gladier.managers import FlowsManager
    from gladier.managers.login_manager import CallbackLoginManager

    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", served.url)
    login = CallbackLoginManager(callback=lambda scopes: {
        scope: globus_sdk.AccessTokenAuthorizer(served.token) for scope in scopes})
    manager = FlowsManager(flow_definition=HELLO, flow_schema=HELLO_SCHEMA,
                           flow_title="Managed", login_manager=login, storage=config_section)
    flow_id = manager.sync_flow()
    run = manager.run_flow({"msg": "from the manager"}, label="managed run")
    final = manager.progress(run["run_id"], callback=lambda doc: None, delay=0.1)
    assert final["status"] == "SUCCEEDED"
    output = manager.get_status(run["run_id"])["details"]["output"]
    assert output["hi"]["details"]["hello"] == "from the manager"
    assert [entry["code"] for entry in manager.get_run_logs(run["run_id"])][-1] == \
        "FlowSucceeded"
    manager.flow_definition = dict(HELLO, Comment="changed")
    assert manager.sync_flow() == flow_id  # updated in place, as on the service
    flows, _ = flows_client(served, monkeypatch)
    assert flows.get_flow(flow_id)["definition"]["Comment"] == "changed"
