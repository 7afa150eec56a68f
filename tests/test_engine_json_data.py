"""Values that are not JSON data (NaN, Infinity, complex numbers, Python objects) and errors
the engine did not expect end their run as FAILED with a reason naming the state: they
never leave it ACTIVE, never stop other runs, and never put NaN into the database.

Real flows on a LocalEngine with a temporary database; the resumed cases stop the first
engine during a Wait and let a second engine on the same database finish the run.
"""

import json
import logging
import sqlite3
import threading
import time
import typing as t

import pytest

from gladier.engine import LocalEngine
from gladier.exc import FlowInputError, FlowValidationError

CALLABLE = "https://callable.example.org/"
BUGGY = "https://buggy.example.org/"


class WrongCallbackProvider:
    """A provider with a bug: it calls the engine's done-callback with a string, not an
    ActionStatus document."""

    def run(self, request):
        return {"action_id": "a-1", "status": "ACTIVE", "details": {}}

    def status(self, action_id):
        return {"action_id": action_id, "status": "ACTIVE", "details": {}}

    def cancel(self, action_id):
        return self.status(action_id)

    def release(self, action_id):
        return self.status(action_id)

    def add_done_callback(self, action_id, callback):
        threading.Timer(0.05, callback, ["done"]).start()


def register_providers(engine):
    engine.register_action_provider(CALLABLE + "object", lambda body: {"handle": object()})
    engine.register_action_provider(CALLABLE + "nan", lambda body: {"ratio": float("nan")})
    engine.register_action_provider(BUGGY, WrongCallbackProvider())
    engine.register_action_provider(CALLABLE + "echo", lambda body: body)


def expression(text):
    return {"Type": "ExpressionEval", "Parameters": {"value.=": text}, "ResultPath": "$.out"}


def action(url, parameters=None):
    return {"Type": "Action", "ActionUrl": url, "Parameters": parameters or {},
            "ResultPath": "$.out"}


# (state, run input, words the run's error cause must contain)
CASES = {
    "negative number to a fractional power": (
        expression("input.n ** 0.5"), {"n": -4},
        ["Expression 'input.n ** 0.5'", "complex number"]),
    "negative constant to a fractional power": (
        expression("(-2) ** 0.5"), {}, ["Expression '(-2) ** 0.5'", "complex number"]),
    "NaN": (expression("float('nan')"), {}, ["float('nan')", "nan", "no NaN or Infinity"]),
    "infinity from an overflow": (
        expression("input.n * 1e308 * 10"), {"n": 1}, ["'input.n * 1e308 * 10'", "inf"]),
    "object from a Python callable": (
        action(CALLABLE + "object"), {},
        ["state 'Compute'", "$.out.details.handle is <object object", "(a Python object)"]),
    "NaN from a Python callable": (
        action(CALLABLE + "nan"), {}, ["$.out.details.ratio is nan"]),
    "done-callback with a string": (
        action(BUGGY), {}, ["Unexpected AttributeError in state 'Compute'"]),
}


def one_state_flow(state, *, wait_first=False):
    states = {"Compute": dict(state, End=True)}
    if wait_first:
        states["Pause"] = {"Type": "Wait", "Seconds": 30, "Next": "Compute"}
    return {"StartAt": "Pause" if wait_first else "Compute", "States": states}


def assert_failed_in_compute(run, words):
    assert run["status"] == "FAILED"
    error = run["details"]["details"]
    assert (error["exception"], error["state_name"]) == ("States.Runtime", "Compute")
    for word in words:
        assert word in error["cause"]


def refuse_constant(name):
    raise AssertionError(f"{name} written to the database")


def assert_database_holds_standard_json(db_path):
    with sqlite3.connect(db_path) as db:
        texts = [row[0] for row in db.execute("SELECT details FROM runs")]
        texts += [row[0] for row in db.execute("SELECT details FROM log_entries")]
        texts += [row[0] for row in db.execute("SELECT data FROM runs WHERE data IS NOT NULL")]
    for text in texts:
        json.loads(text, parse_constant=refuse_constant)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.db")


@pytest.mark.parametrize("case", CASES)
def test_value_that_is_not_json_fails_its_run_naming_the_state(engine, case, caplog):
    state, body, words = CASES[case]
    register_providers(engine)
    flow = engine.create_flow(one_state_flow(state))
    run = engine.wait(engine.run_flow(flow["id"], {"input": body})["run_id"], timeout=20)
    assert_failed_in_compute(run, words)
    assert_database_holds_standard_json(engine.db_path)
    assert "a scheduled callback failed" not in caplog.text


@pytest.mark.parametrize("case", CASES)
def test_value_that_is_not_json_fails_its_run_after_a_resume(db, case, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    state, body, words = CASES[case]
    with LocalEngine(db) as first:
        flow = first.create_flow(one_state_flow(state, wait_first=True))
        run_id = first.run_flow(flow["id"], {"input": body})["run_id"]
        while first.get_run(run_id)["details"]["code"] != "WaitStarted":
            time.sleep(0.01)
    with LocalEngine(db) as second:
        register_providers(second)
        assert second.resume() == [run_id]
        assert_failed_in_compute(second.wait(run_id, timeout=20), words)
    assert_database_holds_standard_json(db)


def test_an_unexpected_error_is_logged_and_other_runs_go_on(engine, caplog):
    register_providers(engine)
    broken = engine.create_flow(one_state_flow(action(BUGGY)))
    fine = engine.create_flow(one_state_flow({"Type": "Wait", "Seconds": 20}))
    with caplog.at_level(logging.WARNING, logger="gladier.engine"):
        waiting = engine.run_flow(fine["id"], {"input": {}})["run_id"]
        failing = engine.run_flow(broken["id"], {"input": {}})["run_id"]
        assert engine.wait(failing, timeout=20)["status"] == "FAILED"
        assert engine.wait(waiting, timeout=20)["status"] == "SUCCEEDED"
    assert "unexpected error in state Compute" in caplog.text
    assert f"run {failing} failed" in caplog.text


def test_a_catch_handles_an_expression_result_that_is_not_json(engine):
    register_providers(engine)
    state = dict(action(CALLABLE + "echo", {"root.=": "input.n ** 0.5"}),
                 Catch=[{"ErrorEquals": ["States.Runtime"], "ResultPath": "$.error",
                         "Next": "Recovered"}])
    flow = engine.create_flow({"StartAt": "Compute", "States": {
        "Compute": dict(state, End=True), "Recovered": {"Type": "Pass", "End": True}}})
    run = engine.wait(engine.run_flow(flow["id"], {"input": {"n": -4}})["run_id"], timeout=20)
    assert run["status"] == "SUCCEEDED"
    assert "complex number" in run["details"]["output"]["error"]["cause"]


def test_run_input_with_nan_is_refused_naming_its_path(engine):
    flow = engine.create_flow(one_state_flow({"Type": "Pass"}))
    with pytest.raises(FlowInputError, match=r"\$\.input\.ratio is nan"):
        engine.run_flow(flow["id"], {"input": {"ratio": float("nan")}})


def test_flow_with_infinity_in_a_pass_result_is_refused_naming_its_path(engine):
    with pytest.raises(FlowValidationError, match=r"\$\.States\.Compute\.Result\.limit is inf"):
        engine.create_flow(one_state_flow({"Type": "Pass", "Result": {"limit": float("inf")}}))


class Handle:
    """A Python object (not JSON) whose repr quotes what it was made from."""

    def __init__(self, made_from):
        self.made_from = made_from

    def __repr__(self):
        return f"Handle({self.made_from!r})"


def test_a_value_that_is_not_json_never_quotes_a_private_value_in_the_cause(engine, caplog):
    secret = "pw-SECRET-4711"
    engine.register_action_provider(CALLABLE + "handle",
                                    lambda body: {"handle": Handle(body["password"])})
    state = action(CALLABLE + "handle", {"password.$": "$.input._private_password",
                                         "__Private_Parameters": ["password"]})
    flow = engine.create_flow(one_state_flow(state))
    run_id = engine.run_flow(flow["id"], {"input": {"_private_password": secret}})["run_id"]

    run = engine.wait(run_id, timeout=20)

    assert_failed_in_compute(run, ["$.out.details.handle is Handle('***')"])
    assert secret not in json.dumps(run) + json.dumps(engine.get_run_logs(run_id))
    assert secret not in caplog.text


def test_run_input_a_mapping_of_which_cannot_be_read_is_refused_as_not_json(engine):
    class Unreadable(dict):
        def items(self):
            raise KeyError("unreadable")

        __iter__ = items

    flow = engine.create_flow(one_state_flow({"Type": "Pass"}))
    with pytest.raises(FlowInputError, match="Run input is not JSON data: 'unreadable'"):
        engine.run_flow(flow["id"], {"input": Unreadable(a=1)})


def _nested(levels: int, leaf: t.Any = "x") -> t.Any:
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("what, definition, run_input", [
    ("input nested 500 levels", None, {"d": _nested(500)}),
    ("input nested 100,000 levels", None, {"d": _nested(100_000)}),
    ("a 5,000-digit integer", None, {"n": 10 ** 5000}),
    ("Parameters nested 5,000 levels",
     {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True,
                                       "Parameters": _nested(5000)}}}, {}),
])
def test_deep_or_huge_json_is_refused_naming_the_limit_never_a_recursion_error(
        tmp_path, what, definition, run_input):
    from gladier.engine import LocalEngine
    from gladier.engine.jsondata import MAX_DEPTH, MAX_INTEGER_DIGITS
    from gladier.exc import FlowInputError, FlowValidationError

    definition = definition or {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    with LocalEngine(str(tmp_path / "engine.db")) as engine:
        with pytest.raises((FlowInputError, FlowValidationError)) as refused:
            engine.run_flow(engine.create_flow(definition)["id"], run_input)
    message = str(refused.value)
    assert f"deeper than {MAX_DEPTH} levels (the limit)" in message or \
        f"more than {MAX_INTEGER_DIGITS} digits (the limit)" in message, message
    assert "$." in message  # where


def test_an_action_result_nested_too_deeply_fails_the_run_naming_the_limit(tmp_path):
    from gladier.engine import LocalEngine

    url = "https://local.example.org/deep"
    definition = {"StartAt": "Get", "States": {"Get": {
        "Type": "Action", "ActionUrl": url, "Parameters": {}, "ResultPath": "$.r",
        "End": True}}}
    with LocalEngine(str(tmp_path / "engine.db")) as engine:
        engine.register_action_provider(url, lambda body: _nested(5000))
        run = engine.run_flow(engine.create_flow(definition)["id"], {})
        final = engine.wait(run["run_id"], timeout=30)
    assert final["status"] == "FAILED"
    cause = final["details"]["details"]["cause"]
    assert "deeper than 100 levels (the limit)" in cause and "RecursionError" not in cause


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"n": ' + "9" * 5000 + "}"])
def test_the_cli_refuses_deep_or_huge_input_naming_the_limit(tmp_path, text):
    from click.testing import CliRunner

    from gladier.cli import cli

    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass",
                                                                 "End": True}}}))
    (tmp_path / "input.json").write_text(text)
    for given in (str(tmp_path / "input.json"), text):
        result = CliRunner().invoke(cli, ["run", str(flow), "--input", given,
                                          "--db", str(tmp_path / "engine.db")])
        assert result.exit_code == 1
        assert "(the limit)" in result.output and "bug in gladier" not in result.output


def test_an_object_carrying_its_json_text_is_written_as_that_text():
    from gladier.engine.jsondata import encoded_object, json_text

    inner = {"a": [1, {"b": None}], "s": "é\n"}
    value = encoded_object({"name": "S1", "input": inner, "n": 2.5}, "input",
                           json_text(inner, "it"))
    assert json.loads(json_text(value, "it")) == {"name": "S1", "input": inner, "n": 2.5}
    assert json_text(value, "it") == value.text
