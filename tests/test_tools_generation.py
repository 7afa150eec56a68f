"""Flow generation for tools: @generate_flow_definition and GladierBaseTool."""

import warnings

import pytest

from gladier import GladierBaseTool, generate_flow_definition
from gladier.exc import FlowGenException, FlowModifierException
from gladier.flowgen import get_compute_functions
from test_flowgen_schema_facts import assert_flows_schema_valid


def make_dirs(**data):
    """Create the output directories."""


def process(**data):
    pass


def compute_state(function_name, state_name, **extra):
    """The state Gladier 0.11 generates for a compute function ("Comment" is its docstring,
    null without one)."""
    state = {
        "Comment": None,
        "Type": "Action",
        "ActionUrl": "https://compute.actions.globus.org",
        "ExceptionOnActionFailure": False,
        "Parameters": {
            "tasks": [
                {
                    "endpoint.$": "$.input.compute_endpoint",
                    "function.$": f"$.input.{function_name}_function_id",
                    "payload.$": "$.input",
                }
            ]
        },
        "ResultPath": f"$.{state_name}",
        "WaitTime": 300,
    }
    state.update(extra)
    return state


def test_tool_flow_has_one_compute_state_per_function_in_order():
    @generate_flow_definition
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs, process]

    assert Pipeline.flow_definition == {
        "Comment": "Flow with states: MakeDirs, Process",
        "StartAt": "MakeDirs",
        "States": {
            "MakeDirs": compute_state(
                "make_dirs", "MakeDirs", Comment="Create the output directories.", Next="Process"
            ),
            "Process": compute_state("process", "Process", End=True),
        },
    }
    assert_flows_schema_valid(Pipeline.flow_definition)


def test_function_without_docstring_gets_a_null_comment_as_in_gladier_0_11():
    @generate_flow_definition
    class Quiet(GladierBaseTool):
        compute_functions = [process]

    assert Quiet.flow_definition["States"]["Process"]["Comment"] is None
    assert_flows_schema_valid(Quiet.flow_definition)


def test_docstring_is_the_comment_as_written():
    def indented():
        """First line.

        More detail.
        """

    @generate_flow_definition
    class Documented(GladierBaseTool):
        compute_functions = [indented]

    assert Documented.flow_definition["States"]["Indented"]["Comment"] == indented.__doc__


def test_decorated_tool_stays_a_class_usable_as_an_instance():
    @generate_flow_definition
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs]
        required_input = ["dirs", "compute_endpoint"]

    tool = Pipeline()
    assert isinstance(tool, GladierBaseTool)
    assert tool.get_flow_definition() == Pipeline.flow_definition
    assert tool.get_required_input() == ["dirs", "compute_endpoint"]


def test_modifier_naming_another_function_reads_its_results():
    @generate_flow_definition(modifiers={process: {"payload": make_dirs}})
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs, process]

    task = Pipeline.flow_definition["States"]["Process"]["Parameters"]["tasks"][0]
    assert task == {
        "endpoint.$": "$.input.compute_endpoint",
        "function.$": "$.input.process_function_id",
        "payload.$": "$.MakeDirs.details.results",
    }


def test_modifier_values_by_name_bare_name_and_path():
    @generate_flow_definition(
        modifiers={
            "process": {"payload": "make_dirs", "endpoint": "non_compute_endpoint"},
            "make_dirs": {"payload": "$.input.dirs"},
        }
    )
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs, process]

    states = Pipeline.flow_definition["States"]
    assert states["Process"]["Parameters"]["tasks"][0] == {
        "endpoint.$": "$.input.non_compute_endpoint",
        "function.$": "$.input.process_function_id",
        "payload.$": "$.MakeDirs.details.results",
    }
    assert states["MakeDirs"]["Parameters"]["tasks"][0]["payload.$"] == "$.input.dirs"


def test_state_modifiers_set_state_fields():
    @generate_flow_definition(
        modifiers={
            make_dirs: {
                "WaitTime": 60,
                "ExceptionOnActionFailure": True,
                "ResultPath": "$.dirs_made",
                "ActionUrl": "https://compute.actions.globus.org/v2",
            }
        }
    )
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs]

    assert Pipeline.flow_definition["States"]["MakeDirs"] == compute_state(
        "make_dirs",
        "MakeDirs",
        WaitTime=60,
        ExceptionOnActionFailure=True,
        Comment="Create the output directories.",
        ResultPath="$.dirs_made",
        ActionUrl="https://compute.actions.globus.org/v2",
        End=True,
    )


def test_input_path_modifier_replaces_parameters():
    @generate_flow_definition(modifiers={process: {"InputPath": make_dirs}})
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs, process]

    state = Pipeline.flow_definition["States"]["Process"]
    assert "Parameters" not in state
    assert state["InputPath"] == "$.MakeDirs.details.results"
    assert_flows_schema_valid(Pipeline.flow_definition)


def test_tasks_modifier_replaces_the_task_list():
    tasks = [{"endpoint": "ep-uuid", "function": "fn-uuid", "payload": {"x": 1}}]

    @generate_flow_definition(modifiers={make_dirs: {"tasks": tasks}})
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs]

    assert Pipeline.flow_definition["States"]["MakeDirs"]["Parameters"] == {"tasks": tasks}


def test_comment_is_not_a_modifier_as_in_gladier_0_11():
    @generate_flow_definition(modifiers={make_dirs: {"Comment": "mkdir -p"}})
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs]

    with pytest.raises(FlowModifierException, match="unsupported modifier 'Comment'"):
        Pipeline().get_flow_definition()


def test_modifier_for_an_unknown_function_is_ignored_with_a_warning_naming_the_tool():
    with pytest.warns(UserWarning, match=r"Tool .*Pipeline.*\['unknown_fn'\] are ignored"):

        @generate_flow_definition(modifiers={"unknown_fn": {"WaitTime": 5}})
        class Pipeline(GladierBaseTool):
            compute_functions = [make_dirs]

    assert Pipeline.flow_definition["States"]["MakeDirs"]["WaitTime"] == 300


def test_unknown_modifier_name_is_refused():
    @generate_flow_definition(modifiers={make_dirs: {"Timeout": 5}})
    class Pipeline(GladierBaseTool):
        compute_functions = [make_dirs]

    with pytest.raises(FlowModifierException, match="unsupported modifier 'Timeout'"):
        Pipeline().get_flow_definition()


def test_v3_action_url_on_a_tool_generates_compute_v3_states():
    @generate_flow_definition
    class Pipeline(GladierBaseTool):
        action_url = "https://compute.actions.globus.org/v3"
        compute_functions = [make_dirs, process]

    states = Pipeline.flow_definition["States"]
    assert states["Process"] == {
        "Comment": None,
        "Type": "Action",
        "ActionUrl": "https://compute.actions.globus.org/v3",
        "ExceptionOnActionFailure": True,
        "Parameters": {
            "endpoint_id.$": "$.input.compute_endpoint",
            "tasks": [{"function_id.$": "$.input.process_function_id", "kwargs.$": "$.input"}],
        },
        "ResultPath": "$.Process",
        "WaitTime": 300,
        "End": True,
    }
    assert_flows_schema_valid(Pipeline.flow_definition)


def test_v3_modifiers_set_the_state_parameters():
    @generate_flow_definition(modifiers={
        process: {
            "user_endpoint_config": {"worker_init": "module load hdf5"},
            "resource_specification": "$.input.resources",
            "endpoint_id": "gpu_endpoint",
            "task_group_id": make_dirs,
            "create_queue": True,
        },
    })
    class Pipeline(GladierBaseTool):
        action_url = "https://compute.actions.globus.org/v3"
        compute_functions = [make_dirs, process]

    assert Pipeline.flow_definition["States"]["Process"]["Parameters"] == {
        "endpoint_id.$": "$.input.gpu_endpoint",
        "tasks": [{"function_id.$": "$.input.process_function_id", "kwargs.$": "$.input"}],
        "user_endpoint_config": {"worker_init": "module load hdf5"},
        "resource_specification.$": "$.input.resources",
        "task_group_id.$": "$.MakeDirs.details.results",
        "create_queue": True,
    }


def test_v2_modifier_on_a_v3_tool_is_refused_naming_the_version():
    @generate_flow_definition(modifiers={process: {"payload": "$.input"}})
    class Pipeline(GladierBaseTool):
        action_url = "https://compute.actions.globus.org/v3"
        compute_functions = [process]

    with pytest.raises(FlowModifierException, match=r"'payload' is a Compute v2 modifier"):
        Pipeline().get_flow_definition()


def test_v3_modifier_on_a_v2_tool_is_refused_saying_how_to_choose_v3():
    @generate_flow_definition(modifiers={process: {"user_endpoint_config": {}}})
    class Pipeline(GladierBaseTool):
        compute_functions = [process]

    with pytest.raises(FlowModifierException, match=r"set action_url = .*/v3"):
        Pipeline().get_flow_definition()


def test_tool_without_functions_cannot_be_generated():
    @generate_flow_definition
    class Empty(GladierBaseTool):
        pass

    with pytest.raises(FlowGenException, match="no compute functions"):
        Empty().get_flow_definition()


def test_duplicate_function_names_are_refused():
    def other_module_make_dirs(**data):
        pass

    other_module_make_dirs.__name__ = "make_dirs"
    @generate_flow_definition
    class Twice(GladierBaseTool):
        compute_functions = [make_dirs, other_module_make_dirs]

    with pytest.raises(FlowGenException, match="same state name"):
        Twice().get_flow_definition()


def test_decorating_a_plain_class_is_refused():
    with pytest.raises(FlowGenException, match="neither a GladierBaseTool nor a client"):

        @generate_flow_definition
        class NotATool:
            pass


def test_legacy_funcx_functions_warn_and_still_generate():
    with pytest.warns(DeprecationWarning, match="funcx_functions"):

        @generate_flow_definition
        class Legacy(GladierBaseTool):
            funcx_functions = [make_dirs]

    assert list(Legacy.flow_definition["States"]) == ["MakeDirs"]


def test_get_compute_functions_merges_new_and_legacy_lists():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        class Both(GladierBaseTool):
            compute_functions = [make_dirs]
            funcx_functions = [process, make_dirs]

    assert get_compute_functions(Both) == [make_dirs, process]
    assert get_compute_functions(Both()) == [make_dirs, process]


def test_tool_without_flow_definition_has_none_as_in_gladier_0_11():
    class Bare(GladierBaseTool):
        pass

    assert Bare().get_flow_definition() is None


def test_transition_states_default_to_end_states_and_follow_alias():
    class Branching(GladierBaseTool):
        flow_definition = {
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.input.ok", "BooleanEquals": True, "Next": "Good"}],
                    "Default": "Bad",
                },
                "Good": {"Type": "Pass", "End": True},
                "Bad": {"Type": "Fail", "Error": "NotOk"},
            },
        }

    assert Branching().get_flow_transition_states() == ["Good"]
    assert Branching(alias="Two").get_flow_transition_states() == ["GoodTwo"]

    class Explicit(Branching):
        flow_transition_states = ["Check"]

    assert Explicit(alias="Two").get_flow_transition_states() == ["CheckTwo"]


def test_a_tool_whose_flow_cannot_be_generated_imports_and_fails_when_a_client_loads_it():
    # Gladier 0.11 generates a tool's flow when the tool is used, so a broken tool in a
    # module does not stop the module from importing.
    @generate_flow_definition(modifiers={make_dirs: {"Timeout": 5}})
    class Broken(GladierBaseTool):
        compute_functions = [make_dirs]

    @generate_flow_definition
    class Client:
        gladier_tools = [Broken]

    with pytest.raises(FlowModifierException, match="Timeout"):
        Client().flow_definition


def test_modifier_naming_a_legacy_funcx_function_is_refused_as_in_gladier_0_11():
    with pytest.warns(DeprecationWarning):

        @generate_flow_definition(modifiers={"make_dirs": {"WaitTime": 60}})
        class Legacy(GladierBaseTool):
            funcx_functions = [make_dirs]

    with pytest.raises(FlowModifierException, match="'funcx_functions'.*'compute_functions'"):
        Legacy().get_flow_definition()
