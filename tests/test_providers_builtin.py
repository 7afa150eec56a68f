"""The hello_world and expression_eval providers."""

from __future__ import annotations

import threading

import pytest

from gladier.engine.providers.builtin import ExpressionEvalProvider, HelloWorldProvider
from gladier.exc import ActionProviderError


@pytest.fixture
def hello():
    provider = HelloWorldProvider()
    yield provider
    provider.close()


def test_hello_world_echoes_at_once_without_sleep(hello):
    status = hello.run({"request_id": "r", "body": {"echo_string": "sample"}})
    assert status["status"] == "SUCCEEDED"
    assert status["details"] == {"Hello": "World", "hello": "sample"}
    assert status["completion_time"] and status["release_after"] == "P30D"


def test_hello_world_stays_active_until_sleep_time_then_calls_back(hello):
    started = hello.run({"request_id": "r", "body": {"echo_string": "later", "sleep_time": 0.2}})
    assert started["status"] == "ACTIVE"
    finished = []
    done = threading.Event()
    hello.add_done_callback(
        started["action_id"], lambda status: (finished.append(status), done.set())
    )
    assert done.wait(10)
    assert finished[0]["status"] == "SUCCEEDED"
    assert hello.status(started["action_id"])["details"]["hello"] == "later"


def test_hello_world_sleep_time_is_scaled_like_the_wait_time(engine):
    """At the fixture's time scale of 0.01, 100 s of sleep last 1 s, within a WaitTime of
    200 s (2 s): unscaled, the action would time out."""
    flow = engine.create_flow({"StartAt": "Hello", "States": {"Hello": {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
        "Parameters": {"echo_string": "hi", "sleep_time": 100}, "WaitTime": 200,
        "ResultPath": "$.hello", "End": True}}})
    done = engine.wait(engine.run_flow(flow["id"], {})["run_id"], timeout=30)
    assert done["status"] == "SUCCEEDED", done["details"]
    assert done["details"]["output"]["hello"]["details"] == {"Hello": "World", "hello": "hi"}


def test_hello_world_cancel_while_sleeping(hello):
    started = hello.run({"request_id": "r", "body": {"echo_string": "x", "sleep_time": 60}})
    assert hello.cancel(started["action_id"])["status"] == "FAILED"


@pytest.mark.parametrize("body", [{}, {"echo_string": 3}, {"echo_string": "x", "sleep_time": -1}])
def test_hello_world_refuses_bad_bodies(hello, body):
    with pytest.raises(ActionProviderError) as caught:
        hello.run({"request_id": "r", "body": body})
    assert caught.value.http_status == 400


def test_expression_eval_single_expression_with_arguments():
    status = ExpressionEvalProvider().run(
        {
            "request_id": "r",
            "body": {"expression": "x * 2 + len(name)", "arguments": {"x": 4, "name": "abc"}},
        }
    )
    assert status["status"] == "SUCCEEDED"
    assert status["details"] == {"result": 11}


def test_expression_eval_many_expressions_with_result_paths():
    body = {
        "expressions": [
            {"expression": "a + b", "arguments": {"a": 1, "b": 2}, "result_path": "sum"},
            {
                "expression": "name.upper()",
                "arguments": {"name": "x"},
                "result_path": "$.nested.upper",
            },
        ]
    }
    status = ExpressionEvalProvider().run({"request_id": "r", "body": body})
    assert status["details"] == {"sum": 3, "nested": {"upper": "X"}}


def test_expression_eval_failure_makes_the_action_failed_with_the_reason():
    status = ExpressionEvalProvider().run(
        {"request_id": "r", "body": {"expression": "missing + 1"}}
    )
    assert status["status"] == "FAILED"
    assert status["details"]["expression"] == "missing + 1"
    assert "missing" in status["details"]["description"]


def test_expression_eval_refuses_a_body_without_expression():
    with pytest.raises(ActionProviderError) as caught:
        ExpressionEvalProvider().run({"request_id": "r", "body": {"arguments": {}}})
    assert "'expression'" in str(caught.value)
