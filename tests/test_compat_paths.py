"""Gladier 0.11's module paths import here, naming the same objects as this package's own
modules, without slowing ``import gladier`` (none of them is imported by it)."""

import subprocess
import sys

import pytest

#: 0.11 module -> public names it held (from ``dir()`` of Gladier 0.11.0's modules).
PATHS_011 = {
    "gladier.base": ["GladierBaseTool"],
    "gladier.decorators": ["generate_flow_definition"],
    "gladier.state_models": ["BaseCompositeState", "BaseState", "StateWithNextOrEnd",
                             "StateWithParametersOrInputPath", "StateWithResultPath"],
    "gladier.helpers": ["JSONList", "JSONObject", "JSONValue", "deep_update_dict",
                        "eliminate_none_values", "ensure_json_path",
                        "ensure_parameter_values"],
    "gladier.utils.tool_alias": ["NoAlias", "StateSuffixVariablePrefix", "ToolAlias"],
    "gladier.utils.name_generation": [
        "get_compute_flow_state_name", "get_compute_function_checksum_name",
        "get_compute_function_name", "get_snake_case", "get_upper_camel_case"],
    "gladier.utils.flow_traversal": ["STATE_TRANSITION_KEYS", "get_end_states",
                                     "get_transition", "iter_flow", "iter_flow_states"],
    "gladier.utils.dynamic_imports": ["import_module", "import_string", "parse_alias"],
    "gladier.utils.flow_generation": ["combine_tool_flows", "generate_tool_flow",
                                      "get_compute_flow_state_name",
                                      "get_compute_function_name"],
    "gladier.utils.tool_chain": ["ToolChain"],
    "gladier.utils.pydantic_v1": ["BaseModel", "ValidationError", "validator"],
    "gladier.flow_builder.compute": ["ComputeFlowBuilderv2"],
    "gladier.storage.tokens": ["GladierSecretsConfig"],
    "gladier.managers.service_manager": ["ServiceManager"],
    "gladier.tools": ["ComputeFunctionType", "exclusive_validator_generator",
                      "validate_path_property"],
    "gladier.tools.globus": ["ComputeFunctionType"],
    "gladier.tools.helpers": ["exclusive_validator_generator", "validate_path_property"],
}


@pytest.mark.parametrize("module", sorted(PATHS_011))
def test_011_module_paths_hold_their_public_names(module):
    imported = __import__(module, fromlist=["_"])
    missing = [name for name in PATHS_011[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


def test_011_paths_are_the_same_objects_as_ours():
    from gladier import GladierBaseTool, generate_flow_definition
    from gladier.base import GladierBaseTool as Tool011
    from gladier.decorators import generate_flow_definition as generate011
    from gladier.state_models import BaseState as BaseState011
    from gladier.tools.state_models import BaseState

    assert Tool011 is GladierBaseTool
    assert generate011 is generate_flow_definition
    assert BaseState011 is BaseState


def test_import_gladier_imports_none_of_the_011_paths():
    code = ("import sys, gladier; print(sorted(m for m in sys.modules if m in %r))"
            % (sorted(set(PATHS_011) - {"gladier.tools", "gladier.tools.globus"}),))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("function_name, state_name", [
    ("getSystemInfo", "GetSystemInfo"),  # 0.11 capitalizes only the first letter
    ("make_dirs", "MakeDirs"),
    ("publishv2_gather_metadata", "Publishv2GatherMetadata"),
    ("tar", "Tar"),
])
def test_state_names_of_functions_as_011_names_them(function_name, state_name):
    from gladier.utils.name_generation import get_compute_flow_state_name

    function = type(lambda: None)((lambda: None).__code__, {}, function_name)
    assert get_compute_flow_state_name(function) == state_name


def test_flow_traversal_visits_each_reachable_state_and_finds_end_states():
    from gladier.exc import FlowGenException
    from gladier.utils.flow_traversal import get_end_states, iter_flow

    flow = {"StartAt": "A", "States": {
        "A": {"Type": "Choice", "Default": "B", "Choices": [{"Next": "C"}]},
        "B": {"Type": "Pass", "Next": "A"},
        "C": {"Type": "Pass", "End": True},
        "Unreached": {"Type": "Pass", "End": True},
    }}
    assert [name for name, _ in iter_flow(flow)] == ["A", "B", "C"]
    assert list(get_end_states(flow)) == ["C"]
    flow["States"]["C"]["Next"] = "Missing"
    with pytest.raises(FlowGenException, match="Missing"):
        list(iter_flow(flow))
