"""Compute results that are not JSON data fail their step, naming the function and the type.

The Globus Compute action provider's documentation (globus/globus-compute,
docs/actionprovider.rst, "Action Output") says each entry of ``details.results`` holds "the
``'output'`` field [that] contains the result from that run", inside the JSON action
status Flows stores at the state's ResultPath, and documents nothing for values JSON cannot
hold. So the engine does not guess (no ``repr``, no ``str``): such a task fails, and the
action's error says which function returned what type, in the local process pool and on
any other executor alike.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime
import math

import pytest

from gladier.engine import LocalEngine
from gladier.engine.providers.functions import LOCAL_ENDPOINT_ID

FUNCTION_ID = "3e9b2c1d-4f5a-4b6c-9d7e-8f0a1b2c3d4e"
THREADS_ENDPOINT = "b1f3c2d4-0000-4000-8000-000000000001"


class Reading:
    def __init__(self, value: float) -> None:
        self.value = value


def returns(kind: str):
    values = {
        "datetime": datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc),
        "set": {3, 1, 2},
        "object": Reading(1.5),
        "nested": {"when": [datetime.date(2026, 3, 1)]},
        "nan": math.nan,
        "bytes": b"\x00\x01",
        "tuple": (1, "two", None),
    }
    return values[kind]


def _run(engine: LocalEngine, kind: str, endpoint: str = LOCAL_ENDPOINT_ID) -> dict:
    engine.register_function(returns, function_id=FUNCTION_ID)
    flow_id = engine.create_flow({"StartAt": "Make", "States": {"Make": {
        "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
        "ExceptionOnActionFailure": False, "ResultPath": "$.Make", "WaitTime": 120,
        "Parameters": {"endpoint": endpoint, "function": FUNCTION_ID,
                       "kwargs": {"kind": kind}}, "End": True}}})["id"]
    final = engine.wait(engine.run_flow(flow_id, {})["run_id"], timeout=120)
    assert final["status"] == "SUCCEEDED", final["details"]
    return final["details"]["output"]["Make"]


@pytest.mark.parametrize("kind, named", [
    ("datetime", "a datetime.datetime (datetime.datetime(2026, 3, 1, 12, 0"),
    ("set", "a set ({1, 2, 3})"),
    ("object", "a test_providers_compute_results.Reading"),
    ("nested", "a value holding a datetime.date"),
    ("bytes", "a bytes"),
    ("nan", "NaN or infinity (nan)"),
])
def test_a_result_that_is_not_json_fails_the_step_naming_function_and_type(engine, kind,
                                                                          named):
    status = _run(engine, kind)
    assert status["status"] == "FAILED"
    details = status["details"]
    assert details["code"] == "TaskExecutionFailed"
    assert details["exception"] == "TypeError"
    assert "Compute function 'returns'" in details["message"] and named in details["message"]
    assert details["result"] == [None]


def test_a_tuple_is_a_json_list(engine):
    status = _run(engine, "tuple")
    assert status["status"] == "SUCCEEDED"
    assert status["details"]["result"] == [[1, "two", None]]


def test_results_from_another_executor_are_checked_the_same_way(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    with cf.ThreadPoolExecutor(2) as threads, \
            LocalEngine(str(tmp_path / "runs.db"),
                        executors={THREADS_ENDPOINT: threads}) as engine:
        status = _run(engine, "set", endpoint=THREADS_ENDPOINT)
    assert status["status"] == "FAILED"
    assert "Compute function 'returns'" in status["details"]["message"]
    assert "a set ({1, 2, 3})" in status["details"]["message"]
