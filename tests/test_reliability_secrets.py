"""Secrets: private files, and tokens and private values nowhere they could be read.

One real run carries every kind of secret: a bearer token given to the engine, one in
``GLADIER_LOCAL_TOKENS``, a ``_tokens`` input key, and private parameters (listed in
``__Private_Parameters`` and ``_private*`` keys). Then the logs (caplog at DEBUG), run
documents, log entries, CLI output and the database file bytes are searched for them; so
are the error paths (failing expressions and actions, input_schema errors, a provider's
401, ``gladier runs respond``) and the run state a Pass or ExpressionEval state stores.
"""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from ap_server import ActionProviderServer
from click.testing import CliRunner

from gladier.cli import cli
from gladier.engine import LocalEngine
from gladier.exc import ConfigException, GladierException
from gladier.storage import GladierConfig, open_token_storage

ENGINE_TOKEN = "tok-ENGINE-5f0c1d2e"
ENV_TOKEN = "tok-ENVIRON-8a7b6c5d"
RUN_AS_TOKEN = "tok-RUNAS-1a2b3c4d"
PRIVATE_LISTED = "pw-LISTED-0e9d8c7b"
PRIVATE_PREFIXED = "pw-PREFIXED-6f5e4d3c"
SECRETS = [ENGINE_TOKEN, ENV_TOKEN, RUN_AS_TOKEN, PRIVATE_LISTED, PRIVATE_PREFIXED]
EVAL_URL = "https://actions.globus.org/expression_eval"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def flow(engine_ap: str, env_ap: str) -> dict:
    return {"StartAt": "WithEngineToken", "States": {
        "WithEngineToken": {"Type": "Action", "ActionUrl": engine_ap, "ResultPath": "$.one",
                            "Parameters": {"polls": 1}, "Next": "WithEnvToken"},
        "WithEnvToken": {"Type": "Action", "ActionUrl": env_ap, "ResultPath": "$.two",
                         "Parameters": {"polls": 0}, "Next": "UsePrivate"},
        "UsePrivate": {"Type": "Action", "ActionUrl": EVAL_URL, "ResultPath": "$.used",
                       "Parameters": {
                           "expression": "len(password) + len(_private_key)",
                           "arguments": {"password.$": "$.input._private_pw",
                                         "_private_key.$": "$.input._private_key"},
                           "__Private_Parameters": ["arguments"]},
                       "Next": "Refused"},
        "Refused": {"Type": "Action", "ActionUrl": engine_ap + "/refuses",
                    "Parameters": {"token_field.$": "$.input._private_pw",
                                   "__Private_Parameters": ["token_field"]},
                    "ResultPath": "$.refused", "End": True,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                               "Next": "Done"}]},
        "Done": {"Type": "Pass", "End": True}}}


RUN_INPUT = {"input": {"_private_pw": PRIVATE_LISTED, "_private_key": PRIVATE_PREFIXED},
             "_tokens": {"RunAs": RUN_AS_TOKEN}}


@pytest.fixture
def servers():
    engine_ap = ActionProviderServer(token=ENGINE_TOKEN).start()
    env_ap = ActionProviderServer(token=ENV_TOKEN).start()
    yield engine_ap, env_ap
    engine_ap.stop()
    env_ap.stop()


@pytest.fixture
def env_tokens(monkeypatch, servers):
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", json.dumps({servers[1].url: ENV_TOKEN}))


def test_secrets_reach_their_providers_but_no_log_document_or_database_byte(
        tmp_path, servers, env_tokens, caplog):
    engine_ap, env_ap = servers
    db = tmp_path / "engine.db"
    caplog.set_level(logging.DEBUG)
    with LocalEngine(str(db), tokens={engine_ap.url: ENGINE_TOKEN},
                     time_scale=0.01) as engine:
        flow_id = engine.create_flow(flow(engine_ap.url, env_ap.url))["id"]
        run_id = engine.run_flow(flow_id, RUN_INPUT)["run_id"]
        final = engine.wait(run_id, timeout=60)
        shown = json.dumps([final, engine.get_run_logs(run_id), engine.list_runs(),
                            engine.get_flow(flow_id)])

    assert final["status"] == "SUCCEEDED", final["details"]
    output = final["details"]["output"]
    assert output["used"]["details"]["result"] == len(PRIVATE_LISTED) + len(PRIVATE_PREFIXED)
    assert {auth for _, _, auth in engine_ap.log} == {f"Bearer {ENGINE_TOKEN}"}
    assert {auth for _, _, auth in env_ap.log} == {f"Bearer {ENV_TOKEN}"}
    assert output["error"]["exception"] == "ActionUnableToRun"  # the 404 route

    assert leaks(shown) == [], "secret in a run document or log entry"
    assert leaks(caplog.text) == [], "secret in the Python logs"
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir()
                      if path.name.startswith("engine.db") and path.is_file())
    assert [s for s in SECRETS if s.encode() in stored] == [], "secret in the database file"


def test_private_input_values_are_sealed_in_the_database_and_still_resume(tmp_path):
    """A run state with ``_private*`` keys is kept (a resumed run reads it) but sealed: the
    database bytes never show the values, and a fresh engine resumes the run with them."""
    db = str(tmp_path / "engine.db")
    definition = {"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 100, "Next": "Use"},
        "Use": {"Type": "ExpressionEval", "ResultPath": "$.used", "End": True,
                "Parameters": {"n.=": "len(input['_private_pw']) + len(input['_private_key'])"}}}}
    with LocalEngine(db, time_scale=0.01) as first:
        run_id = first.run_flow(first.create_flow(definition)["id"], RUN_INPUT)["run_id"]
    with LocalEngine(db, time_scale=0.01) as second:  # the first stopped during the Wait
        assert second.resume() == [run_id]
        final = second.wait(run_id, timeout=30)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["used"]["n"] == len(PRIVATE_LISTED) + len(PRIVATE_PREFIXED)
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir()
                      if path.name.startswith("engine.db") and path.is_file())
    assert b"sealed:" in stored
    assert [s for s in SECRETS if s.encode() in stored] == []
    assert mode(tmp_path / "engine.db-key") == 0o600


def finished(tmp_path, definition: dict, run_input: dict) -> tuple[dict, str, bytes]:
    """Run ``definition`` to its end: the run document, what its documents and logs show
    (as JSON text) and the bytes of the database files."""
    db = tmp_path / "engine.db"
    with LocalEngine(str(db), time_scale=0.01) as engine:
        flow_id = engine.create_flow(definition)["id"]
        run_id = engine.run_flow(flow_id, run_input)["run_id"]
        final = engine.wait(run_id, timeout=30)
        shown = json.dumps([final, engine.get_run_logs(run_id), engine.list_runs()])
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir()
                      if path.name.startswith("engine.db") and path.is_file())
    return final, shown, stored


def stored_leaks(stored: bytes) -> list[str]:
    return [secret for secret in SECRETS if secret.encode() in stored]


def test_a_local_providers_record_of_an_action_is_sealed(tmp_path):
    """A built-in provider keeps each finished action's status (so a resumed run does not
    start it again) in the engine's database, and that status may quote a private value of
    its request (an expression's error text does): it is stored sealed, and read back whole
    by the engine store's key and by a standalone store on the same file."""
    from gladier.engine.providers.actions import ResultStore
    from gladier.engine.store import Store

    db = str(tmp_path / "engine.db")
    status = {"action_id": "a1", "status": "FAILED",
              "details": {"description": f"invalid literal for int(): '{PRIVATE_LISTED}'"}}
    ResultStore(db, sealer=Store(db).sealer).save("expression_eval", "r1", "f1", status)

    assert stored_leaks(b"".join(path.read_bytes() for path in tmp_path.iterdir()
                                 if path.name.startswith("engine.db"))) == []
    assert ResultStore(db).find_request("expression_eval", "r1") == ("f1", status)


def test_failing_expressions_over_private_values_are_redacted_from_causes(tmp_path, caplog):
    """Python's error text quotes the value (``invalid literal for int(): '...'``); in the
    provider's failed status, the caught error, the engine's own expression error and the
    run's cause, the private value shows as ``***``."""
    caplog.set_level(logging.DEBUG)
    in_provider = {"expression": "int(password)",
                   "arguments": {"password.$": "$.input._private_pw"},
                   "__Private_Parameters": ["arguments"]}
    definition = {"StartAt": "Caught", "States": {
        "Caught": {"Type": "Action", "ActionUrl": EVAL_URL, "Parameters": in_provider,
                   "ResultPath": "$.evaluated", "Next": "Kept",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                              "Next": "Kept"}]},
        "Kept": {"Type": "Action", "ActionUrl": EVAL_URL, "Parameters": in_provider,
                 "ExceptionOnActionFailure": False, "ResultPath": "$.kept", "Next": "InEngine"},
        "InEngine": {"Type": "ExpressionEval", "ResultPath": "$.n", "End": True,
                     "Parameters": {"n.=": "int(input['_private_key'])"}}}}
    final, shown, stored = finished(tmp_path, definition, RUN_INPUT)

    assert final["status"] == "FAILED"
    cause = final["details"]["details"]["cause"]
    assert "'n.='" in cause and "invalid literal for int() with base 10: '***'" in cause
    assert shown.count("invalid literal for int() with base 10: '***'") >= 6
    assert leaks(shown) == [] and leaks(caplog.text) == []
    assert stored_leaks(stored) == []


def test_values_a_pass_state_lists_as_private_stay_hidden_downstream(tmp_path):
    """A Pass (or ExpressionEval) stores the values its ``__Private_Parameters`` lists in
    the run state: later states read them, but no later Started input, Choice, Wait,
    FlowSucceeded output or database byte shows them, even after a restart."""
    definition = {"StartAt": "Keep", "States": {
        "Keep": {"Type": "Pass", "ResultPath": "$.creds", "Next": "Check",
                 "Parameters": {"user": "alice", "pw.$": "$.input._private_pw",
                                "__Private_Parameters": ["pw"]}},
        "Check": {"Type": "Choice", "Default": "Nap", "Choices": [
            {"Variable": "$.creds.pw", "StringEquals": "", "Next": "Nap"}]},
        "Nap": {"Type": "Wait", "Seconds": 100, "Next": "Digest"},
        "Digest": {"Type": "ExpressionEval", "ResultPath": "$.digest", "Next": "Use",
                   "Parameters": {"key.=": "creds.pw + '/' + creds.user",
                                  "__Private_Parameters": ["key"]}},
        "Use": {"Type": "ExpressionEval", "ResultPath": "$.used", "End": True,
                "Parameters": {"n.=": "len(digest.key)"}}}}
    db = str(tmp_path / "engine.db")
    with LocalEngine(db, time_scale=0.01) as first:
        run_id = first.run_flow(first.create_flow(definition)["id"], RUN_INPUT)["run_id"]
    with LocalEngine(db, time_scale=0.01) as second:  # the first stopped during the Wait
        assert second.resume() == [run_id]
        final = second.wait(run_id, timeout=30)
        shown = json.dumps([final, second.get_run_logs(run_id)])
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir()
                      if path.name.startswith("engine.db") and path.is_file())

    assert final["status"] == "SUCCEEDED", final["details"]
    output = final["details"]["output"]
    assert output["used"]["n"] == len(PRIVATE_LISTED) + len("/alice")
    assert output["creds"] == {"user": "alice"} and output["digest"] == {}
    assert leaks(shown) == [] and "alice/" not in shown
    assert stored_leaks(stored) == [] and b"alice/" not in stored


def test_a_fail_state_cause_path_shows_what_the_flow_author_points_it_at(tmp_path):
    """Not a leak: the spec says nothing of private values in ``CausePath``; the author asked
    for that value as the run's cause, so it is shown (documented in flow-language)."""
    definition = {"StartAt": "Stop", "States": {"Stop": {
        "Type": "Fail", "ErrorPath": "$.input.code", "CausePath": "$.input._private_pw"}}}
    final, _, _ = finished(tmp_path, definition,
                           {"input": {"code": "Denied", "_private_pw": PRIVATE_LISTED}})
    assert final["details"]["details"] == {"state_name": "Stop", "exception": "Denied",
                                           "cause": PRIVATE_LISTED}


def test_redaction_covers_quoted_and_escaped_forms_but_not_short_values():
    from gladier.engine.redaction import private_leaves, redact

    secret = 'pw"it\'s'
    found = private_leaves({"a": secret, "b": "abc", "c": "public", "d": "common"},
                           {"c": "public"}, common={"common"})
    assert found == {secret}
    text = f"raw {secret} python {secret!r} json {json.dumps(secret)}"
    assert redact({"cause": text, secret: [text]}, found) == {
        "cause": "raw *** python '***' json \"***\"", "***": ["raw *** python '***' json \"***\""]}


def test_cli_run_show_and_logs_print_no_secret(tmp_path, servers, env_tokens):
    engine_ap, env_ap = servers
    definition = tmp_path / "flow.json"
    definition.write_text(json.dumps(flow(engine_ap.url, env_ap.url)))
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    ran = runner.invoke(cli, ["run", str(definition), "--input", json.dumps(RUN_INPUT),
                              "--db", db, "--tokens", json.dumps({engine_ap.url: ENGINE_TOKEN}),
                              "--json"], env={"GLADIER_TIME_SCALE": "0.01"})
    assert ran.exit_code == 0, ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    outputs = [ran.output]
    for command in (["runs", "show", run_id], ["runs", "show", run_id, "--json"],
                    ["runs", "logs", run_id], ["runs", "logs", run_id, "--json"],
                    ["runs", "list", "--json"]):
        result = runner.invoke(cli, command + ["--db", db])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert leaks("\n".join(outputs)) == []


def test_cli_failures_and_runs_respond_print_no_secret(tmp_path, servers):
    """Failing runs print their error (and --watch its progress, on stderr): a provider's
    401 for a GLADIER_LOCAL_TOKENS token it does not take, over a private parameter; and,
    after ``gladier runs respond``, an expression that fails over a private value."""
    engine_ap, _ = servers
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({"StartAt": "Refused", "States": {"Refused": {
        "Type": "Action", "ActionUrl": engine_ap.url, "ResultPath": "$.refused", "End": True,
        "Parameters": {"token_field.$": "$.input._private_pw",
                       "__Private_Parameters": ["token_field"]}}}}))
    asked = tmp_path / "asked.json"
    asked.write_text(json.dumps({"StartAt": "Ask", "States": {
        "Ask": {"Type": "CreateWebInput", "ResultPath": "$.asked", "Next": "Await",
                "Parameters": {"InputType": "Selection", "Context": {"Title": "Go on?"},
                               "Options": [{"Value": "go", "Label": "Go",
                                            "Description": "Go on."}]}},
        "Await": {"Type": "AwaitWebInput", "ResultPath": "$.answer", "Next": "Use",
                  "Parameters": {"web_input_id.$": "$.asked.web_input_id"}},
        "Use": {"Type": "ExpressionEval", "ResultPath": "$.n", "End": True,
                "Parameters": {"n.=": "int(input['_private_pw']) + int(input['_private_key'])"}}}}))
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    env = {"GLADIER_TIME_SCALE": "0.01",
           "GLADIER_LOCAL_TOKENS": json.dumps({engine_ap.url: ENV_TOKEN})}  # wants another
    results = [runner.invoke(cli, ["run", str(refused), "--input", json.dumps(RUN_INPUT),
                                   "--db", db] + watch, env=env)
               for watch in ([], ["--watch"], ["--watch", "--json"])]
    waiting = runner.invoke(cli, ["run", str(asked), "--input", json.dumps(RUN_INPUT),
                                  "--db", db, "--json"], env=env)
    run_id = json.loads(waiting.stdout)["run_id"]
    results.append(runner.invoke(cli, ["runs", "respond", run_id, "--input", '"go"',
                                       "--db", db], env=env))
    for command in (["runs", "show", run_id], ["runs", "logs", run_id, "--json"],
                    ["runs", "list"]):
        results.append(runner.invoke(cli, command + ["--db", db], env=env))

    assert [result.exit_code for result in results[:4]] == [1, 1, 1, 1]
    assert any("401" in result.output for result in results[:3])
    assert "Refused" in results[2].stderr  # --watch --json: progress goes to stderr
    assert f"run {run_id} FAILED" in results[3].stdout
    assert "invalid literal for int() with base 10: '***'" in results[3].stdout
    assert leaks("\n".join(result.output + result.stderr for result in results)) == []


PRIVATE_SCHEMA = {"type": "object", "properties": {
    "input": {"type": "object", "properties": {"_private_pw": {"type": "integer"},
                                               "_private_key": {"enum": ["a", "b"]}}},
    "_tokens": {"type": "object"}}}


def test_input_schema_errors_name_private_locations_and_rules_but_never_the_values(
        tmp_path):
    definition = tmp_path / "flow.json"
    definition.write_text(json.dumps({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({**PRIVATE_SCHEMA, "properties": {
        **PRIVATE_SCHEMA["properties"], "public": {"type": "string"}}}))
    from gladier.exc import FlowInputError

    with LocalEngine(str(tmp_path / "engine.db")) as engine:
        flow_id = engine.create_flow(json.loads(definition.read_text()),
                                     input_schema=json.loads(schema.read_text()))["id"]
        with pytest.raises(FlowInputError) as refused:
            engine.run_flow(flow_id, {**RUN_INPUT, "public": {"_private_x": PRIVATE_LISTED}})
    ran = CliRunner().invoke(cli, ["run", str(definition), "--schema", str(schema),
                                   "--input", json.dumps(RUN_INPUT),
                                   "--db", str(tmp_path / "cli.db")])

    message = str(refused.value)
    assert "$.input._private_pw: the private value (not shown) fails 'type': \"integer\"" \
        in message
    assert "$.input._private_key: the private value (not shown) fails 'enum': [\"a\", \"b\"]" \
        in message
    assert "$.public: the private value (not shown)" in message  # it holds a _private key
    assert ran.exit_code != 0 and "$.input._private_pw" in ran.output
    assert leaks(f"{message} {refused.value!r} {ran.output}") == []


def test_bad_token_settings_are_refused_without_echoing_the_tokens(monkeypatch, tmp_path):
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", f'{{"https://x.org": "{ENV_TOKEN}"')  # cut off
    with LocalEngine(str(tmp_path / "engine.db")) as engine, \
            pytest.raises(ConfigException) as raised:
        engine.register_action_provider("https://y.org", lambda body: {})
    assert leaks(str(raised.value)) == []
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", json.dumps({"https://x.org": [ENV_TOKEN]}))
    with LocalEngine(str(tmp_path / "engine.db")) as engine, \
            pytest.raises(ConfigException) as raised:
        engine.register_action_provider("https://y.org", lambda body: {})
    assert leaks(str(raised.value)) == []


def test_provider_refusal_errors_never_carry_the_bearer_token(servers, tmp_path, caplog):
    from gladier.engine.providers.http import HttpActionProvider

    caplog.set_level(logging.DEBUG)
    engine_ap, _ = servers
    wrong = HttpActionProvider(engine_ap.url, token=ENV_TOKEN)  # the server wants another
    with pytest.raises(GladierException) as refused:
        wrong.run({"request_id": "r", "body": {"password": PRIVATE_LISTED}})
    unreachable = HttpActionProvider("http://127.0.0.1:9", token=ENGINE_TOKEN, timeout=0.5)
    with pytest.raises(GladierException) as failed:
        unreachable.status("a1")
    assert "401" in str(refused.value)
    assert leaks(f"{refused.value!r} {refused.value.body} {failed.value!r}") == []
    assert leaks(caplog.text) == []


def test_config_token_and_engine_files_are_owner_only(tmp_path):
    config = GladierConfig(tmp_path / "conf" / "client.cfg")
    config.set("my_client", "flow_id", "f")
    storage = open_token_storage(tmp_path / "conf" / "client.tokens.db", namespace="DEFAULT")
    storage.close()
    with LocalEngine(str(tmp_path / "engine" / "local.db")) as engine:
        engine.create_flow({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        wal = tmp_path / "engine" / "local.db-wal"
        assert not wal.exists() or mode(wal) == 0o600
    assert mode(tmp_path / "conf" / "client.cfg") == 0o600
    assert mode(tmp_path / "conf" / "client.tokens.db") == 0o600
    assert mode(tmp_path / "engine" / "local.db") == 0o600
    assert mode(tmp_path / "conf") == 0o700 and mode(tmp_path / "engine") == 0o700


def test_compute_task_journals_are_owner_only(tmp_path):
    from gladier.engine.providers.compute import TaskLedger

    ledger = TaskLedger(str(tmp_path / "engine.db"))
    ledger.begin("a1", "fingerprint")  # the engine, before any worker writes
    with open(ledger.journal("a1"), "a") as journal:  # as a worker appends
        journal.write(json.dumps({"task": "t1", "output": {"secret": PRIVATE_LISTED}}) + "\n")
    ledger.cancel("a1")
    directory = tmp_path / "engine.db-compute-tasks"
    assert mode(directory) == 0o700
    assert {path.name for path in directory.iterdir()} == {"a1.jsonl", "a1.canceled"}
    assert {mode(path) for path in directory.iterdir()} == {0o600}
    assert ledger.find("a1", "t1")[1]["output"] == {"secret": PRIVATE_LISTED}


def test_flows_service_failures_never_show_the_access_token(
        mocked_responses, config_section, monkeypatch, caplog):
    import globus_sdk
    from globus_sdk.config import get_service_url
    from globus_sdk.scopes import SpecificFlowScopes
    from globus_sdk.testing import get_response_set

    from gladier.managers import CallbackLoginManager, FlowsManager
    from gladier.managers.flows_manager import FLOWS_SCOPES

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("globus_sdk.transport.requests.time.sleep", lambda seconds: None)
    flow_id = get_response_set(globus_sdk.FlowsClient.create_flow).lookup("default").json["id"]
    scope = str(SpecificFlowScopes(flow_id).user)
    manager = FlowsManager(
        flow_definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        flow_schema={}, storage=config_section,
        login_manager=CallbackLoginManager({s: globus_sdk.AccessTokenAuthorizer(ENGINE_TOKEN)
                                            for s in FLOWS_SCOPES + [scope]}))
    flows = get_service_url("flows").rstrip("/")
    mocked_responses.add("POST", f"{flows}/flows", status=500,
                         json={"error": {"code": "X", "detail": "down"}})
    mocked_responses.add("GET", f"{flows}/runs/r1", status=401,
                         json={"error": {"code": "AUTH", "detail": "bad token"}})

    with pytest.raises(GladierException) as down:
        manager.sync_flow()
    with pytest.raises(globus_sdk.GlobusAPIError) as unauthorized:
        manager.get_status("r1")
    shown = " ".join([str(down.value), repr(down.value), str(down.value.__cause__),
                      str(unauthorized.value), repr(unauthorized.value), caplog.text])
    assert leaks(shown) == []
    assert mocked_responses.calls[0].request.headers["Authorization"] == f"Bearer {ENGINE_TOKEN}"


# The matrix: flows that move private values around, each run to its end, then every byte
# the engine wrote (database and WAL files, Python logs, CLI stdout and stderr) searched.

PROVIDER_SECRET = "pw-FROMPROVIDER-9c8b7a6f"
MATRIX_SECRETS = SECRETS + [PROVIDER_SECRET]


class EchoProvider:
    """An Action Provider over real HTTP that answers ``POST /run`` with an ActionStatus
    whose details echo the request's headers and body, and with HTTP 400 whose
    description is 490 characters then ``body["fail_with"]`` when the body has one."""

    def __init__(self) -> None:
        import http.server
        import threading

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if self.path.endswith("/release"):
                    return self._answer(200, outer.status(self.path.split("/")[1], {}))
                request = json.loads(self.rfile.read(length))
                body = request.get("body") or {}
                if "fail_with" in body:
                    return self._answer(400, {"code": "BadRequest",
                                              "description": "x" * 490 + body["fail_with"]})
                return self._answer(201, outer.status(request["request_id"], {
                    "headers": dict(self.headers), "body": body}))

            def _answer(self, code: int, document: dict) -> None:
                data = json.dumps(document).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]

    @staticmethod
    def status(action_id: str, details: dict) -> dict:
        return {"action_id": action_id.replace(":", "-"), "status": "SUCCEEDED",
                "details": details, "creator_id": "urn:globus:auth:identity:x",
                "monitor_by": [], "manage_by": [], "start_time": "2026-01-01T00:00:00Z",
                "completion_time": "2026-01-01T00:00:01Z", "release_after": "P30D",
                "display_status": "SUCCEEDED"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


KEEP = {"Type": "Pass", "ResultPath": "$.creds", "Parameters": {
    "user": "alice", "pw.$": "$.input._private_pw", "__Private_Parameters": ["pw"]}}
BARE_END = {"Type": "Pass", "End": True}
CALLABLE_URL = "https://local.example.org/returns-a-secret"


def matrix(echo_url: str) -> dict[str, dict]:
    """Flow definitions, by the way each one moved private values in the red-team pass."""
    return {
        "a later bare Pass logs the run state": {"StartAt": "Keep", "States": {
            "Keep": {**KEEP, "Next": "Later"}, "Later": BARE_END}},
        "an Action takes the object holding a private value": {"StartAt": "Keep", "States": {
            "Keep": {**KEEP, "Next": "Act"},
            "Act": {"Type": "Action", "ActionUrl": echo_url, "ResultPath": "$.acted",
                    "Parameters": {"x.$": "$.creds", "all.$": "$.input"}, "Next": "Later"},
            "Later": BARE_END}},
        "a Pass copies the object holding a private value": {"StartAt": "Keep", "States": {
            "Keep": {**KEEP, "Next": "Copy"},
            "Copy": {"Type": "Pass", "ResultPath": "$.copied",
                     "Parameters": {"copy.$": "$.creds"}, "Next": "Later"},
            "Later": BARE_END}},
        "an action result stored at a _private ResultPath": {"StartAt": "Get", "States": {
            "Get": {"Type": "Action", "ActionUrl": CALLABLE_URL,
                    "ResultPath": "$._private_result", "Parameters": {}, "Next": "Later"},
            "Later": BARE_END}},
        "a provider's long error text ends with a private value": {"StartAt": "Act", "States": {
            "Act": {"Type": "Action", "ActionUrl": echo_url, "ResultPath": "$.acted",
                    "Parameters": {"fail_with.$": "$.input._private_pw"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                               "Next": "Later"}], "End": True},
            "Later": BARE_END}},
        "a provider echoes the bearer token it was sent": {"StartAt": "Act", "States": {
            "Act": {"Type": "Action", "ActionUrl": echo_url, "ResultPath": "$.acted",
                    "Parameters": {"n": 1}, "Next": "Later"},
            "Later": BARE_END}},
    }


def engine_bytes(directory) -> bytes:
    return b"".join(path.read_bytes() for path in directory.iterdir()
                    if path.name.startswith("engine.db") and path.is_file())


@pytest.fixture
def echo():
    provider = EchoProvider()
    yield provider
    provider.stop()


@pytest.mark.parametrize("name", list(matrix("")))
def test_no_flow_of_the_matrix_writes_a_secret_anywhere(name, tmp_path, echo, monkeypatch,
                                                        caplog):
    monkeypatch.setenv("GLADIER_LOCAL_TOKENS", json.dumps({echo.url: ENV_TOKEN}))
    caplog.set_level(logging.DEBUG)
    definition = matrix(echo.url)[name]
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=0.01) as engine:
        engine.register_action_provider(CALLABLE_URL, lambda body: {"key": PROVIDER_SECRET})
        flow_id = engine.create_flow(definition)["id"]
        run_id = engine.run_flow(flow_id, RUN_INPUT)["run_id"]
        final = engine.wait(run_id, timeout=30)
        logs = engine.get_run_logs(run_id)["entries"]
        shown = json.dumps([final, logs, engine.list_runs()])
        states = {state: definition["States"][state] for state in definition["States"]}
    assert final["status"] == "SUCCEEDED", final["details"]
    assert [s for s in MATRIX_SECRETS if s in shown] == [], "in a run document or log entry"
    assert [s for s in MATRIX_SECRETS if s in caplog.text] == [], "in the Python logs"
    assert [s for s in MATRIX_SECRETS if s.encode() in engine_bytes(tmp_path)] == [], \
        "in a database byte"
    # and yet the flow did its work: the values reached where they were sent
    output = final["details"]["output"]
    if "Act" in states and "fail_with.$" in states["Act"]["Parameters"]:
        cause = output["error"]["cause"]
        assert "HTTP 400" in cause and cause.endswith("x" * 40 + "***")
    elif "Act" in states:
        echoed = output["acted"]["details"]
        assert echoed["headers"]["Authorization"] == "Bearer ***"
        if "x.$" in states["Act"]["Parameters"]:
            assert echoed["body"]["x"] == {"user": "alice", "pw": "***"}
    if "Copy" in states:
        assert output["copied"] == {"copy": {"user": "alice", "pw": "***"}}
    if "Get" in states:
        completed = [e for e in logs if e["code"] == "ActionCompleted"]
        assert completed[0]["details"]["output"] == {} and "_private_result" not in output


def test_the_cli_prints_no_secret_of_the_matrix(tmp_path, echo):
    """The same flows (those a CLI can run: no Python callable) through ``gladier run
    --watch`` and ``gladier runs show/logs``: every byte of stdout and stderr."""
    runner = CliRunner()
    db = str(tmp_path / "engine.db")
    env = {"GLADIER_TIME_SCALE": "0.01",
           "GLADIER_LOCAL_TOKENS": json.dumps({echo.url: ENV_TOKEN})}
    printed = []
    for name, definition in matrix(echo.url).items():
        if "Get" in definition["States"]:
            continue
        path = tmp_path / "flow.json"
        path.write_text(json.dumps(definition))
        ran = runner.invoke(cli, ["run", str(path), "--input", json.dumps(RUN_INPUT),
                                  "--db", db, "--watch", "--json"], env=env)
        assert ran.exit_code == 0, (name, ran.output)
        run_id = json.loads(ran.stdout)["run_id"]
        printed += [ran.stdout, ran.stderr]
        for command in (["runs", "show", run_id], ["runs", "show", run_id, "--json"],
                        ["runs", "logs", run_id], ["runs", "logs", run_id, "--json"]):
            result = runner.invoke(cli, command + ["--db", db], env=env)
            assert result.exit_code == 0, result.output
            printed += [result.stdout, result.stderr]
    text = "\n".join(printed)
    assert "Bearer ***" in text  # the echo was shown, with the token redacted
    assert [s for s in MATRIX_SECRETS if s in text] == []
    assert [s for s in MATRIX_SECRETS if s.encode() in engine_bytes(tmp_path)] == []


# Files the engine trusts are the user's ------------------------------------------------

def _engine_files(tmp_path) -> dict:
    db = tmp_path / "engine.db"
    with LocalEngine(str(db)) as engine:  # makes the database, and the key when sealing
        engine.run_flow(engine.create_flow({"StartAt": "Nap", "States": {
            "Nap": {"Type": "Wait", "Seconds": 1000, "End": True}}})["id"], RUN_INPUT)
    config = GladierConfig(tmp_path / "client.cfg")
    config.set("my_client", "flow_id", "f")
    open_token_storage(tmp_path / "client.tokens.db", namespace="DEFAULT").close()
    return {"database": db, "key": tmp_path / "engine.db-key",
            "config": tmp_path / "client.cfg", "tokens": tmp_path / "client.tokens.db"}


def _open(kind: str, files: dict) -> None:
    """What gladier does with each file: the engine opens its database (and reads its key
    to unseal a run), a client reads its config and its token storage."""
    if kind in ("database", "key"):
        with LocalEngine(str(files["database"])) as engine:
            engine.list_runs()
            engine.resume()
    elif kind == "config":
        GladierConfig(files["config"]).get("my_client", "flow_id")
    else:
        open_token_storage(files["tokens"], namespace="DEFAULT").close()


@pytest.mark.parametrize("kind", ["database", "key", "config", "tokens"])
def test_a_file_others_may_write_is_refused_naming_it(tmp_path, kind):
    from gladier.exc import UntrustedFile

    files = _engine_files(tmp_path)
    _open(kind, files)  # the user's own, 0600: taken
    os.chmod(files[kind], 0o666)  # as someone else left it in a shared directory
    with pytest.raises(UntrustedFile) as refused:
        _open(kind, files)
    assert str(files[kind]) in str(refused.value)
    assert "may be written by its group or by others (mode 666)" in str(refused.value)
    assert "chmod go-w" in refused.value.hint


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can give a file to another user")
@pytest.mark.parametrize("kind", ["database", "key", "config", "tokens"])
def test_a_file_another_user_owns_is_refused_naming_it(tmp_path, kind):
    from gladier.exc import UntrustedFile

    files = _engine_files(tmp_path)
    os.chown(files[kind], 4321, -1)
    with pytest.raises(UntrustedFile) as refused:
        _open(kind, files)
    assert f"'{files[kind]}' belongs to another user (uid 4321)" in str(refused.value)


def test_the_cli_refuses_a_database_others_may_write_with_a_hint(tmp_path):
    db = tmp_path / "shared.db"
    with LocalEngine(str(db)):
        pass
    os.chmod(db, 0o664)
    result = CliRunner().invoke(cli, ["runs", "list", "--db", str(db)])
    assert result.exit_code == 2  # like every setup error
    assert f"Error: The engine database file '{db}' may be written by its group" in result.output
    assert "Hint: if it is yours to keep: chmod go-w" in result.output
