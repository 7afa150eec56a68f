import pytest

from gladier.engine.parameters import mask_private, private_paths, read_input, resolve_parameters
from gladier.exc import FlowRuntimeError

STATE = {
    "input": {"src": "/data/a", "dst": "/data/b", "token": "s3cret", "n": 2},
    "items": [{"name": "x"}, {"name": "y"}],
}
CONTEXT = {"run_id": "run-9", "username": "alice"}


def resolve(parameters, state=STATE):
    return resolve_parameters(parameters, state, context=CONTEXT, state_name="MyState")


def test_references_expressions_and_constants_at_any_depth_inside_lists():
    parameters = {
        "source_endpoint": "ep1",
        "DATA": [{"source_path.$": "$.input.src", "destination_path.=": "input.dst + '/x'",
                  "recursive": False}],
        "nested": {"deeper": {"count.=": "input.n * 2", "first.$": "$.items[0].name"}},
        "run.$": "$._context.run_id",
        "everything.$": "$",
    }
    assert resolve(parameters) == {
        "source_endpoint": "ep1",
        "DATA": [{"source_path": "/data/a", "destination_path": "/data/b/x", "recursive": False}],
        "nested": {"deeper": {"count": 4, "first": "x"}},
        "run": "run-9",
        "everything": STATE,
    }


def test_resolved_values_are_copies_not_aliases_of_run_state():
    state = {"input": {"list": [1]}}
    result = resolve({"l.$": "$.input.list"}, state)
    result["l"].append(2)
    assert state == {"input": {"list": [1]}}


def test_missing_path_raises_states_runtime_with_service_cause():
    with pytest.raises(FlowRuntimeError) as info:
        resolve({"subject.$": "$.destination.path"})
    assert info.value.error == "States.Runtime"
    assert info.value.state_name == "MyState"
    assert info.value.cause == ("The path '$.destination.path' specified for the field "
                                "'subject.$' could not be found in the state input.")


def test_missing_path_inside_list_names_the_nested_field():
    with pytest.raises(FlowRuntimeError, match=r"'\$\.nope' specified for the field 'path\.\$'"):
        resolve({"DATA": [{"path.$": "$.nope"}]})


@pytest.mark.parametrize("bad", [5, "not-a-path", "$.x[?(@.y)]", "$.x["])
def test_malformed_reference_raises_states_runtime(bad):
    with pytest.raises(FlowRuntimeError) as info:
        resolve({"x.$": bad})
    assert info.value.error == "States.Runtime"
    assert "x.$" in info.value.cause


def test_failing_expression_raises_states_runtime_naming_field_and_name():
    with pytest.raises(FlowRuntimeError) as info:
        resolve({"total.=": "undefined_thing + 1"})
    assert info.value.error == "States.Runtime"
    assert "total.=" in info.value.cause and "undefined_thing" in info.value.cause


def test_private_parameters_reach_the_provider_without_the_list():
    parameters = {"__Private_Parameters": ["token"], "token.$": "$.input.token", "public": 1}
    assert resolve(parameters) == {"token": "s3cret", "public": 1}


def test_mask_private_hides_listed_keys_and_private_prefixed_keys_at_every_level():
    parameters = {
        "__Private_Parameters": ["token.$", "password"],
        "token.$": "$.input.token",
        "password": "hunter2",
        "_private_note": "hidden",
        "visible": "ok",
        "DATA": [{"__Private_Parameters": ["key"], "key.=": "'k' + '1'", "path": "/p"}],
        "obj.$": "$.input",
    }
    resolved = resolve(parameters, {**STATE, "input": {**STATE["input"], "_private_x": 1}})
    assert resolved["token"] == "s3cret" and resolved["DATA"][0]["key"] == "k1"
    masked = mask_private(parameters, resolved)
    assert "token" not in masked and "password" not in masked and "_private_note" not in masked
    assert masked["DATA"] == [{"path": "/p"}]
    assert "_private_x" not in masked["obj"] and masked["obj"]["src"] == "/data/a"
    assert masked["visible"] == "ok"
    assert resolved["password"] == "hunter2"  # the original is untouched


def test_mask_private_without_definition_strips_private_prefixed_keys_of_run_state():
    assert mask_private(None, {"_private_tokens": {"a": 1}, "x": {"_private": 2, "y": 3}}) == {
        "x": {"y": 3}}


def test_private_paths_lists_the_hidden_output_keys_as_segments():
    parameters = {
        "__Private_Parameters": ["token.$"],
        "token.$": "$.input.token",
        "DATA": [{"__Private_Parameters": ["key"], "key": "v"}],
        "nested": {"__Private_Parameters": ["pw.="], "pw.=": "'x'"},
    }
    assert private_paths(parameters) == {("token",), ("DATA", 0, "key"), ("nested", "pw")}


def test_read_input_selects_input_path_and_defaults_to_whole_state():
    assert read_input(STATE, "$.items[1]", context=CONTEXT, state_name="S") == {"name": "y"}
    assert read_input(STATE, None, context=CONTEXT, state_name="S") == STATE
    assert read_input(STATE, "$._context.username", context=CONTEXT, state_name="S") == "alice"
    with pytest.raises(FlowRuntimeError, match="'InputPath' could not be found"):
        read_input(STATE, "$.missing", context=CONTEXT, state_name="S")


def test_read_input_names_the_field_the_path_came_from():
    with pytest.raises(FlowRuntimeError, match="field 'SecondsPath' could not be found"):
        read_input(STATE, "$.wait", context=CONTEXT, state_name="S", field="SecondsPath")
