"""A Python callable as an action provider: results, refusals, and at most one call per
request even when the engine dies during the call."""

from __future__ import annotations

import os

import pytest

from gladier.engine import LocalEngine
from gladier.engine.providers.actions import ResultStore
from gladier.engine.providers.python import CallableProvider
from gladier.exc import ActionProviderError
from killed_child import run_and_kill

URL = "https://callable.example.org/side-effect"
FLOW = {
    "StartAt": "Work",
    "States": {
        "Work": {"Type": "Action", "ActionUrl": URL, "Parameters": {"n.$": "$.input.n"},
                 "ResultPath": "$.work", "End": True},
    },
}

CHILD = """
import sys, time
from gladier.engine import LocalEngine

def side_effect(body):
    with open({calls!r}, "a") as calls:
        calls.write("called %s\\n" % body["n"])
    time.sleep(600)  # killed here: after the side effect, before the result is saved

engine = LocalEngine({db!r})
engine.register_action_provider({url!r}, side_effect)
flow_id = engine.create_flow({flow!r})["id"]
print(engine.run_flow(flow_id, {{"input": {{"n": 7}}}})["run_id"], flush=True)
time.sleep(600)
"""


class Interrupt(BaseException):
    """Ends a call the way a crash or Ctrl-C does: nothing after it runs."""


def request(request_id: str = "run-1:Work:1", **body) -> dict:
    return {"request_id": request_id, "body": body or {"n": 1}}


@pytest.fixture
def store(tmp_path):
    results = ResultStore(str(tmp_path / "engine.db"))
    yield results
    results.close()


def provider_for(func, store: ResultStore) -> CallableProvider:
    return CallableProvider(func, name="https://callable.example.org/test", store=store)


def test_returned_dict_is_the_details_and_other_values_are_wrapped(store):
    as_dict = provider_for(lambda body: {"doubled": body["n"] * 2}, store)
    assert as_dict.run(request(n=4))["details"] == {"doubled": 8}
    as_value = provider_for(lambda body: body["n"] + 1, store)
    document = as_value.run(request("run-2:Work:1", n=4))
    assert document["status"] == "SUCCEEDED" and document["details"] == {"result": 5}


def test_exception_in_the_callable_fails_the_action_with_its_name_and_message(store):
    def broken(body):
        raise ValueError("no good")

    document = provider_for(broken, store).run(request())
    assert document["status"] == "FAILED"
    assert document["details"]["exception"] == "ValueError"
    assert document["details"]["message"] == "no good"


def test_same_request_in_a_new_provider_returns_the_saved_result_without_calling(store):
    calls = []
    provider_for(lambda body: calls.append(body) or {"ok": True}, store).run(request())
    again = provider_for(lambda body: calls.append(body) or {"ok": True}, store).run(request())
    assert again["status"] == "SUCCEEDED" and again["details"] == {"ok": True}
    assert len(calls) == 1


def test_call_interrupted_before_its_result_is_not_made_again(store):
    calls = []

    def interrupted(body):
        calls.append(body)
        raise Interrupt()

    with pytest.raises(Interrupt):
        provider_for(interrupted, store).run(request("run-1:Work:1"))
    resumed = provider_for(lambda body: calls.append(body) or {}, store)
    document = resumed.run(request("run-1:Work:1"))
    assert len(calls) == 1
    assert document["status"] == "FAILED"
    assert document["details"]["exception"] == "ActionInterrupted"
    assert "request 'run-1:Work:1'" in document["details"]["message"]
    assert resumed.run(request("run-1:Work:1")) == document  # and it stays failed


def test_interrupted_request_sent_again_with_another_body_is_a_conflict(store):
    def interrupted(body):
        raise Interrupt()

    with pytest.raises(Interrupt):
        provider_for(interrupted, store).run(request(n=1))
    with pytest.raises(ActionProviderError) as refused:
        provider_for(lambda body: {}, store).run(request(n=2))
    assert refused.value.http_status == 409
    assert "already received with a different body" in str(refused.value)


def test_refused_request_leaves_no_claim_so_it_can_be_sent_again(store):
    def refuse(body):
        raise ActionProviderError("not now", http_status=400)

    with pytest.raises(ActionProviderError, match="not now"):
        provider_for(refuse, store).run(request())
    document = provider_for(lambda body: {"ok": True}, store).run(request())
    assert document["status"] == "SUCCEEDED"


def test_released_action_is_forgotten_with_its_claim(store):
    calls = []
    provider = provider_for(lambda body: calls.append(body) or {"ok": True}, store)
    provider.release(provider.run(request())["action_id"])
    again = provider_for(lambda body: calls.append(body) or {"ok": True}, store).run(request())
    assert again["status"] == "SUCCEEDED" and len(calls) == 2


def start_and_kill_inside_the_callable(tmp_path) -> tuple[str, str, str]:
    """A child process runs FLOW and is SIGKILLed while its callable sleeps."""
    db, calls = str(tmp_path / "engine.db"), str(tmp_path / "calls.txt")
    script = CHILD.format(calls=calls, db=db, url=URL, flow=FLOW)
    run_id = run_and_kill(script, lambda run_id: os.path.exists(calls))
    return db, calls, run_id


def test_resume_after_a_kill_inside_the_callable_fails_the_state_instead_of_calling_again(
        tmp_path):
    db, calls, run_id = start_and_kill_inside_the_callable(tmp_path)

    def side_effect(body):
        with open(calls, "a") as journal:
            journal.write(f"called {body['n']}\n")
        return {"done": True}

    with LocalEngine(db) as engine:
        engine.register_action_provider(URL, side_effect)
        assert engine.resume() == [run_id]
        final = engine.wait(run_id, timeout=60)

    with open(calls) as journal:
        assert journal.read() == "called 7\n"
    assert final["status"] == "FAILED"
    error = final["details"]["details"]
    assert error["state_name"] == "Work" and error["exception"] == "ActionFailedException"
    assert error["output"]["details"]["exception"] == "ActionInterrupted"
    assert f"request '{run_id}:Work:1'" in error["output"]["details"]["message"]
