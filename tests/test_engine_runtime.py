"""Real flows on a LocalEngine with a temporary database: states, errors, Catch, cancel.

Actions go to ``ScriptedProvider``, a small action provider written for these tests (it
implements the engine's provider protocol; it does not imitate any Globus service): each
request body says how the action should behave.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import gladier.engine
from gladier.engine import LocalEngine
from gladier.exc import ActionProviderError, EngineError, FlowInputError, FlowValidationError

URL = "https://provider.example.org/scripted"


class ScriptedProvider:
    """Body keys: ``outcome`` (SUCCEEDED, FAILED, NEVER, INACTIVE_ONCE), ``polls`` (ACTIVE
    answers before the outcome), ``refuse`` (raise ActionProviderError on run), ``quiet``
    (no echo of the body in ``details``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.cancelled = []
        self.released = []
        self.status_calls = 0
        self.actions = {}
        self.by_request = {}

    def run(self, request):
        body = request["body"]
        with self.lock:
            self.requests.append(request)
            if request["request_id"] in self.by_request:
                return self._answer(self.by_request[request["request_id"]], count=False)
            if body.get("refuse"):
                raise ActionProviderError("refused", http_status=400,
                                          body={"code": "BadActionRequest",
                                                "description": body["refuse"]})
            action_id = f"act-{len(self.actions)}"
            self.by_request[request["request_id"]] = action_id
            self.actions[action_id] = {"body": body, "polls": body.get("polls", 0),
                                       "outcome": body.get("outcome", "SUCCEEDED")}
            return self._answer(action_id, count=False)

    def status(self, action_id):
        with self.lock:
            self.status_calls += 1
            return self._answer(action_id, count=True)

    def cancel(self, action_id):
        with self.lock:
            self.cancelled.append(action_id)
            self.actions[action_id]["outcome"] = "FAILED"
            self.actions[action_id]["polls"] = 0
            return self._answer(action_id, count=False)

    def release(self, action_id):
        with self.lock:
            self.released.append(action_id)
            return self._answer(action_id, count=False)

    def _answer(self, action_id, *, count):
        action = self.actions[action_id]
        status = "ACTIVE"
        if action["outcome"] == "INACTIVE_ONCE":
            status = "INACTIVE"
            if count:
                action["outcome"] = "SUCCEEDED"
        elif action["polls"] > 0:
            if count:
                action["polls"] -= 1
        elif action["outcome"] != "NEVER":
            status = action["outcome"]
        details = {} if action["body"].get("quiet") else {"echo": action["body"]}
        if status == "FAILED":
            details = {"description": "it broke"}
        if status == "INACTIVE":
            details = {"code": "ConsentRequired", "description": "needs a person"}
        return {"action_id": action_id, "status": status, "details": details,
                "creator_id": "urn:test", "start_time": "2026-01-01T00:00:00+00:00"}


class CallbackProvider(ScriptedProvider):
    """Announces completion through ``add_done_callback`` from another thread."""

    def add_done_callback(self, action_id, fn):
        def finish():
            with self.lock:
                self.actions[action_id]["polls"] = 0
                answer = self._answer(action_id, count=False)
            fn(answer)
        threading.Timer(0.05, finish).start()


@pytest.fixture
def engine(tmp_path):
    eng = LocalEngine(str(tmp_path / "engine.db"), time_scale=0.01)
    yield eng
    eng.close()


@pytest.fixture
def provider(engine):
    p = ScriptedProvider()
    engine.register_action_provider(URL, p)
    return p


def action(body, **extra):
    state = {"Type": "Action", "ActionUrl": URL, "Parameters": body}
    state.update(extra)
    if "Next" not in state:
        state.setdefault("End", True)
    return state


def flow(**states):
    return {"StartAt": next(iter(states)), "States": states}


def run(engine, definition, body=None, **kwargs):
    flow_id = engine.create_flow(definition, input_schema=kwargs.pop("input_schema", None))["id"]
    started = engine.run_flow(flow_id, body if body is not None else {}, **kwargs)
    return engine.wait(started["run_id"], timeout=30)


def codes(engine, run_doc):
    return [e["code"] for e in engine.get_run_logs(run_doc["run_id"])["entries"]]


# --- every state type -----------------------------------------------------------------------

def test_pass_and_expression_eval_chain_logs_service_codes(engine):
    d = flow(P={"Type": "Pass", "Parameters": {"v.$": "$.input.v"}, "ResultPath": "$.p",
                "Next": "E"},
             E={"Type": "ExpressionEval", "Parameters": {"double.=": "p.v * 2"},
                "ResultPath": "$.e", "End": True})
    done = run(engine, d, {"input": {"v": 4}})
    assert done["status"] == "SUCCEEDED"
    assert done["details"]["code"] == "FlowSucceeded"
    assert done["details"]["output"] == {"input": {"v": 4}, "p": {"v": 4}, "e": {"double": 8}}
    assert codes(engine, done) == ["FlowStarted", "PassStarted", "PassCompleted",
                                   "ExpressionEvalStarted", "ExpressionEvalCompleted",
                                   "FlowSucceeded"]


def test_state_entries_name_the_state_and_its_type(engine):
    d = flow(Only={"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.out", "End": True})
    done = run(engine, d, {"a": 1})
    started, completed = engine.get_run_logs(done["run_id"])["entries"][1:3]
    assert started["description"] == "State Only of type Pass started"
    assert started["details"] == {"state_name": "Only", "state_type": "Pass",
                                  "input": {"a": 1}}
    assert completed["details"] == {"state_name": "Only", "state_type": "Pass",
                                    "output": {"r": 1}}


def test_choice_routes_on_the_run_state(engine):
    d = flow(C={"Type": "Choice", "Default": "No",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Yes"}]},
             Yes={"Type": "Pass", "Result": "yes", "ResultPath": "$.r", "End": True},
             No={"Type": "Pass", "Result": "no", "ResultPath": "$.r", "End": True})
    assert run(engine, d, {"n": 5})["details"]["output"]["r"] == "yes"
    assert run(engine, d, {"n": 0})["details"]["output"]["r"] == "no"


@pytest.mark.parametrize("wait", [
    {"Seconds": 100},
    {"SecondsPath": "$.secs"},
    {"Timestamp": "2000-01-01T00:00:00Z"},
    {"TimestampPath": "$.when"},
])
def test_wait_variants_resume_the_run(engine, wait):
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    d = flow(W={"Type": "Wait", "Next": "Done", **wait}, Done={"Type": "Pass", "End": True})
    done = run(engine, d, {"secs": 50, "when": when})
    assert done["status"] == "SUCCEEDED"
    assert codes(engine, done)[1:3] == ["WaitStarted", "WaitCompleted"]


def test_fail_state_fails_the_run_with_its_error_and_cause(engine):
    d = flow(F={"Type": "Fail", "Error": "NoData", "Cause": "nothing to do"})
    done = run(engine, d)
    assert done["status"] == "FAILED"
    assert done["details"]["code"] == "FlowFailed"
    assert done["details"]["details"] == {"state_name": "F", "exception": "NoData",
                                          "cause": "nothing to do"}
    assert codes(engine, done)[-1] == "FlowFailed"


def test_action_status_is_stored_with_state_name_at_result_path(engine, provider):
    d = flow(A=action({"msg.$": "$.m"}, ResultPath="$.A"))
    done = run(engine, d, {"m": "hi"})
    result = done["details"]["output"]["A"]
    assert result["status"] == "SUCCEEDED" and result["state_name"] == "A"
    assert result["details"] == {"echo": {"msg": "hi"}}
    assert codes(engine, done) == ["FlowStarted", "ActionStarted", "ActionCompleted",
                                   "FlowSucceeded"]
    assert provider.released == [result["action_id"]] or provider.released == []


def test_action_without_result_path_replaces_the_run_state(engine, provider):
    done = run(engine, flow(A=action({"x": 1})), {"old": True})
    assert "old" not in done["details"]["output"]
    assert done["details"]["output"]["state_name"] == "A"


def test_async_action_is_polled_until_it_succeeds(engine, provider):
    done = run(engine, flow(A=action({"polls": 3}, ResultPath="$.A")))
    assert done["status"] == "SUCCEEDED"
    assert provider.status_calls >= 3


def test_done_callback_wakes_the_run_without_polling(engine):
    p = CallbackProvider()
    engine.register_action_provider(URL, p)
    done = run(engine, flow(A=action({"polls": 1000000}, ResultPath="$.A")))
    assert done["status"] == "SUCCEEDED"
    assert p.status_calls == 0


def test_action_request_carries_a_deterministic_request_id_per_attempt(engine, provider):
    d = flow(A=action({"i.$": "$.i"}, ResultPath="$.A", Next="Count"),
             Count={"Type": "ExpressionEval", "Parameters": {"i.=": "i + 1"},
                    "ResultPath": "$.counter", "Next": "Move"},
             Move={"Type": "Pass", "InputPath": "$.counter.i", "ResultPath": "$.i",
                   "Next": "Again"},
             Again={"Type": "Choice", "Default": "End",
                    "Choices": [{"Variable": "$.i", "NumericLessThan": 3, "Next": "A"}]},
             End={"Type": "Pass", "End": True})
    done = run(engine, d, {"i": 1})
    assert done["status"] == "SUCCEEDED"
    run_id = done["run_id"]
    assert [r["request_id"] for r in provider.requests] == [f"{run_id}:A:1", f"{run_id}:A:2"]


# --- every error name and Catch ---------------------------------------------------------------

def test_failed_action_raises_action_failed_exception_and_catch_routes_it(engine, provider):
    d = flow(A=action({"outcome": "FAILED"}, ResultPath="$.A",
                      Catch=[{"ErrorEquals": ["ActionFailedException"], "ResultPath": "$.err",
                              "Next": "Handled"}]),
             Handled={"Type": "Pass", "End": True})
    done = run(engine, d, {"keep": 1})
    output = done["details"]["output"]
    assert done["status"] == "SUCCEEDED" and output["keep"] == 1
    assert output["err"]["exception"] == "ActionFailedException"
    assert output["err"]["state_name"] == "A"
    assert output["err"]["output"]["status"] == "FAILED"
    assert "ActionFailed" in codes(engine, done)


def test_failed_action_is_stored_when_exceptions_are_off(engine, provider):
    d = flow(A=action({"outcome": "FAILED"}, ResultPath="$.A", ExceptionOnActionFailure=False))
    done = run(engine, d)
    assert done["status"] == "SUCCEEDED"
    assert done["details"]["output"]["A"]["status"] == "FAILED"


def test_refused_request_is_action_unable_to_run_with_the_provider_body(engine, provider):
    d = flow(A=action({"refuse": "bad input"},
                      Catch=[{"ErrorEquals": ["ActionUnableToRun"], "Next": "H"}]),
             H={"Type": "Pass", "End": True})
    done = run(engine, d, {"keep": 1})
    output = done["details"]["output"]
    assert output["exception"] == "ActionUnableToRun"
    assert output["output"] == {"code": "BadActionRequest", "description": "bad input"}
    assert "keep" not in output  # no Catch ResultPath: the error replaces the run state


def test_action_timeout_cancels_the_action(engine, provider):
    d = flow(A=action({"outcome": "NEVER"}, WaitTime=1,
                      Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                              "Next": "H"}]),
             H={"Type": "Pass", "End": True})
    done = run(engine, d)
    assert done["details"]["output"]["err"]["exception"] == "ActionTimeout"
    deadline = time.time() + 30
    while not provider.cancelled and time.time() < deadline:
        time.sleep(0.01)
    assert provider.cancelled == ["act-0"]


def test_a_cancel_still_queued_when_the_engine_closes_is_sent_by_close(engine, provider,
                                                                      monkeypatch):
    """The cancel of a timed-out action goes to the I/O pool, whose shutdown drops what it
    has not run: closing the engine right after the run ended left the action running
    (a Transfer past its WaitTime copied to its end). Here the pool never gets to it."""
    queued = []
    submit_io = engine._scheduler.submit_io

    def hold_cancels(fn, *args, then):
        if fn.__name__ == "cancel":
            queued.append(fn)
        else:
            submit_io(fn, *args, then=then)

    monkeypatch.setattr(engine._scheduler, "submit_io", hold_cancels)
    d = flow(A=action({"outcome": "NEVER"}, WaitTime=1,
                      Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                              "Next": "H"}]),
             H={"Type": "Pass", "End": True})
    assert run(engine, d)["details"]["output"]["err"]["exception"] == "ActionTimeout"
    assert queued and provider.cancelled == []
    engine.close()
    assert provider.cancelled == ["act-0"]


def test_unreachable_http_provider_is_action_unable_to_run(engine):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens on this loopback port now
    d = flow(A={"Type": "Action", "ActionUrl": f"http://127.0.0.1:{port}/ap",
                "Parameters": {}, "WaitTime": 30, "End": True,
                "Catch": [{"ErrorEquals": ["States.All"], "Next": "H"}]},
             H={"Type": "Pass", "End": True})
    done = run(engine, d)
    assert done["status"] == "SUCCEEDED"
    assert done["details"]["output"]["exception"] == "ActionUnableToRun"
    assert done["details"]["output"]["state_name"] == "A"


def test_action_result_path_into_an_existing_list_element_is_written(engine, provider):
    d = flow(A=action({"x": 1}, ResultPath="$.x[0]", Next="P"),
             P={"Type": "Pass", "Result": "pass", "ResultPath": "$.x[1]", "End": True})
    done = run(engine, d, {"x": [0, 1]})
    assert done["status"] == "SUCCEEDED", done["details"]
    first, second = done["details"]["output"]["x"]
    assert first["status"] == "SUCCEEDED" and first["state_name"] == "A"
    assert second == "pass"


def test_action_result_path_past_the_end_of_a_list_is_refused_before_the_action_runs(
        engine, provider):
    done = run(engine, flow(A=action({"x": 1}, ResultPath="$.x[2]")), {"x": [0, 1]})
    assert done["status"] == "FAILED"
    error = done["details"]["details"]
    assert error["exception"] == "States.ResultPathMatchFailure"
    assert error["state_name"] == "A" and "$.x[2]" in error["cause"]
    assert provider.requests == []


@pytest.mark.parametrize("state, field", [
    ({"Type": "Wait", "SecondsPath": "$.nope", "End": True}, "SecondsPath"),
    ({"Type": "Wait", "TimestampPath": "$.nope", "End": True}, "TimestampPath"),
    ({"Type": "Fail", "ErrorPath": "$.nope"}, "ErrorPath"),
    ({"Type": "Fail", "Error": "E", "CausePath": "$.nope"}, "CausePath"),
])
def test_missing_path_of_a_wait_or_fail_field_names_that_field(engine, state, field):
    done = run(engine, flow(S=state))
    error = done["details"]["details"]
    assert error["exception"] == "States.Runtime" and error["state_name"] == "S"
    assert f"The path '$.nope' specified for the field '{field}' could not be found" \
        in error["cause"]


def test_missing_path_fails_the_run_naming_path_and_state(engine):
    d = flow(P={"Type": "Pass", "Parameters": {"x.$": "$.absent.key"}, "End": True})
    done = run(engine, d)
    assert done["status"] == "FAILED"
    error = done["details"]["details"]
    assert error["exception"] == "States.Runtime" and error["state_name"] == "P"
    assert "$.absent.key" in error["cause"]
    assert codes(engine, done)[-2:] == ["PassFailed", "FlowFailed"]


def test_no_choice_matched_is_catchable_by_name_only_when_caught(engine):
    d = flow(C={"Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}]},
             X={"Type": "Pass", "End": True})
    done = run(engine, d, {"n": 2})
    assert done["details"]["details"]["exception"] == "States.NoChoiceMatched"


# --- _context, private values, size limit ---------------------------------------------------

def test_context_gives_run_and_flow_ids_and_identity(engine):
    d = flow(E={"Type": "ExpressionEval", "ResultPath": "$.ctx", "End": True,
                "Parameters": {"run.$": "$._context.run_id", "flow.$": "$._context.flow_id",
                               "user.$": "$._context.user_id",
                               "ids.$": "$._context.identities",
                               "name.=": "_context.username"}})
    done = run(engine, d)
    ctx = done["details"]["output"]["ctx"]
    assert ctx["run"] == done["run_id"] and ctx["flow"] == done["flow_id"]
    assert ctx["user"] == done["run_owner"] and ctx["ids"] == [done["run_owner"]]
    assert ctx["name"].endswith("@localhost")


def test_context_in_expressions_is_the_real_one_even_when_the_run_state_holds_one(engine):
    d = flow(Fake={"Type": "Pass", "Parameters": {"_context": {"run_id": "fake"}},
                   "Next": "E"},
             E={"Type": "ExpressionEval", "ResultPath": "$.ids", "End": True,
                "Parameters": {"named.=": "_context.run_id",
                               "in_list.=": "[c.run_id for c in [_context]]",
                               "backticks.=": "`$._context.run_id`",
                               "path.$": "$._context.run_id"}})
    done = run(engine, d)
    assert done["status"] == "SUCCEEDED", done["details"]
    ids = done["details"]["output"]["ids"]
    assert ids == {"named": done["run_id"], "in_list": [done["run_id"]],
                   "backticks": done["run_id"], "path": done["run_id"]}


def test_run_input_with_a_top_level_context_key_is_refused_naming_it(engine):
    flow_id = engine.create_flow(flow(P={"Type": "Pass", "End": True}))["id"]
    with pytest.raises(FlowInputError, match=r"top-level key '_context'.*read-only context"):
        engine.run_flow(flow_id, {"_context": {"run_id": "fake"}})
    assert engine.list_runs() == []
    nested = engine.wait(engine.run_flow(flow_id, {"input": {"_context": 1}})["run_id"],
                         timeout=30)
    assert nested["status"] == "SUCCEEDED"


def test_private_values_never_reach_run_documents_or_logs(engine, provider, tmp_path):
    d = flow(A=action({"user": "me", "password.$": "$._private_pw", "quiet": True,
                       "__Private_Parameters": ["password"]}, ResultPath="$.A", Next="B"),
             B={"Type": "Pass", "Parameters": {"_private_copy.$": "$._private_pw", "ok": 1},
                "ResultPath": "$.B", "End": True})
    done = run(engine, d, {"_private_pw": "s3cr3t-pw", "_tokens": {"Role": "tok-abc123"}})
    assert done["status"] == "SUCCEEDED"
    assert provider.requests[0]["body"]["password"] == "s3cr3t-pw"
    assert done["details"]["output"]["B"] == {"ok": 1}
    shown = json.dumps([done, engine.get_run_logs(done["run_id"]), engine.list_runs()])
    assert "s3cr3t-pw" not in shown and "_private" not in shown


def test_run_as_tokens_are_never_stored(engine, tmp_path):
    done = run(engine, flow(P={"Type": "Pass", "End": True}),
               {"x": 1, "_tokens": {"Role": "tok-abc123"}})
    assert done["details"]["output"] == {"x": 1}
    engine.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("engine.db*"))
    assert b"tok-abc123" not in raw and b'"x": 1' in raw


def test_private_parameters_are_masked_in_action_started_entry(engine, provider):
    d = flow(A=action({"user": "me", "password": "literal-secret",
                       "__Private_Parameters": ["password"]}, ResultPath="$.A"))
    done = run(engine, d)
    started = engine.get_run_logs(done["run_id"])["entries"][1]
    assert started["code"] == "ActionStarted"
    assert started["details"]["input"] == {"user": "me"}


def test_run_state_over_the_limit_fails_naming_the_state(tmp_path):
    with LocalEngine(str(tmp_path / "small.db"), time_scale=0.01,
                     max_state_size=1000) as small:
        d = flow(Grow={"Type": "ExpressionEval", "Parameters": {"big.=": "'x' * 2000"},
                       "ResultPath": "$.big", "Next": "Never"},
                 Never={"Type": "Pass", "End": True})
        flow_id = small.create_flow(d)["id"]
        done = small.wait(small.run_flow(flow_id, {})["run_id"], timeout=30)
    assert done["status"] == "FAILED"
    error = done["details"]["details"]
    assert error["exception"] == "States.DataLimitExceeded" and "'Grow'" in error["cause"]


def test_run_input_over_the_limit_is_refused(tmp_path):
    with LocalEngine(str(tmp_path / "small.db"), max_state_size=100) as small:
        flow_id = small.create_flow(flow(P={"Type": "Pass", "End": True}))["id"]
        with pytest.raises(FlowInputError):
            small.run_flow(flow_id, {"x": "y" * 200})
        assert small.list_runs() == []


# --- flows, input, cancel, progress -----------------------------------------------------------

def test_same_definition_gets_the_same_flow_id(engine):
    d = flow(P={"Type": "Pass", "End": True})
    assert engine.create_flow(d)["id"] == engine.create_flow(d, title="again")["id"]
    assert engine.create_flow(d)["id"] != engine.create_flow(
        d, input_schema={"type": "object"})["id"]


def test_invalid_definition_is_refused_on_create(engine):
    with pytest.raises(FlowValidationError):
        engine.create_flow({"StartAt": "Missing", "States": {}})


def test_input_is_checked_against_the_schema_before_the_run_starts(engine):
    schema = {"type": "object", "required": ["input"],
              "properties": {"input": {"type": "object", "required": ["n"],
                                       "properties": {"n": {"type": "integer"}}}}}
    flow_id = engine.create_flow(flow(P={"Type": "Pass", "End": True}),
                                 input_schema=schema)["id"]
    with pytest.raises(FlowInputError):
        engine.run_flow(flow_id, {"input": {"n": "three"}})
    assert engine.list_runs() == []
    ok = engine.run_flow(flow_id, {"input": {"n": 3}})
    assert engine.wait(ok["run_id"], timeout=30)["status"] == "SUCCEEDED"


def test_run_document_has_the_service_fields(engine):
    flow_id = engine.create_flow(flow(W={"Type": "Wait", "Seconds": 1000, "End": True}),
                                 title="Waiting")["id"]
    started = engine.run_flow(flow_id, {"a": 1}, label="x" * 80, tags=["  a   b "])
    assert started["status"] == "ACTIVE" and started["action_id"] == started["run_id"]
    assert started["flow_title"] == "Waiting" and len(started["label"]) == 64
    assert started["tags"] == ["a b"]
    assert started["details"]["code"] in ("FlowStarting", "WaitStarted")
    engine.cancel_run(started["run_id"])


def test_cancel_during_wait_ends_the_run_as_canceled(engine):
    flow_id = engine.create_flow(flow(W={"Type": "Wait", "Seconds": 10000, "Next": "P"},
                                      P={"Type": "Pass", "End": True}))["id"]
    started = engine.run_flow(flow_id, {})
    canceled = engine.cancel_run(started["run_id"])
    assert canceled["status"] == "FAILED"
    assert canceled["details"]["code"] == "FlowCanceled"
    assert canceled["details"]["description"] == "The Flow Instance was canceled by the user"
    time.sleep(0.05)
    assert codes(engine, canceled)[-1] == "FlowCanceled"
    assert "PassStarted" not in codes(engine, canceled)


def test_cancel_stops_the_running_action(engine, provider):
    flow_id = engine.create_flow(flow(A=action({"outcome": "NEVER"})))["id"]
    started = engine.run_flow(flow_id, {})
    deadline = time.time() + 10
    while provider.status_calls == 0 and time.time() < deadline:
        time.sleep(0.01)
    engine.cancel_run(started["run_id"])
    while not provider.cancelled and time.time() < deadline:
        time.sleep(0.01)
    assert provider.cancelled == ["act-0"]
    assert engine.get_run(started["run_id"])["details"]["code"] == "FlowCanceled"


def test_inactive_action_makes_the_run_inactive_until_it_continues(engine):
    class NeedsConsent(ScriptedProvider):
        """INACTIVE (ConsentRequired) until ``consented`` is set."""

        def __init__(self):
            super().__init__()
            self.consented = threading.Event()

        def _answer(self, action_id, *, count):
            answer = super()._answer(action_id, count=count)
            if not self.consented.is_set():
                answer.update(status="INACTIVE", details={"code": "ConsentRequired",
                                                          "description": "log in again"})
            return answer

    consent = NeedsConsent()
    engine.register_action_provider(URL, consent)
    flow_id = engine.create_flow(flow(A=action({}, ResultPath="$.A")))["id"]
    started = engine.run_flow(flow_id, {})
    deadline = time.time() + 10
    while engine.get_run(started["run_id"])["status"] != "INACTIVE":
        assert time.time() < deadline, "the run never became INACTIVE"
        time.sleep(0.01)
    inactive = engine.get_run(started["run_id"])
    assert "ActionPolled" in codes(engine, inactive)
    assert inactive["details"]["code"] == "ConsentRequired"
    assert inactive["details"]["state_name"] == "A"
    assert inactive["details"]["action_statuses"][0]["status"] == "INACTIVE"
    consent.consented.set()
    assert engine.wait(started["run_id"], timeout=30)["status"] == "SUCCEEDED"


def test_subscribe_sees_every_entry_as_it_is_journaled(engine):
    seen = []
    flow_id = engine.create_flow(flow(W={"Type": "Wait", "Seconds": 100, "Next": "P"},
                                      P={"Type": "Pass", "End": True}))["id"]
    started = engine.run_flow(flow_id, {})
    engine.subscribe(started["run_id"], lambda entry: seen.append(entry["code"]))
    engine.wait(started["run_id"], timeout=30)
    assert seen[-3:] == ["PassStarted", "PassCompleted", "FlowSucceeded"]


def test_run_logs_page_with_a_limit(engine):
    done = run(engine, flow(P={"Type": "Pass", "End": True}))
    page = engine.get_run_logs(done["run_id"], limit=2)
    assert [e["code"] for e in page["entries"]] == ["FlowStarted", "PassStarted"]
    assert page["has_next_page"] is True
    assert engine.get_run_logs(done["run_id"])["has_next_page"] is False


def test_unknown_run_is_an_engine_error_naming_it(engine):
    with pytest.raises(EngineError) as err:
        engine.get_run("no-such-run")
    assert "no-such-run" in str(err.value)


def test_many_waiting_runs_share_one_scheduler_thread(engine):
    flow_id = engine.create_flow(flow(W={"Type": "Wait", "Seconds": 100000, "End": True}))["id"]
    engine.run_flow(flow_id, {})
    before = threading.active_count()
    run_ids = [engine.run_flow(flow_id, {"i": i})["run_id"] for i in range(300)]
    deadline = time.time() + 60
    while any(engine.get_run_logs(r, limit=2)["entries"][-1]["code"] != "WaitStarted"
              for r in run_ids[-5:]):
        assert time.time() < deadline, "the last runs never reached their Wait"
        time.sleep(0.01)
    assert threading.active_count() == before
    assert {r["status"] for r in engine.list_runs()} == {"ACTIVE"}


def test_importing_the_engine_package_loads_neither_sqlite_nor_threads():
    code = ("import sys, gladier.engine; "
            "print(sorted(m for m in ('sqlite3', 'threading', 'concurrent.futures', "
            "'gladier.engine.engine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    assert callable(LocalEngine) and callable(gladier.engine.validate_flow)


def test_action_started_after_cancel_is_canceled_too(engine):
    class SlowToStart(ScriptedProvider):
        def __init__(self):
            super().__init__()
            self.entered = threading.Event()
            self.go_on = threading.Event()

        def run(self, request):
            self.entered.set()
            self.go_on.wait(10)
            return super().run(request)

    slow = SlowToStart()
    engine.register_action_provider(URL, slow)
    flow_id = engine.create_flow(flow(A=action({"outcome": "NEVER"})))["id"]
    started = engine.run_flow(flow_id, {})
    assert slow.entered.wait(10)
    engine.cancel_run(started["run_id"])
    slow.go_on.set()
    deadline = time.time() + 10
    while not slow.cancelled and time.time() < deadline:
        time.sleep(0.01)
    assert slow.cancelled == ["act-0"]
    assert engine.get_run(started["run_id"])["details"]["code"] == "FlowCanceled"


def test_time_scale_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.25")
    with LocalEngine(str(tmp_path / "a.db")) as scaled:
        assert scaled.time_scale == 0.25
    monkeypatch.setenv("GLADIER_TIME_SCALE", "fast")
    with pytest.raises(EngineError) as err:
        LocalEngine(str(tmp_path / "b.db"))
    assert "GLADIER_TIME_SCALE" in str(err.value)


def test_default_database_is_gladier_db_or_home(tmp_path, monkeypatch):
    monkeypatch.delenv("GLADIER_DB", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with LocalEngine() as default:
        assert default.db_path == str(tmp_path / ".gladier" / "local.db")
    monkeypatch.setenv("GLADIER_DB", str(tmp_path / "env.db"))
    with LocalEngine() as from_env:
        assert from_env.db_path == str(tmp_path / "env.db")


def test_no_gladier_setting_of_the_calling_shell_reaches_a_test():
    """conftest clears them (GLADIER_DB, GLADIER_TIME_SCALE, ...), whatever the shell set."""
    from conftest import TEST_SETUP_VARIABLES

    assert [name for name in os.environ
            if name.startswith("GLADIER_") and name not in TEST_SETUP_VARIABLES] == []


def test_a_provider_that_forgot_the_action_is_asked_again_with_the_same_request(engine):
    class Forgetful(ScriptedProvider):
        """Answers 404 to the first status call, as after a restart."""

        def status(self, action_id):
            if self.status_calls == 0:
                self.status_calls += 1
                raise ActionProviderError("unknown action", http_status=404)
            return super().status(action_id)

    forgetful = Forgetful()
    engine.register_action_provider(URL, forgetful)
    done = run(engine, flow(A=action({"polls": 1}, ResultPath="$.A")))
    assert done["status"] == "SUCCEEDED"
    request_ids = [r["request_id"] for r in forgetful.requests]
    assert len(request_ids) == 2 and len(set(request_ids)) == 1
    assert len(forgetful.actions) == 1
