"""CreateWebInput / AwaitWebInput states on the embedded engine, beyond the corpus flows."""

import threading

import pytest

from gladier.engine import LocalEngine
from gladier.engine.webinput import open_web_input
from gladier.exc import FlowRuntimeError, WebInputError

OPTIONS = [{"Value": "yes", "Label": "Yes"}, {"Value": "no", "Label": "No"}]


def approval_flow(*, between: dict | None = None, options=OPTIONS,
                  catch: list | None = None) -> dict:
    """Create a web input, (optionally pass through ``between``), await it, end; with
    ``catch`` errors names, an error of the await state goes to ``$.expired`` and ends."""
    states = {
        "Ask": {"Type": "CreateWebInput", "ResultPath": "$.asked",
                "Parameters": {"InputType": "Selection", "Options": options,
                               "Context": {"Title": "Go?", "PresentationStyle": "Text",
                                           "Text": "Shall we?"}},
                "Next": "Between" if between else "Await"},
        "Await": {"Type": "AwaitWebInput", "ResultPath": "$.answer",
                  "Parameters": {"web_input_id.$": "$.asked.web_input_id"}, "End": True},
    }
    if between:
        states["Between"] = dict(between, Next="Await")
    if catch:
        states["Await"]["Catch"] = [{"ErrorEquals": catch, "Next": "Expired",
                                     "ResultPath": "$.expired"}]
        states["Expired"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Ask", "States": states}


def first_entry(engine, run_id, code, timeout=60):
    """Block until the run logs an entry with ``code`` (checks entries already logged)."""
    seen = threading.Event()
    unsubscribe = engine.subscribe(run_id, lambda e: seen.set() if e["code"] == code else None)
    try:
        if not any(e["code"] == code for e in engine.get_run_logs(run_id)["entries"]):
            assert seen.wait(timeout), f"no {code} entry"
    finally:
        unsubscribe()


@pytest.fixture
def engine(tmp_path):
    with LocalEngine(str(tmp_path / "engine.db"), time_scale=1.0) as eng:
        yield eng


def start(engine, definition, body=None):
    return engine.run_flow(engine.create_flow(definition)["id"], body or {})["run_id"]


@pytest.mark.parametrize("parameters, message", [
    ({"InputType": "FreeText", "Options": OPTIONS, "Context": {}}, "InputType 'FreeText'"),
    ({"InputType": "Selection", "Options": [], "Context": {}}, "Options must be a non-empty"),
    ({"InputType": "Selection", "Options": [{"Label": "x"}], "Context": {}},
     "Options[0] needs a 'Value'"),
    ({"InputType": "Selection", "Options": OPTIONS + [{"Value": "yes"}], "Context": {}},
     "repeats the Value 'yes'"),
    ({"InputType": "Selection", "Options": OPTIONS, "Context": "nope"}, "Context must be"),
])
def test_open_web_input_names_the_state_and_the_bad_parameter(parameters, message):
    with pytest.raises(FlowRuntimeError) as refused:
        open_web_input(parameters, web_input_id="0d9c3d6e-8a3b-4f43-9a59-0b1f2e1d7c11",
                       state_name="Ask", run={"id": "r"}, flow={"id": "f"},
                       creator_urn="urn:x", now="2026-01-01T00:00:00+00:00")
    assert refused.value.error == "States.Runtime"
    assert "'Ask'" in str(refused.value.cause) and message in refused.value.cause


def test_a_bad_create_web_input_fails_the_run_at_that_state(engine):
    run_id = start(engine, approval_flow(options="not a list"))
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"]["state_name"] == "Ask"
    assert final["details"]["details"]["exception"] == "States.Runtime"


def test_await_web_input_needs_an_id_of_this_run(engine):
    definition = approval_flow()
    definition["States"]["Await"]["Parameters"] = {"web_input_id": "not-one-of-ours"}
    final = engine.wait(start(engine, definition), timeout=60)
    assert final["status"] == "FAILED"
    assert "no web input with id 'not-one-of-ours'" in final["details"]["details"]["cause"]


def test_a_response_given_before_the_await_state_is_used_at_once(engine):
    run_id = start(engine, approval_flow(between={"Type": "Wait", "Seconds": 1}))
    first_entry(engine, run_id, "WaitStarted")
    [web_input] = engine.list_web_inputs(filter_run_ids=run_id)
    assert web_input["title"] == "Go?" and web_input["status"] == "open"
    assert engine.get_web_input(web_input["id"])["context"] == {
        "title": "Go?", "presentation_style": "text", "text": "Shall we?"}
    engine.respond_to_web_input(web_input["id"], "yes")
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED"
    assert final["details"]["output"]["answer"] == {"web_input_id": web_input["id"],
                                                    "response": "yes"}
    codes = [e["code"] for e in engine.get_run_logs(run_id)["entries"]]
    assert codes[codes.index("AwaitWebInputStarted") + 1] == "AwaitWebInputCompleted"


def test_canceling_a_waiting_run_ends_it(engine):
    run_id = start(engine, approval_flow())
    first_entry(engine, run_id, "AwaitWebInputStarted")
    assert engine.get_run(run_id)["status"] == "INACTIVE"
    canceled = engine.cancel_run(run_id)
    assert canceled["status"] == "FAILED" and canceled["details"]["code"] == "FlowCanceled"
    assert canceled["blocking_web_input_id"] is None


def test_resume_keeps_waiting_without_logging_the_state_again(tmp_path):
    db = str(tmp_path / "resume.db")
    with LocalEngine(db, time_scale=1.0) as first:
        run_id = start(first, approval_flow())
        first_entry(first, run_id, "AwaitWebInputStarted")
        web_input_id = first.get_run(run_id)["blocking_web_input_id"]
    with LocalEngine(db, time_scale=1.0) as second:
        assert second.resume() == [run_id]
        assert second.get_run(run_id)["blocking_web_input_id"] == web_input_id
        second.respond_to_web_input(web_input_id, second.get_web_input(web_input_id)[
            "options"][1]["option_id"])
        final = second.wait(run_id, timeout=60)
        assert final["details"]["output"]["answer"]["response"] == "no"
        codes = [e["code"] for e in second.get_run_logs(run_id)["entries"]]
    assert codes.count("AwaitWebInputStarted") == 1


def expired_error(web_input_id: str) -> dict:
    """The error an AwaitWebInput state named Await raises when its web input expired."""
    return {"state_name": "Await", "exception": "Flows.WebInputExpired",
            "cause": f"Web input {web_input_id} awaited by state 'Await' expired without a "
                     "response"}


@pytest.mark.parametrize("names", [["Flows.WebInputExpired"], ["States.ALL"]])
def test_an_expired_web_input_takes_the_catch_with_the_error_at_its_result_path(engine, names):
    run_id = start(engine, approval_flow(catch=names))
    first_entry(engine, run_id, "AwaitWebInputStarted")
    web_input_id = engine.get_run(run_id)["blocking_web_input_id"]
    assert engine.expire_web_input(web_input_id) == {"status": "ok"}
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert final["details"]["output"]["expired"] == expired_error(web_input_id)
    assert "answer" not in final["details"]["output"]
    expired = engine.get_web_input(web_input_id)
    assert expired["status"] == "closed" and expired["closed_timestamp"]
    codes = [e["code"] for e in engine.get_run_logs(run_id)["entries"]]
    assert codes[codes.index("AwaitWebInputStarted") + 1:] == [
        "AwaitWebInputFailed", "PassStarted", "PassCompleted", "FlowSucceeded"]


@pytest.mark.parametrize("catch", [None, ["Flows.WebInputTimeout"]])
def test_an_uncaught_web_input_expiry_fails_the_run(engine, catch):
    run_id = start(engine, approval_flow(catch=catch))
    first_entry(engine, run_id, "AwaitWebInputStarted")
    web_input_id = engine.get_run(run_id)["blocking_web_input_id"]
    engine.expire_web_input(web_input_id)
    final = engine.wait(run_id, timeout=60)
    assert final["status"] == "FAILED"
    assert final["details"]["details"] == expired_error(web_input_id)
    assert final["blocking_web_input_id"] is None


def test_only_an_open_web_input_can_expire(engine):
    expiring, answered = start(engine, approval_flow()), start(engine, approval_flow())
    for run_id in (expiring, answered):
        first_entry(engine, run_id, "AwaitWebInputStarted")
    expired_id = engine.get_run(expiring)["blocking_web_input_id"]
    answered_id = engine.get_run(answered)["blocking_web_input_id"]
    engine.expire_web_input(expired_id)
    engine.respond_to_web_input(answered_id, "yes")
    for web_input_id, why in ((expired_id, "has already expired"),
                              (answered_id, "was already answered")):
        with pytest.raises(WebInputError) as refused:
            engine.expire_web_input(web_input_id)
        assert refused.value.code == "STATE_CONFLICT"
        assert str(refused.value) == (f"Web Input {web_input_id} {why}; only an open web "
                                      "input can expire.")
    with pytest.raises(WebInputError) as late:
        engine.respond_to_web_input(expired_id, "yes")
    assert late.value.code == "STATE_CONFLICT"
    with pytest.raises(WebInputError) as unknown:
        engine.expire_web_input("00000000-0000-0000-0000-000000000000")
    assert unknown.value.code == "NOT_FOUND"
    assert engine.wait(expiring, timeout=60)["status"] == "FAILED"
    assert engine.wait(answered, timeout=60)["status"] == "SUCCEEDED"


def test_an_expiry_before_the_await_state_is_kept_across_a_restart(tmp_path):
    """Expired while the run is in a Wait, then the engine stops: the resumed run fails
    its AwaitWebInput state when it gets there, as it would have without the restart."""
    db = str(tmp_path / "expire.db")
    definition = approval_flow(between={"Type": "Wait", "Seconds": 2},
                               catch=["Flows.WebInputExpired"])
    with LocalEngine(db, time_scale=1.0) as first:
        run_id = start(first, definition)
        first_entry(first, run_id, "WaitStarted")
        [web_input] = first.list_web_inputs(filter_run_ids=run_id)
        first.expire_web_input(web_input["id"])
    with LocalEngine(db, time_scale=1.0) as second:
        assert second.get_run(run_id)["status"] == "ACTIVE"  # still in the Wait
        assert second.list_web_inputs(filter_run_ids=run_id)[0]["status"] == "closed"
        assert second.resume() == [run_id]
        final = second.wait(run_id, timeout=60)
        assert final["status"] == "SUCCEEDED", final["details"]
        assert final["details"]["output"]["expired"] == expired_error(web_input["id"])
        codes = [e["code"] for e in second.get_run_logs(run_id)["entries"]]
    assert codes[codes.index("AwaitWebInputStarted") + 1] == "AwaitWebInputFailed"
