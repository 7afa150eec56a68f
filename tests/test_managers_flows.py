"""FlowsManager against the Flows service, answered by globus_sdk.testing canned responses."""

import copy
import io
import json

import globus_sdk
import pytest
from responses import matchers
from globus_sdk.config import get_service_url
from globus_sdk.scopes import ComputeScopes, SpecificFlowScopes
from globus_sdk.testing import get_last_request, get_response_set, load_response

from gladier.exc import AuthException, ConfigException, StateOutputNotFound
from gladier.managers import CallbackLoginManager, FlowsManager
from gladier.managers import base as base_module
from gladier.managers import flows_manager
from gladier.managers.flows_manager import FLOWS_SCOPES
from gladier.ui.progress import LineRenderer

FLOW_ID = get_response_set(globus_sdk.FlowsClient.create_flow).lookup("default").json["id"]
FLOW_SCOPE = str(SpecificFlowScopes(FLOW_ID).user)
RUN_DOC = get_response_set(globus_sdk.FlowsClient.get_run).lookup("default").responses[0].json
RUN_ID = RUN_DOC["run_id"]
FLOWS_URL = get_service_url("flows").rstrip("/")
GROUP = "8b5e4c2a-6c1e-11ee-9a4d-0242ac120002"

DEFINITION = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Result": {"hi": "there"}, "ResultPath": "$.Hello",
                         "End": True}},
}


def authorizers_for(scopes):
    return {scope: globus_sdk.AccessTokenAuthorizer(f"token-for-{scope}") for scope in scopes}


@pytest.fixture
def login():
    return CallbackLoginManager(authorizers_for(FLOWS_SCOPES + [FLOW_SCOPE]))


@pytest.fixture
def manager(config_section, login):
    return FlowsManager(flow_definition=copy.deepcopy(DEFINITION), flow_schema={},
                        flow_title="My Flow", login_manager=login, storage=config_section)


def request_body(request=None):
    return json.loads((request or get_last_request()).body)


def flow_calls(mocked_responses):
    return [(c.request.method, c.request.path_url) for c in mocked_responses.calls]


def flows_error(status, code, detail):
    """The Flows service's error body: {"error": {"code", "detail"}, "debug_id"}."""
    return {"error": {"code": code, "detail": detail},
            "debug_id": "0b7a6f10-8c5e-4a8e-9d0e-5e6f2d7c1a11"}


def test_first_sync_deploys_flow_and_stores_id_scope_and_checksum(
        mocked_responses, manager, config_section):
    load_response(globus_sdk.FlowsClient.create_flow)

    assert manager.sync_flow() == FLOW_ID

    body = request_body()
    assert body["definition"] == DEFINITION
    assert body["title"] == "My Flow"
    assert body["input_schema"] == {}
    assert config_section.get_value("flow_id") == FLOW_ID
    assert config_section.get_value("flow_scope") == FLOW_SCOPE
    assert config_section.get_value("flow_checksum") == manager.get_flow_checksum()


def test_sync_after_deploy_with_flow_kwargs_makes_no_update(
        mocked_responses, manager):
    manager.flow_kwargs = {"keywords": ["tomography"], "description": "Reconstructs scans"}
    load_response(globus_sdk.FlowsClient.create_flow)
    manager.sync_flow()
    assert request_body()["keywords"] == ["tomography"]

    assert manager.sync_flow() == FLOW_ID
    assert flow_calls(mocked_responses) == [("POST", "/flows")]


def test_changed_definition_updates_the_deployed_flow(mocked_responses, manager, config_section):
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.FlowsClient.update_flow)
    manager.sync_flow()
    first_checksum = config_section.get_value("flow_checksum")

    manager.flow_definition["States"]["Hello"]["Result"] = {"hi": "again"}
    assert manager.sync_flow() == FLOW_ID

    assert flow_calls(mocked_responses)[-1] == ("PUT", f"/flows/{FLOW_ID}")
    assert request_body()["definition"]["States"]["Hello"]["Result"] == {"hi": "again"}
    assert config_section.get_value("flow_checksum") not in (None, first_checksum)


def test_changed_flow_kwargs_update_the_deployed_flow(mocked_responses, manager):
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.FlowsClient.update_flow)
    manager.sync_flow()

    manager.flow_kwargs = {"subtitle": "Now with a subtitle"}
    manager.sync_flow()

    assert flow_calls(mocked_responses)[-1] == ("PUT", f"/flows/{FLOW_ID}")
    assert request_body()["subtitle"] == "Now with a subtitle"


def test_update_of_deleted_flow_deploys_a_new_one(mocked_responses, manager, config_section):
    config_section.set_value("flow_id", "5a3a7a8e-0000-4000-8000-00000000dead")
    config_section.set_value("flow_checksum", "stale")
    mocked_responses.add(
        "PUT", f"{FLOWS_URL}/flows/5a3a7a8e-0000-4000-8000-00000000dead", status=404,
        json=flows_error(404, "NOT_FOUND", "No flow with id 5a3a7a8e exists"),
    )
    load_response(globus_sdk.FlowsClient.create_flow)

    assert manager.sync_flow() == FLOW_ID
    assert flow_calls(mocked_responses)[-1] == ("POST", "/flows")
    assert config_section.get_value("flow_id") == FLOW_ID


def test_update_of_deleted_flow_raises_when_redeploy_is_off(
        mocked_responses, manager, config_section):
    manager.redeploy_on_404 = False
    config_section.set_value("flow_id", FLOW_ID)
    config_section.set_value("flow_checksum", "stale")
    mocked_responses.add("PUT", f"{FLOWS_URL}/flows/{FLOW_ID}", status=404,
                         json=flows_error(404, "NOT_FOUND", "No such flow"))

    with pytest.raises(globus_sdk.GlobusAPIError) as raised:
        manager.sync_flow()
    assert raised.value.http_status == 404


def test_globus_group_is_given_every_flow_and_run_role(mocked_responses, manager):
    manager.globus_group = GROUP
    load_response(globus_sdk.FlowsClient.create_flow)
    manager.sync_flow()

    body = request_body()
    for role in ("flow_viewers", "flow_starters", "flow_administrators",
                 "run_managers", "run_monitors"):
        assert body[role] == [f"urn:globus:groups:id:{GROUP}"]


def test_run_sends_input_label_tags_and_group_permissions(mocked_responses, manager):
    manager.globus_group = GROUP
    manager.run_kwargs = {"activity_notification_policy": {"status": ["FAILED"]}}
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    run = manager.run_flow({"input": {"name": "x"}}, label="L" * 100, tags=["nightly"])

    assert run["run_id"]
    body = request_body()
    assert body["body"] == {"input": {"name": "x"}}
    assert body["label"] == "L" * 62 + ".."
    assert body["tags"] == ["nightly"]
    assert body["run_managers"] == [f"urn:globus:groups:id:{GROUP}"]
    assert body["run_monitors"] == [f"urn:globus:groups:id:{GROUP}"]
    assert body["activity_notification_policy"] == {"status": ["FAILED"]}
    assert get_last_request().headers["Authorization"] == f"Bearer token-for-{FLOW_SCOPE}"


@pytest.mark.parametrize("where", ["argument", "run_kwargs"])
def test_run_label_that_is_not_a_string_is_refused_before_any_request(
        mocked_responses, manager, where):
    if where == "run_kwargs":
        manager.run_kwargs = {"label": 123}
        kwargs = {}
    else:
        kwargs = {"label": 123}

    with pytest.raises(ConfigException, match="run label must be a string.*got int 123"):
        manager.run_flow({"input": {}}, **kwargs)
    assert not mocked_responses.calls


def test_run_with_missing_scope_asks_for_consent_then_retries_once(
        mocked_responses, config_section):
    requested = []

    def consent(scopes):
        requested.append(list(scopes))
        return authorizers_for(scopes)

    login = CallbackLoginManager(authorizers_for(FLOWS_SCOPES + [FLOW_SCOPE]), callback=consent)
    manager = FlowsManager(flow_definition=DEFINITION, login_manager=login,
                           storage=config_section)
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow, case="missing_scope_error")
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    run = manager.run_flow({"input": {}})

    assert run["run_id"]
    assert requested == [[FLOW_SCOPE]]
    runs = [c for c in mocked_responses.calls if c.request.path_url.endswith("/run")]
    assert len(runs) == 2


def test_run_missing_scope_twice_raises_auth_exception_naming_scope(
        mocked_responses, config_section):
    login = CallbackLoginManager(authorizers_for(FLOWS_SCOPES + [FLOW_SCOPE]),
                                 callback=authorizers_for)
    manager = FlowsManager(flow_definition=DEFINITION, login_manager=login,
                           storage=config_section)
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow, case="missing_scope_error")

    with pytest.raises(AuthException) as raised:
        manager.run_flow({"input": {}})
    assert raised.value.missing_scopes == [FLOW_SCOPE]


def test_run_of_deleted_flow_redeploys_and_runs_the_new_flow(
        mocked_responses, manager, config_section):
    old = "5a3a7a8e-0000-4000-8000-00000000dead"
    config_section.set_value("flow_id", old)
    config_section.set_value("flow_checksum", manager.get_flow_checksum())
    manager.login_manager.authorizers.update(authorizers_for([str(SpecificFlowScopes(old).user)]))
    mocked_responses.add("POST", f"{FLOWS_URL}/flows/{old}/run", status=404,
                         json=flows_error(404, "NOT_FOUND", f"No flow with id {old}"))
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    manager.run_flow({"input": {}})

    assert flow_calls(mocked_responses) == [
        ("POST", f"/flows/{old}/run"), ("POST", "/flows"), ("POST", f"/flows/{FLOW_ID}/run"),
    ]
    assert config_section.get_value("flow_id") == FLOW_ID


def test_get_status_returns_the_run_document(mocked_responses, manager):
    load_response(globus_sdk.FlowsClient.get_run)

    run = manager.get_status(RUN_ID)

    assert run["run_id"] == RUN_ID
    assert run["status"] == RUN_DOC["status"]


def test_get_status_decodes_a_serialized_compute_exception(mocked_responses, manager):
    from globus_compute_sdk.serialize import ComputeSerializer

    failed = copy.deepcopy(RUN_DOC)
    failed["status"] = "FAILED"
    encoded = ComputeSerializer().serialize(ValueError("no such file: scan_001.h5"))
    failed["details"]["output"] = {
        "Reconstruct": {"status": "FAILED", "details": {"exception": encoded}},
    }
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{RUN_ID}", json=failed)

    details = manager.get_details(RUN_ID, "Reconstruct")

    assert details["details"]["exception"] == "ValueError: no such file: scan_001.h5"


def test_get_status_keeps_a_plain_text_compute_traceback(mocked_responses, manager):
    failed = copy.deepcopy(RUN_DOC)
    traceback_text = "Traceback (most recent call last):\nKeyError: 'scan'"
    failed["details"]["output"] = {"Reconstruct": {"details": {"exception": traceback_text}}}
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{RUN_ID}", json=failed)

    assert manager.get_status(RUN_ID)["details"]["output"]["Reconstruct"]["details"] == {
        "exception": traceback_text}


def test_get_details_of_a_state_without_output_names_the_state(mocked_responses, manager):
    load_response(globus_sdk.FlowsClient.get_run)

    with pytest.raises(StateOutputNotFound, match="'NoSuchState'"):
        manager.get_details(RUN_ID, "NoSuchState")


#: The canned log of a run visiting PassState..PassState4 then SyncHelloWorld, in two pages
#: of ten entries (the second page read with the first one's marker).
LOG_PAGES = get_response_set(globus_sdk.FlowsClient.get_run_logs).lookup("paginated")
LOGS_RUN_ID = LOG_PAGES.metadata["run_id"]
FIRST_PAGE, LAST_PAGE = (response.json for response in LOG_PAGES.responses)
LOG_ENTRIES = FIRST_PAGE["entries"] + LAST_PAGE["entries"]


def add_log_page(mocked_responses, page, marker=None, run_id=LOGS_RUN_ID, limit=100):
    """The service's answer to one GET /runs/{id}/log (ten entries per page by default)."""
    params = {"limit": str(limit), **({"marker": marker} if marker else {})}
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{run_id}/log", json=page,
                         match=[matchers.query_param_matcher(params)])


def test_get_run_logs_follows_every_page(mocked_responses, manager):
    add_log_page(mocked_responses, FIRST_PAGE)
    add_log_page(mocked_responses, LAST_PAGE, marker=FIRST_PAGE["marker"])

    entries = manager.get_run_logs(LOGS_RUN_ID)

    assert entries == LOG_ENTRIES
    assert len(mocked_responses.calls) == 2
    assert entries[-1]["code"] == "FlowSucceeded"


def test_missing_login_for_flow_scope_uses_login_manager_callback(mocked_responses, config_section):
    asked = []

    def consent(scopes):
        asked.extend(scopes)
        return authorizers_for(scopes)

    login = CallbackLoginManager(authorizers_for(FLOWS_SCOPES), callback=consent)
    manager = FlowsManager(flow_definition=DEFINITION, login_manager=login,
                           storage=config_section)
    load_response(globus_sdk.FlowsClient.create_flow)
    load_response(globus_sdk.SpecificFlowClient.run_flow)

    manager.run_flow({"input": {}})

    assert asked == [FLOW_SCOPE]
    assert str(ComputeScopes.all) not in manager.get_scopes()


# -- progress -----------------------------------------------------------------------


@pytest.fixture
def sleeps(monkeypatch):
    recorded = []
    monkeypatch.setattr(base_module.time, "sleep", recorded.append)
    return recorded


def add_run_statuses(mocked_responses, *statuses, details=None, run_id=RUN_ID):
    for status in statuses:
        run = copy.deepcopy(RUN_DOC)
        run["run_id"] = run["action_id"] = run_id
        run["status"] = run["display_status"] = status
        if details and status in details:
            run["details"] = details[status]
        mocked_responses.add("GET", f"{FLOWS_URL}/runs/{run_id}", json=run)


def add_polls(mocked_responses, *events):
    """GET /runs/{id} answers for the canned log's run: ACTIVE at the state that started
    last (the entry the log shows at that index), then SUCCEEDED for ``None``."""
    for index in events:
        run = copy.deepcopy(RUN_DOC)
        run.update(run_id=LOGS_RUN_ID, action_id=LOGS_RUN_ID,
                   start_time=LOG_ENTRIES[0]["time"], completion_time=None)
        if index is None:
            run["completion_time"] = LOG_ENTRIES[-1]["time"]
        else:
            entry = LOG_ENTRIES[index]
            run["status"] = run["display_status"] = "ACTIVE"
            run["details"] = {key: entry[key] for key in ("code", "description", "time")}
            run["details"]["details"] = {key: entry["details"][key]
                                         for key in ("state_name", "state_type")}
        mocked_responses.add("GET", f"{FLOWS_URL}/runs/{LOGS_RUN_ID}", json=run)


def log_reads(mocked_responses):
    return [call.request.params for call in mocked_responses.calls
            if call.request.path_url.split("?")[0].endswith("/log")]


def test_progress_shows_every_state_from_the_run_log_once_reading_only_new_pages(
        mocked_responses, manager, sleeps, monkeypatch):
    """States that start and finish between two polls come from the log; each read goes on
    from the last page read, not from the start."""
    monkeypatch.setattr(flows_manager, "LOG_PAGE_SIZE", 10)
    # polls: at PassState2, again at PassState2 (no change: no log read), at
    # SyncHelloWorld (the first page is full now), then SUCCEEDED.
    add_polls(mocked_responses, 3, 3, 9, None)
    add_log_page(mocked_responses, {**FIRST_PAGE, "entries": FIRST_PAGE["entries"][:4],
                                    "has_next_page": False, "marker": None}, limit=10)
    add_log_page(mocked_responses, FIRST_PAGE, limit=10)
    add_log_page(mocked_responses, {**LAST_PAGE, "entries": []},
                 marker=FIRST_PAGE["marker"], limit=10)
    add_log_page(mocked_responses, LAST_PAGE, marker=FIRST_PAGE["marker"], limit=10)
    out = io.StringIO()

    last = manager.progress(LOGS_RUN_ID, callback=LineRenderer(file=out))

    assert last["status"] == "SUCCEEDED"
    shown = [line[21:] for line in out.getvalue().splitlines()]
    assert shown[:-1] == [
        f"run {LOGS_RUN_ID} started",
        "state PassState (Pass) started", "state PassState (Pass) succeeded after 0.00 s",
        "state PassState2 (Pass) started", "state PassState2 (Pass) succeeded after 0.00 s",
        "state PassState3 (Pass) started", "state PassState3 (Pass) succeeded after 0.00 s",
        "state PassState4 (Pass) started", "state PassState4 (Pass) succeeded after 0.00 s",
        "state SyncHelloWorld (Action) started",
        "state SyncHelloWorld (Action) succeeded after 1.14 s",
    ]
    assert shown[-1].startswith(f"run {LOGS_RUN_ID} SUCCEEDED")
    assert log_reads(mocked_responses) == [
        {"limit": "10"}, {"limit": "10"}, {"limit": "10", "marker": FIRST_PAGE["marker"]},
        {"limit": "10", "marker": FIRST_PAGE["marker"]}]
    assert len(mocked_responses.calls) == 4 + 4


def test_progress_reads_the_log_of_a_quiet_run_only_at_its_first_poll_and_its_end(
        mocked_responses, manager, sleeps):
    add_polls(mocked_responses, 9, 9, 9, 9, 9, None)
    add_log_page(mocked_responses, {**FIRST_PAGE, "has_next_page": False, "marker": None})
    add_log_page(mocked_responses, {**FIRST_PAGE, "entries": LOG_ENTRIES,
                                    "has_next_page": False, "marker": None})
    out = io.StringIO()

    manager.progress(LOGS_RUN_ID, callback=LineRenderer(file=out))

    assert len(log_reads(mocked_responses)) == 2
    assert len(mocked_responses.calls) == 6 + 2
    assert out.getvalue().count("state SyncHelloWorld (Action) started") == 1
    assert out.getvalue().count("state SyncHelloWorld (Action) succeeded") == 1


def test_a_log_marker_the_service_refuses_is_dropped_and_the_log_read_from_the_start(
        mocked_responses, manager):
    mocked_responses.add("GET", f"{FLOWS_URL}/runs/{LOGS_RUN_ID}/log", status=400,
                         json={"code": "BAD_REQUEST", "description": "invalid marker"},
                         match=[matchers.query_param_matcher({"limit": "100",
                                                              "marker": "stale"})])
    add_log_page(mocked_responses, FIRST_PAGE)
    add_log_page(mocked_responses, LAST_PAGE, marker=FIRST_PAGE["marker"])

    entries, marker = manager.read_run_logs(LOGS_RUN_ID, "stale")

    assert entries == LOG_ENTRIES
    assert marker == FIRST_PAGE["marker"]
    assert len(mocked_responses.calls) == 3


def test_progress_of_a_manager_with_only_get_run_logs_shows_every_state_once(sleeps):
    """A flows manager of one's own (written before read_run_logs existed) implements
    get_status and get_run_logs only: progress reads the whole log each time."""
    polls = iter([(3, "ACTIVE"), (9, "ACTIVE"), (len(LOG_ENTRIES), "SUCCEEDED")])

    class OwnManager(base_module.BaseFlowsManager):
        seen = 0

        def get_status(self, run_id):
            self.seen, status = next(polls)
            last = LOG_ENTRIES[self.seen - 1]
            return {"run_id": run_id, "status": status, "start_time": LOG_ENTRIES[0]["time"],
                    "details": {"code": last["code"], "time": last["time"]}}

        def get_run_logs(self, run_id):
            return LOG_ENTRIES[:self.seen]

    out = io.StringIO()
    OwnManager().progress(LOGS_RUN_ID, callback=LineRenderer(file=out))

    assert out.getvalue().count("state PassState2 (Pass) started") == 1
    assert out.getvalue().count("state SyncHelloWorld (Action) succeeded") == 1


def test_progress_with_a_plain_callback_reads_no_log(mocked_responses, manager, sleeps):
    add_polls(mocked_responses, 3, 9, None)
    seen = []

    manager.progress(LOGS_RUN_ID, callback=seen.append)

    assert [run["status"] for run in seen] == ["ACTIVE", "ACTIVE", "SUCCEEDED"]
    assert log_reads(mocked_responses) == []


@pytest.mark.parametrize("terminal", ["SUCCEEDED", "FAILED", "ENDED"])
def test_progress_stops_on_each_terminal_status(mocked_responses, manager, sleeps, terminal):
    add_run_statuses(mocked_responses, "ACTIVE", "ACTIVE", terminal)
    seen = []

    last = manager.progress(RUN_ID, callback=seen.append)

    assert last["status"] == terminal
    assert [run["status"] for run in seen] == ["ACTIVE", "ACTIVE", terminal]


def test_progress_backs_off_doubling_up_to_sixty_seconds(mocked_responses, manager, sleeps):
    add_run_statuses(mocked_responses, *["ACTIVE"] * 7, "SUCCEEDED")

    manager.progress(RUN_ID, callback=lambda run: None)

    assert sleeps == [2, 4, 8, 16, 32, 60, 60, 60]


def test_progress_first_poll_waits_for_delay(mocked_responses, manager, sleeps):
    add_run_statuses(mocked_responses, "ACTIVE", "SUCCEEDED")

    manager.progress(RUN_ID, callback=lambda run: None, delay=5)

    assert sleeps == [5, 10]


def test_progress_never_polls_faster_than_every_two_seconds(mocked_responses, manager, sleeps):
    add_run_statuses(mocked_responses, "ACTIVE", "SUCCEEDED")

    manager.progress(RUN_ID, callback=lambda run: None, delay=0)

    assert sleeps == [2, 4]


def test_progress_reports_inactive_run_with_its_reason_and_returns(
        mocked_responses, manager, sleeps, capsys, caplog):
    consent = {"code": "ConsentRequired",
               "description": "The run needs consent for the Transfer scope",
               "required_scope": "urn:globus:auth:scope:transfer.api.globus.org:all"}
    add_run_statuses(mocked_responses, "ACTIVE", "INACTIVE", "SUCCEEDED",
                     details={"INACTIVE": consent})
    add_log_page(mocked_responses, {"entries": LOG_ENTRIES[:1], "has_next_page": False},
                 run_id=RUN_ID)

    last = manager.progress(RUN_ID)

    assert last["status"] == "INACTIVE"
    assert sleeps == [2, 4]
    printed = capsys.readouterr().out
    assert "INACTIVE" in printed
    assert "ConsentRequired: The run needs consent for the Transfer scope" in printed
    assert "ConsentRequired" in caplog.text


def test_resume_run_asks_the_service_to_resume_the_run_of_its_flow(mocked_responses, manager):
    load_response(globus_sdk.FlowsClient.create_flow)
    manager.sync_flow()
    resumed = get_response_set(globus_sdk.SpecificFlowClient.resume_run).lookup("default").json
    run_id = resumed["run_id"]
    flows_url = get_service_url("flows")
    mocked_responses.add("GET", f"{flows_url}runs/{run_id}",
                         json=dict(resumed, flow_id=FLOW_ID, status="INACTIVE"))
    mocked_responses.add("POST", f"{flows_url}runs/{run_id}/resume",
                         json=dict(resumed, flow_id=FLOW_ID, status="ACTIVE"))

    assert manager.resume_run(run_id)["status"] == "ACTIVE"
    assert flow_calls(mocked_responses)[-2:] == [("GET", f"/runs/{run_id}"),
                                                 ("POST", f"/runs/{run_id}/resume")]
